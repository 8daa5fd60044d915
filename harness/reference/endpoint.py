"""A sans-IO TLS endpoint over libssl memory BIOs, and a thin socket pump for it.

:class:`TlsEndpoint` owns one libssl connection and knows nothing of sockets: bytes
from the peer go in with :meth:`TlsEndpoint.receive`, bytes for the peer come out of
:meth:`TlsEndpoint.data_to_send`. :class:`SocketPump` moves those bytes over a TCP
socket, with every wait bounded by one :class:`Deadline`. DTLS (a later issue) needs
only another pump (datagrams, retransmission timer) over the same endpoint.

Keeping the bytes in Python is what lets the fault switches act on the wire, e.g.
``silent_abort`` drops the alert OpenSSL produced instead of sending it.
"""

from __future__ import annotations

import enum
import socket
import time
from dataclasses import dataclass, field

from harness.reference.libssl import (
    AlertEvent,
    SslConnection,
    SslContext,
    SslError,
    error_queue_text,
)


class Step(enum.Enum):
    DONE = "done"  # the handshake completed
    NEED_INPUT = "need_input"  # libssl waits for peer bytes
    FAILED = "failed"  # libssl aborted (an alert may be waiting in data_to_send)


class TlsEndpoint:
    """One TLS association attempt, sans-IO."""

    def __init__(self, context: SslContext, *, server_name: str | None = None) -> None:
        self.context = context
        self.connection = SslConnection(context, server_name=server_name)
        self.failure = ""  # OpenSSL's error queue text when a step failed
        self.peer_closed = False  # close_notify received

    @property
    def alerts(self) -> list[AlertEvent]:
        return self.context.alerts

    def receive(self, data: bytes) -> None:
        self.connection.feed(data)

    def data_to_send(self) -> bytes:
        return self.connection.take()

    def step_handshake(self) -> Step:
        """Advance the handshake as far as the bytes received allow."""
        result = self.connection.do_handshake()
        if result is SslError.NONE:
            return Step.DONE
        if result in (SslError.WANT_READ, SslError.WANT_WRITE):
            return Step.NEED_INPUT
        self.failure = error_queue_text() or f"SSL_do_handshake: {result.name}"
        return Step.FAILED

    def read_application_data(self) -> bytes | None:
        """Decrypt what has been received: bytes (maybe empty: need more input), or
        None when the peer closed (close_notify) or the record was bad."""
        chunks: list[bytes] = []
        while True:
            result, data = self.connection.read()
            if result is SslError.NONE:
                chunks.append(data)
                continue
            if result is SslError.WANT_READ:
                return b"".join(chunks)
            if result is SslError.ZERO_RETURN:
                self.peer_closed = True
            else:
                self.failure = error_queue_text() or f"SSL_read: {result.name}"
            return b"".join(chunks) or None

    def send_application_data(self, data: bytes) -> None:
        if self.connection.write(data) is not SslError.NONE:
            raise RuntimeError(f"SSL_write failed: {error_queue_text()}")

    def close(self) -> None:
        """Queue close_notify."""
        self.connection.shutdown()

    def free(self) -> None:
        self.connection.free()


class Deadline:
    """An absolute bound for one test case; every socket wait is cut to what is left."""

    def __init__(self, seconds: float) -> None:
        self.expires = time.monotonic() + seconds

    def remaining(self, cap: float | None = None) -> float:
        left = max(0.0, self.expires - time.monotonic())
        return left if cap is None else min(left, cap)

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


class PumpOutcome(enum.Enum):
    DONE = "done"
    FAILED = "failed"  # the endpoint aborted the handshake
    PEER_CLOSED = "peer_closed"  # TCP EOF or reset before the handshake finished
    TIMEOUT = "timeout"


