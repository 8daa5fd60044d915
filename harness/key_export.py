"""oneM2M keys exported from a (D)TLS session, and the identifiers formed from them.

TS-0003 10.3.1 has both ends of a MAF handshake (and of a bootstrap handshake) run the
RFC 5705 exporter over the session they just finished and split the 48 octets into an
identifier part and a key part; 10.3.4/10.3.5 turn the identifier part into a KeID or
KcID by appending "@" and the server's FQDN. These functions are pure: they take the
exporter output (from the harness engine, from libssl, from ``openssl s_client
-keymatexport``) and give the oneM2M values, so every producer is checked by the same
definitions. The interpretations they embody are named in the spec profile:
I-02 (first 16 octets are the identifier, last 32 the key), I-03 (no context) and
I-04 (hexBinary in lower case, compared case-insensitively).
"""

from __future__ import annotations

from dataclasses import dataclass, field

CONNECTION_LABEL = "EXPORTER-oneM2M-Connection"
"""MAF handshake, Entity A and MAF: RelativeKcID and Kc (TS-0003 10.3.1)."""
BOOTSTRAP_LABEL = "EXPORTER-oneM2M-Bootstrap"
"""Bootstrap handshake, Enrolee and MEF: RelativeKeID and Ke (TS-0003 10.3.1)."""

EXPORT_LENGTH = 48
RELATIVE_ID_OCTETS = 16
KEY_OCTETS = 32

# Credential-ID type IDs, TS-0003 12.3.2.
CREDENTIAL_TYPE_KPMID = "10"
CREDENTIAL_TYPE_KMID = "11"
CREDENTIAL_TYPE_SAEF = "12"


@dataclass(frozen=True)
class ExportedKey:
    """One split exporter output: the relative identifier and the key."""

    relative_id: bytes  # RelativeKcID / RelativeKeID, 16 octets
    key: bytes = field(repr=False)  # Kc / Ke, 32 octets: never in a log line

    def key_id(self, fqdn: str) -> str:
        """KcID / KeID: hexBinary(relative id) + "@" + FQDN of the MAF / MEF."""
        return key_identifier(self.relative_id, fqdn)


def split_export(material: bytes) -> ExportedKey:
    """I-02: the 16 most significant octets are the identifier, the 32 least the key."""
    if len(material) != EXPORT_LENGTH:
        raise ValueError(f"exporter output is {len(material)} octets, expected {EXPORT_LENGTH}")
    return ExportedKey(material[:RELATIVE_ID_OCTETS], material[RELATIVE_ID_OCTETS:])


def key_identifier(relative_id: bytes, fqdn: str) -> str:
    """I-04: hexBinary written in lower case."""
    if len(relative_id) != RELATIVE_ID_OCTETS:
        raise ValueError(
            f"a relative key id is {RELATIVE_ID_OCTETS} octets, not {len(relative_id)}"
        )
    return f"{relative_id.hex()}@{fqdn}"


@dataclass(frozen=True)
class KeyIdentifier:
    """A parsed KcID / KeID / KmID: ``relative@fqdn``."""

    relative: str
    fqdn: str

    def relative_bytes(self) -> bytes | None:
        """The relative part as octets when it is hexBinary of 16 octets, else None."""
        if len(self.relative) != 2 * RELATIVE_ID_OCTETS:
            return None
        try:
            return bytes.fromhex(self.relative)
        except ValueError:
            return None

    def matches(self, other: KeyIdentifier) -> bool:
        """I-04: the relative part compares case-insensitively; FQDNs are DNS names."""
        return self.relative.lower() == other.relative.lower() and self.fqdn.lower().rstrip(
            "."
        ) == other.fqdn.lower().rstrip(".")

    def __str__(self) -> str:
        return f"{self.relative}@{self.fqdn}"


def parse_key_identifier(text: str) -> KeyIdentifier | None:
    """Split at the last "@"; None when either part is empty (no FQDN to find a MAF by)."""
    relative, at, fqdn = text.rpartition("@")
    if not at or not relative or not fqdn:
        return None
    return KeyIdentifier(relative, fqdn)


def credential_id(type_id: str, value: str) -> str:
    """Credential-ID = typeID "-" value (TS-0003 10.4), e.g. ``11-dev42@maf.example.com``."""
    return f"{type_id}-{value}"
