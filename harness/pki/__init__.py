"""The test PKI and the seeds' certificate verification rules (issue 9), pure: no sockets.

``rot`` computes Roots of Trust and RFC 6920 public key identifiers (spec-profile I-07,
I-13); ``verify`` is the harness's own verifier of seed 001 clause 8.1.1.2.2 (not a
generic PKI check); ``generator`` builds reproducible certificates, good and bad;
``cases`` turns them into the data cases of ``vectors/certificate_cases.json``.
The (D)TLS engine (harness/tls/) calls a verifier through its certificate callback; this
package does not depend on the engine.
"""
