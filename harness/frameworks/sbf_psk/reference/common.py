"""What the Enrolee, the MEF and the MAF of the enrolee-key SBF reference share.

The (D)TLS-PSK plumbing is the MAF-based SAEF reference's :class:`Party` (fresh client
sockets, bounded server attempts, DTLS with the cookie exchange), reused unchanged; this
module adds the SBF's identifier handling:

- :func:`identifier_key`: how a KeID or KmID is looked up. I-04: the hexBinary relative
  part is compared case-insensitively, the FQDN as a host name (case-insensitive, no
  trailing dot); any other relative part byte for byte.
- :func:`host_key`: how two FQDNs / MAF-IDs are compared (NFKC, case-insensitive).
- :func:`wire_host_name`: the SNI / Host header for a configured FQDN or MAF-ID: its NFKC
  form when that is ASCII (a fullwidth MAF-ID folds to its plain host name), else its
  IDNA A-label form, else None (no SNI).
"""

from __future__ import annotations

import string
import unicodedata

from harness.frameworks.saef_maf.reference.entities import (
    Party,
    parse_timestamp,
    summary,
    timestamp,
)

__all__ = [
    "Party",
    "host_key",
    "identifier_key",
    "is_hex",
    "parse_timestamp",
    "split_identifier",
    "summary",
    "timestamp",
    "wire_host_name",
]


def is_hex(text: str) -> bool:
    return bool(text) and all(c in string.hexdigits for c in text)


def host_key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).lower().rstrip(".")


def split_identifier(identifier: str) -> tuple[str, str] | None:
    """(relative part, FQDN) of ``relative@fqdn``, split at the last "@"; None when it has
    no "@" or an empty part."""
    relative, at, fqdn = identifier.rpartition("@")
    if not at or not relative or not fqdn:
        return None
    return relative, fqdn


def identifier_key(identifier: str) -> str:
    """The lookup key of a KeID or KmID (see the module docstring)."""
    parts = split_identifier(identifier)
    if parts is None:
        return identifier
    relative, fqdn = parts
    return f"{relative.lower() if is_hex(relative) else relative}@{host_key(fqdn)}"


def wire_host_name(name: str) -> str | None:
    normalised = unicodedata.normalize("NFKC", name)
    if normalised.isascii():
        return normalised
    try:
        return normalised.encode("idna").decode("ascii")
    except UnicodeError:
        return None
