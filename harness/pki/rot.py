"""Root of Trust and RFC 6920 public key identifiers (spec-profile I-07, I-13).

I-07: the Root of Trust is SHA-256 over the DER SubjectPublicKeyInfo of the trusted key,
written as an RFC 6920 ``ni`` URI. I-13 (published TS-0003 10.1.2): the identifier may
name ``sha-256``, ``sha-256-120`` or ``sha-256-128``; matching recomputes the digest with
the algorithm the *trusted* identifier names and compares the (truncated) values, so a
truncated identifier is a legal input and a verifier that only knows full SHA-256 is
non-conformant. RFC 6920 truncation keeps the leftmost bits (section 9.4).

Why a module of its own: the verifier, the generator (which writes the identifiers into
self-signed certificates) and the case recorder must agree on one encoding.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

# RFC 6920 section 9.4 (Named Information Hash Algorithm Registry): name -> octets kept.
# Only the three TS-0003 10.1.2 allows; other registry entries (sha-256-96/-64/-32) are
# refused as identifiers of a Root of Trust.
ALGORITHMS: dict[str, int] = {"sha-256": 32, "sha-256-128": 16, "sha-256-120": 15}

# ni URI, RFC 6920 section 3: "ni:" "//" [authority] "/" alg ";" val ["?" query].
_NI = re.compile(
    r"^ni://(?P<authority>[^/?#]*)/(?P<alg>[^;/?#]+);(?P<val>[A-Za-z0-9_-]+)(?:\?(?P<query>.*))?$"
)


@dataclass(frozen=True)
class PublicKeyIdentifier:
    """A parsed RFC 6920 identifier: the algorithm it names and the (truncated) digest."""

    algorithm: str
    value: bytes
    authority: str = ""

    def uri(self) -> str:
        """The identifier as an ``ni`` URI (no authority, no query: the form I-07 uses)."""
        return ni_uri(self.value, self.algorithm, self.authority)


def spki_der(key: x509.Certificate | PublicKeyTypes) -> bytes:
    """DER SubjectPublicKeyInfo of a certificate's key or of a public key."""
    public = key.public_key() if isinstance(key, x509.Certificate) else key
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def digest(data: bytes, algorithm: str = "sha-256") -> bytes:
    """The RFC 6920 digest of ``data`` under ``algorithm`` (SHA-256, leftmost octets kept)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"hash algorithm {algorithm!r} is not one TS-0003 10.1.2 allows "
            f"({', '.join(ALGORITHMS)})"
        )
    return hashlib.sha256(data).digest()[: ALGORITHMS[algorithm]]


def root_of_trust(key: x509.Certificate | PublicKeyTypes) -> bytes:
    """I-07: the Root of Trust of a key, SHA-256 over its DER SubjectPublicKeyInfo."""
    return digest(spki_der(key))


def ni_uri(value: bytes, algorithm: str = "sha-256", authority: str = "") -> str:
    """``ni://authority/alg;base64url-no-padding`` (RFC 6920 sections 3 and 3.1)."""
    if algorithm in ALGORITHMS and len(value) != ALGORITHMS[algorithm]:
        raise ValueError(f"{algorithm} needs {ALGORITHMS[algorithm]} octets, got {len(value)}")
    encoded = base64.urlsafe_b64encode(value).rstrip(b"=").decode("ascii")
    return f"ni://{authority}/{algorithm};{encoded}"


def key_identifier(key: x509.Certificate | PublicKeyTypes, algorithm: str = "sha-256") -> str:
    """The RFC 6920 public key identifier of a key under one of the three algorithms."""
    return ni_uri(digest(spki_der(key), algorithm), algorithm)


def parse_ni(text: str, what: str = "identifier") -> PublicKeyIdentifier:
    """Parse an ``ni`` URI naming one of the allowed algorithms; ``what`` names the field.

    Strict on purpose: the scheme and the algorithm name are compared as written
    (lower case, as RFC 6920 registers them), base64url without padding, and the value
    length must be the algorithm's. A malformed trusted identifier is a configuration
    error (ValueError), never a silent mismatch.
    """
    match = _NI.match(text)
    if match is None:
        raise ValueError(f"{what}: {text!r} is not an RFC 6920 ni URI (ni://[authority]/alg;value)")
    algorithm = match["alg"]
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"{what}: hash algorithm {algorithm!r} is not one TS-0003 10.1.2 allows "
            f"({', '.join(ALGORITHMS)})"
        )
    encoded = match["val"]
    try:
        value = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{what}: value is not base64url: {exc}") from exc
    if len(value) != ALGORITHMS[algorithm]:
        raise ValueError(
            f"{what}: {algorithm} value has {len(value)} octets, expected {ALGORITHMS[algorithm]}"
        )
    return PublicKeyIdentifier(algorithm, value, match["authority"])


def matches(trusted: PublicKeyIdentifier, key: x509.Certificate | PublicKeyTypes) -> bool:
    """I-13: recompute the key's digest with the trusted identifier's algorithm and compare."""
    return hmac.compare_digest(digest(spki_der(key), trusted.algorithm), trusted.value)
