"""m2mconf: a conformance tester for the oneM2M TS-0003 security frameworks.

The package is the tester: a sans-IO (D)TLS engine that plays any peer role
(``harness.tls``), adapters that drive a system under test (``harness.sut``), an
independent reference implementation built on OpenSSL's libssl
(``harness.reference``), verdict bookkeeping and report writers.
"""

__version__ = "0.1.0"
