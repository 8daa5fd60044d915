"""DTLS handshake framing (RFC 6347 section 4.2.2): the 12-octet header, message_seq,
fragmentation to fit a datagram, and reassembly of fragments that arrive out of order,
twice, or overlapping.

The interface is the one ``framing.TlsHandshakeFraming`` offers the state machines
(``message`` to send, ``feed`` to receive whole messages, ``frame``, ``pending``), so the
handshake logic stays unchanged. The bytes the handshake hash absorbs are those of
section 4.2.6: each message as if sent in one fragment (fragment_offset 0,
fragment_length = length), with its message_seq.

Receiving follows section 4.2.2: messages come out strictly in message_seq order;
fragments of later messages are buffered (a bounded number); those of earlier messages
are dropped, but note when the last message of the peer's previous flight comes again
(``old_flight_seen``): the peer lost our flight, and the connection retransmits it (4.2.4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.tls import alerts
from harness.tls.alerts import ProtocolError
from harness.tls.framing import MAX_HANDSHAKE_LENGTH, HandshakeMessage
from harness.tls.messages import CLIENT_HELLO

HANDSHAKE_HEADER_LENGTH = 12
MAX_FUTURE_MESSAGES = 8  # how far ahead of next_receive_seq fragments are buffered


@dataclass(frozen=True)
class Fragment:
    msg_type: int
    length: int
    message_seq: int
    fragment_offset: int
    body: bytes

    def encode(self) -> bytes:
        return (
            bytes([self.msg_type])
            + self.length.to_bytes(3, "big")
            + self.message_seq.to_bytes(2, "big")
            + self.fragment_offset.to_bytes(3, "big")
            + len(self.body).to_bytes(3, "big")
            + self.body
        )


def frame_whole(msg_type: int, message_seq: int, body: bytes) -> bytes:
    """A message in one fragment: what is sent unfragmented and what is hashed."""
    return Fragment(msg_type, len(body), message_seq, 0, body).encode()


def parse_fragments(payload: bytes) -> list[Fragment]:
    """Every handshake fragment in one record payload (a record may carry several)."""
    out: list[Fragment] = []
    at = 0
    while at < len(payload):
        if len(payload) - at < HANDSHAKE_HEADER_LENGTH:
            raise ProtocolError(alerts.DECODE_ERROR, "truncated DTLS handshake header")
        h = payload[at : at + HANDSHAKE_HEADER_LENGTH]
        length = int.from_bytes(h[1:4], "big")
        seq = int.from_bytes(h[4:6], "big")
        offset = int.from_bytes(h[6:9], "big")
        frag_length = int.from_bytes(h[9:12], "big")
        end = at + HANDSHAKE_HEADER_LENGTH + frag_length
        if end > len(payload) or offset + frag_length > length:
            raise ProtocolError(alerts.DECODE_ERROR, "DTLS handshake fragment out of bounds")
        if length > MAX_HANDSHAKE_LENGTH:
            raise ProtocolError(alerts.DECODE_ERROR, f"handshake message length {length} too large")
        out.append(Fragment(h[0], length, seq, offset, payload[at + HANDSHAKE_HEADER_LENGTH : end]))
        at = end
    return out


def split_message(framed: bytes, size: int) -> list[Fragment]:
    """Cut a whole framed message (12-octet header + body) into fragments of at most
    ``size`` body octets. A zero-length body still gives one (empty) fragment."""
    whole = parse_fragments(framed)[0]
    size = max(1, size)
    body = whole.body
    if not body:
        return [whole]
    return [
        Fragment(whole.msg_type, whole.length, whole.message_seq, at, body[at : at + size])
        for at in range(0, len(body), size)
    ]


@dataclass
class _Reassembly:
    msg_type: int
    length: int
    body: bytearray
    covered: list[tuple[int, int]] = field(default_factory=list)  # merged [start, end)

    def add(self, fragment: Fragment) -> None:
        start, end = fragment.fragment_offset, fragment.fragment_offset + len(fragment.body)
        self.body[start:end] = fragment.body  # overlaps carry the same bytes (4.2.3)
        spans = sorted([*self.covered, (start, end)])
        merged: list[tuple[int, int]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        self.covered = merged

    @property
    def complete(self) -> bool:
        if self.length == 0:
            return True
        return self.covered == [(0, self.length)]


class DtlsHandshakeFraming:
    """Sending: ``message`` assigns message_seq. Receiving: ``feed`` reassembles."""

    def __init__(self, listening: bool = False) -> None:
        self.next_send_seq = 0
        self.next_receive_seq = 0
        # A server before the (cookie-verified) ClientHello accepts a ClientHello with any
        # message_seq: it keeps no state until then (RFC 6347 section 4.2.1).
        self.listening = listening
        # message_seq of the first message of the peer flight we are waiting for;
        # anything earlier is a retransmission of an older peer flight.
        self.peer_flight_start = 0
        self.old_flight_seen = False
        self.fragments_received = 0
        self.duplicates_dropped = 0
        self._partial: dict[int, _Reassembly] = {}

    # -- sending -----------------------------------------------------------------------

    def frame(self, msg_type: int, body: bytes) -> bytes:
        """The hashed form of the message we expect next from the peer (used when the
        connection hashes a message it could not read, see tolerate_bad_finished)."""
        framed = frame_whole(msg_type, self.next_receive_seq, body)
        self.next_receive_seq += 1
        return framed

    def message(
        self, msg_type: int, body: bytes, message_seq: int | None = None
    ) -> HandshakeMessage:
        """A message to send with the next message_seq (or a given one, for the
        HelloVerifyRequest, which echoes the ClientHello's and consumes none)."""
        if message_seq is None:
            message_seq = self.next_send_seq
            self.next_send_seq += 1
        framed = frame_whole(msg_type, message_seq, body)
        return HandshakeMessage(msg_type, body, framed)

    def flight_sent(self) -> None:
        """We sent a flight: what the peer sends before now is an older flight."""
        self.peer_flight_start = self.next_receive_seq

    def listen(self) -> None:
        """Back to the stateless state of a server that answered with a HelloVerifyRequest."""
        self.listening = True
        self.next_send_seq = 0
        self.next_receive_seq = 0
        self.peer_flight_start = 0
        self._partial.clear()

    # -- receiving ---------------------------------------------------------------------

    def feed(self, payload: bytes) -> list[HandshakeMessage]:
        """Add one handshake record payload; return the messages now complete, in order."""
        if not payload:
            raise ProtocolError(alerts.UNEXPECTED_MESSAGE, "empty handshake record")
        for fragment in parse_fragments(payload):
            self.fragments_received += 1
            if self.listening and fragment.msg_type == CLIENT_HELLO and not self._partial:
                self.next_receive_seq = fragment.message_seq
                self.listening = False
            seq = fragment.message_seq
            if seq < self.next_receive_seq:
                self.duplicates_dropped += 1
                # Only the start of the last message of the peer's previous flight counts,
                # so one repeated flight (however many datagrams) causes one answer.
                if seq == self.peer_flight_start - 1 and fragment.fragment_offset == 0:
                    self.old_flight_seen = True
                continue
            if seq >= self.next_receive_seq + MAX_FUTURE_MESSAGES:
                self.duplicates_dropped += 1
                continue
            partial = self._partial.get(seq)
            if partial is None:
                partial = _Reassembly(
                    fragment.msg_type, fragment.length, bytearray(fragment.length)
                )
                self._partial[seq] = partial
            elif (partial.msg_type, partial.length) != (fragment.msg_type, fragment.length):
                raise ProtocolError(
                    alerts.ILLEGAL_PARAMETER,
                    f"fragments of message_seq {seq} disagree on type or length",
                )
            partial.add(fragment)
        out: list[HandshakeMessage] = []
        while (ready := self._partial.get(self.next_receive_seq)) is not None and ready.complete:
            del self._partial[self.next_receive_seq]
            body = bytes(ready.body)
            framed = frame_whole(ready.msg_type, self.next_receive_seq, body)
            out.append(HandshakeMessage(ready.msg_type, body, framed))
            self.next_receive_seq += 1
        return out

    def take_old_flight_seen(self) -> bool:
        seen, self.old_flight_seen = self.old_flight_seen, False
        return seen

    @property
    def pending(self) -> bool:
        """Never blocks a ChangeCipherSpec: in DTLS the CCS is not ordered with the
        handshake messages (it carries no message_seq), so buffered fragments are normal."""
        return False


def message_seq_of(message: HandshakeMessage) -> int:
    return int.from_bytes(message.transcript_bytes[4:6], "big")
