"""The reference implementation: oneM2M PSK SAEF roles on OpenSSL's libssl.

Independent of the harness's own TLS engine (``harness.tls``), so every harness-versus-
reference pass is an interoperation of two TLS stacks. Modules: ``libssl`` (ctypes
binding), ``endpoint`` (sans-IO endpoint over memory BIOs + socket pump), ``entity``
(Entity A / Entity B), ``faults`` (the mutants), ``config`` and ``ciphers``.
"""

from harness.reference.faults import REFERENCE_FAULTS

__all__ = ["REFERENCE_FAULTS"]
