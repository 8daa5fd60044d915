"""Thin UDP socket layer over the sans-IO DTLS connections (loopback only).

The connection's retransmission timer is driven with real time here, but every wait is
bounded by min(next_timeout, deadline), so nothing hangs. One datagram per ``recv``;
the trace records the endpoints and every datagram. UDP has no "closed" signal: a peer
that goes silent ends as "timeout", never "peer_closed"; one that sends datagrams without
end (valid or not) ends as "flooded" (harness.tls.transport.flood).
"""

from __future__ import annotations

import contextlib
import socket
import time

from harness.tls.dtls import DtlsClientConnection, DtlsServerConnection, _Dtls
from harness.tls.engine import ApplicationDataReceived
from harness.tls.transport import (
    PEER_QUIET,
    ApplicationData,
    Outcome,
    Until,
    _ended,
    _flooded,
    _outcome,
    application_records,
    flood,
    waits_for_quiet,
)

MAX_DATAGRAM = 65535
MIN_WAIT = 0.001


def _flush(conn: _Dtls, sock: socket.socket, address: tuple[str, int]) -> None:
    for datagram in conn.datagrams_to_send():
        conn.trace.add_wire("sent", datagram)
        with contextlib.suppress(OSError):  # e.g. ICMP port unreachable from an earlier send
            sock.sendto(datagram, address)


def drive_dtls(
    conn: _Dtls,
    sock: socket.socket,
    peer: tuple[str, int] | None,
    deadline: float,
    until: Until = "established",
    quiet: float = PEER_QUIET,
    application_data: ApplicationData | None = None,
) -> Outcome:
    """Run ``conn`` on a UDP socket until ``until`` or the deadline (time.monotonic()),
    with the meanings of harness.tls.transport.drive.

    ``peer`` None (server): the first address a datagram comes from is the peer; later
    datagrams from other addresses are ignored.
    """
    conn.trace.local = sock.getsockname()[:2]
    received = bytearray()
    records = application_records(application_data)
    sent_app = False
    quiet_since: float | None = None
    heard = False
    started = time.monotonic()
    while True:
        if peer is not None:
            _flush(conn, sock, peer)
        if conn.established and not sent_app and records and not conn.closed:
            for record in records:  # one record each, in order (datagram faults may add)
                conn.send_application_data(record, now=time.monotonic())
            sent_app = True
            if peer is not None:
                _flush(conn, sock, peer)
        if (ended := _ended(conn, until, received, records)) is not None:
            return ended
        now = time.monotonic()
        remaining = deadline - now
        if remaining <= 0:
            if conn.established:
                return _outcome(
                    conn, "established", "handshake completed; peer kept talking", bytes(received)
                )
            silent = "peer silent" if heard else "no datagram from the peer"
            return _outcome(
                conn,
                "timeout",
                # No count here: how many retransmissions fit in the bound is timing, and
                # the reason must read the same in every run (the trace has each one).
                f"{silent} in state {conn.state}"
                + (", though the harness retransmitted its flight" if conn.retransmissions else ""),
                bytes(received),
            )
        wait = remaining
        due = conn.next_timeout()
        if due is not None:
            wait = min(wait, max(0.0, due - now))
        if waits_for_quiet(until, conn):
            quiet_since = quiet_since or now
            left = quiet_since + quiet - now
            if left <= 0:
                return _outcome(
                    conn, "established", "handshake completed; peer quiet", bytes(received)
                )
            wait = min(wait, left)
        sock.settimeout(max(wait, MIN_WAIT))
        try:
            data, source = sock.recvfrom(MAX_DATAGRAM)
        except TimeoutError:
            conn.handle_timeout(time.monotonic())
            continue
        except ConnectionRefusedError:
            # ICMP port unreachable for an earlier datagram: nobody there (yet); keep
            # waiting for the deadline, the retransmission timer re-sends.
            time.sleep(MIN_WAIT)
            conn.handle_timeout(time.monotonic())
            continue
        source = source[:2]
        if peer is None:
            peer = source
            conn.peer_address = source
            conn.trace.remote = source
        elif source != peer:
            continue
        heard = True
        quiet_since = None
        conn.trace.add_wire("received", data)
        for event in conn.receive(data, now=time.monotonic()):
            if isinstance(event, ApplicationDataReceived):
                received += event.data
        if not conn.closed and (reason := flood(conn.trace, started)) is not None:
            return _flooded(conn, reason, bytes(received))


def run_dtls_client(
    conn: DtlsClientConnection,
    address: tuple[str, int],
    timeout: float,
    until: Until = "established",
    application_data: ApplicationData | None = None,
) -> Outcome:
    """Handshake with the DTLS server at ``address`` over a fresh UDP socket on 127.0.0.1
    (and optionally exchange data), then close_notify."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        conn.peer_address = address
        conn.trace.remote = address
        conn.start(now=time.monotonic())
        outcome = drive_dtls(
            conn, sock, address, deadline, until, application_data=application_data
        )
        _close(conn, sock, address)
    return outcome


def run_dtls_server_once(
    conn: DtlsServerConnection,
    sock: socket.socket,
    timeout: float,
    until: Until = "established",
    application_data: ApplicationData | None = None,
) -> Outcome:
    """Serve one association on a bound UDP socket: the first client address wins."""
    deadline = time.monotonic() + timeout
    conn.start(now=time.monotonic())
    outcome = drive_dtls(conn, sock, None, deadline, until, application_data=application_data)
    if conn.peer_address is not None:
        _close(conn, sock, conn.peer_address)
    return outcome


def _close(conn: _Dtls, sock: socket.socket, address: tuple[str, int]) -> None:
    if not conn.closed and conn.established:
        conn.close(now=time.monotonic())
    _flush(conn, sock, address)
