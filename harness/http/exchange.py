"""Sans-IO HTTP/1.1 for the key-retrieval binding: one request, one response, then close.

docs/saef-maf.md "The key-retrieval binding": ``POST /keyRetrieval`` with a JSON body over
TLS 1.2 PSK, one request per connection, ``Connection: close``. These classes sit on the
application data of an established engine connection (harness.tls.engine): they turn a
request or response into bytes to pass to ``send_application_data`` and parse the bytes of
``ApplicationDataReceived`` events. They never see a socket or a clock.

HTTP framing is h11's (no hand parsing). Whatever the peer sends, the only exceptions
that leave ``receive``/``receive_eof`` are :class:`HttpError` subclasses: the SUT is the
peer, and a malformed message from it is an observation, not a harness crash. Bodies are
bounded (``max_body``) and so are header blocks (h11's ``max_incomplete_event_size``), so a
peer cannot make the harness buffer without limit.
"""

from __future__ import annotations

import http
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import h11

MAX_BODY = 64 * 1024  # a key-retrieval body is a few hundred octets
MAX_HEADERS = 16 * 1024  # h11's default bound on an incomplete request/status line + headers
JSON = "application/json"

Headers = Sequence[tuple[str, str]]


# Errors ---------------------------------------------------------------------------------


class HttpError(Exception):
    """The peer's HTTP could not be used. ``status_hint``: the status a server answers."""

    status_hint: int = 400


class HttpProtocolError(HttpError):
    """The peer broke HTTP/1.1 framing (wraps ``h11.RemoteProtocolError``)."""

    def __init__(self, message: str, status_hint: int = 400) -> None:
        super().__init__(message)
        self.status_hint = status_hint

    @classmethod
    def from_h11(cls, exc: h11.RemoteProtocolError) -> HttpProtocolError:
        error = cls(f"malformed HTTP from the peer: {exc}", exc.error_status_hint)
        error.__cause__ = exc
        return error


class HttpBodyTooLarge(HttpError):
    """The peer announced or sent a body above the bound."""

    status_hint = 413


class HttpIncomplete(HttpError):
    """The peer ended the connection before a whole message (or before any message)."""


class HttpTimeout(HttpError):
    """The peer sent no complete message within the deadline (raised by the socket layer)."""

    status_hint = 408


# Messages -------------------------------------------------------------------------------


def _decode_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    # h11 lower-cases names; values are octets, latin-1 maps each to one character.
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw]


def _parse_json(body: bytes) -> tuple[Any, str | None]:
    """(value, None) or (None, why): an empty body is "no JSON", not an error."""
    if not body:
        return None, None
    try:
        return json.loads(body), None
    except (UnicodeDecodeError, ValueError) as exc:
        return None, f"body is not JSON: {exc}"


@dataclass(frozen=True)
class _Message:
    headers: list[tuple[str, str]]
    body: bytes
    json: Any = None  # the parsed body, None if empty or not JSON (see json_error)
    json_error: str | None = None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((v for n, v in self.headers if n.lower() == wanted), None)


@dataclass(frozen=True)
class HttpRequest(_Message):
    method: str = ""
    target: str = ""
    http_version: str = "1.1"


@dataclass(frozen=True)
class HttpResponse(_Message):
    status: int = 0
    reason: str = ""
    http_version: str = "1.1"


def encode_body(json_body: Any) -> bytes | None:
    """The octets for ``json_body``: raw bytes are sent as they are (so a fault test can
    send a body that is not JSON); None means no body; anything else is JSON-encoded."""
    if json_body is None:
        return None
    if isinstance(json_body, bytes | bytearray):
        return bytes(json_body)
    return json.dumps(json_body, separators=(",", ":")).encode()


def _with_defaults(headers: Headers, body: bytes | None, extra: Headers) -> list[tuple[str, str]]:
    """The caller's headers plus Content-Type, Content-Length and Connection: close,
    each added only if the caller did not give it."""
    out = list(headers)
    given = {name.lower() for name, _ in out}
    defaults = list(extra)
    if body is not None:
        defaults += [("Content-Type", JSON), ("Content-Length", str(len(body)))]
    else:
        defaults.append(("Content-Length", "0"))
    defaults.append(("Connection", "close"))
    out += [(n, v) for n, v in defaults if n.lower() not in given]
    return out


# The shared receiving half -------------------------------------------------------------


class _Receiver:
    """Feed peer bytes to h11 and collect one message, bounded; errors become HttpError."""

    def __init__(self, role: type[h11.CLIENT] | type[h11.SERVER], max_body: int) -> None:
        self.h11 = h11.Connection(our_role=role, max_incomplete_event_size=MAX_HEADERS)
        self.max_body = max_body
        self._head: h11.Request | h11.Response | None = None
        self._body = bytearray()
        self.message: HttpRequest | HttpResponse | None = None

    def _feed(self, data: bytes) -> HttpRequest | HttpResponse | None:
        if self.message is not None:
            return self.message  # one message per connection: ignore what follows
        try:
            self.h11.receive_data(data)
            return self._events()
        except h11.RemoteProtocolError as exc:
            raise HttpProtocolError.from_h11(exc) from exc

    def _events(self) -> HttpRequest | HttpResponse | None:
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return None
            if isinstance(event, h11.InformationalResponse):
                continue  # 1xx: the final response follows
            if isinstance(event, h11.Request | h11.Response):
                self._head = event
                self._check_length(event)
            elif isinstance(event, h11.Data):
                self._body += event.data
                if len(self._body) > self.max_body:
                    raise HttpBodyTooLarge(f"body exceeds {self.max_body} octets")
            elif isinstance(event, h11.EndOfMessage):
                assert self._head is not None
                self.message = self._build(self._head, bytes(self._body))
                return self.message
            elif isinstance(event, h11.ConnectionClosed):
                raise HttpIncomplete("peer closed the connection before sending a message")

    def _check_length(self, head: h11.Request | h11.Response) -> None:
        for name, value in head.headers:
            if name == b"content-length" and int(value) > self.max_body:
                raise HttpBodyTooLarge(
                    f"Content-Length {int(value)} exceeds the bound of {self.max_body} octets"
                )

    def _build(self, head: h11.Request | h11.Response, body: bytes) -> HttpRequest | HttpResponse:
        raise NotImplementedError


