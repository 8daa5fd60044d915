"""HTTP/1.1 over the harness TLS engine: the MAF key-retrieval binding (docs/saef-maf.md).

``exchange``: sans-IO request/response on h11; ``https``: one bounded exchange over a
socket, handshake driven by harness.tls.transport.
"""

from harness.http.exchange import (
    MAX_BODY,
    HttpBodyTooLarge,
    HttpClientExchange,
    HttpError,
    HttpIncomplete,
    HttpProtocolError,
    HttpRequest,
    HttpResponse,
    HttpServerExchange,
    HttpTimeout,
)
from harness.http.https import (
    KEY_RETRIEVAL_SUITE,
    HttpsObservation,
    RequestResult,
    ServedRequest,
    https_request,
    serve_https_once,
)

__all__ = [
    "KEY_RETRIEVAL_SUITE",
    "MAX_BODY",
    "HttpBodyTooLarge",
    "HttpClientExchange",
    "HttpError",
    "HttpIncomplete",
    "HttpProtocolError",
    "HttpRequest",
    "HttpResponse",
    "HttpServerExchange",
    "HttpTimeout",
    "HttpsObservation",
    "RequestResult",
    "ServedRequest",
    "https_request",
    "serve_https_once",
]
