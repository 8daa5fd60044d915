"""Sans-IO DTLS 1.2 connections (RFC 6347) on the TLS 1.2 handshake state machines.

``DtlsClientConnection`` and ``DtlsServerConnection`` are the engine's ``ClientConnection``
and ``ServerConnection`` with the DTLS record layer (``dtls_record``), the DTLS handshake
framing (``dtls_framing``) and what only DTLS has, added here around the handshake logic:

- the cookie exchange (section 4.2.1): the server answers a ClientHello without a valid
  cookie with a HelloVerifyRequest and keeps no state; the client repeats its ClientHello
  with the cookie; neither the first ClientHello nor the HelloVerifyRequest is hashed;
- flights and retransmission (section 4.2.4): the last handshake flight is kept, re-sent
  (fresh record sequence numbers, same message_seq) when the timer expires, doubling the
  timeout up to a maximum, or at once when the peer repeats its previous flight; the
  server keeps its final flight to answer a repeated client Finished;
- datagrams: records are packed into datagrams up to the MTU; handshake messages are
  fragmented to fit; ``datagrams_to_send`` returns them one by one;
- invalid records are dropped silently and counted (``records_discarded``).

Time is an input: ``receive(datagram, now)``, ``next_timeout()`` and
``handle_timeout(now)``; nothing here sleeps or reads a clock.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from typing import Any

from harness.tls import alerts, messages
from harness.tls.alerts import ProtocolError
from harness.tls.dtls_faults import DatagramFaulter, OutgoingDatagram
from harness.tls.dtls_framing import (
    DtlsHandshakeFraming,
    message_seq_of,
    parse_fragments,
    split_message,
)
from harness.tls.dtls_record import DTLS10, DTLS12, DTLS_HEADER_LENGTH, DtlsRecordLayer
from harness.tls.engine import (
    ClientConfig,
    ClientConnection,
    Connection,
    Event,
    Hello,
    ServerConfig,
    ServerConnection,
    _Out,
)
from harness.tls.framing import HandshakeMessage
from harness.tls.messages import CLIENT_HELLO, HELLO_VERIFY_REQUEST, MESSAGE_TYPES
from harness.tls.record import CT_APPLICATION_DATA, CT_CHANGE_CIPHER_SPEC, CT_HANDSHAKE, Record

DEFAULT_MTU = 1200  # octets of UDP payload per datagram
ENCRYPTED_OVERHEAD = 64  # room for explicit IV/nonce, MAC/tag and padding
MAX_HELLO_VERIFY_REQUESTS = 8  # a client gives up on a server that never accepts a cookie


@dataclass(frozen=True)
class RetransmitConfig:
    """RFC 6347 section 4.2.4.1: initial timer 1 s, doubled on each expiry, at most 60 s.
    ``max_retransmissions`` (None: unbounded) makes a client give up earlier."""

    initial: float = 1.0
    maximum: float = 60.0
    max_retransmissions: int | None = None


@dataclass
class _FlightRecord:
    """One record of a flight, kept so the flight can be sent again under its epoch."""

    content_type: int
    payload: bytes
    epoch: int
    corrupt: bool
    name: str


class _Dtls(Connection):
    """DTLS behaviour shared by both roles; mixed in before the role's class."""

    protocol_version = DTLS12
    records: DtlsRecordLayer  # type: ignore[assignment]
    framing: DtlsHandshakeFraming  # type: ignore[assignment]

    def _dtls_init(self, mtu: int, retransmit: RetransmitConfig, alert_on_bad_record: bool) -> None:
        if mtu < 64:
            raise ValueError("a DTLS MTU below 64 octets cannot carry a handshake")
        self.trace.transport = "dtls"
        self.mtu = mtu
        self.retransmit = retransmit
        # RFC 6347 section 4.1.2.7: invalid records are dropped; an implementation MAY
        # instead answer with bad_record_mac (that is this switch).
        self.alert_on_bad_record = alert_on_bad_record
        self.peer_address: tuple[str, int] | None = None  # set by the socket layer
        self.cookie: bytes | None = None  # the cookie sent (client) or required (server)
        self.hello_verify_requests_sent = 0
        self.hello_verify_requests_received = 0
        self.retransmissions = 0
        self.datagrams_sent = 0
        self.datagrams_received = 0
        self._datagrams: list[bytes] = []
        self._collecting: list[_FlightRecord] | None = None
        self._last_flight: list[_FlightRecord] | None = None
        self._last_flight_final = False
        self._timer: float | None = None
        self._timeout = retransmit.initial
        self._flight_retransmissions = 0
        self._faulter = DatagramFaulter(self.faults.dtls)
        self._sent_records: dict[str, bytes] = {}  # first wire form of each named record
        self._replayed = False
        self._corrupted_sent = False
        self._dropped_received: set[str] = set()

    # -- public sans-IO interface ----------------------------------------------------------

    @property
    def records_discarded(self) -> int:
        return self.records.records_discarded

    @property
    def cookie_seen(self) -> bool:
        return self.cookie is not None

    def datagrams_to_send(self) -> list[bytes]:
        """The datagrams produced since the last call, each to be sent as one UDP payload."""
        out, self._datagrams = self._datagrams, []
        return out

    def data_to_send(self) -> bytes:
        """All pending datagrams concatenated (records delimit themselves, so a receiver
        may take the result as one datagram; the MTU is not respected then)."""
        return b"".join(self.datagrams_to_send())

    def receive(self, data: bytes, now: float | None = None) -> list[Event]:
        """Process one datagram."""
        self.datagrams_received += 1
        if self._drop_received_if_asked(data):
            self._now = now
            return []
        events = super().receive(data, now)
        if self.framing.take_old_flight_seen() and self._last_flight and not self.closed:
            self._retransmit("peer repeated its previous flight")
        return events

    def next_timeout(self) -> float | None:
        """When ``handle_timeout`` next has work: a retransmission or a delayed datagram."""
        times = [t for t in (self._faulter.next_release(), self._timer) if t is not None]
        return min(times) if times else None

    def handle_timeout(self, now: float) -> None:
        self._now = now
        for data, note in self._faulter.release(now):
            self._fault_note(note)
            self._queue_wire(data)
        if self._timer is None or now < self._timer or self.closed:
            return
        limit = self.retransmit.max_retransmissions
        if limit is not None and self._flight_retransmissions >= limit:
            self._timer = None
            self.error = f"no answer after {limit} retransmissions in state {self.state}"
            return
        self._timeout = min(self._timeout * 2, self.retransmit.maximum)
        self._retransmit("retransmission timer expired")

    # -- records out -------------------------------------------------------------------

    def _emit_record(self, item: _Out, corrupt: bool) -> None:
        pieces = [item.payload]
        if item.content_type == CT_HANDSHAKE and item.name in MESSAGE_TYPES:
            faults = self.faults.dtls
            size = faults.fragment_size_for(item.name) or self._fragment_budget()
            try:
                pieces = [f.encode() for f in split_message(item.payload, size)]
            except ProtocolError:
                pieces = [item.payload]  # replaced by a fault with bytes that do not parse
            if faults.reverse_fragments:
                pieces.reverse()
        epoch = self.records.write_epoch
        records = [_FlightRecord(item.content_type, p, epoch, corrupt, item.name) for p in pieces]
        if self._collecting is not None:
            self._collecting.extend(records)
        else:  # pragma: no cover - every emit happens inside _send_flight
            self._transmit(records, first=True)

    def _fragment_budget(self) -> int:
        overhead = ENCRYPTED_OVERHEAD if self.records.write_state.encrypted else 0
        return self.mtu - DTLS_HEADER_LENGTH - 12 - overhead

    def _send_flight(self, flight: list[_Out]) -> None:
        outer, self._collecting = self._collecting, []
        try:
            super()._send_flight(flight)
            records = self._collecting
        finally:
            self._collecting = outer
        if not records:
            return
        names = {r.name for r in records}
        self._corrupted_copy_if_asked(records)
        self._transmit(records, first=True)
        handshake = any(r.content_type in (CT_HANDSHAKE, CT_CHANGE_CIPHER_SPEC) for r in records)
        if handshake and names != {"HelloVerifyRequest"}:
            # A new flight: the peer's earlier flights are now "previous" (4.2.4).
            self._last_flight = records
            self._last_flight_final = not self.is_client and "Finished" in names
            self.framing.flight_sent()
            self._timeout = self.retransmit.initial
            self._flight_retransmissions = 0
            self._timer = None if self._last_flight_final else self._clock() + self._timeout
        elif self.established and not handshake:
            self._replay_if_asked(names)
        if self.closed:
            self._timer = None

    def _transmit(self, records: list[_FlightRecord], first: bool) -> None:
        """Protect the records (fresh sequence numbers), pack them into datagrams up to
        the MTU in order, and pass each datagram through the datagram faults."""
        current: list[bytes] = []
        current_names: list[str] = []
        size = 0
        packed: list[OutgoingDatagram] = []
        for r in records:
            wire = self.records.encode(r.content_type, r.payload, corrupt=r.corrupt, epoch=r.epoch)
            self._sent_records.setdefault(r.name, wire)
            if current and size + len(wire) > self.mtu:
                packed.append(OutgoingDatagram(b"".join(current), tuple(current_names), first))
                current, current_names, size = [], [], 0
            current.append(wire)
            current_names.append(r.name)
            size += len(wire)
        if current:
            packed.append(OutgoingDatagram(b"".join(current), tuple(current_names), first))
        if self.faults.dtls.reverse_datagrams and len(packed) > 1:
            packed.reverse()
            self._fault_note(f"fault: {len(packed)} datagrams of a flight sent in reverse order")
        for datagram in packed:
            for data, note in self._faulter.process(datagram, self._clock()):
                if note:
                    self._fault_note(note)
                self._queue_wire(data)

    def _queue_wire(self, data: bytes) -> None:
        if data:
            self._datagrams.append(data)
            self.datagrams_sent += 1

    def _retransmit(self, reason: str) -> None:
        assert self._last_flight is not None
        self.retransmissions += 1
        self._flight_retransmissions += 1
        names = [r.name for r in self._last_flight]
        self._trace(
            "sent",
            "flight",
            "Retransmission",
            {"messages": list(dict.fromkeys(names)), "timeout": self._timeout},
            b"",
            reason,
        )
        self._transmit(self._last_flight, first=False)
        if self._timer is not None:
            self._timer = self._clock() + self._timeout

    def _replay_if_asked(self, names: set[str]) -> None:
        """DatagramFaults.replay_record: after the handshake, with our first application
        data, send the named record again byte for byte (a replay the peer must drop)."""
        name = self.faults.dtls.replay_record
        if name is None or self._replayed or "ApplicationData" not in names:
            return
        wire = self._sent_records.get(name)
        if wire is None:
            return
        self._replayed = True
        self._fault_note(f"fault: replayed the {name} record after the handshake")
        self._queue_wire(wire)

    def _corrupted_copy_if_asked(self, records: list[_FlightRecord]) -> None:
        """DatagramFaults.corrupted_copy: before our first record of that name after the
        handshake, send a copy of it with a flipped tag under the same sequence number."""
        name = self.faults.dtls.corrupted_copy
        if name is None or self._corrupted_sent or not self.established:
            return
        record = next((r for r in records if r.name == name), None)
        if record is None:
            return
        self._corrupted_sent = True
        seq = self.records.write_seq
        bad = self.records.encode(record.content_type, record.payload, corrupt=True)
        self.records.set_write_seq(self.records.write_epoch, seq)  # the genuine one reuses it
        self._fault_note(f"fault: sent a copy of the {name} record with a corrupted tag first")
        self._queue_wire(bad)

    def _drop_received_if_asked(self, datagram: bytes) -> bool:
        """DatagramFaults.drop_received_first: act as if the network lost the first
        datagram carrying one of the named (plaintext, epoch 0) handshake messages."""
        wanted = set(self.faults.dtls.drop_received_first) - self._dropped_received
        if not wanted:
            return False
        names = set()
        at = 0
        while at + DTLS_HEADER_LENGTH <= len(datagram):
            length = int.from_bytes(datagram[at + 11 : at + 13], "big")
            record = datagram[at : at + DTLS_HEADER_LENGTH + length]
            if record[0] == CT_HANDSHAKE and record[3:5] == b"\x00\x00":
                with contextlib.suppress(ProtocolError):
                    names |= {
                        messages.message_name(f.msg_type)
                        for f in parse_fragments(record[DTLS_HEADER_LENGTH:])
                    }
            at += DTLS_HEADER_LENGTH + length
        hit = names & wanted
        if not hit:
            return False
        self._dropped_received |= hit
        self._trace(
            "received",
            "datagram",
            "DatagramFault",
            {"length": len(datagram)},
            b"",
            f"fault: received datagram with first {'/'.join(sorted(hit))} ignored (lost)",
        )
        return True

    def _fault_note(self, note: str) -> None:
        self._trace("sent", "datagram", "DatagramFault", {}, b"", note)

    def _clock(self) -> float:
        return self._now if self._now is not None else 0.0

    def _time(self) -> float:
        """Trace entries carry wall-clock time, as over TLS and in the pcap: ``now`` is
        the monotonic clock of the retransmission timers, which means nothing in a report
        and cannot be compared with another party's events."""
        return time.time()

    # -- records in --------------------------------------------------------------------

    def _tolerate_record_error(self, exc: ProtocolError) -> bool:
        if super()._tolerate_record_error(exc):
            return True
        if exc.record_raw is None or self.alert_on_bad_record:
            return False
        self.records.discard(f"record failed authentication ({exc.reason})")
        self._trace(
            "received",
            "record",
            "DiscardedRecord",
            {"content_type": exc.record_type, "length": exc.record_length},
            exc.record_raw,
            "invalid record silently discarded (RFC 6347 section 4.1.2.7)",
        )
        return True

    def _handle_record(self, record: Record) -> None:
        # A ChangeCipherSpec carries no message_seq: one that comes before the messages it
        # follows (reordering) or again (a repeated flight) is dropped; the peer's
        # retransmission brings it back in place.
        early_ccs = record.content_type == CT_CHANGE_CIPHER_SPEC and self.state != "wait_ccs"
        early_data = record.content_type == CT_APPLICATION_DATA and not self.established
        if early_ccs or early_data:
            what = "ChangeCipherSpec" if early_ccs else "application data"
            self.records.discard(f"{what} in state {self.state}")
            self._trace(
                "received",
                "record",
                "DiscardedRecord",
                {"content_type": record.content_type, "length": len(record.fragment)},
                record.raw,
                f"{what} out of order in state {self.state}: dropped",
            )
            return
        super()._handle_record(record)

    def _complete(self) -> None:
        super()._complete()
        if self.is_client:
            self._timer = None  # our last flight got its answer

    def _check_server_hello_record(self, version: tuple[int, int]) -> None:
        """Nothing to refuse: DTLS 1.0 and 1.2 records share one format, and RFC 6347
        4.2.1 has a client read the record version before the ServerHello "solely" as
        the packet format. From the ServerHello on, the record layer discards records of
        any other version (RFC 6347 4.1, 4.1.2.7)."""

    def _client_version_refused(self, version: tuple[int, int]) -> bool:
        """DTLS versions count down: 0xFEFF is DTLS 1.0, older than 0xFEFD."""
        return version[0] != 0xFE or version[1] > DTLS12[1]


