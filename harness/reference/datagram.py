"""DTLS 1.2 (RFC 6347) for the reference: datagram framing and a bounded datagram pump.

The sans-IO :class:`harness.reference.endpoint.TlsEndpoint` is the same for TLS and
DTLS; what differs is the socket layer, which lives here:

- libssl writes a flight into its memory BIO as a run of DTLS records. The pump splits
  that run at record boundaries (the 13-byte DTLS record header carries each record's
  length) and packs whole records into datagrams of at most the link MTU, so a record
  never straddles two datagrams (RFC 6347 4.1.1).
- One received datagram goes into libssl per ``BIO_write``, and is processed before the
  next, so libssl sees datagram boundaries as a UDP socket would give them.
- A memory BIO has no clock: the pump waits at most until libssl's retransmission timer
  (DTLSv1_get_timeout) runs out, then calls DTLSv1_handle_timeout to resend the last
  flight. Every wait is also cut to the case's :class:`Deadline`.
- Entity B answers a ClientHello without a valid cookie with a HelloVerifyRequest
  (RFC 6347 4.2.1). The cookie is an HMAC of the sender's address under a per-run
  secret (:class:`CookieExchange`); the first address that returns a valid cookie is
  the one association B serves, datagrams from any other address are ignored.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import hmac
import os
import socket
import struct
from dataclasses import dataclass, field

from harness.reference.endpoint import Deadline, HandshakeRounds, PumpOutcome, Step, TlsEndpoint

DTLS_RECORD_HEADER = 13
"""type(1) version(2) epoch(2) sequence_number(6) length(2): RFC 6347 4.1."""
DEFAULT_MTU = 1200
"""Default link MTU (largest UDP payload): safe on any IPv6 path, used unless the
configuration gives ``mtu``."""
DEFAULT_RETRANSMISSION_TIMEOUT = 1.0
"""Initial retransmission timer, seconds (RFC 6347 4.2.4.1 recommends 1 s)."""
NO_RETRANSMISSION_TIMER = 3600.0
"""The timer the ``no_retransmission`` mutant sets: longer than any test case, so
libssl never resends a flight on its own when it next reads a datagram."""

CHANGE_CIPHER_SPEC = 20
ALERT = 21
HANDSHAKE = 22
APPLICATION_DATA = 23
HELLO_VERIFY_REQUEST = 3


@dataclass(frozen=True)
class DtlsRecord:
    """One DTLS record as it travels: the clear header fields and the (maybe
    protected) fragment."""

    content_type: int
    version: int
    epoch: int
    sequence_number: int
    fragment: bytes

    @property
    def encoded(self) -> bytes:
        header = struct.pack(
            "!BHH", self.content_type, self.version, self.epoch
        ) + self.sequence_number.to_bytes(6, "big")
        return header + struct.pack("!H", len(self.fragment)) + self.fragment


def parse_records(data: bytes) -> list[DtlsRecord]:
    """Split a run of DTLS records at their boundaries. A truncated last record is
    dropped, as a receiver does with a malformed one (RFC 6347 4.1.2.7)."""
    records: list[DtlsRecord] = []
    offset = 0
    while offset + DTLS_RECORD_HEADER <= len(data):
        content_type, version, epoch = struct.unpack_from("!BHH", data, offset)
        sequence_number = int.from_bytes(data[offset + 5 : offset + 11], "big")
        (length,) = struct.unpack_from("!H", data, offset + 11)
        start = offset + DTLS_RECORD_HEADER
        if start + length > len(data):
            break
        records.append(
            DtlsRecord(content_type, version, epoch, sequence_number, data[start : start + length])
        )
        offset = start + length
    return records


def pack_datagrams(data: bytes, mtu: int) -> list[bytes]:
    """Whole records of ``data`` packed in order into datagrams of at most ``mtu``
    bytes; a single record longer than ``mtu`` travels alone."""
    datagrams: list[bytes] = []
    current = b""
    for record in parse_records(data):
        encoded = record.encoded
        if current and len(current) + len(encoded) > mtu:
            datagrams.append(current)
            current = b""
        current += encoded
    if current:
        datagrams.append(current)
    return datagrams


UdpAddress = tuple[str, int]


class CookieExchange:
    """Entity B's stateless cookies: HMAC-SHA-256(per-run secret, "host:port").

    The pump sets :attr:`source` to the sender of the datagram libssl is processing;
    libssl's cookie callbacks then ask :meth:`generate` / :meth:`verify`. The first
    sender whose cookie verifies becomes :attr:`verified`.
    """

    def __init__(self) -> None:
        self._secret = os.urandom(32)
        self.source: UdpAddress | None = None
        self.verified: UdpAddress | None = None
        self.sent = 0  # HelloVerifyRequests asked for

    def _cookie(self, address: UdpAddress) -> bytes:
        return hmac.new(
            self._secret, f"{address[0]}:{address[1]}".encode(), hashlib.sha256
        ).digest()

    def generate(self) -> bytes:
        if self.source is None:
            return b""
        self.sent += 1
        return self._cookie(self.source)

    def verify(self, cookie: bytes) -> bool:
        if self.source is None or not hmac.compare_digest(cookie, self._cookie(self.source)):
            return False
        if self.verified is None:
            self.verified = self.source
        return self.verified == self.source


def _is_hello_verify_request(datagram: bytes) -> bool:
    """Whether the datagram carries a HelloVerifyRequest (handshake type 3, epoch 0)."""
    return any(
        r.content_type == 22 and r.epoch == 0 and r.fragment[:1] == b"\x03"
        for r in parse_records(datagram)
    )


class BadRecord(enum.Enum):
    """Why a received application-data record produced no plaintext."""

    REPLAYED = "replayed record"
    UNDECRYPTABLE = "record failing decryption"


@dataclass
class DatagramPump(HandshakeRounds):
    """Moves an endpoint's records over one UDP socket, every wait bounded.

    ``peer`` is B's address for Entity A; None for Entity B until the association is
    pinned (the first sender that completes the cookie exchange, or with ``cookies``
    None the first sender at all). ``send_on_failure=False`` withholds the alert of a
    failed handshake (``silent_abort``); ``retransmit=False`` never resends a flight
    (``no_retransmission``); ``tear_down_on_bad_record`` ends the association on a
    replayed or undecryptable record instead of discarding it.
    """

    sock: socket.socket
    endpoint: TlsEndpoint
    deadline: Deadline
    peer: UdpAddress | None = None
    cookies: CookieExchange | None = None
    mtu: int = DEFAULT_MTU
    retransmission_timeout: float = DEFAULT_RETRANSMISSION_TIMEOUT
    send_on_failure: bool = True
    retransmit: bool = True
    tear_down_on_bad_record: bool = False
    strict_record_order: bool = False
    ignore_hello_verify_request: bool = False
    wire: list[tuple[str, bytes]] = field(default_factory=list)  # one entry per datagram
    dropped: bytes = b""  # bytes withheld from the wire (silent_abort)
    retransmissions: int = 0  # flights resent on timer expiry
    discarded: list[BadRecord] = field(default_factory=list)  # bad records dropped silently
    torn_down: BadRecord | None = None  # the bad record that ended the association
    _source: UdpAddress | None = None
    _seen: set[tuple[int, int]] = field(default_factory=set)  # (epoch, seq) of app data
    _highest: tuple[int, int] = (-1, -1)  # strict_record_order: the last (epoch, seq) taken

    def __post_init__(self) -> None:
        connection = self.endpoint.connection
        connection.set_link_mtu(self.mtu)
        connection.set_retransmission_timer(
            self.retransmission_timeout if self.retransmit else NO_RETRANSMISSION_TIMER
        )

    # -- datagrams out --

    @property
    def destination(self) -> UdpAddress | None:
        return self.peer or self._source

    def flush(self) -> None:
        data = self.endpoint.data_to_send()
        destination = self.destination
        if not data or destination is None:
            return
        for datagram in pack_datagrams(data, self.mtu):
            self.sock.sendto(datagram, destination)
            self.wire.append(("sent", datagram))

    def _send_quietly(self, data: bytes) -> None:
        destination = self.destination
        if not data or destination is None:
            return
        for datagram in pack_datagrams(data, self.mtu):
            try:
                self.sock.sendto(datagram, destination)
                self.wire.append(("sent", datagram))
            except OSError:
                return  # the peer may be gone; the alert is best effort

    # -- datagrams in --

    def _recv(self, cap: float | None = None) -> bytes | None:
        """One bounded wait for a datagram this association accepts: its bytes (fed
        to libssl by the caller), b"" when the peer's port is closed (ICMP), None on
        timeout. Datagrams from other senders are ignored."""
        while True:
            timeout = self.deadline.remaining(cap)
            if timeout <= 0:
                return None
            self.sock.settimeout(timeout)
            try:
                data, source = self.sock.recvfrom(65535)
            except TimeoutError:
                return None
            except ConnectionRefusedError:
                return b""
            source = (source[0], source[1])
            pinned = self.peer or (self.cookies.verified if self.cookies else None)
            if pinned is not None and source != pinned:
                continue  # B serves one association per case
            self.wire.append(("received", data))
            self._source = source
            if self.cookies is not None:
                self.cookies.source = source
            return data

    def _pin(self) -> None:
        """Entity B: fix the peer once libssl has accepted a cookie from it (or, with
        no cookie exchange, once the first datagram is taken)."""
        if self.peer is None:
            self.peer = self.cookies.verified if self.cookies is not None else self._source

    # -- the handshake --

    def handshake(self) -> PumpOutcome:
        connection = self.endpoint.connection
        while True:
            step = self.endpoint.step_handshake()
            if step is Step.FAILED:
                return self._failed()
            self._pin()
            if (closed := self._flushed()) is not None:
                return closed
            if step is Step.DONE:
                return PumpOutcome.DONE
            while True:  # wait for a datagram, resending the last flight on timer expiry
                timer = connection.dtls_timeout() if self.retransmit else None
                data = self._recv(timer)
                if data and self.strict_record_order and self._out_of_order(data):
                    return PumpOutcome.FAILED
                if data and self.ignore_hello_verify_request and _is_hello_verify_request(data):
                    continue  # the ignores_hello_verify_request mutant never sees it
                if data:
                    self.endpoint.receive(data)
                    break
                if data == b"":
                    self.endpoint.failure = "the peer's UDP port is closed (ICMP)"
                    return PumpOutcome.PEER_CLOSED
                if self.deadline.expired:
                    return PumpOutcome.TIMEOUT
                if timer is None:
                    continue
                resent = connection.dtls_handle_timeout()
                if resent < 0:
                    self.endpoint.failure = "too many retransmissions"
                    self._send_quietly(self.endpoint.data_to_send())
                    return PumpOutcome.FAILED
                if resent > 0:
                    self.retransmissions += 1
                    self.flush()

    def _out_of_order(self, data: bytes) -> bool:
        """The ``strict_record_order`` mutant: a record whose (epoch, sequence_number)
        is not above every one seen before is taken for a replay and ends the handshake
        (RFC 6347 4.1.2.6 keeps a window precisely so that reordering is not an attack)."""
        for record in parse_records(data):
            key = (record.epoch, record.sequence_number)
            if key <= self._highest:
                self.endpoint.failure = (
                    f"record {key} arrived after {self._highest}: taken for a replay"
                )
                return True
            self._highest = key
        return False

    # -- application data --

    def _app_records(self, data: bytes) -> tuple[int, bool]:
        """How many protected application-data records the datagram carries, and
        whether one of them repeats an (epoch, sequence_number) already seen."""
        count, replayed = 0, False
        for record in parse_records(data):
            if record.content_type != APPLICATION_DATA or record.epoch == 0:
                continue
            count += 1
            key = (record.epoch, record.sequence_number)
            replayed |= key in self._seen
            self._seen.add(key)
        return count, replayed

    def receive_application_data(self, cap: float) -> bytes | None:
        """Wait (at most ``cap`` seconds, within the deadline) for application data.
        Returns the data, b"" if none came, None if the peer closed or the association
        was torn down. A bad record is silently discarded (RFC 6347 4.1.2.7) unless
        ``tear_down_on_bad_record``."""
        window = Deadline(min(cap, self.deadline.remaining()))
        while True:
            data = self.endpoint.read_application_data()
            self._flush_quietly()  # libssl may resend its last flight on a duplicate
            if data is None:
                return None
            if data:
                return data
            chunk = self._recv(window.remaining())
            if chunk is None:
                return b""
            if not chunk:
                return None
            records, replayed = self._app_records(chunk)
            self.endpoint.receive(chunk)
            if not records:
                continue
            data = self.endpoint.read_application_data()
            self._flush_quietly()
            if data is None:
                return None
            if data and not replayed:
                return data
            bad = BadRecord.REPLAYED if replayed else BadRecord.UNDECRYPTABLE
            if self.tear_down_on_bad_record:
                self._tear_down(bad)
                return None
            self.discarded.append(bad)
            if data:
                return data

    def _tear_down(self, bad: BadRecord) -> None:
        """The ``tear_down_on_bad_record`` mutant: end the association with an alert
        (libssl's close_notify, the only alert its API can send after the handshake)."""
        self.torn_down = bad
        self.endpoint.close()
        self._flush_quietly()

    def _flush_quietly(self) -> None:
        with contextlib.suppress(OSError):
            self.flush()

    def send_application_data(self, data: bytes) -> None:
        self.endpoint.send_application_data(data)
        self.flush()

    def close(self, linger: float = 1.0) -> None:
        """Send close_notify, then wait (bounded) for the peer's: UDP has no EOF, so
        only the peer's close_notify, an ICMP error or ``linger`` ends the wait."""
        if self.torn_down is not None:
            return  # the alert is already out
        try:
            self.endpoint.close()
            self.flush()
            window = Deadline(min(linger, self.deadline.remaining()))
            while not self.endpoint.peer_closed and (chunk := self._recv(window.remaining())):
                self.endpoint.receive(chunk)
                self.endpoint.read_application_data()
        except OSError:
            pass