class HandshakeRounds:
    """What a round of the handshake does alike over TCP (SocketPump) and UDP
    (DatagramPump): end a failed handshake, and send what libssl produced."""

    endpoint: TlsEndpoint
    send_on_failure: bool
    dropped: bytes

    def flush(self) -> None:
        raise NotImplementedError

    def _send_quietly(self, data: bytes) -> None:
        raise NotImplementedError

    def _failed(self) -> PumpOutcome:
        """libssl gave up: its last bytes (the fatal alert) go out best effort, or are
        withheld from the wire when ``send_on_failure`` is off (silent_abort)."""
        pending = self.endpoint.data_to_send()
        if self.send_on_failure:
            self._send_quietly(pending)
        else:
            self.dropped += pending
        return PumpOutcome.FAILED

    def _flushed(self) -> PumpOutcome | None:
        """None once libssl's bytes are sent; PEER_CLOSED if the socket refused them."""
        try:
            self.flush()
        except OSError as exc:
            self.endpoint.failure = f"send failed: {exc}"
            return PumpOutcome.PEER_CLOSED
        return None


@dataclass
class SocketPump(HandshakeRounds):
    """Moves an endpoint's bytes over one connected TCP socket, every wait bounded.

    ``send_on_failure=False`` keeps the bytes libssl produced after a failed handshake
    (its fatal alert) from reaching the wire: the ``silent_abort`` mutant.
    """

    sock: socket.socket
    endpoint: TlsEndpoint
    deadline: Deadline
    send_on_failure: bool = True
    wire: list[tuple[str, bytes]] = field(default_factory=list)  # ("sent"|"received", bytes)
    dropped: bytes = b""  # bytes withheld from the wire (silent_abort)

    def flush(self) -> None:
        data = self.endpoint.data_to_send()
        if not data:
            return
        self.sock.settimeout(max(self.deadline.remaining(), 0.001))
        self.sock.sendall(data)
        self.wire.append(("sent", data))

    def _recv(self, cap: float | None = None) -> bytes | None:
        """One bounded recv: bytes, b"" on EOF, None on timeout."""
        timeout = self.deadline.remaining(cap)
        if timeout <= 0:
            return None
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return None
        except (ConnectionResetError, BrokenPipeError):
            return b""
        if data:
            self.wire.append(("received", data))
        return data

    def handshake(self) -> PumpOutcome:
        while True:
            step = self.endpoint.step_handshake()
            if step is Step.FAILED:
                return self._failed()
            if (closed := self._flushed()) is not None:
                return closed
            if step is Step.DONE:
                return PumpOutcome.DONE
            data = self._recv()
            if data is None:
                return PumpOutcome.TIMEOUT
            if not data:
                self.endpoint.failure = self.endpoint.failure or "peer closed the TCP connection"
                return PumpOutcome.PEER_CLOSED
            self.endpoint.receive(data)

    def _send_quietly(self, data: bytes) -> None:
        if not data:
            return
        try:
            self.sock.settimeout(max(self.deadline.remaining(1.0), 0.001))
            self.sock.sendall(data)
            self.wire.append(("sent", data))
        except OSError:
            pass  # the peer may already be gone; the alert is best effort

    def receive_application_data(self, cap: float) -> bytes | None:
        """Wait (at most ``cap`` seconds, within the deadline) for application data.
        Returns the data, b"" if none came, None if the peer closed."""
        while True:
            data = self.endpoint.read_application_data()
            if data is None:
                return None
            if data:
                return data
            chunk = self._recv(cap)
            if chunk is None:
                return b""
            if not chunk:
                return None
            self.endpoint.receive(chunk)

    def send_application_data(self, data: bytes) -> None:
        self.endpoint.send_application_data(data)
        self.flush()

    def close(self, linger: float = 1.0) -> None:
        """Send close_notify, then wait (bounded) for the peer's close_notify or EOF so
        that closing the socket does not reset data still in flight."""
        try:
            self.endpoint.close()
            self.flush()
            while not self.endpoint.peer_closed and (chunk := self._recv(linger)):
                self.endpoint.receive(chunk)
                self.endpoint.read_application_data()
        except OSError:
            pass
