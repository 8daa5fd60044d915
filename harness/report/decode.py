"""Decoded trace fields as a reader wants them: text where the octets are text, names
where the wire carries numbers.

The engine records fields as the codec sees them (``psk_identity`` as hex, extensions
as ``{type, name, data}`` dicts, cipher suites as integers). A lab reading a report
needs ``"sensor-1@in-cse.m2m.example.com"``, ``server_name, extended_master_secret``
and ``TLS_PSK_WITH_AES_128_CCM_8 (0xC0A8)``; the exact octets stay available as a
secondary value (an HTML ``title``, a parenthesis in text), never lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from harness.tls.suites import suite_name

MAX_CHARS = 160
# Fields shown first in a message's row, in this order; the rest follow as recorded.
KEY_FIELDS = (
    "version",
    "server_version",
    "cipher_suite",
    "cipher_suites",
    "server_name",
    "psk_identity",
    "psk_identity_hint",
    "extended_master_secret",
    "extensions",
    "cookie",
    "verify_data",
    "level",
    "description",
    "length",
)
# Fields whose octets are identities: shown as text when they are printable.
TEXT_FIELDS = frozenset({"psk_identity", "psk_identity_hint"})
# Redundant with the decoded form of another field.
HIDDEN_FIELDS = frozenset({"cipher_suite_names", "cipher_suite_name"})
_TLS_VERSIONS = {"3.1": "TLS 1.0", "3.2": "TLS 1.1", "3.3": "TLS 1.2", "254.253": "DTLS 1.2"}


@dataclass(frozen=True)
class Shown:
    """One field as displayed: ``text`` for the reader, ``exact`` the recorded value
    when it differs (the hex of a decoded identity, an extension's data)."""

    name: str
    text: str
    exact: str = ""


def printable_text(hex_value: str) -> str | None:
    """The octets of ``hex_value`` as text if they are printable UTF-8, else None."""
    try:
        octets = bytes.fromhex(hex_value)
        text = octets.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if not text or not all(c.isprintable() for c in text):
        return None
    return text


def _identity(value: Any) -> Shown:
    """An identity's octets (recorded in hex) as quoted text where printable, else hex;
    a value that is not hex was recorded as text already and is shown as it is."""
    if not isinstance(value, str) or not value:
        return Shown("", _plain(value))
    try:
        bytes.fromhex(value)
    except ValueError:
        return Shown("", json.dumps(value, ensure_ascii=False))
    if (text := printable_text(value)) is not None:
        return Shown("", json.dumps(text, ensure_ascii=False), f"hex {value}")
    return Shown("", f"hex {value}", "not printable text")


def _extensions(value: Any) -> Shown:
    if not isinstance(value, list):
        return Shown("", _plain(value))
    names, exact = [], []
    for ext in value:
        if isinstance(ext, Mapping):
            name = str(ext.get("name") or f"unknown({ext.get('type')})")
            names.append(name)
            data = str(ext.get("data", ""))
            exact.append(f"{name} ({ext.get('type')}): {data or 'empty'}")
        else:
            names.append(str(ext))
    return Shown("", ", ".join(names) or "none", "; ".join(exact))


def _suites(value: Any) -> Shown:
    codes = value if isinstance(value, list) else [value]
    if not all(isinstance(c, int) for c in codes):
        return Shown("", _plain(value))
    named = [suite_name(c) for c in codes]
    text = ", ".join(
        n if n.startswith("0x") else f"{n} (0x{c:04X})" for n, c in zip(named, codes, strict=True)
    )
    return Shown("", text)


def _version(value: Any) -> Shown:
    if isinstance(value, str) and value in _TLS_VERSIONS:
        return Shown("", f"{_TLS_VERSIONS[value]} ({value})")
    return Shown("", _plain(value))


def _plain(value: Any) -> str:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    if value is None or value == "":
        return "–"
    return str(value)


_DECODERS = {
    "psk_identity": _identity,
    "psk_identity_hint": _identity,
    "extensions": _extensions,
    "cipher_suites": _suites,
    "cipher_suite": _suites,
    "version": _version,
    "server_version": _version,
}


def _suite_codes(value: Any) -> Shown:
    codes = value if isinstance(value, list) else [value]
    if not all(isinstance(c, int) for c in codes):
        return Shown("", _plain(value))
    return Shown("", ", ".join(f"0x{c:04X}" for c in codes))


def shown_fields(fields: Mapping[str, Any], *, compact: bool = False) -> Iterator[Shown]:
    """Every field of a message, decoded and in reading order. ``compact``: only the
    fields a reader checks (:data:`KEY_FIELDS`), suites as codes (the report's passes,
    whose every octet is in the pcap)."""
    ordered = [k for k in KEY_FIELDS if k in fields]
    if not compact:
        ordered += [k for k in fields if k not in KEY_FIELDS and k not in HIDDEN_FIELDS]
    for key in ordered:
        decoder = _DECODERS.get(key)
        if compact and key in ("cipher_suites", "cipher_suite"):
            decoder = _suite_codes
        shown = decoder(fields[key]) if decoder else Shown("", _plain(fields[key]))
        yield Shown(key, shown.text, shown.exact)


def one_line(fields: Mapping[str, Any], limit: int = MAX_CHARS) -> str:
    """The decoded fields as one line of text (Allure's trace attachment, logs)."""
    parts = []
    for shown in shown_fields(fields):
        text = shown.text if len(shown.text) <= limit else shown.text[:limit] + "…"
        parts.append(f"{shown.name}={text}")
    return "; ".join(parts)
