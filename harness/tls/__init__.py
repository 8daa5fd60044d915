"""The harness's own TLS 1.2 engine: sans-IO handshake state machines, record layer,
key schedule and fault injection, with a thin socket layer on top."""
