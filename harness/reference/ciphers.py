"""TLS cipher-suite codes and their OpenSSL cipher-list names, for the reference.

Kept apart from ``harness.tls.suites`` on purpose: the reference must not share code
with the harness's own engine, so a wrong table entry on one side shows up as an
interoperation failure instead of cancelling out.
"""

from __future__ import annotations

OPENSSL_NAMES: dict[int, str] = {
    # oneM2M PSK profile (PARAMETERS.md section 2)
    0x00AE: "PSK-AES128-CBC-SHA256",  # TLS_PSK_WITH_AES_128_CBC_SHA256, RFC 5487
    0xC0A4: "PSK-AES128-CCM",  # TLS_PSK_WITH_AES_128_CCM, RFC 6655
    0xC0A8: "PSK-AES128-CCM8",  # TLS_PSK_WITH_AES_128_CCM_8, RFC 6655
    0xC0A6: "DHE-PSK-AES128-CCM",  # TLS_DHE_PSK_WITH_AES_128_CCM, RFC 6655
    0xC0AA: "DHE-PSK-AES128-CCM8",  # TLS_DHE_PSK_WITH_AES_128_CCM_8, RFC 6655
    # outside the profile (negative tests, mutants)
    0x00B0: "PSK-NULL-SHA256",  # TLS_PSK_WITH_NULL_SHA256, RFC 5487
    0x008C: "PSK-AES128-CBC-SHA",  # TLS_PSK_WITH_AES_128_CBC_SHA, RFC 4279
    0x00A8: "PSK-AES128-GCM-SHA256",  # TLS_PSK_WITH_AES_128_GCM_SHA256, RFC 5487
    0x00B2: "DHE-PSK-AES128-CBC-SHA256",  # TLS_DHE_PSK_WITH_AES_128_CBC_SHA256, RFC 5487
}

PROFILE_SUITES: tuple[int, ...] = (0x00AE, 0xC0A4, 0xC0A8, 0xC0A6, 0xC0AA)
MANDATORY_TLS_SUITE = 0x00AE  # TLS_PSK_WITH_AES_128_CBC_SHA256 (PARAMETERS.md section 2)
NULL_SHA256 = 0x00B0
AES_128_CBC_SHA = 0x008C


def known(codes: list[int]) -> list[int]:
    """The codes the reference can run, in the order given, without duplicates."""
    return [code for code in dict.fromkeys(codes) if code in OPENSSL_NAMES]


def cipher_list(codes: list[int]) -> str:
    """An OpenSSL cipher list enabling exactly ``codes``, in preference order."""
    names = [OPENSSL_NAMES[code] for code in known(codes)]
    if not names:
        raise ValueError("no cipher suite the reference knows")
    return ":".join(names)
