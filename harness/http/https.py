"""Thin blocking socket layer: one HTTPS exchange over the harness TLS engine, bounded.

The handshake is driven by ``harness.tls.transport.drive`` (the same loop, deadline and
trace as every other TLS leg); this module adds only the HTTP phase: send one request or
response as application data and read one message, never past the deadline. Each call
returns an observation record (what a verdict about the key-retrieval leg needs) instead
of raising for anything the peer did.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.http.exchange import (
    MAX_BODY,
    Headers,
    HttpClientExchange,
    HttpError,
    HttpRequest,
    HttpResponse,
    HttpServerExchange,
    HttpTimeout,
)
from harness.tls.engine import (
    AlertInfo,
    ApplicationDataReceived,
    ClientConfig,
    ClientConnection,
    Connection,
    ServerConfig,
    ServerConnection,
    UnknownIdentity,
)
from harness.tls.faults import Faults
from harness.tls.suites import PROFILE_SUITES, TLS_MANDATORY_PSK
from harness.tls.transport import RECV_SIZE, Outcome, close_politely, drive, flush

# The binding's suite (docs/saef-maf.md): what the harness client offers. A harness server
# prefers it and also accepts the other profile suites.
KEY_RETRIEVAL_SUITE = TLS_MANDATORY_PSK
SERVER_SUITES: tuple[int, ...] = (TLS_MANDATORY_PSK,) + tuple(
    s for s in PROFILE_SUITES if s != TLS_MANDATORY_PSK
)
LINGER = 0.5  # seconds to drain the peer after our last byte, so our close is not a RST

Ending = Literal["complete", "not_connected", "handshake_failed", "timeout", "http_error"]
# handler(request, authenticated psk_identity) -> (status, json_body); bytes: raw body.
Handler = Callable[[HttpRequest, bytes], tuple[int, Any]]


@dataclass
class HttpsObservation:
    """How one HTTPS connection went, seen from the harness.

    ending: "complete" (a whole request/response was read), "not_connected", "timeout"
    (accept, handshake or HTTP phase), "handshake_failed" (alert or close during the
    handshake: ``alert`` says which), "http_error" (the peer's HTTP was malformed, too
    large or cut short: ``http_error`` says which).
    """

    ending: Ending
    detail: str
    handshake: Outcome | None = None
    psk_identity: bytes | None = None  # the identity the client presented (ClientKeyExchange)
    server_name: str | None = None  # the SNI the client sent (server side) / we sent (client)
    cipher_suite: int | None = None
    alert: AlertInfo | None = None  # fatal alert sent or received, if any
    http_error: HttpError | None = None
    connection: Connection | None = field(default=None, repr=False)

    @property
    def tls_established(self) -> bool:
        return bool(self.connection and self.connection.established)

    @property
    def trace(self) -> Any:
        """The connection's trace (None when no connection was made)."""
        return self.connection.trace if self.connection is not None else None


@dataclass
class ServedRequest(HttpsObservation):
    """serve_https_once: the request the client sent and the status the harness answered."""

    request: HttpRequest | None = None
    status_sent: int | None = None


@dataclass
class RequestResult(HttpsObservation):
    """https_request: the request sent and the response received."""

    request_sent: bytes | None = field(default=None, repr=False)
    response: HttpResponse | None = None


