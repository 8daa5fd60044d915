"""Finite-field Diffie-Hellman for DHE_PSK: the RFC 7919 ffdhe2048 group.

The ServerKeyExchange of RFC 4279 section 3 carries p, g and Ys unsigned, so the group
is whatever the server sends; the harness server sends ffdhe2048 (g = 2).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from harness.tls import alerts
from harness.tls.alerts import ProtocolError

FFDHE2048_P = int(
    "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FB"
    "CC939DCE249B3EF97D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD65612433F51F5F066ED0"
    "856365553DED1AF3B557135E7F57C935984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE735"
    "30ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FBB96ADAB760D7F4681D4F42A3DE394DF4"
    "AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F619172FE9CE98583FF"
    "8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
    "886B423861285C97FFFFFFFFFFFFFFFF",
    16,
)
FFDHE2048_G = 2
GROUPS = {"ffdhe2048": (FFDHE2048_P, FFDHE2048_G)}
PRIVATE_BITS = 256  # RFC 7919 section 5.2 asks for at least 225 bits for ffdhe2048


def byte_length(p: int) -> int:
    return (p.bit_length() + 7) // 8


def generate(p: int, g: int, rng: Callable[[int], bytes] = os.urandom) -> tuple[int, int]:
    """(private x, public g^x mod p)."""
    x = int.from_bytes(rng(PRIVATE_BITS // 8), "big") | (1 << (PRIVATE_BITS - 1))
    return x, pow(g, x, p)


def check_public(p: int, y: int, what: str) -> None:
    """Reject the degenerate values 0, 1 and p-1 and anything out of range."""
    if not 1 < y < p - 1:
        raise ProtocolError(alerts.ILLEGAL_PARAMETER, f"{what} out of range (1, p-1)")


def shared_secret(p: int, peer_public: int, private: int) -> bytes:
    """Z = peer^x mod p, as len(p) octets (the PSK premaster strips leading zeros)."""
    return pow(peer_public, private, p).to_bytes(byte_length(p), "big")
