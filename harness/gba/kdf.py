"""The TS 33.220 Annex B KDF, the GBA NAF keys, NAF_Id and the Ua psk_identity forms.

After bootstrapping, UE and BSF share Ks = CK || IK and derive one key per NAF (TS 33.220
4.5.2, 5.3.2; Annex B): Ks_NAF (GBA_ME) and Ks_ext_NAF (GBA_U, in the ME) with
P0 = "gba-me", Ks_int_NAF (GBA_U, in the UICC) with P0 = "gba-u", over
P1 = RAND, P2 = IMPI, P3 = NAF_Id. NAF_Id is the NAF's FQDN followed by the 5-octet Ua
security protocol identifier (Annex H); for TLS it carries the negotiated cipher suite,
so Ks_NAF depends on the suite Entity B selects (PARAMETERS.md section 9). The seed's
Ua (001 8.2.3.2) then uses Ks_(ext/int)_NAF as the TLS-PSK, the identity hint and
psk_identity built below.

No official Ks_NAF vector exists; vectors/gba_kdf.json checks the KDF core against the
RFC 5448 Appendix C CK'/IK' vector (TS 33.402 Annex A.2 uses the same Annex B KDF) and
keeps the GBA values as ones computed a second way (openssl mac over the assembled S).
"""

from __future__ import annotations

import hashlib
import hmac

from . import GbaInputError, octets

FC_GBA = 0x01
"""TS 33.220 Annex B.2.1: FC of the Ks_(ext/int)_NAF derivation."""

P0_GBA_ME = b"gba-me"
"""Ks_NAF (GBA_ME) and Ks_ext_NAF (GBA_U)."""
P0_GBA_U = b"gba-u"
"""Ks_int_NAF (GBA_U)."""

UA_ID_OCTETS = 5

PSK_HINT_ME = "3GPP-bootstrapping"
"""B's identity hint and A's prefix when Kc = Ks_NAF or Ks_ext_NAF (seed 8.2.3.2; TS 33.222)."""
PSK_HINT_UICC = "3GPP-bootstrapping-uicc"
"""B's identity hint and A's prefix when Kc = Ks_int_NAF."""
PSK_IDENTITY_SEPARATOR = ";"
"""The separator between prefix and B-TID (PARAMETERS.md section 9; a profile setting)."""


def kdf(key: bytes, fc: int, *params: bytes) -> bytes:
    """HMAC-SHA-256(key, S) with S = FC || P0 || L0 || P1 || L1 || ... (TS 33.220 Annex B.2).

    Li is the 2-octet big-endian length of Pi, so a Pi of 65536 octets or more cannot be
    encoded and is refused rather than truncated.
    """
    key = octets("Key", key)
    if not isinstance(fc, int) or not 0 <= fc <= 0xFF:
        raise GbaInputError("FC", f"expected one octet (0..255), got {fc!r}")
    return hmac.new(key, assemble_s(fc, *params), hashlib.sha256).digest()


def assemble_s(fc: int, *params: bytes) -> bytes:
    """S of Annex B.2, exposed so a vector can record it and another tool can MAC it."""
    if not isinstance(fc, int) or not 0 <= fc <= 0xFF:
        raise GbaInputError("FC", f"expected one octet (0..255), got {fc!r}")
    s = bytearray([fc])
    for i, p in enumerate(params):
        p = octets(f"P{i}", p)
        if len(p) > 0xFFFF:
            raise GbaInputError(f"P{i}", f"{len(p)} octets do not fit the 2-octet L{i}")
        s += p + len(p).to_bytes(2, "big")
    return bytes(s)


def ks_from(ck: bytes, ik: bytes) -> bytes:
    """Ks = CK || IK (TS 33.220 4.5.2)."""
    return octets("CK", ck, 16) + octets("IK", ik, 16)


