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

The bootstrap derivations from Ke follow at the end of the module: Km (10.3.2), the
usage-constrained key (published 10.3.7, spec-profile I-12) and the derived KmID form
(I-05); vectors/onem2m_km_derivation.json holds their values as OpenSSL computed them.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
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

    def names(self, fqdn: str) -> bool:
        """Whether the FQDN part is ``fqdn``: DNS names compare ignoring case and a
        trailing dot (the MAF or MEF the identifier belongs to)."""
        return self.fqdn.lower().rstrip(".") == fqdn.lower().rstrip(".")

    def matches(self, other: KeyIdentifier) -> bool:
        """I-04: the relative part compares case-insensitively; FQDNs are DNS names."""
        return self.relative.lower() == other.relative.lower() and self.names(other.fqdn)

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


# Key derivations from the Enrolment Key Ke (TS-0003 10.3.2, 10.3.7) ---------------------

ENROLMENT_KM_LABEL = "oneM2M Enrolment Key to Master Credential derivation"
"""TS-0003 10.3.2: the HMAC message is this label (ASCII) followed by the MAF-ID."""
USAGE_CONSTRAINED_LABEL = "oneM2M Enrolment Key to Usage-Constrained Symmetric Key derivation"
"""Published TS-0003 10.3.7 (spec-profile I-12, second setting): label || SUID || target ID."""

SUID_RSPF_SHARED_WITH_MAF = 21
"""m2m:suid 21 (TS-0004 6.3.4.2.39): a key provisioned via a Remote Security Provisioning
Framework, shared with a MAF: the SUID of the MAF's /fetchCredentials request (8.3.2.1)."""

SUID_ENCODING = "decimal-ascii"
"""How the SUID enters the 10.3.7 HMAC message: the suite's reading, named so reports can
say it. 10.3.7 writes ``... || SUID || Enrolment-Target-ID`` without an encoding; SUID is
an m2m:suid enumeration value (a number such as 21) and reaches the MEF as text in the
target URI ``/fetchCredentials/<KeID>/<SUID>`` (8.3.2.1), so the suite encodes it as its
decimal digits in ASCII, no sign, no leading zeros: 21 -> ``32 31``. A one-octet binary
encoding (21 -> ``15``) is the other plausible reading; the vectors record its value as
an invalid case so a verdict can tell the two apart."""


def nfkc_identifier(text: str, what: str = "identifier") -> bytes:
    """An identifier as the octets TS-0003 10.3.2/10.3.3/10.3.7 feed to HMAC.

    The clauses require UTF-8 (RFC 3629) after Unicode Normalization Form KC (UAX #15), so
    compatibility characters (fullwidth letters, ligatures, superscripts) fold into their
    plain forms and a combining sequence into its precomposed character: two writings of
    one MAF-ID give one Km. NFKC does not fold case. Python's ``unicodedata`` normalises
    with its own Unicode version; the NFKC stability policy keeps every character the
    cited Unicode 5.1 assigned stable across later versions. ``what`` names the field in
    the error of a bad input (an empty string, not a string, a lone surrogate).
    """
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a string, not {type(text).__name__}")
    if not text:
        raise ValueError(f"{what} is empty")
    try:
        return unicodedata.normalize("NFKC", text).encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"{what} is not encodable as UTF-8: {error.reason}") from None


def _enrolment_key(ke: bytes) -> bytes:
    """Ke is the 32 least significant octets of the bootstrap export (10.3.1)."""
    if not isinstance(ke, bytes | bytearray):
        raise ValueError(f"Ke must be octets, not {type(ke).__name__}")
    if len(ke) != KEY_OCTETS:
        raise ValueError(f"Ke is {len(ke)} octets, expected {KEY_OCTETS}")
    return bytes(ke)


def derive_km(ke: bytes, maf_id: str) -> bytes:
    """Km = HMAC-SHA-256(Ke, "oneM2M Enrolment Key to Master Credential derivation" || MAF-ID).

    TS-0003 10.3.2 (seed 001 9.4; spec-profile I-12 default), 32 octets. MAF-ID is
    NFKC-normalised UTF-8 (``nfkc_identifier``); which string is the MAF-ID (its FQDN
    unless configured) is spec-profile I-06 and the caller's choice.
    """
    key = _enrolment_key(ke)
    message = ENROLMENT_KM_LABEL.encode("ascii") + nfkc_identifier(maf_id, "MAF-ID")
    return hmac.new(key, message, hashlib.sha256).digest()


def suid_octets(suid: int) -> bytes:
    """SUID as it enters the 10.3.7 message: decimal ASCII digits (``SUID_ENCODING``).

    Any positive integer is accepted, not only the values of the TS-0004 m2m:suid table:
    TS-0003 8.3.9.9 already names SUIDs (31, 41) that the table lacks.
    """
    if isinstance(suid, bool) or not isinstance(suid, int):
        raise ValueError(f"SUID must be an integer, not {type(suid).__name__}")
    if suid <= 0:
        raise ValueError(f"SUID must be a positive m2m:suid value, not {suid}")
    return str(suid).encode("ascii")


def derive_usage_constrained_key(ke: bytes, suid: int, target_id: str) -> bytes:
    """HMAC-SHA-256(Ke, "oneM2M Enrolment Key to Usage-Constrained Symmetric Key
    derivation" || SUID || Enrolment-Target-ID), 32 octets.

    Published TS-0003 10.3.7, which 8.3.2.1 step f has the MEF use for the key it returns
    to the Enrolment Target (spec-profile I-12, second setting; the seed derives Km per
    10.3.2 instead). SUID is encoded per ``SUID_ENCODING`` (the clause leaves it open);
    Enrolment-Target-ID (an FQDN, for a CSE or AE the FQDN form of its absolute ID) is
    NFKC-normalised UTF-8.
    """
    key = _enrolment_key(ke)
    message = (
        USAGE_CONSTRAINED_LABEL.encode("ascii")
        + suid_octets(suid)
        + nfkc_identifier(target_id, "Enrolment-Target-ID")
    )
    return hmac.new(key, message, hashlib.sha256).digest()


def derived_kmid(km: bytes, maf_fqdn: str) -> str:
    """KmID in the "derived" form of spec-profile I-05: hexBinary of the first 16 octets of
    SHA-256(Km), "@", MAF-FQDN.

    The seeds have Enrolee and MAF each "generate KmId from Km" by a clause they do not
    contain; this is the suite's derivation for that setting (the default, ``assigned``,
    takes KmID from configuration). The relative part is lower-case hex (I-04) and the
    FQDN is kept as given; Km is the 32-octet output of ``derive_km`` (or of 10.3.7).
    """
    if not isinstance(km, bytes | bytearray):
        raise ValueError(f"Km must be octets, not {type(km).__name__}")
    if len(km) != KEY_OCTETS:
        raise ValueError(f"Km is {len(km)} octets, expected {KEY_OCTETS}")
    if not isinstance(maf_fqdn, str):
        raise ValueError(f"MAF-FQDN must be a string, not {type(maf_fqdn).__name__}")
    if not maf_fqdn:
        raise ValueError("MAF-FQDN is empty")
    if "@" in maf_fqdn:
        raise ValueError(f"MAF-FQDN {maf_fqdn!r} contains '@': the KmID would not parse")
    digest = hashlib.sha256(bytes(km)).digest()
    return key_identifier(digest[:RELATIVE_ID_OCTETS], maf_fqdn)
