"""Validating profile tables: the error types, a collecting validator, value rules.

Below both the SUT-profile loader (harness/sut/profile.py) and the frameworks' IXIT
schemas (harness/frameworks/*/ixit.py), so that each framework validates its own tables
with the same field-naming errors.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_HEX = re.compile(r"^[0-9A-Fa-f]*$")
KPSA_KEY_OCTETS = (16, 64)


class ProfileError(ValueError):
    """One problem in a SUT profile, named by its dotted field (``ixit.entity_a.kpsaKey``)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ProfileErrors(ProfileError):
    """All problems found in one profile; each item names its field."""

    def __init__(self, errors: list[ProfileError], source: str = "") -> None:
        self.errors = list(errors)
        self.source = source
        first = self.errors[0] if self.errors else ProfileError("", "invalid profile")
        super().__init__(first.field, first.message)

    def __str__(self) -> str:
        where = f" in {self.source}" if self.source else ""
        head = f"{len(self.errors)} error(s){where}:"
        return "\n  ".join([head, *(str(e) for e in self.errors)])

    @property
    def fields(self) -> list[str]:
        return [e.field for e in self.errors]


class _Missing:
    pass


_MISSING = _Missing()


class Validator:
    """Collects every error instead of stopping at the first; each names its field.

    The profile loader and every framework's IXIT schema (harness/frameworks/*/ixit.py)
    validate with it, so a lab sees every problem of a profile at once, each with its
    dotted field name."""

    def __init__(self) -> None:
        self.errors: list[ProfileError] = []

    def error(self, where: str, message: str) -> None:
        self.errors.append(ProfileError(where, message))

    def seconds(
        self, table: Mapping[str, Any], key: str, where: str, default: float, maximum: float
    ) -> float | None:
        """A duration in seconds, 0 < value <= ``maximum`` (``default`` when absent)."""
        value = table.get(key, default)
        at = _join(where, key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(at, "must be a number of seconds")
            return None
        if not 0 < value <= maximum:
            self.error(at, f"{value} out of range (0, {maximum:.0f}] seconds")
            return None
        return value

    def unique(self, seen: dict[str, str], key: str | None, at: str, what: str) -> None:
        """Record ``key`` (already normalised) as seen at ``at``; a repeat is an error."""
        if key is None:
            return
        if key in seen:
            self.error(at, f"duplicate {what} (also in {seen[key]})")
        else:
            seen[key] = at.rsplit(".", 1)[0]

    def keys(self, table: Mapping[str, Any], where: str, known: Iterable[str]) -> None:
        known = list(known)
        for key in table:
            if key not in known:
                guess = difflib.get_close_matches(key, known, n=1)
                hint = f"; did you mean {guess[0]!r}?" if guess else f"; known: {', '.join(known)}"
                self.error(_join(where, key), f"unknown key{hint}")

    def table(self, parent: Mapping[str, Any], key: str, where: str, required: bool) -> dict | None:
        value = parent.get(key, _MISSING)
        if value is _MISSING:
            if required:
                self.error(_join(where, key), "missing (a table is required)")
            return None
        if not isinstance(value, dict):
            self.error(_join(where, key), f"must be a table, not {_kind(value)}")
            return None
        return value

    def string(
        self, table: Mapping[str, Any], key: str, where: str, required: bool = True
    ) -> str | None:
        value = table.get(key, _MISSING)
        at = _join(where, key)
        if value is _MISSING:
            if required:
                self.error(at, "missing (required)")
            return None
        if not isinstance(value, str):
            self.error(at, f"must be a string, not {_kind(value)}")
            return None
        if not value.strip():
            self.error(at, "must not be empty")
            return None
        return value.strip()

    def number(
        self, table: Mapping[str, Any], key: str, where: str, default: float, maximum: float
    ) -> float:
        value = table.get(key, _MISSING)
        at = _join(where, key)
        if value is _MISSING:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(at, f"must be a number of seconds, not {_kind(value)}")
            return default
        if not 0 < value <= maximum:
            self.error(at, f"{value} out of range; must be > 0 and <= {maximum:g} seconds")
            return default
        return float(value)

    def boolean(self, table: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
        value = table.get(key, _MISSING)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            self.error(_join(where, key), f"must be true or false, not {_kind(value)}")
            return default
        return value

    def string_list(self, table: Mapping[str, Any], key: str, where: str) -> list[str]:
        value = table.get(key, _MISSING)
        at = _join(where, key)
        if value is _MISSING:
            self.error(at, "missing (a non-empty list is required)")
            return []
        if not isinstance(value, list):
            self.error(at, f"must be a list of strings, not {_kind(value)}")
            return []
        if not value:
            self.error(at, "must not be empty")
        out = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                out.append(item)
            else:
                self.error(f"{at}[{i}]", f"must be a string, not {_kind(item)}")
        return out

    def enums(self, table: Mapping[str, Any], key: str, where: str, enum: Any) -> frozenset[Any]:
        values = set()
        for i, text in enumerate(self.string_list(table, key, where)):
            try:
                values.add(enum(text))
            except ValueError:
                known = ", ".join(e.value for e in enum)
                self.error(
                    f"{where}.{key}[{i}]", f"unknown {enum.__name__} {text!r}; known: {known}"
                )
        return frozenset(values)

    def host_name(self, value: str | None, at: str) -> str | None:
        if value is not None and not is_host_name(value):
            self.error(at, f"not a host name per RFC 1123 ({value!r})")
            return None
        return value

    def hex_key(
        self,
        table: Mapping[str, Any],
        key: str,
        where: str,
        octets: tuple[int, int],
        required: bool = True,
    ) -> str | None:
        """A key given as hex (the contract's encoding for key material), lower-cased."""
        text = self.string(table, key, where, required=required)
        if text is None:
            return None
        problem = hex_key_problem(text, octets)
        if problem:
            self.error(_join(where, key), problem)
            return None
        return text.lower()

    def tables(
        self, parent: Mapping[str, Any], key: str, where: str, required: bool
    ) -> list[tuple[str, dict[str, Any]]]:
        """An array of tables (``[[where.key]]``), each with its dotted location."""
        value = parent.get(key, _MISSING)
        at = _join(where, key)
        if value is _MISSING:
            if required:
                self.error(at, f"missing (one or more [[...{key}]] tables)")
            return []
        if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
            self.error(at, f"must be an array of tables ([[{at}]])")
            return []
        if not value and required:
            self.error(at, "must not be empty")
        return [(f"{at}[{i}]", item) for i, item in enumerate(value)]


# --- value rules (public: adapters, schemas and steps reuse them) -------------------------


def is_host_name(text: str) -> bool:
    """RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens."""
    name = text[:-1] if text.endswith(".") else text
    if not name or len(name) > 253:
        return False
    return all(_LABEL.match(label) for label in name.split("."))


def kpsa_id_problem(text: str) -> str | None:
    """Why ``text`` is not a KpsaId = Issuer_Relative_KpsaID@Issuer-FQDN (TS-0003 10.5)."""
    relative, at, fqdn = text.rpartition("@")
    if not at:
        return f"not of the form relative@fqdn ({text!r})"
    if not relative or any(c.isspace() for c in relative):
        return f"empty or blank relative part before '@' ({text!r})"
    if "." not in fqdn.rstrip(".") or not is_host_name(fqdn):
        return f"{fqdn!r} after '@' is not a fully qualified domain name (RFC 1123)"
    return None


def kpsa_key_problem(text: str) -> str | None:
    """Why ``text`` is not a hex Kpsa of 16..64 octets."""
    return hex_key_problem(text, KPSA_KEY_OCTETS, "a Kpsa")


def hex_key_problem(text: str, octets: tuple[int, int], what: str = "the key") -> str | None:
    """Why ``text`` is not a hex key of ``octets`` (low, high) octets."""
    if not _HEX.match(text):
        shown = text[:4] + ("..." if len(text) > 4 else "")
        return f'not hex ("{shown}")'
    if len(text) % 2:
        return f"odd number of hex digits ({len(text)})"
    length = len(text) // 2
    low, high = octets
    if not low <= length <= high:
        return f"{length} octets; {what} must be {low}..{high} octets"
    return None


def kpsa_id_key(kpsa_id: str) -> str:
    relative, _, fqdn = kpsa_id.rpartition("@")
    return f"{relative}@{fqdn.lower().rstrip('.')}"


def is_host(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return is_host_name(text)
    return True


LOOPBACK_NAMES = ("localhost",)  # RFC 6761 6.3: always the loopback interface


def listen_host_problem(host: str, allow_non_loopback: bool = False) -> str | None:
    """Why the harness (or a SUT it starts on this machine) must not listen on ``host``,
    or None. The suite's sockets are loopback-only by design: a conformance run opens
    servers that accept any client with a test key, which no other machine should reach.

    - IPv4 loopback (127.0.0.0/8, ``localhost``): always fine.
    - The unspecified address (0.0.0.0, ``::``): never; it listens on every interface,
      and no SUT can be told to connect to it.
    - IPv6, ``::1`` included: refused here rather than at run time, because the
      harness's sockets, the reference SUT and the pcap writer are IPv4.
    - Any other address or name: only with ``allow_non_loopback`` (a lab that runs the
      SUT on another machine), and then only an address this machine has (checked by
      binding it), so it fails here, naming the field, not in every case later.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and address.is_unspecified:
        return (
            f"{host} would listen on every interface, and no SUT can connect to it; "
            "name one address (127.0.0.1 for a run on this machine)"
        )
    if address is not None and address.version == 6:
        what = "IPv6 loopback" if address.is_loopback else "IPv6"
        return (
            f"{what} ({host}) is not supported: the harness's sockets and captures are "
            "IPv4; use 127.0.0.1"
        )
    if (address is not None and address.is_loopback) or host.lower().rstrip(".") in LOOPBACK_NAMES:
        return None
    if not allow_non_loopback:
        return (
            f"{host} is not a loopback address: the harness listens only on loopback "
            "(127.0.0.0/8) unless ixit.allow_non_loopback = true says the lab means it"
        )
    return _bind_problem(host)


def _bind_problem(host: str) -> str | None:
    """None if this machine can bind a TCP socket on ``host``, else why not."""
    import socket  # here: validation is otherwise pure

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
    except OSError as exc:
        return f"{host} is no address of this machine the harness can listen on ({exc.strerror or exc})"
    return None


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)