def ua_security_protocol_id_tls(cipher_suite: int) -> bytes:
    """01 00 01 YY ZZ for TLS with cipher suite 0xYYZZ (TS 33.220 Annex H; TS 33.222)."""
    if not isinstance(cipher_suite, int) or not 0 <= cipher_suite <= 0xFFFF:
        raise GbaInputError(
            "cipher_suite", f"expected a 2-octet TLS cipher suite, got {cipher_suite!r}"
        )
    return b"\x01\x00\x01" + cipher_suite.to_bytes(2, "big")


def naf_id(naf_fqdn: str, ua_security_protocol_id: bytes) -> bytes:
    """NAF_Id = FQDN of the NAF (UTF-8) || Ua security protocol identifier (TS 33.220 B.3).

    The FQDN is used as given: a DNS name compares case-insensitively, but the KDF input is
    octets, so the suite does not fold case (docs/gba-core.md, candidate setting).
    """
    if not isinstance(naf_fqdn, str) or not naf_fqdn:
        raise GbaInputError("NAF FQDN", "expected a non-empty string")
    return naf_fqdn.encode("utf-8") + octets(
        "Ua security protocol id", ua_security_protocol_id, UA_ID_OCTETS
    )


def _impi(impi: str) -> bytes:
    if not isinstance(impi, str) or not impi:
        raise GbaInputError("IMPI", "expected a non-empty string")
    return impi.encode("utf-8")


def ks_naf(ks: bytes, rand: bytes, impi: str, naf_id_value: bytes) -> bytes:
    """Ks_NAF (GBA_ME) = KDF(Ks, "gba-me", RAND, IMPI, NAF_Id)."""
    return kdf(
        octets("Ks", ks, 32),
        FC_GBA,
        P0_GBA_ME,
        octets("RAND", rand, 16),
        _impi(impi),
        octets("NAF_Id", naf_id_value),
    )


def ks_ext_naf(ks: bytes, rand: bytes, impi: str, naf_id_value: bytes) -> bytes:
    """Ks_ext_NAF (GBA_U, in the ME): the same derivation as Ks_NAF, P0 = "gba-me"."""
    return ks_naf(ks, rand, impi, naf_id_value)


def ks_int_naf(ks: bytes, rand: bytes, impi: str, naf_id_value: bytes) -> bytes:
    """Ks_int_NAF (GBA_U, in the UICC) = KDF(Ks, "gba-u", RAND, IMPI, NAF_Id)."""
    return kdf(
        octets("Ks", ks, 32),
        FC_GBA,
        P0_GBA_U,
        octets("RAND", rand, 16),
        _impi(impi),
        octets("NAF_Id", naf_id_value),
    )


def psk_identity(btid: str, *, uicc: bool = False, separator: str = PSK_IDENTITY_SEPARATOR) -> str:
    """A's psk_identity: prefix (the hint B sent) || separator || B-TID (seed 001 8.2.3.2)."""
    if not isinstance(btid, str) or not btid:
        raise GbaInputError("B-TID", "expected a non-empty string")
    if not separator:
        raise GbaInputError("separator", "must not be empty")
    return (PSK_HINT_UICC if uicc else PSK_HINT_ME) + separator + btid


def parse_psk_identity(
    identity: str, *, separator: str = PSK_IDENTITY_SEPARATOR
) -> tuple[str, str]:
    """(prefix, B-TID) of a psk_identity, refusing an unknown prefix or a missing B-TID.

    The prefix is matched exactly (case-sensitive): the hint is a fixed string and a
    conformance check must see a wrong one.
    """
    if not isinstance(identity, str):
        raise GbaInputError("psk_identity", f"expected a string, got {type(identity).__name__}")
    prefix, sep, btid = identity.partition(separator)
    if not sep:
        raise GbaInputError("psk_identity", f"no {separator!r} separating prefix and B-TID")
    if prefix not in (PSK_HINT_ME, PSK_HINT_UICC):
        raise GbaInputError(
            "psk_identity", f"prefix {prefix!r} is neither {PSK_HINT_ME!r} nor {PSK_HINT_UICC!r}"
        )
    if not btid:
        raise GbaInputError("psk_identity", "empty B-TID")
    return prefix, btid