class DtlsClientConnection(_Dtls, ClientConnection):
    """Entity A over DTLS 1.2.

    ``mtu``: largest datagram (UDP payload) sent. ``retransmit``: the flight timer.
    ``alert_on_bad_record``: answer an invalid record with bad_record_mac instead of
    dropping it.
    """

    def __init__(
        self,
        config: ClientConfig,
        mtu: int = DEFAULT_MTU,
        retransmit: RetransmitConfig | None = None,
        alert_on_bad_record: bool = False,
        records: DtlsRecordLayer | None = None,
        framing: DtlsHandshakeFraming | None = None,
    ) -> None:
        super().__init__(config, records or DtlsRecordLayer(), framing or DtlsHandshakeFraming())
        self._dtls_init(mtu, retransmit or RetransmitConfig(), alert_on_bad_record)
        self._hello: Hello | None = None

    def _encode_client_hello(self, hello: Hello) -> bytes:
        self._hello = hello
        return messages.encode_dtls_client_hello(hello, self.cookie or b"")

    def _handle_handshake(self, message: HandshakeMessage) -> None:
        if message.msg_type == HELLO_VERIFY_REQUEST:
            if self.state != "wait_server_hello":
                raise ProtocolError(
                    alerts.UNEXPECTED_MESSAGE, f"HelloVerifyRequest in state {self.state}"
                )
            self._on_hello_verify_request(message)
            return
        super()._handle_handshake(message)

    def _on_hello_verify_request(self, message: HandshakeMessage) -> None:
        _version, cookie = messages.decode_hello_verify_request(message.body)
        self.hello_verify_requests_received += 1
        if self.hello_verify_requests_received > MAX_HELLO_VERIFY_REQUESTS:
            raise ProtocolError(alerts.HANDSHAKE_FAILURE, "server keeps refusing our cookie")
        assert self._hello is not None
        self.cookie = cookie
        # RFC 6347 section 4.2.6: the first ClientHello and the HelloVerifyRequest are
        # not part of the handshake hash; the second ClientHello starts it.
        self.transcript.clear()
        self.records.reset_replay_window()
        body = messages.encode_dtls_client_hello(self._hello, cookie)
        self.client_hello = {**self._hello.fields(client=True), "cookie": cookie.hex()}
        item = self._handshake_item(
            CLIENT_HELLO, body, self.client_hello, "ClientHello repeated with the cookie"
        )
        self._send_flight([item])


