"""DTLS 1.2 record layer (RFC 6347 section 4.1): epochs, explicit 48-bit sequence numbers,
the anti-replay window, and silent discarding of invalid records.

The protection itself is the TLS one (``record.RecordProtection``): DTLS only changes the
8-octet sequence input, which becomes ``epoch || sequence_number`` as carried in the
13-octet header. That one substitution gives the DTLS MAC input (section 4.1.2.1), the
AEAD additional data, and for AES-CCM / CCM_8 the explicit nonce (RFC 6655 section 3:
the explicit nonce is epoch || seq), so no cipher code is repeated here.

Unlike TLS, a record that fails a check is not fatal (section 4.1.2.7): malformed
records, records of an unknown epoch and replays are dropped here and counted in
``records_discarded``; a record that fails decryption is raised as ``ProtocolError``
(bad_record_mac) with its raw bytes so the connection can decide (the DTLS connections
discard it by default and count it through :meth:`discard`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.tls import alerts
from harness.tls.alerts import ProtocolError
from harness.tls.messages import CLIENT_HELLO
from harness.tls.record import (
    CONTENT_TYPES,
    CT_HANDSHAKE,
    MAX_CIPHERTEXT,
    MAX_PLAINTEXT,
    Record,
    RecordProtection,
    corrupt_tag,
)

DTLS12 = (0xFE, 0xFD)
DTLS10 = (0xFE, 0xFF)
DTLS_HEADER_LENGTH = 13
MAX_SEQUENCE = (1 << 48) - 1
WINDOW_SIZE = 64  # RFC 6347 section 4.1.2.6: at least 32, 64 preferred
MAX_FUTURE_RECORDS = 16  # next-epoch records kept until the ChangeCipherSpec arrives


def version_problem(
    version: tuple[int, int], expected: tuple[int, int] | None, client_hello: bool = False
) -> str | None:
    """Why a DTLS record header's version is not acceptable, or None (then: discard the
    record silently, RFC 6347 4.1.2.7).

    Before the hellos fix the version, 0xFEFF and 0xFEFD are both valid: a DTLS 1.2 server
    SHOULD send its HelloVerifyRequest as DTLS 1.0 (4.2.1) and clients commonly put DTLS
    1.0 in their ClientHello record, the version there "solely" marking the packet format.
    Afterwards every record carries the negotiated version, except a ClientHello the
    client repeats (4.2.4): it was written before the client knew the version.
    """
    if expected is None or client_hello:
        if version not in (DTLS10, DTLS12):
            return f"record version {version[0]}.{version[1]} is neither DTLS 1.0 nor DTLS 1.2"
        return None
    if version != expected:
        return (
            f"record version {version[0]}.{version[1]} is not the negotiated "
            f"{expected[0]}.{expected[1]} (RFC 6347 4.1)"
        )
    return None


def _is_client_hello(raw: bytes) -> bool:
    """An epoch-0 handshake record whose (first) fragment is a ClientHello."""
    return (
        raw[0] == CT_HANDSHAKE
        and raw[3:5] == b"\x00\x00"
        and len(raw) > DTLS_HEADER_LENGTH
        and raw[DTLS_HEADER_LENGTH] == CLIENT_HELLO
    )


def sequence_input(epoch: int, seq: int) -> bytes:
    """The 8 octets the MAC, the AAD and the CCM explicit nonce use: epoch || seq48."""
    return epoch.to_bytes(2, "big") + seq.to_bytes(6, "big")


@dataclass
class DtlsRecord(Record):
    epoch: int = 0
    seq: int = 0


@dataclass
class ReplayWindow:
    """RFC 6347 section 4.1.2.6 sliding window, updated only for authenticated records."""

    size: int = WINDOW_SIZE
    right: int = -1  # the highest sequence number accepted so far
    bits: int = 0  # bit i set: right - i was accepted

    def seen(self, seq: int) -> bool:
        """True if ``seq`` is a replay or too old to tell (left of the window)."""
        if seq > self.right:
            return False
        offset = self.right - seq
        return offset >= self.size or bool(self.bits >> offset & 1)

    def accept(self, seq: int) -> None:
        if seq > self.right:
            shift = seq - self.right
            self.bits = ((self.bits << shift) | 1) & ((1 << self.size) - 1)
            self.right = seq
        else:
            self.bits |= 1 << (self.right - seq)


@dataclass
class _WriteEpoch:
    state: RecordProtection
    next_seq: int = 0


@dataclass
class DtlsRecordLayer:
    """Same interface as ``record.TlsRecordLayer`` plus epochs: ``feed`` one datagram,
    then ``next_record`` until None; ``encode`` one record (optionally for an older epoch,
    which retransmission of a flight spanning a ChangeCipherSpec needs)."""

    window_size: int = WINDOW_SIZE
    version: tuple[int, int] = DTLS12
    read_state: RecordProtection = field(default_factory=RecordProtection)
    pending_read: RecordProtection | None = None
    pending_write: RecordProtection | None = None
    read_epoch: int = 0
    write_epoch: int = 0
    records_discarded: int = 0
    discard_reasons: list[str] = field(default_factory=list)
    last_read_seq: int = 0  # record sequence number of the last record returned
    # The version every received record must carry once the hellos agreed (RFC 6347 4.1);
    # None before, when the DTLS 1.0 and 1.2 record formats are both accepted.
    expected_version: tuple[int, int] | None = None
    read_seq: int = 0  # unused (implicit TLS counter); kept for interface compatibility

    def __post_init__(self) -> None:
        self._write: dict[int, _WriteEpoch] = {0: _WriteEpoch(RecordProtection())}
        self._window = ReplayWindow(self.window_size)
        self._buffer = b""
        self._future: list[bytes] = []

    # -- epochs ------------------------------------------------------------------------

    @property
    def write_state(self) -> RecordProtection:
        return self._write[self.write_epoch].state

    @property
    def write_seq(self) -> int:
        return self._write[self.write_epoch].next_seq

    def set_write_seq(self, epoch: int, seq: int) -> None:
        """RFC 6347 section 4.2.1: a server answering a ClientHello reuses its record
        sequence number (HelloVerifyRequest, and the first flight after the cookie)."""
        self._write[epoch].next_seq = seq

    def activate_write(self) -> None:
        if self.pending_write is None:
            raise ProtocolError(alerts.INTERNAL_ERROR, "no pending write state")
        self.write_epoch += 1
        self._write[self.write_epoch] = _WriteEpoch(self.pending_write)
        self.pending_write = None

    def activate_read(self) -> None:
        if self.pending_read is None:
            raise ProtocolError(alerts.UNEXPECTED_MESSAGE, "ChangeCipherSpec before keys are known")
        self.read_state, self.pending_read = self.pending_read, None
        self.read_epoch += 1
        self._window = ReplayWindow(self.window_size)
        # Records of the new epoch that overtook the ChangeCipherSpec are read now.
        self._buffer = b"".join(self._future) + self._buffer
        self._future = []

    def reset_replay_window(self) -> None:
        """A client starts epoch 0 afresh after a HelloVerifyRequest (the server is
        stateless until the cookie, so its record numbers may restart)."""
        self._window = ReplayWindow(self.window_size)

    # -- out ---------------------------------------------------------------------------

    def encode(
        self,
        content_type: int,
        data: bytes,
        corrupt: bool = False,
        version: tuple[int, int] | None = None,
        epoch: int | None = None,
    ) -> bytes:
        """Protect and frame one record under ``epoch`` (default: the current one)."""
        version = version or self.version
        if len(data) > MAX_PLAINTEXT:
            raise ValueError("record plaintext larger than 2^14")
        epoch = self.write_epoch if epoch is None else epoch
        state = self._write[epoch]
        if state.next_seq > MAX_SEQUENCE:
            raise ProtocolError(alerts.INTERNAL_ERROR, "DTLS sequence number space exhausted")
        seq = state.next_seq
        state.next_seq += 1
        fragment = state.state.protect(sequence_input(epoch, seq), content_type, version, data)
        if corrupt:
            fragment = corrupt_tag(fragment)
        return (
            bytes([content_type, version[0], version[1]])
            + sequence_input(epoch, seq)
            + len(fragment).to_bytes(2, "big")
            + fragment
        )

    # -- in ----------------------------------------------------------------------------

    def feed(self, datagram: bytes) -> None:
        self._buffer += datagram

    def discard(self, reason: str) -> None:
        """Count a record dropped without an alert (RFC 6347 section 4.1.2.7)."""
        self.records_discarded += 1
        self.discard_reasons.append(reason)

    def next_record(self) -> DtlsRecord | None:
        """The next valid record of the datagram(s) fed, or None when none is left."""
        while len(self._buffer) >= DTLS_HEADER_LENGTH:
            header = self._buffer[:DTLS_HEADER_LENGTH]
            length = int.from_bytes(header[11:13], "big")
            if len(self._buffer) < DTLS_HEADER_LENGTH + length:
                self.discard("truncated record: the rest of the datagram is dropped")
                self._buffer = b""
                return None
            raw = self._buffer[: DTLS_HEADER_LENGTH + length]
            self._buffer = self._buffer[DTLS_HEADER_LENGTH + length :]
            record = self._open(raw)
            if record is not None:
                return record
        if self._buffer:
            self.discard("datagram ends in a partial record header")
            self._buffer = b""
        return None

    def _open(self, raw: bytes) -> DtlsRecord | None:
        content_type = raw[0]
        version = (raw[1], raw[2])
        epoch = int.from_bytes(raw[3:5], "big")
        seq = int.from_bytes(raw[5:11], "big")
        fragment = raw[DTLS_HEADER_LENGTH:]
        if content_type not in CONTENT_TYPES:
            self.discard(f"unknown content type {content_type}")
            return None
        problem = version_problem(version, self.expected_version, _is_client_hello(raw))
        if problem:
            self.discard(problem)
            return None
        limit = MAX_CIPHERTEXT if self.read_state.encrypted else MAX_PLAINTEXT
        if len(fragment) > limit:
            self.discard(f"record length {len(fragment)} exceeds {limit}")
            return None
        if epoch == self.read_epoch + 1 and len(self._future) < MAX_FUTURE_RECORDS:
            self._future.append(raw)  # overtook the ChangeCipherSpec: keep for later
            return None
        if epoch != self.read_epoch:
            self.discard(f"record of epoch {epoch} while reading epoch {self.read_epoch}")
            return None
        if self._window.seen(seq):
            self.discard(f"replayed or too old record (epoch {epoch}, seq {seq})")
            return None
        try:
            plaintext = self.read_state.unprotect(
                sequence_input(epoch, seq), content_type, version, fragment
            )
        except ProtocolError as exc:
            exc.record_type, exc.record_length, exc.record_raw = content_type, len(fragment), raw
            raise
        if len(plaintext) > MAX_PLAINTEXT:
            self.discard("decrypted record larger than 2^14")
            return None
        self._window.accept(seq)
        self.last_read_seq = seq
        return DtlsRecord(content_type, version, plaintext, raw, epoch, seq)

    def unprotect_with(self, state: RecordProtection, raw: bytes) -> bytes:
        """Decrypt one raw record with another read state (the peer's keys after a key
        fault); the header carries its own epoch and sequence number."""
        return state.unprotect(raw[3:11], raw[0], (raw[1], raw[2]), raw[DTLS_HEADER_LENGTH:])

    def skip_record(self) -> None:
        """Nothing to count: DTLS sequence numbers are explicit."""

    @property
    def buffered(self) -> int:
        return len(self._buffer)
