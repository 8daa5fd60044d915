"""TLS 1.2 record protection (RFC 5246 section 6.2) and the TLS record layer.

Two parts, so DTLS (RFC 6347) can reuse the first: a :class:`RecordProtection` turns one
plaintext fragment into one ciphertext fragment given the 8-octet sequence input
(TLS: implicit 64-bit counter; DTLS: epoch || 48-bit sequence) and the header fields;
:class:`TlsRecordLayer` owns the 5-octet header, the implicit counters and buffering.
Every decryption failure is surfaced as bad_record_mac (RFC 5246 section 7.2.2), with the
same code path whether the padding or the MAC was wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM

from harness.tls import alerts
from harness.tls.alerts import ProtocolError
from harness.tls.suites import CipherSuite

CT_CHANGE_CIPHER_SPEC = 20
CT_ALERT = 21
CT_HANDSHAKE = 22
CT_APPLICATION_DATA = 23
CONTENT_TYPES = {20: "change_cipher_spec", 21: "alert", 22: "handshake", 23: "application_data"}

TLS12 = (3, 3)
MAX_PLAINTEXT = 1 << 14
MAX_CIPHERTEXT = MAX_PLAINTEXT + 2048
HEADER_LENGTH = 5


class RecordProtection:
    """The NULL_WITH_NULL_NULL state: the identity, used before the first CCS."""

    name = "null"

    def protect(
        self, seq: bytes, content_type: int, version: tuple[int, int], plaintext: bytes
    ) -> bytes:
        return plaintext

    def unprotect(
        self, seq: bytes, content_type: int, version: tuple[int, int], fragment: bytes
    ) -> bytes:
        return fragment

    @property
    def encrypted(self) -> bool:
        return False


def corrupt_tag(fragment: bytes) -> bytes:
    """``fragment`` with one bit of its last octet flipped: the tag under AEAD, the last
    ciphertext block (so the MAC and padding under it) under CBC. Empty stays empty."""
    return fragment[:-1] + bytes([fragment[-1] ^ 0x01]) if fragment else fragment


def _mac_input(seq: bytes, content_type: int, version: tuple[int, int], data: bytes) -> bytes:
    return seq + bytes([content_type, version[0], version[1]]) + len(data).to_bytes(2, "big") + data


class CbcHmacProtection(RecordProtection):
    """GenericBlockCipher (RFC 5246 section 6.2.3.2): MAC-then-encrypt with explicit IV.

    ``enc_key`` empty means the NULL cipher (TLS_PSK_WITH_NULL_SHA256): MAC only.
    """

    def __init__(
        self,
        mac_key: bytes,
        enc_key: bytes,
        hash_name: str,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.mac_key = mac_key
        self.enc_key = enc_key
        self.hash_name = hash_name
        self.mac_length = hashlib.new(hash_name).digest_size
        self.rng = rng
        self.name = ("aes-128-cbc" if enc_key else "null") + f"+hmac-{hash_name}"

    @property
    def encrypted(self) -> bool:
        return True

    def _mac(self, seq: bytes, content_type: int, version: tuple[int, int], data: bytes) -> bytes:
        return hmac.new(
            self.mac_key, _mac_input(seq, content_type, version, data), self.hash_name
        ).digest()

    def protect(
        self, seq: bytes, content_type: int, version: tuple[int, int], plaintext: bytes
    ) -> bytes:
        mac = self._mac(seq, content_type, version, plaintext)
        if not self.enc_key:
            return plaintext + mac
        body = plaintext + mac
        pad = 15 - len(body) % 16
        body += bytes([pad]) * (pad + 1)
        iv = self.rng(16)
        encryptor = Cipher(algorithms.AES(self.enc_key), modes.CBC(iv)).encryptor()
        return iv + encryptor.update(body) + encryptor.finalize()

    def unprotect(
        self, seq: bytes, content_type: int, version: tuple[int, int], fragment: bytes
    ) -> bytes:
        if not self.enc_key:
            if len(fragment) < self.mac_length:
                raise ProtocolError(alerts.BAD_RECORD_MAC, "record shorter than its MAC")
            data, mac = fragment[: -self.mac_length], fragment[-self.mac_length :]
            if not hmac.compare_digest(mac, self._mac(seq, content_type, version, data)):
                raise ProtocolError(alerts.BAD_RECORD_MAC, "record MAC check failed")
            return data
        minimum = 16 + ((self.mac_length + 1 + 15) // 16) * 16
        if len(fragment) < minimum or len(fragment) % 16:
            raise ProtocolError(
                alerts.BAD_RECORD_MAC, "CBC record length is not a valid block count"
            )
        iv, ciphertext = fragment[:16], fragment[16:]
        decryptor = Cipher(algorithms.AES(self.enc_key), modes.CBC(iv)).decryptor()
        body = decryptor.update(ciphertext) + decryptor.finalize()
        # Constant-shape check: examine the padding and compute the MAC whatever the
        # padding says, and report one error for both, so a padding oracle is not offered.
        pad = body[-1]
        pad_ok = pad + 1 + self.mac_length <= len(body)
        if not pad_ok:
            pad = 0
        good = 1 if pad_ok else 0
        for byte in body[len(body) - 1 - pad : len(body) - 1]:
            good &= int(byte == pad)
        data_end = len(body) - 1 - pad - self.mac_length
        data = body[:data_end]
        mac = body[data_end : data_end + self.mac_length]
        mac_ok = hmac.compare_digest(mac, self._mac(seq, content_type, version, data))
        if not (good and mac_ok):
            raise ProtocolError(alerts.BAD_RECORD_MAC, "record MAC or padding check failed")
        return data


class AeadProtection(RecordProtection):
    """GenericAEADCipher (RFC 5246 section 6.2.3.3) for AES-GCM (RFC 5288) and AES-CCM
    (RFC 6655): nonce = 4-octet salt || 8-octet explicit nonce (the sequence input),
    AAD = seq || type || version || plaintext length."""

    def __init__(self, key: bytes, salt: bytes, cipher: str) -> None:
        self.salt = salt
        self.cipher = cipher
        if cipher == "AES_128_GCM":
            self.aead: AESGCM | AESCCM = AESGCM(key)
            self.tag_length = 16
        elif cipher == "AES_128_CCM":
            self.aead = AESCCM(key, tag_length=16)
            self.tag_length = 16
        elif cipher == "AES_128_CCM_8":
            self.aead = AESCCM(key, tag_length=8)
            self.tag_length = 8
        else:
            raise ValueError(f"not an AEAD cipher: {cipher}")
        self.name = cipher.lower()

    @property
    def encrypted(self) -> bool:
        return True

    def protect(
        self, seq: bytes, content_type: int, version: tuple[int, int], plaintext: bytes
    ) -> bytes:
        aad = _mac_input(seq, content_type, version, b"")[:-2] + len(plaintext).to_bytes(2, "big")
        return seq + self.aead.encrypt(self.salt + seq, plaintext, aad)

    def unprotect(
        self, seq: bytes, content_type: int, version: tuple[int, int], fragment: bytes
    ) -> bytes:
        if len(fragment) < 8 + self.tag_length:
            raise ProtocolError(alerts.BAD_RECORD_MAC, "AEAD record shorter than nonce and tag")
        explicit, ciphertext = fragment[:8], fragment[8:]
        length = len(ciphertext) - self.tag_length
        aad = seq + bytes([content_type, version[0], version[1]]) + length.to_bytes(2, "big")
        try:
            return self.aead.decrypt(self.salt + explicit, ciphertext, aad)
        except Exception as exc:  # cryptography raises InvalidTag
            raise ProtocolError(alerts.BAD_RECORD_MAC, "AEAD tag check failed") from exc


def make_protection(
    suite: CipherSuite,
    mac_key: bytes,
    enc_key: bytes,
    fixed_iv: bytes,
    rng: Callable[[int], bytes] = os.urandom,
) -> RecordProtection:
    if suite.is_aead:
        return AeadProtection(enc_key, fixed_iv, suite.cipher)
    return CbcHmacProtection(mac_key, enc_key, suite.mac.lower(), rng)


def version_problem(version: tuple[int, int], expected: tuple[int, int] | None) -> str | None:
    """Why a TLS record header's version is not acceptable, or None.

    Before the hellos have fixed the version, RFC 5246 Appendix E.1 makes a server accept
    any {03,XX} (old clients put {03,00} or their lowest version in the ClientHello
    record); afterwards every record carries the negotiated version (6.2.1). RFC 5246
    names no alert for a wrong record version; protocol_version is the one 7.2.2 gives
    for a version the peer cannot use (and what OpenSSL and GnuTLS send).
    """
    if expected is None:
        if version[0] != 3:
            return f"record version {version[0]}.{version[1]} is not TLS ({{03,XX}})"
        return None
    if version != expected:
        return (
            f"record version {version[0]}.{version[1]} is not the negotiated "
            f"{expected[0]}.{expected[1]} (RFC 5246 6.2.1)"
        )
    return None


@dataclass
class Record:
    content_type: int
    version: tuple[int, int]
    fragment: bytes  # plaintext after unprotect
    raw: bytes  # header + protected fragment as on the wire


class TlsRecordLayer:
    """Stream record layer: 5-octet header, implicit 64-bit sequence numbers per direction.

    ``pending_*`` states become current on ChangeCipherSpec (sent or received), which
    resets that direction's sequence number to zero.
    """

    def __init__(self) -> None:
        self.read_state: RecordProtection = RecordProtection()
        self.write_state: RecordProtection = RecordProtection()
        self.pending_read: RecordProtection | None = None
        self.pending_write: RecordProtection | None = None
        self.read_seq = 0
        self.write_seq = 0
        self.version = TLS12
        # The version every received record must carry once the hellos agreed on one
        # (RFC 5246 6.2.1); None before that, when any {03,XX} is accepted (Appendix E.1).
        self.expected_version: tuple[int, int] | None = None
        self._buffer = b""

    def activate_write(self) -> None:
        if self.pending_write is None:
            raise ProtocolError(alerts.INTERNAL_ERROR, "no pending write state")
        self.write_state, self.pending_write = self.pending_write, None
        self.write_seq = 0

    def activate_read(self) -> None:
        if self.pending_read is None:
            raise ProtocolError(alerts.UNEXPECTED_MESSAGE, "ChangeCipherSpec before keys are known")
        self.read_state, self.pending_read = self.pending_read, None
        self.read_seq = 0

    def encode(
        self,
        content_type: int,
        data: bytes,
        corrupt: bool = False,
        version: tuple[int, int] | None = None,
    ) -> bytes:
        """Protect and frame one record. ``corrupt`` flips a bit in the MAC/tag (the
        last octet for AEAD, the last ciphertext block's last octet for CBC)."""
        version = version or self.version
        if len(data) > MAX_PLAINTEXT:
            raise ValueError("record plaintext larger than 2^14")
        seq = self.write_seq.to_bytes(8, "big")
        fragment = self.write_state.protect(seq, content_type, version, data)
        self.write_seq += 1
        if corrupt:
            fragment = corrupt_tag(fragment)
        return (
            bytes([content_type, version[0], version[1]])
            + len(fragment).to_bytes(2, "big")
            + fragment
        )

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def unprotect_with(self, state: RecordProtection, raw: bytes) -> bytes:
        """Decrypt one raw record (header included) with another read state, counting it:
        the harness reads the peer's alert with the peer's keys after a key fault."""
        payload = state.unprotect(
            self.read_seq.to_bytes(8, "big"), raw[0], (raw[1], raw[2]), raw[HEADER_LENGTH:]
        )
        self.read_seq += 1
        return payload

    def skip_record(self) -> None:
        """Count a record the connection chose to pass over (implicit sequence numbers)."""
        self.read_seq += 1

    def next_record(self) -> Record | None:
        """The next whole record from the buffer, decrypted, or None if incomplete."""
        if len(self._buffer) < HEADER_LENGTH:
            return None
        content_type = self._buffer[0]
        version = (self._buffer[1], self._buffer[2])
        length = int.from_bytes(self._buffer[3:5], "big")
        if content_type not in CONTENT_TYPES:
            raise ProtocolError(
                alerts.UNEXPECTED_MESSAGE, f"unknown record content type {content_type}"
            )
        problem = version_problem(version, self.expected_version)
        if problem:
            raise ProtocolError(alerts.PROTOCOL_VERSION, problem)
        limit = MAX_CIPHERTEXT if self.read_state.encrypted else MAX_PLAINTEXT
        if length > limit:
            raise ProtocolError(alerts.RECORD_OVERFLOW, f"record length {length} exceeds {limit}")
        if len(self._buffer) < HEADER_LENGTH + length:
            return None
        raw = self._buffer[: HEADER_LENGTH + length]
        self._buffer = self._buffer[HEADER_LENGTH + length :]
        seq = self.read_seq.to_bytes(8, "big")
        try:
            plaintext = self.read_state.unprotect(seq, content_type, version, raw[HEADER_LENGTH:])
        except ProtocolError as exc:
            exc.record_type, exc.record_length, exc.record_raw = content_type, length, raw
            raise
        self.read_seq += 1
        if len(plaintext) > MAX_PLAINTEXT:
            raise ProtocolError(alerts.RECORD_OVERFLOW, "decrypted record larger than 2^14")
        return Record(content_type, version, plaintext, raw)

    @property
    def buffered(self) -> int:
        return len(self._buffer)
