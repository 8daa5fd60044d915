"""Alert codes (RFC 5246 section 7.2, RFC 4279 section 6) and the engine's error type.

The engine raises :class:`ProtocolError` wherever a conformant peer must abort; the
connection turns it into the fatal alert it names, so each check says which alert.
"""

from __future__ import annotations

WARNING = 1
FATAL = 2

CLOSE_NOTIFY = 0
UNEXPECTED_MESSAGE = 10
BAD_RECORD_MAC = 20
RECORD_OVERFLOW = 22
HANDSHAKE_FAILURE = 40
BAD_CERTIFICATE = 42
UNSUPPORTED_CERTIFICATE = 43
ILLEGAL_PARAMETER = 47
DECODE_ERROR = 50
DECRYPT_ERROR = 51
PROTOCOL_VERSION = 70
INSUFFICIENT_SECURITY = 71
INTERNAL_ERROR = 80
NO_RENEGOTIATION = 100
UNSUPPORTED_EXTENSION = 110
UNRECOGNIZED_NAME = 112
UNKNOWN_PSK_IDENTITY = 115

_DESCRIPTIONS = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    21: "decryption_failed",
    22: "record_overflow",
    30: "decompression_failure",
    40: "handshake_failure",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    100: "no_renegotiation",
    110: "unsupported_extension",
    112: "unrecognized_name",
    115: "unknown_psk_identity",
}
_CODES = {name: code for code, name in _DESCRIPTIONS.items()}


def description_name(code: int) -> str:
    return _DESCRIPTIONS.get(code, f"unknown_alert_{code}")


def description_code(name: str | int) -> int:
    """Accept a name ("bad_record_mac") or a number, as fault files may give either."""
    if isinstance(name, int):
        return name
    if name.isdigit():
        return int(name)
    return _CODES[name]


def level_name(level: int) -> str:
    return {WARNING: "warning", FATAL: "fatal"}.get(level, f"level_{level}")


def level_code(name: str | int) -> int:
    if isinstance(name, int):
        return name
    return {"warning": WARNING, "fatal": FATAL}[name]


class ProtocolError(Exception):
    """A condition on which the engine aborts with a fatal alert ``description``."""

    def __init__(self, description: int, reason: str) -> None:
        super().__init__(f"{description_name(description)}: {reason}")
        self.description = description
        self.reason = reason
        # Set by the record layer when a record fails to decrypt: its header fields.
        self.record_type: int | None = None
        self.record_length: int | None = None
        self.record_raw: bytes | None = None
