"""The TLS 1.2 PRF (RFC 5246 section 5) with SHA-256, the only PRF hash of the profile.

P_SHA256 comes from tlslite-ng (``tlslite.mathtls.PRF_1_2``); the vectors in
``vectors/tls12_prf_sha256.json`` pin it, so a regression there fails our tests.
"""

from __future__ import annotations

import hashlib

from tlslite.mathtls import PRF_1_2


def prf(secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """PRF(secret, label, seed) = P_SHA256(secret, label + seed), ``length`` octets."""
    return bytes(PRF_1_2(bytearray(secret), bytearray(label), bytearray(seed), length))


def transcript_hash(messages: list[bytes] | tuple[bytes, ...]) -> bytes:
    """SHA-256 over the handshake messages exactly as the framing layer gave them.

    TLS framing gives type(1) || length(3) || body; DTLS framing will give its
    reconstructed 12-byte-header form, so the hash never depends on the record layer.
    """
    digest = hashlib.sha256()
    for message in messages:
        digest.update(message)
    return digest.digest()
