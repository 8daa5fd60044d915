"""Thin blocking socket layer over the sans-IO engine (TLS over TCP, loopback only).

Every wait is bounded by a deadline; the trace records the endpoints and every wire
chunk. The ``Outcome`` says how the run ended, in the words a verdict needs.

Memory is bounded too: a peer that sends without end (records the engine may ignore,
such as HelloRequest or warning alerts, or random datagrams) is cut off once it has
sent more than any conformant exchange could (:func:`flood`), and the run ends as
``flooded``: a fail that names the flood, never "silent".
"""

from __future__ import annotations

import collections
import contextlib
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from harness.tls.engine import (
    AlertInfo,
    ApplicationDataReceived,
    ClientConnection,
    Connection,
    ServerConnection,
)
from harness.tls.trace import Trace

OutcomeKind = Literal[
    "established",
    "alert_received",
    "alert_sent",
    "peer_closed",
    "timeout",
    "closed",
    "not_connected",
    "flooded",
]
Until = Literal["established", "closed", "quiet", "answered"]
RECV_SIZE = 65536

PEER_QUIET = 0.2
"""Seconds an established peer may stay silent before its silence is taken as the end of
its answer (``until="quiet"`` and ``"answered"``). Spent only on a peer that neither
answers the harness's application data nor closes: the probe's echo or the peer's
close ends the wait at once."""

ApplicationData = bytes | Sequence[bytes]
"""What the harness sends once established: one record, or several in order."""


def application_records(data: ApplicationData | None) -> tuple[bytes, ...]:
    """The records of ``data``, in sending order (a bare ``bytes`` is one record)."""
    if data is None:
        return ()
    return (data,) if isinstance(data, bytes | bytearray) else tuple(data)


def answered(received: bytes | bytearray, records: tuple[bytes, ...]) -> bool:
    """Whether the peer's application data carries the echo of the last record sent: a
    peer that processes records in order has then dealt with everything sent before it."""
    return bool(records) and records[-1] in received


# Flood bounds, per connection: what the peer may send before the run is cut off. A PSK
# handshake with the probe's echo is about 15 messages and 2 kB (DTLS with every fault
# the suite injects: some 60 datagrams), so these leave room for any conformant peer.
FLOOD_MESSAGES = 1000  # records/handshake messages received
FLOOD_BYTES = 1 << 20  # bytes received
FLOOD_DATAGRAMS = 1000  # datagrams received (DTLS; random ones decode to no message)


@dataclass
class Outcome:
    kind: OutcomeKind
    reason: str
    alert: AlertInfo | None = None  # the alert received or sent, for those kinds
    application_data: bytes = b""  # everything the peer sent after the handshake
    connection: Connection | None = field(default=None, repr=False)

    @property
    def established(self) -> bool:
        return bool(self.connection and self.connection.established)


def _outcome(conn: Connection, kind: OutcomeKind | None, reason: str, data: bytes) -> Outcome:
    """Alerts decide the kind first: a fatal alert explains more than a TCP close."""
    if conn.alert_sent is not None and conn.alert_sent.description != "close_notify":
        return Outcome(
            "alert_sent",
            f"harness sent {conn.alert_sent.level} alert {conn.alert_sent.description}: {conn.error or ''}".rstrip(
                ": "
            ),
            conn.alert_sent,
            data,
            conn,
        )
    if conn.alert_received is not None and conn.alert_received.description != "close_notify":
        return Outcome(
            "alert_received",
            f"peer sent {conn.alert_received.level} alert {conn.alert_received.description}",
            conn.alert_received,
            data,
            conn,
        )
    if kind is None:
        if conn.established:
            kind, reason = "established", reason or "handshake completed"
            if conn.alert_received is not None:
                reason += "; peer sent close_notify"
            elif conn.alert_sent is not None:
                reason += "; harness sent close_notify"
        else:
            kind = "closed"
    if kind == "closed" and conn.alert_received is not None:
        reason = "peer sent close_notify" + ("" if conn.established else " during the handshake")
    return Outcome(kind, reason, conn.alert_received or conn.alert_sent, data, conn)


def flood(trace: Trace, started: float) -> str | None:
    """Why what the peer sent so far is a flood (the reason, naming the amounts and the
    bound), or None. ``started``: time.monotonic() at the start of the run."""
    took = time.monotonic() - started
    if trace.received_messages > FLOOD_MESSAGES:
        amount, bound = f"{trace.received_messages} messages", f"{FLOOD_MESSAGES} messages"
    elif trace.received_bytes > FLOOD_BYTES:
        amount, bound = f"{trace.received_bytes} bytes", f"{FLOOD_BYTES} bytes"
    elif trace.transport == "dtls" and trace.received_chunks > FLOOD_DATAGRAMS:
        amount, bound = f"{trace.received_chunks} datagrams", f"{FLOOD_DATAGRAMS} datagrams"
    else:
        return None
    types = collections.Counter(
        m.type for m in trace.messages if m.direction == "received" and m.layer != "trace"
    )
    common = ", ".join(f"{name} x{n}" for name, n in types.most_common(3)) or "undecodable data"
    return (
        f"the SUT flooded the harness: {amount} ({trace.received_bytes} bytes) in {took:.2f} s, "
        f"more than any conformant exchange needs (bound {bound}); most kept: {common}"
    )


def _flooded(conn: Connection, reason: str, data: bytes) -> Outcome:
    return Outcome("flooded", f"{reason}; cut off in state {conn.state}", None, data, conn)