def _identity(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _remaining(deadline: float) -> float:
    return deadline - time.monotonic()


def _fatal_alert(conn: Connection) -> AlertInfo | None:
    for alert in (conn.alert_sent, conn.alert_received):
        if alert is not None and alert.description != "close_notify":
            return alert
    return None


def _handshake_failure(outcome: Outcome) -> tuple[Ending, str]:
    return ("timeout" if outcome.kind == "timeout" else "handshake_failed"), outcome.reason


def _read_message(
    conn: Connection,
    sock: socket.socket,
    deadline: float,
    feed: Callable[[bytes], Any],
    feed_eof: Callable[[], Any],
    initial: bytes,
) -> Any:
    """Read application data into ``feed`` until it returns a message; the peer's close
    (close_notify, fatal alert, TCP FIN or reset) goes to ``feed_eof``. Raises HttpError,
    HttpTimeout at the deadline."""
    if initial and (message := feed(initial)) is not None:
        return message
    while True:
        if conn.closed:
            return feed_eof()
        remaining = _remaining(deadline)
        if remaining <= 0:
            raise HttpTimeout(f"no complete HTTP message before the deadline (state {conn.state})")
        sock.settimeout(remaining)
        try:
            data = sock.recv(RECV_SIZE)
        except TimeoutError:
            continue
        except OSError:
            return feed_eof()
        if not data:
            return feed_eof()
        conn.trace.add_wire("received", data)
        for event in conn.receive(data, now=time.time()):
            if isinstance(event, ApplicationDataReceived) and (
                (message := feed(event.data)) is not None
            ):
                return message
        with contextlib.suppress(OSError):
            flush(conn, sock)  # e.g. our close_notify answering the peer's


def _send(conn: Connection, sock: socket.socket, data: bytes) -> None:
    if conn.established and not conn.closed:
        conn.send_application_data(data, now=time.time())
    with contextlib.suppress(OSError):
        flush(conn, sock)


def _finish(conn: Connection, sock: socket.socket, deadline: float) -> None:
    """close_notify, then half-close and drain briefly: closing a socket with unread
    input sends a RST, which can destroy the response before the peer reads it."""
    close_politely(conn, sock)
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
        end = min(deadline, time.monotonic() + LINGER)
        while (remaining := end - time.monotonic()) > 0:
            sock.settimeout(remaining)
            if not sock.recv(RECV_SIZE):
                break


def _http_error(error: HttpError, conn: Connection) -> tuple[Ending, str]:
    detail = str(error)
    alert = _fatal_alert(conn)
    if alert is not None:
        detail += f" (TLS {alert.level} alert {alert.description})"
    return ("timeout" if isinstance(error, HttpTimeout) else "http_error"), detail


# Server --------------------------------------------------------------------------------


def serve_https_once(
    listener: socket.socket,
    psk_lookup: Callable[[bytes], bytes | None] | Mapping[bytes, bytes],
    handler: Handler,
    deadline: float,
    *,
    suites: Sequence[int] = SERVER_SUITES,
    psk_identity_hint: bytes | None = None,
    unknown_identity: UnknownIdentity = "alert",
    faults: Faults | None = None,
    max_body: int = MAX_BODY,
) -> ServedRequest:
    """Accept one connection on ``listener``, complete a TLS-PSK handshake, read one
    request, answer it with ``handler(request, psk_identity)`` and close.

    ``deadline`` is a ``time.monotonic()`` value bounding the whole exchange. A request
    the harness cannot read is answered with its status hint (400, 413, 431) in the
    binding's refusal form, and the handler is not called. An exception from the handler
    is a harness bug and propagates (the socket is closed on the way out).
    """
    config = ServerConfig(
        psk_lookup=psk_lookup,
        suites=list(suites),
        psk_identity_hint=psk_identity_hint,
        unknown_identity=unknown_identity,
        faults=faults or Faults(),
    )
    conn = ServerConnection(config)
    listener.settimeout(max(0.0, _remaining(deadline)))
    try:
        sock, _ = listener.accept()
    except TimeoutError:
        return ServedRequest("timeout", "no client connected before the deadline", connection=conn)
    with sock:
        conn.start(now=time.time())
        outcome = drive(conn, sock, deadline, until="established")
        record = ServedRequest(
            "complete",
            "",
            handshake=outcome,
            connection=conn,
            psk_identity=conn.psk_identity,
            server_name=conn.server_name,
            cipher_suite=conn.negotiated_suite,
        )
        if not conn.established:
            record.ending, record.detail = _handshake_failure(outcome)
            record.alert = _fatal_alert(conn)
            close_politely(conn, sock)
            return record
        exchange = HttpServerExchange(max_body)
        try:
            request = _read_message(
                conn, sock, deadline, exchange.receive, exchange.receive_eof,
                outcome.application_data,
            )  # fmt: skip
        except HttpError as error:
            record.http_error = error
            record.ending, record.detail = _http_error(error, conn)
            record.alert = _fatal_alert(conn)
            if not conn.closed and not isinstance(error, HttpTimeout):
                _send(conn, sock, exchange.respond_error(error))
                record.status_sent = exchange.status_sent
            _finish(conn, sock, deadline)
            return record
        record.request = request
        status, json_body = handler(request, conn.psk_identity or b"")
        _send(conn, sock, exchange.respond(status, json_body=json_body))
        record.status_sent = exchange.status_sent
        record.detail = f"{request.method} {request.target} answered {status}"
        _finish(conn, sock, deadline)
        return record


# Client --------------------------------------------------------------------------------


def https_request(
    address: tuple[str, int],
    psk_identity: bytes | str,
    psk: bytes,
    server_name: str | None,
    method: str = "POST",
    target: str = "/keyRetrieval",
    headers: Headers = (),
    json_body: Any = None,
    *,
    deadline: float,
    suites: Sequence[int] = (KEY_RETRIEVAL_SUITE,),
    extended_master_secret: bool = True,
    faults: Faults | None = None,
    max_body: int = MAX_BODY,
) -> RequestResult:
    """Connect to ``address``, TLS-PSK handshake (SNI ``server_name``), send one request
    (Host: ``server_name``, ``Connection: close``), read one response, close.

    ``deadline`` is a ``time.monotonic()`` value bounding connect, handshake and
    response. ``json_body`` bytes are sent raw; ``faults`` go to the engine unchanged
    (e.g. ``Faults(psk=...)`` to make the handshake fail).
    """
    config = ClientConfig(
        psk_identity=_identity(psk_identity),
        psk=psk,
        suites=list(suites),
        server_name=server_name,
        extended_master_secret=extended_master_secret,
        faults=faults or Faults(),
    )
    conn = ClientConnection(config)
    remaining = _remaining(deadline)
    if remaining <= 0:
        return RequestResult("timeout", "deadline passed before connecting", connection=conn)
    try:
        sock = socket.create_connection(address, timeout=remaining)
    except OSError as exc:
        return RequestResult(
            "not_connected", f"cannot connect to {address[0]}:{address[1]}: {exc}", connection=conn
        )
    with sock:
        conn.start(now=time.time())
        outcome = drive(conn, sock, deadline, until="established")
        record = RequestResult(
            "complete",
            "",
            handshake=outcome,
            connection=conn,
            psk_identity=conn.psk_identity,
            server_name=server_name,
            cipher_suite=conn.negotiated_suite,
        )
        if not conn.established:
            record.ending, record.detail = _handshake_failure(outcome)
            record.alert = _fatal_alert(conn)
            close_politely(conn, sock)
            return record
        exchange = HttpClientExchange(server_name or address[0], max_body)
        record.request_sent = exchange.request(method, target, headers, json_body)
        _send(conn, sock, record.request_sent)
        try:
            response = _read_message(
                conn, sock, deadline, exchange.receive, exchange.receive_eof,
                outcome.application_data,
            )  # fmt: skip
        except HttpError as error:
            record.http_error = error
            record.ending, record.detail = _http_error(error, conn)
            record.alert = _fatal_alert(conn)
            close_politely(conn, sock)
            return record
        record.response = response
        record.detail = f"{method} {target}: {response.status} {response.reason}".rstrip()
        _finish(conn, sock, deadline)
        return record