# Client --------------------------------------------------------------------------------


class HttpClientExchange(_Receiver):
    """Entity B's side of one key retrieval: build the request, parse the response.

    ``host`` is the Host header (the MAF's FQDN, as in the SNI).
    """

    def __init__(self, host: str, max_body: int = MAX_BODY) -> None:
        super().__init__(h11.CLIENT, max_body)
        self.host = host
        self.request_sent: bytes | None = None

    def request(
        self, method: str, target: str, headers: Headers = (), json_body: Any = None
    ) -> bytes:
        """The request's octets (head and body) to send as application data."""
        body = encode_body(json_body)
        all_headers = _with_defaults(headers, body, [("Host", self.host)])
        data = self.h11.send(h11.Request(method=method, target=target, headers=all_headers))
        if body:
            data += self.h11.send(h11.Data(data=body))
        data += self.h11.send(h11.EndOfMessage())
        self.request_sent = data
        return data

    def receive(self, data: bytes) -> HttpResponse | None:
        """Feed application data; the response once complete, else None."""
        message = self._feed(data)
        assert message is None or isinstance(message, HttpResponse)
        return message

    def receive_eof(self) -> HttpResponse:
        """The peer closed (close_notify or TCP close). Completes a response delimited by
        the close (HTTP/1.0 style, no Content-Length); a response cut short raises
        HttpIncomplete or HttpProtocolError."""
        message = self._feed(b"")
        if message is None:  # h11 wants more after EOF: it cannot have any
            raise HttpIncomplete("peer closed the connection inside the response")
        assert isinstance(message, HttpResponse)
        return message

    @property
    def response(self) -> HttpResponse | None:
        assert self.message is None or isinstance(self.message, HttpResponse)
        return self.message

    def _build(self, head: h11.Request | h11.Response, body: bytes) -> HttpResponse:
        assert isinstance(head, h11.Response)
        value, error = _parse_json(body)
        return HttpResponse(
            headers=_decode_headers(head.headers),
            body=body,
            json=value,
            json_error=error,
            status=head.status_code,
            reason=head.reason.decode("latin-1"),
            http_version=head.http_version.decode("ascii"),
        )


# Server --------------------------------------------------------------------------------


class HttpServerExchange(_Receiver):
    """The MAF's side of one key retrieval: parse the request, build the response."""

    def __init__(self, max_body: int = MAX_BODY) -> None:
        super().__init__(h11.SERVER, max_body)
        self.status_sent: int | None = None
        self.response_sent: bytes | None = None

    def receive(self, data: bytes) -> HttpRequest | None:
        """Feed application data; the request once complete, else None."""
        message = self._feed(data)
        assert message is None or isinstance(message, HttpRequest)
        return message

    def receive_eof(self) -> HttpRequest:
        """The peer closed before the request was complete: always an HttpError."""
        message = self._feed(b"")
        if message is None:
            raise HttpIncomplete("peer closed the connection inside the request")
        assert isinstance(message, HttpRequest)
        return message

    @property
    def request(self) -> HttpRequest | None:
        assert self.message is None or isinstance(self.message, HttpRequest)
        return self.message

    def respond(self, status: int, headers: Headers = (), json_body: Any = None) -> bytes:
        """The response's octets. Also valid after an HttpError from ``receive`` (answer
        with ``error.status_hint``): h11 lets a server answer a request it could not read."""
        body = encode_body(json_body)
        all_headers = _with_defaults(headers, body, [])
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        data = self.h11.send(
            h11.Response(status_code=status, headers=all_headers, reason=phrase.encode())
        )
        if body:
            data += self.h11.send(h11.Data(data=body))
        data += self.h11.send(h11.EndOfMessage())
        self.status_sent, self.response_sent = status, data
        return data

    def respond_error(self, error: HttpError) -> bytes:
        """A refusal in the binding's form for a request that could not be read."""
        refusal = {"status": False, "errorString": str(error)}
        return self.respond(error.status_hint, json_body=refusal)

    def _build(self, head: h11.Request | h11.Response, body: bytes) -> HttpRequest:
        assert isinstance(head, h11.Request)
        value, error = _parse_json(body)
        return HttpRequest(
            headers=_decode_headers(head.headers),
            body=body,
            json=value,
            json_error=error,
            method=head.method.decode("ascii"),
            target=head.target.decode("latin-1"),
            http_version=head.http_version.decode("ascii"),
        )
