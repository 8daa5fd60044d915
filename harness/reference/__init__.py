"""The reference implementation's common plumbing, on OpenSSL's libssl.

Independent of the harness's own TLS engine (``harness.tls``), so every harness-versus-
reference pass is an interoperation of two TLS stacks. Modules: ``libssl`` (ctypes
binding), ``endpoint`` (sans-IO endpoint over memory BIOs + socket pump), ``datagram``
(the DTLS pump and cookie exchange), ``config`` (configuration readers), ``ciphers``
and ``session`` (one role in a thread). Each framework's reference roles and mutants
live in its folder: ``harness/frameworks/<name>/reference/``.
"""