class DtlsServerConnection(_Dtls, ServerConnection):
    """Entity B over DTLS 1.2.

    ``cookie_exchange``: answer a ClientHello without a valid cookie with a
    HelloVerifyRequest (on by default). The cookie is HMAC-SHA256 under ``cookie_secret``
    (random per connection by default) of the client's address (``peer_address``, which
    the socket layer sets) and the ClientHello without its cookie field.
    """

    def __init__(
        self,
        config: ServerConfig,
        cookie_exchange: bool = True,
        mtu: int = DEFAULT_MTU,
        retransmit: RetransmitConfig | None = None,
        alert_on_bad_record: bool = False,
        cookie_secret: bytes | None = None,
        records: DtlsRecordLayer | None = None,
        framing: DtlsHandshakeFraming | None = None,
    ) -> None:
        super().__init__(
            config, records or DtlsRecordLayer(), framing or DtlsHandshakeFraming(listening=True)
        )
        self._dtls_init(mtu, retransmit or RetransmitConfig(), alert_on_bad_record)
        self.cookie_exchange = cookie_exchange
        self.cookie_secret = cookie_secret or os.urandom(32)
        self.cookie_verified = False

    def _decode_client_hello(self, body: bytes) -> Hello:
        return messages.decode_dtls_client_hello(body)[0]

    def make_cookie(self, hello_without_cookie: bytes) -> bytes:
        host, port = self.peer_address or ("", 0)
        address = f"{host}:{port}".encode()
        return hmac.new(
            self.cookie_secret, address + b"|" + hello_without_cookie, hashlib.sha256
        ).digest()

    def _on_client_hello(self, message: HandshakeMessage) -> None:
        cookie, tls_body = messages.split_dtls_client_hello(message.body)
        if self.cookie_exchange:
            expected = self.make_cookie(tls_body)
            if not hmac.compare_digest(cookie, expected):
                self._send_hello_verify_request(message, expected, cookie)
                return
            self.cookie_verified = True
            self.cookie = cookie
        # Our first flight continues the ClientHello's numbering (4.2.1, 4.2.2).
        self.framing.next_send_seq = message_seq_of(message)
        self.records.set_write_seq(0, self.records.last_read_seq)
        super()._on_client_hello(message)

    def _send_hello_verify_request(
        self, message: HandshakeMessage, cookie: bytes, offered: bytes
    ) -> None:
        """Stateless: answer with the ClientHello's message_seq and record sequence
        number, then forget it (the framing listens again)."""
        self.hello_verify_requests_sent += 1
        self.records.set_write_seq(0, self.records.last_read_seq)
        # RFC 6347 section 4.2.1: a DTLS 1.2 server SHOULD send 0xFEFF here.
        body = messages.encode_hello_verify_request(DTLS10, cookie)
        hvr = self.framing.message(HELLO_VERIFY_REQUEST, body, message_seq_of(message))
        fields: dict[str, Any] = {
            "server_version": "254.255",
            "cookie": cookie.hex(),
            "offered_cookie": offered.hex(),
        }
        note = "wrong cookie in ClientHello" if offered else "ClientHello without a cookie"
        self._send_flight(
            [_Out("HelloVerifyRequest", CT_HANDSHAKE, hvr.transcript_bytes, fields, note)]
        )
        self.framing.listen()
        self.client_hello = None
        self.client_random = None