def _ended(
    conn: Connection, until: Until, received: bytearray, records: tuple[bytes, ...] = ()
) -> Outcome | None:
    """The outcome if the run is over before the next wait (TLS and DTLS alike): the
    connection closed, the handshake completed and ``until`` asks no more, or (``until=
    "answered"``) the peer echoed the last of the application ``records`` sent."""
    if conn.closed:
        return _outcome(conn, None, "", bytes(received))
    if conn.established and until == "established":
        return _outcome(conn, "established", "handshake completed", bytes(received))
    if conn.established and until == "answered" and answered(received, records):
        return _outcome(
            conn, "established", "handshake completed; peer echoed the probe", bytes(received)
        )
    return None


def waits_for_quiet(until: Until, conn: Connection) -> bool:
    """Whether the run ends after PEER_QUIET seconds without data from now on."""
    return until in ("quiet", "answered") and conn.established


def flush(conn: Connection, sock: socket.socket) -> None:
    data = conn.data_to_send()
    if data:
        conn.trace.add_wire("sent", data)
        sock.sendall(data)


def drive(
    conn: Connection,
    sock: socket.socket,
    deadline: float,
    until: Until = "established",
    quiet: float = PEER_QUIET,
    application_data: ApplicationData | None = None,
) -> Outcome:
    """Run ``conn`` over a connected socket until ``until`` or the deadline.

    until="established": stop when the handshake completes (or fails).
    until="closed": after the handshake, send ``application_data`` (records in order) if
    given and read until the peer closes (close_notify, alert or TCP close) or the deadline.
    until="quiet": like "closed" but also stop after ``quiet`` seconds without data.
    until="answered": like "quiet", and stop as soon as the peer has echoed the last
    record of ``application_data``: the event the probe waits for.
    """
    conn.trace.local = sock.getsockname()[:2]
    conn.trace.remote = sock.getpeername()[:2]
    received = bytearray()
    records = application_records(application_data)
    sent_app = False
    quiet_since: float | None = None
    started = time.monotonic()
    try:
        while True:
            flush(conn, sock)
            if conn.established and not sent_app and records and not conn.closed:
                for record in records:
                    conn.send_application_data(record, now=time.time())
                sent_app = True
                flush(conn, sock)
            if (ended := _ended(conn, until, received, records)) is not None:
                return ended
            now = time.monotonic()
            remaining = deadline - now
            if remaining <= 0:
                if conn.established:
                    return _outcome(
                        conn,
                        "established",
                        "handshake completed; peer kept the connection open",
                        bytes(received),
                    )
                return _outcome(
                    conn, "timeout", f"peer silent in state {conn.state}", bytes(received)
                )
            wait = remaining
            if waits_for_quiet(until, conn):
                quiet_since = quiet_since or now
                wait = min(remaining, max(0.0, quiet_since + quiet - now))
                if wait <= 0:
                    return _outcome(
                        conn, "established", "handshake completed; peer quiet", bytes(received)
                    )
            sock.settimeout(wait)
            try:
                data = sock.recv(RECV_SIZE)
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError) as exc:
                _flush_quietly(conn, sock)
                return _outcome(
                    conn,
                    "peer_closed",
                    f"connection reset by peer in state {conn.state}: {exc}",
                    bytes(received),
                )
            if not data:
                return _outcome(
                    conn,
                    "peer_closed",
                    f"peer closed TCP without an alert in state {conn.state}",
                    bytes(received),
                )
            quiet_since = None
            conn.trace.add_wire("received", data)
            for event in conn.receive(data, now=time.time()):
                if isinstance(event, ApplicationDataReceived):
                    received += event.data
            if not conn.closed and (reason := flood(conn.trace, started)) is not None:
                return _flooded(conn, reason, bytes(received))
    except (ConnectionResetError, BrokenPipeError) as exc:
        return _outcome(
            conn,
            "peer_closed",
            f"connection reset by peer in state {conn.state}: {exc}",
            bytes(received),
        )


def _flush_quietly(conn: Connection, sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        flush(conn, sock)


def run_client(
    conn: ClientConnection,
    address: tuple[str, int],
    timeout: float,
    until: Until = "established",
    application_data: ApplicationData | None = None,
) -> Outcome:
    """Connect, handshake (and optionally exchange data), close the socket."""
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection(address, timeout=timeout)
    except OSError as exc:
        return Outcome(
            "not_connected", f"cannot connect to {address[0]}:{address[1]}: {exc}", connection=conn
        )
    with sock:
        conn.start(now=time.time())
        outcome = drive(conn, sock, deadline, until, application_data=application_data)
        close_politely(conn, sock)
    return outcome


def run_server_once(
    conn: ServerConnection,
    listening_socket: socket.socket,
    timeout: float,
    until: Until = "established",
    application_data: ApplicationData | None = None,
) -> Outcome:
    """Accept one connection on ``listening_socket`` and drive ``conn`` on it."""
    deadline = time.monotonic() + timeout
    listening_socket.settimeout(timeout)
    try:
        sock, _ = listening_socket.accept()
    except TimeoutError:
        return Outcome("timeout", "no client connected within the bound", connection=conn)
    with sock:
        conn.start(now=time.time())
        outcome = drive(conn, sock, deadline, until, application_data=application_data)
        close_politely(conn, sock)
    return outcome


def close_politely(conn: Connection, sock: socket.socket) -> None:
    """Polite end: close_notify if the connection is still open, then TCP close."""
    if not conn.closed and conn.established:
        conn.close(now=time.time())
    _flush_quietly(conn, sock)
