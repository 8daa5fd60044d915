"""TLS 1.2 key schedule for the PSK key exchanges (RFC 4279, RFC 5246, RFC 7627, RFC 5705).

Pure functions: every secret is an argument, so the vectors can check each step alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.tls.prf import prf
from harness.tls.suites import CipherSuite

MASTER_SECRET_LENGTH = 48
VERIFY_DATA_LENGTH = 12


def _opaque16(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def psk_premaster(psk: bytes) -> bytes:
    """RFC 4279 section 2: other_secret is N zero octets, N = len(psk)."""
    return _opaque16(bytes(len(psk))) + _opaque16(psk)


def dhe_psk_premaster(z: bytes, psk: bytes) -> bytes:
    """RFC 4279 section 3: other_secret is the DH shared secret Z, leading zeros stripped."""
    return _opaque16(z.lstrip(b"\x00")) + _opaque16(psk)


def master_secret(premaster: bytes, client_random: bytes, server_random: bytes) -> bytes:
    """RFC 5246 section 8.1."""
    return prf(premaster, b"master secret", client_random + server_random, MASTER_SECRET_LENGTH)


def extended_master_secret(premaster: bytes, session_hash: bytes) -> bytes:
    """RFC 7627 section 4: session_hash covers the handshake up to and including
    ClientKeyExchange, so the master secret is bound to that handshake."""
    return prf(premaster, b"extended master secret", session_hash, MASTER_SECRET_LENGTH)


def verify_data(master: bytes, sender_is_client: bool, handshake_hash: bytes) -> bytes:
    """RFC 5246 section 7.4.9: the Finished payload."""
    label = b"client finished" if sender_is_client else b"server finished"
    return prf(master, label, handshake_hash, VERIFY_DATA_LENGTH)


def export_keying_material(
    master: bytes,
    client_random: bytes,
    server_random: bytes,
    label: bytes,
    length: int,
    context: bytes | None,
) -> bytes:
    """RFC 5705 section 4. ``context=None`` is the "no context" form; ``b""`` is an empty
    context, which adds a two-octet zero length and so gives a different value."""
    seed = client_random + server_random
    if context is not None:
        if len(context) >= 1 << 16:
            raise ValueError("exporter context longer than 2^16-1 octets")
        seed += _opaque16(context)
    return prf(master, label, seed, length)


@dataclass(frozen=True)
class KeyMaterial:
    """The key block (RFC 5246 section 6.3) cut into its six parts."""

    client_write_mac_key: bytes
    server_write_mac_key: bytes
    client_write_key: bytes
    server_write_key: bytes
    client_write_iv: bytes
    server_write_iv: bytes


def key_lengths(suite: CipherSuite) -> tuple[int, int, int]:
    """(mac_key_length, enc_key_length, fixed_iv_length) for a suite."""
    mac = {"SHA256": 32, "SHA1": 20, "AEAD": 0}[suite.mac]
    enc = 0 if suite.cipher == "NULL" else 16
    fixed_iv = 4 if suite.is_aead else 0  # RFC 5288 / RFC 6655 salt
    return mac, enc, fixed_iv


def key_block(
    master: bytes, client_random: bytes, server_random: bytes, suite: CipherSuite
) -> KeyMaterial:
    """Expand the master secret; note the seed order is server_random + client_random."""
    mac, enc, iv = key_lengths(suite)
    block = prf(master, b"key expansion", server_random + client_random, 2 * (mac + enc + iv))
    parts = []
    offset = 0
    for size in (mac, mac, enc, enc, iv, iv):
        parts.append(block[offset : offset + size])
        offset += size
    return KeyMaterial(*parts)
