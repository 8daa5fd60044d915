"""Cipher suites the suite speaks, with their names in OpenSSL and GnuTLS.

The profile suites are those of PARAMETERS.md section 2 for the PSK-based frameworks
(RFC 4279 key exchange, RFC 5487 / RFC 6655 ciphers). The others exist so the harness
can offer or select a suite *outside* the profile and check that a SUT refuses it.

The certificate suites (ECDHE_ECDSA, RFC 8422) are a table of their own,
``CERTIFICATE_SUITES``; ``ENGINE_SUITES`` is every suite the engine runs.

Each suite names its key exchange; ``CipherSuite.key_exchange_class`` is the strategy
(``harness.tls.key_exchange``) the engine runs for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from harness.tls.key_exchange import KeyExchange

# Names of harness.tls.key_exchange.KEY_EXCHANGES ("ECDHE_ECDSA": RFC 8422, for the
# certificate-based frameworks). Next: the GBA PSK variant (TS 33.222).
KeyExchangeName = Literal["PSK", "DHE_PSK", "ECDHE_ECDSA"]
BulkCipher = Literal["AES_128_CBC", "AES_128_CCM", "AES_128_CCM_8", "AES_128_GCM", "NULL"]


@dataclass(frozen=True)
class CipherSuite:
    code: int
    name: str  # IANA name
    key_exchange: KeyExchangeName
    cipher: BulkCipher
    mac: Literal["SHA256", "SHA1", "AEAD"]
    openssl: str  # OpenSSL cipher-list name
    gnutls: str  # GnuTLS priority fragment: "+KX:+CIPHER:+MAC"
    profile: bool  # in the oneM2M PSK cipher-suite profile

    @property
    def is_aead(self) -> bool:
        return self.mac == "AEAD"

    @property
    def hex(self) -> str:
        return f"0x{self.code:04X}"

    @property
    def key_exchange_class(self) -> type[KeyExchange]:
        """The key exchange strategy the engine runs for this suite."""
        # Imported here: key_exchange imports messages, which imports this module.
        from harness.tls.key_exchange import KEY_EXCHANGES

        return KEY_EXCHANGES[self.key_exchange]


def _suite(*args: object) -> CipherSuite:
    return CipherSuite(*args)  # type: ignore[arg-type]


SUITES: dict[int, CipherSuite] = {
    s.code: s
    for s in (
        # The oneM2M profile (PARAMETERS.md section 2).
        _suite(
            0x00AE,
            "TLS_PSK_WITH_AES_128_CBC_SHA256",
            "PSK",
            "AES_128_CBC",
            "SHA256",
            "PSK-AES128-CBC-SHA256",
            "+PSK:+AES-128-CBC:+SHA256",
            True,
        ),
        _suite(
            0xC0A4,
            "TLS_PSK_WITH_AES_128_CCM",
            "PSK",
            "AES_128_CCM",
            "AEAD",
            "PSK-AES128-CCM",
            "+PSK:+AES-128-CCM:+AEAD",
            True,
        ),
        _suite(
            0xC0A8,
            "TLS_PSK_WITH_AES_128_CCM_8",
            "PSK",
            "AES_128_CCM_8",
            "AEAD",
            "PSK-AES128-CCM8",
            "+PSK:+AES-128-CCM-8:+AEAD",
            True,
        ),
        _suite(
            0xC0A6,
            "TLS_DHE_PSK_WITH_AES_128_CCM",
            "DHE_PSK",
            "AES_128_CCM",
            "AEAD",
            "DHE-PSK-AES128-CCM",
            "+DHE-PSK:+AES-128-CCM:+AEAD",
            True,
        ),
        _suite(
            0xC0AA,
            "TLS_PSK_DHE_WITH_AES_128_CCM_8",
            "DHE_PSK",
            "AES_128_CCM_8",
            "AEAD",
            "DHE-PSK-AES128-CCM8",
            "+DHE-PSK:+AES-128-CCM-8:+AEAD",
            True,
        ),
        # Outside the profile: offered or selected only to test refusal.
        _suite(
            0x00B0,
            "TLS_PSK_WITH_NULL_SHA256",
            "PSK",
            "NULL",
            "SHA256",
            "PSK-NULL-SHA256",
            "+PSK:+NULL:+SHA256",
            False,
        ),
        _suite(
            0x008C,
            "TLS_PSK_WITH_AES_128_CBC_SHA",
            "PSK",
            "AES_128_CBC",
            "SHA1",
            "PSK-AES128-CBC-SHA",
            "+PSK:+AES-128-CBC:+SHA1",
            False,
        ),
        _suite(
            0x00A8,
            "TLS_PSK_WITH_AES_128_GCM_SHA256",
            "PSK",
            "AES_128_GCM",
            "AEAD",
            "PSK-AES128-GCM-SHA256",
            "+PSK:+AES-128-GCM:+AEAD",
            False,
        ),
        _suite(
            0x00B2,
            "TLS_DHE_PSK_WITH_AES_128_CBC_SHA256",
            "DHE_PSK",
            "AES_128_CBC",
            "SHA256",
            "DHE-PSK-AES128-CBC-SHA256",
            "+DHE-PSK:+AES-128-CBC:+SHA256",
            False,
        ),
    )
}

# The certificate-based suites (RFC 8422 ECDHE_ECDSA over P-256; RFC 5289 / RFC 7251
# ciphers) for the certificate-based frameworks. A table of their own, not rows of
# SUITES: SUITES is the PSK frameworks' world (what a PSK SUT is offered as "outside the
# profile", what a PSK profile may name), which these suites must not enter unasked.
CERTIFICATE_SUITES: dict[int, CipherSuite] = {
    s.code: s
    for s in (
        _suite(
            0xC023,
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
            "ECDHE_ECDSA",
            "AES_128_CBC",
            "SHA256",
            "ECDHE-ECDSA-AES128-SHA256",
            "+ECDHE-ECDSA:+AES-128-CBC:+SHA256",
            False,
        ),
        _suite(
            0xC0AE,
            "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
            "ECDHE_ECDSA",
            "AES_128_CCM_8",
            "AEAD",
            "ECDHE-ECDSA-AES128-CCM8",
            "+ECDHE-ECDSA:+AES-128-CCM-8:+AEAD",
            False,
        ),
    )
}

# Every suite the engine can run: what it may offer, select and accept.
ENGINE_SUITES: dict[int, CipherSuite] = {**SUITES, **CERTIFICATE_SUITES}

PROFILE_SUITES: tuple[int, ...] = tuple(code for code, s in SUITES.items() if s.profile)
TLS_MANDATORY_PSK = 0x00AE  # TLS_PSK_WITH_AES_128_CBC_SHA256 over TLS 1.2
DTLS_MANDATORY_PSK = 0xC0A8  # TLS_PSK_WITH_AES_128_CCM_8 over DTLS 1.2

# Signalling values that may appear in a ClientHello without being a suite.
SCSV_CODES = frozenset({0x00FF, 0x5600})  # EMPTY_RENEGOTIATION_INFO_SCSV, FALLBACK_SCSV


# RFC 6655's IANA name for 0xC0AA puts PSK first; PARAMETERS.md writes it as the others.
_ALIASES = {"TLS_DHE_PSK_WITH_AES_128_CCM_8": "TLS_PSK_DHE_WITH_AES_128_CCM_8"}


def parse_suite(text: str) -> CipherSuite:
    """A suite from its IANA name, OpenSSL name or hex code ("0x00AE").

    Raises ValueError saying which suites are known, so a profile error can name it.
    """
    value = text.strip()
    if value.lower().startswith("0x"):
        try:
            code = int(value, 16)
        except ValueError:
            code = -1
        if code in SUITES:
            return SUITES[code]
    value = _ALIASES.get(value, value)
    for suite in SUITES.values():
        if value in (suite.name, suite.openssl):
            return suite
    known = ", ".join(f"{s.name} ({s.hex})" for s in SUITES.values())
    raise ValueError(f"unknown cipher suite {text!r}; known: {known}")


def suite_name(code: int) -> str:
    suite = ENGINE_SUITES.get(code)
    return suite.name if suite else f"0x{code:04X}"
