"""Handshake framing: between whole handshake messages (type + body) and record payloads.

TLS (RFC 5246 section 7.4) puts a 4-octet header (msg_type, uint24 length) before each
body, and messages may span or share records. DTLS (RFC 6347 section 4.2.2) will supply
another framing with the same interface (12-octet header, message_seq, fragments) and the
handshake state machines stay unchanged: they see only ``HandshakeMessage`` objects,
and the transcript hash takes ``HandshakeMessage.transcript_bytes`` from the framing.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.tls import alerts
from harness.tls.alerts import ProtocolError

MAX_HANDSHAKE_LENGTH = 1 << 16  # far above anything a PSK handshake needs


@dataclass(frozen=True)
class HandshakeMessage:
    msg_type: int
    body: bytes
    transcript_bytes: bytes  # what the handshake hash absorbs for this message


class TlsHandshakeFraming:
    """Reassembles handshake messages from record payloads and frames outgoing ones."""

    def __init__(self) -> None:
        self._buffer = b""

    def frame(self, msg_type: int, body: bytes) -> bytes:
        return bytes([msg_type]) + len(body).to_bytes(3, "big") + body

    def message(self, msg_type: int, body: bytes) -> HandshakeMessage:
        """The message as it will be framed and hashed (sending side)."""
        return HandshakeMessage(msg_type, body, self.frame(msg_type, body))

    def feed(self, payload: bytes) -> list[HandshakeMessage]:
        """Add one handshake record payload; return every message now complete."""
        if not payload:
            # RFC 5246 section 6.2.1: zero-length handshake fragments must not be sent.
            raise ProtocolError(alerts.UNEXPECTED_MESSAGE, "empty handshake record")
        self._buffer += payload
        out: list[HandshakeMessage] = []
        while len(self._buffer) >= 4:
            length = int.from_bytes(self._buffer[1:4], "big")
            if length > MAX_HANDSHAKE_LENGTH:
                raise ProtocolError(
                    alerts.DECODE_ERROR, f"handshake message length {length} too large"
                )
            if len(self._buffer) < 4 + length:
                break
            raw = self._buffer[: 4 + length]
            self._buffer = self._buffer[4 + length :]
            out.append(HandshakeMessage(raw[0], raw[4:], raw))
        return out

    @property
    def pending(self) -> bool:
        """True while a partial message waits: a CCS now would break the record boundary rule."""
        return bool(self._buffer)
