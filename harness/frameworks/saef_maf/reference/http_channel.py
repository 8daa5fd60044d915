"""HTTP/1.1 from the standard library over an established libssl (TLS-PSK) connection.

The key-retrieval binding (docs/saef-maf.md) is HTTP/1.1 over TLS 1.2 PSK. Python 3.11's
``ssl`` module has no PSK, so the reference runs the TLS in libssl
(:mod:`harness.reference.endpoint`) and hands ``http.client`` / ``http.server`` a
socket-like :class:`TlsChannel` whose bytes are the connection's plaintext. The harness
speaks HTTP with h11: harness-versus-reference is then an interoperation of two HTTP
implementations, not one parser checking itself.

Every read is bounded by the case's :class:`Deadline`; a read past it raises
``TimeoutError``, which both http.client and http.server report as a failed exchange.
"""

from __future__ import annotations

import http.client
import io
from typing import Any

from harness.reference.endpoint import Deadline, SocketPump


class _PlaintextReader(io.RawIOBase):
    """The raw stream under ``makefile("rb")``: decrypted application data."""

    def __init__(self, channel: TlsChannel) -> None:
        self._channel = channel

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._channel.recv(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class TlsChannel:
    """The socket face of one established TLS connection, for the stdlib HTTP classes.

    It offers what they call: ``sendall``, ``makefile("rb")``, ``settimeout``,
    ``setsockopt`` and ``close``. ``close`` is deliberately soft (http.client closes the
    connection's socket while its response is still being read, which a real socket
    survives through makefile's reference count): the owner of the libssl connection ends
    it with :meth:`shutdown` once the exchange is over.
    """

    def __init__(self, pump: SocketPump, deadline: Deadline) -> None:
        self.pump = pump
        self.deadline = deadline
        self._pending = b""
        self.eof = False
        self.sent = 0
        self.received = 0

    # -- what http.client / http.server call --

    def sendall(self, data: bytes) -> None:
        if self.deadline.expired:
            raise TimeoutError("case deadline passed before sending")
        self.pump.send_application_data(bytes(data))
        self.sent += len(data)

    def recv(self, size: int) -> bytes:
        """Up to ``size`` plaintext bytes; b"" once the peer closed."""
        while not self._pending and not self.eof:
            data = self.pump.receive_application_data(self.deadline.remaining())
            if data is None:
                self.eof = True
            elif not data:
                raise TimeoutError("no HTTP data within the case deadline")
            else:
                self._pending = data
                self.received += len(data)
        chunk, self._pending = self._pending[:size], self._pending[size:]
        return chunk

    def makefile(
        self, mode: str = "rb", buffering: int | None = None, **_: Any
    ) -> io.BufferedReader:
        if "w" in mode:
            raise ValueError("TlsChannel.makefile writes through sendall only")
        size = buffering if buffering and buffering > 0 else io.DEFAULT_BUFFER_SIZE
        return io.BufferedReader(_PlaintextReader(self), size)

    def settimeout(self, _timeout: float | None) -> None:
        """Ignored: the case deadline bounds every read."""

    def setsockopt(self, *_args: Any) -> None:
        """Ignored (http.server may ask for TCP_NODELAY)."""

    def close(self) -> None:
        """Soft: see the class docstring."""

    # -- the owner's end of the exchange --

    def shutdown(self, linger: float = 1.0) -> None:
        """close_notify, then a bounded wait for the peer's."""
        self.pump.close(min(linger, max(self.deadline.remaining(), 0.0)))


class ChannelHTTPConnection(http.client.HTTPConnection):
    """``http.client.HTTPConnection`` whose "socket" is a :class:`TlsChannel`.

    ``host`` is the Host header value (the MAF's FQDN); no TCP connection is opened here.
    """

    def __init__(self, host: str, channel: TlsChannel) -> None:
        super().__init__(host, timeout=max(channel.deadline.remaining(), 0.001))
        self._channel = channel

    def connect(self) -> None:
        self.sock = self._channel
