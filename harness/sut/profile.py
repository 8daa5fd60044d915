"""SUT profiles: the ICS (declared capabilities) and IXIT (information for testing).

A lab describes its implementation under test in one TOML file (docs/sut-profile.md).
The ICS decides which test purposes apply at all (an unsupported role, framework,
transport or suite deselects a purpose as "not applicable" instead of letting it end
inconclusive); the IXIT gives the addresses, identities and credentials, named as in
the seed's tables 9.1.x, that become :attr:`SutRequest.configuration`.

A profile is validated completely before anything runs, and every problem is reported
at once with its dotted field name: a typo in a key must never silently turn a test
purpose into "not applicable" or a credential into a default.
"""

from __future__ import annotations

import copy
import shutil
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.frameworks import FRAMEWORKS
from harness.sut.contract import Address, Framework, Role, Transport
from harness.sut.endpoint_adapter import parse_addresses
from harness.sut.validation import (
    _MISSING,
    ProfileError,
    ProfileErrors,
    Validator,
    is_host,
    is_host_name,
    kpsa_id_key,
    kpsa_id_problem,
    kpsa_key_problem,
    listen_host_problem,
)
from harness.tls.suites import parse_suite

__all__ = [
    "ProfileError",
    "ProfileErrors",
    "SutProfile",
    "is_host",
    "is_host_name",
    "kpsa_id_key",
    "kpsa_id_problem",
    "kpsa_key_problem",
    "load_profile",
    "parse_profile",
    "read_toml",
    "reference_profile",
]

ADAPTER_KINDS = ("reference", "command", "endpoint")
TIMEOUT_MAX = 120.0
MAX_TOML_DEPTH = 32  # tables and arrays inside each other: a profile needs 4
ENDPOINT_ROLES = (Role.ENTITY_B, Role.MAF)  # the server roles an always-running SUT plays
REFERENCE_PROFILE = Path(__file__).resolve().parent.parent / "data" / "reference-profile.toml"


@dataclass(frozen=True)
class SutInfo:
    name: str
    vendor: str = ""
    version: str = ""


@dataclass(frozen=True)
class AdapterSpec:
    """How the harness drives the SUT: the ``[sut] adapter`` kind plus its ``[adapter]`` table."""

    kind: str  # "reference" | "command" | "endpoint"
    command: tuple[str, ...] = ()  # command adapter: program (resolved) and arguments
    ready_timeout: float = 5.0  # command adapter: bound for the shim's ready event
    host: str | None = None  # endpoint adapter: the SUT server's address
    port: int | None = None  # endpoint adapter: the association endpoint's port (optional
    #   when ``endpoints`` is given)
    endpoints: Mapping[str, Address] = field(default_factory=dict)
    """Endpoint adapter, ``[adapter.endpoints]``: every service the running SUT serves, by
    the names of SutRequest.services (``association``, ``maf_handshake``, ...)."""
    peers: Mapping[str, Address] = field(default_factory=dict)
    """Endpoint adapter, ``[adapter.peers]``: where the SUT is configured to reach each
    harness party, by role (``maf``, ...): the harness must run them there."""

    def __str__(self) -> str:
        return self.kind


@dataclass(frozen=True)
class Ics:
    roles: frozenset[Role]
    frameworks: frozenset[Framework]
    transports: frozenset[Transport]
    cipher_suites: tuple[int, ...]
    extended_master_secret: bool = True
    observation_channel: bool = True

    def supports(self, role: Role, framework: Framework, transport: Transport) -> str | None:
        """None when the ICS covers this combination, else the reason it does not
        (shown as the "not applicable" verdict's reason)."""
        if role not in self.roles:
            return f"ICS roles do not include {role}"
        if framework not in self.frameworks:
            return f"ICS frameworks do not include {framework}"
        if transport not in self.transports:
            return f"ICS transports do not include {transport}"
        return None


@dataclass(frozen=True)
class DtlsTiming:
    """``[ixit.dtls]``: the SUT's DTLS timing, for a lab that can set or bound it.

    ``retransmission_timeout`` is the initial retransmission timer the SUT is asked for
    (``configuration.retransmissionTimeout`` of every DTLS request; RFC 6347 4.2.4.1
    recommends 1 s, and a SUT may retransmit sooner). ``discard_timeout`` bounds a DTLS
    case whose conformant end is a silent discard (a record the SUT cannot authenticate,
    RFC 6347 4.1.2.7): nothing ends such a case but the SUT giving its handshake up, so the
    SUT's request gets this ``timeout`` and the harness waits no longer itself. It must
    leave the SUT time to receive the harness's flight and retransmit its own at least
    twice (``harness.legs.tls_psk.case_timeout``). None: ``ixit.timeout`` applies.
    """

    retransmission_timeout: float | None = None
    discard_timeout: float | None = None


@dataclass(frozen=True)
class Ixit:
    timeout: float
    host: str  # where the harness and a SUT it starts listen: loopback unless allowed
    tables: dict[tuple[Framework, Role], dict[str, Any]] = field(default_factory=dict)
    """Each (framework, role) IXIT table, validated by that framework's schema."""

    allow_non_loopback: bool = False
    """``ixit.allow_non_loopback``: the lab's explicit leave to listen on an address other
    than loopback (harness.sut.validation.listen_host_problem)."""

    dtls: DtlsTiming = field(default_factory=DtlsTiming)
    """``[ixit.dtls]``: the SUT's DTLS timing, where the lab sets it."""

    def table(self, role: Role, framework: Framework = Framework.SAEF_PSK) -> dict[str, Any] | None:
        return self.tables.get((framework, role))

    @property
    def entity_a(self) -> dict[str, Any] | None:
        """The PSK SAEF's Entity A table (``[ixit.entity_a]``)."""
        return self.table(Role.ENTITY_A)

    @property
    def entity_b(self) -> dict[str, Any] | None:
        """The PSK SAEF's Entity B table (``[ixit.entity_b]``)."""
        return self.table(Role.ENTITY_B)


@dataclass(frozen=True)
class SutProfile:
    path: Path | None
    sut: SutInfo
    adapter: AdapterSpec
    ics: Ics
    ixit: Ixit

    @property
    def base(self) -> Path:
        """The profile's folder: relative paths and the shim's working directory."""
        return self.path.parent if self.path else Path.cwd()

    def configuration(
        self, role: Role, framework: Framework = Framework.SAEF_PSK
    ) -> dict[str, Any]:
        """A fresh copy of the role's IXIT table, ready to become SutRequest.configuration
        (a copy, so a test purpose that alters it for a fault cannot leak into the next)."""
        table = self.ixit.table(role, framework)
        if table is None:
            raise KeyError(f"the profile has no IXIT for {role} of {framework}")
        return copy.deepcopy(table)


# --- loading ------------------------------------------------------------------------------


def load_profile(path: Path | str) -> SutProfile:
    """Read and validate a profile file. Raises OSError if unreadable, ProfileErrors if invalid."""
    path = Path(path)
    return parse_profile(read_toml(path), path.resolve().parent, path=path)


def read_toml(path: Path | str, max_depth: int = MAX_TOML_DEPTH) -> dict[str, Any]:
    """A TOML file as a dict, or ProfileErrors naming the file and what is wrong: not
    UTF-8, invalid TOML (with tomllib's line and column), or nested deeper than
    ``max_depth`` (named by the dotted path where it goes too deep). tomllib is
    recursive: ``x = [[[...]]]`` some 500 deep exhausts its stack, and a value under
    that still crashes whoever walks it next (deepcopy, json.dumps of a request), so
    depth is a validation error like any other. Raises OSError if unreadable."""
    path = Path(path)
    data = path.read_bytes()
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProfileErrors([ProfileError(str(path), f"not UTF-8 text ({exc.reason})")]) from exc
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line L, column C)".
        raise ProfileErrors([ProfileError(str(path), f"invalid TOML: {exc}")]) from exc
    except RecursionError as exc:
        raise ProfileErrors(
            [ProfileError(str(path), f"TOML nested too deeply to read (limit {max_depth} levels)")]
        ) from exc
    deep = _too_deep(parsed, max_depth)
    if deep is not None:
        raise ProfileErrors(
            [ProfileError(deep, f"nested more than {max_depth} levels deep")], str(path)
        )
    return parsed


def _too_deep(value: Any, limit: int) -> str | None:
    """The dotted path of the first value nested deeper than ``limit``, or None (iterative)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, where, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth > limit:
            return where or "(top level)"
        children = item.items() if isinstance(item, dict) else enumerate(item)
        for key, child in children:
            at = f"{where}[{key}]" if isinstance(item, list) else f"{where}.{key}".lstrip(".")
            stack.append((child, at, depth + 1))
    return None


def reference_profile() -> SutProfile:
    """The built-in profile of the in-process reference SUT."""
    return load_profile(REFERENCE_PROFILE)


def parse_profile(data: Mapping[str, Any], base: Path, path: Path | None = None) -> SutProfile:
    """Validate a parsed profile; ``base`` is the folder relative paths are resolved against."""
    v = _Validator(base)
    profile = v.profile(data, path)
    if v.errors or profile is None:
        raise ProfileErrors(v.errors, str(path) if path else "")
    return profile


# --- validation ---------------------------------------------------------------------------


class _Validator(Validator):
    """Collects every error instead of stopping at the first."""

    def __init__(self, base: Path) -> None:
        super().__init__()
        self.base = base

    # sections

    def profile(self, data: Mapping[str, Any], path: Path | None) -> SutProfile | None:
        self.keys(data, "", ("sut", "adapter", "ics", "ixit"))
        sut_t = self.table(data, "sut", "", required=True)
        sut = self.sut(sut_t) if sut_t is not None else None
        kind = sut_t.get("adapter") if sut_t is not None else None
        kind = kind if kind in ADAPTER_KINDS else None
        adapter_t = self.table(data, "adapter", "", required=kind in ("command", "endpoint"))
        ixit_t = self.table(data, "ixit", "", required=True)
        ics_t = self.table(data, "ics", "", required=True)
        ics = self.ics(ics_t, kind) if ics_t is not None else None
        ixit = self.ixit(ixit_t, ics) if ixit_t is not None else None
        adapter = self.adapter(adapter_t or {}, kind, ixit) if kind else None
        if None in (sut, adapter, ics, ixit) or self.errors:
            return None
        assert sut and adapter and ics and ixit
        return SutProfile(path=path, sut=sut, adapter=adapter, ics=ics, ixit=ixit)

    def sut(self, t: Mapping[str, Any]) -> SutInfo | None:
        self.keys(t, "sut", ("name", "vendor", "version", "adapter"))
        name = self.string(t, "name", "sut")
        vendor = self.string(t, "vendor", "sut", required=False) or ""
        version = self.string(t, "version", "sut", required=False) or ""
        kind = self.string(t, "adapter", "sut")
        if kind is not None and kind not in ADAPTER_KINDS:
            self.error(
                "sut.adapter", f"unknown adapter {kind!r}; known: {', '.join(ADAPTER_KINDS)}"
            )
        return SutInfo(name, vendor, version) if name else None

    def adapter(self, t: Mapping[str, Any], kind: str, ixit: Ixit | None) -> AdapterSpec:
        per_kind = {
            "reference": (),
            "command": ("command", "ready_timeout"),
            "endpoint": ("host", "port", "endpoints", "peers"),
        }
        for key in t:
            if key not in per_kind[kind]:
                owner = [k for k, keys in per_kind.items() if key in keys]
                if owner:
                    self.error(
                        f"adapter.{key}", f"not used by the {kind} adapter (only {owner[0]})"
                    )
                else:
                    self.keys({key: None}, "adapter", per_kind[kind] or ("(none)",))
        if kind == "command":
            return AdapterSpec(
                kind,
                command=self.command(t),
                ready_timeout=self.number(t, "ready_timeout", "adapter", 5.0, TIMEOUT_MAX),
            )
        if kind == "endpoint":
            return self.endpoint(t, ixit)
        return AdapterSpec(kind)

    def endpoint(self, t: Mapping[str, Any], ixit: Ixit | None) -> AdapterSpec:
        """``[adapter]`` of the endpoint adapter: ``host``, ``port`` (the association
        endpoint) and the ``endpoints`` / ``peers`` tables (docs/adapter-contract.md);
        ``port`` may be left out when ``endpoints`` names the services."""
        host = self.string(t, "host", "adapter", required=False)
        if host is not None and not is_host(host):
            self.error("adapter.host", f"not an IP address or host name ({host!r})")
            host = None
        host = host or (ixit.host if ixit else "127.0.0.1")
        tables: dict[str, dict[str, Address]] = {}
        for key in ("endpoints", "peers"):
            if key not in t:
                tables[key] = {}
                continue
            addresses, errors = parse_addresses(t[key], host, f"adapter.{key}")
            self.errors.extend(errors)
            for name, address in addresses.items():
                if not is_host(address.host):
                    self.error(
                        f"adapter.{key}.{name}.host",
                        f"not an IP address or host name ({address.host!r})",
                    )
                elif key == "peers":  # the harness runs (listens as) those parties there
                    allowed = ixit.allow_non_loopback if ixit else False
                    if (problem := listen_host_problem(address.host, allowed)) is not None:
                        self.error(f"adapter.{key}.{name}.host", problem)
            tables[key] = addresses
        port = t.get("port", _MISSING)
        if port is _MISSING:
            endpoints_invalid = any(e.field.startswith("adapter.endpoints") for e in self.errors)
            if not tables["endpoints"] and not endpoints_invalid:
                self.error(
                    "adapter.port",
                    "missing (the SUT server's TCP/UDP port, or [adapter.endpoints])",
                )
            port = None
        elif isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            self.error("adapter.port", f"must be an integer 1..65535, not {port!r}")
            port = None
        elif "association" in tables["endpoints"]:
            self.error("adapter.port", "given twice: here and as [adapter.endpoints] association")
        return AdapterSpec(
            "endpoint",
            host=host,
            port=port,
            endpoints=tables["endpoints"],
            peers=tables["peers"],
        )

    def command(self, t: Mapping[str, Any]) -> tuple[str, ...]:
        value = t.get("command", _MISSING)
        if value is _MISSING:
            self.error("adapter.command", "missing (the shim command, a list of strings)")
            return ()
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v for v in value)
        ):
            self.error("adapter.command", "must be a non-empty list of non-empty strings")
            return ()
        program = value[0]
        if "/" in program:
            candidate = Path(program) if Path(program).is_absolute() else self.base / program
            if not candidate.is_file():
                self.error("adapter.command[0]", f"program not found: {candidate}")
                return ()
            resolved = str(candidate.resolve())
        else:
            found = shutil.which(program)
            if found is None:
                self.error("adapter.command[0]", f"program {program!r} not found on PATH")
                return ()
            resolved = found
        return (resolved, *value[1:])

    def ics(self, t: Mapping[str, Any], kind: str | None) -> Ics:
        w = "ics"
        self.keys(
            t,
            w,
            (
                "roles",
                "frameworks",
                "transports",
                "cipher_suites",
                "extended_master_secret",
                "observation_channel",
            ),
        )
        roles = self.enums(t, "roles", w, Role)
        frameworks = self.enums(t, "frameworks", w, Framework)
        transports = self.enums(t, "transports", w, Transport)
        suites: list[int] = []
        for i, text in enumerate(self.string_list(t, "cipher_suites", w)):
            try:
                code = parse_suite(text).code
            except ValueError as exc:
                self.error(f"{w}.cipher_suites[{i}]", str(exc))
                continue
            if code in suites:
                self.error(f"{w}.cipher_suites[{i}]", f"duplicate suite {text!r}")
                continue
            suites.append(code)
        ems = self.boolean(t, "extended_master_secret", w, True)
        observation = self.boolean(t, "observation_channel", w, kind != "endpoint")
        if kind == "endpoint":
            if observation:
                self.error(
                    f"{w}.observation_channel", "the endpoint adapter has no observation channel"
                )
            for role in sorted(roles - set(ENDPOINT_ROLES)):
                self.error(
                    f"{w}.roles",
                    f"the endpoint adapter can only play {' or '.join(ENDPOINT_ROLES)}, not {role}",
                )
        return Ics(roles, frameworks, transports, tuple(suites), ems, observation)

    def ixit(self, t: Mapping[str, Any], ics: Ics | None) -> Ixit:
        """``[ixit]``: common settings, then one table per (framework, role):
        ``[ixit.<framework>.<role>]``; the PSK SAEF's may also be written ``[ixit.<role>]``
        as profiles did before frameworks had their own tables."""
        w = "ixit"
        legacy = {
            str(role): spec.framework
            for spec in FRAMEWORKS.values()
            for role in spec.legacy_ixit_tables
        }
        self.keys(
            t,
            w,
            (
                "timeout",
                "host",
                "allow_non_loopback",
                "dtls",
                *legacy,
                *(str(f) for f in FRAMEWORKS),
            ),
        )
        timeout = self.number(t, "timeout", w, 5.0, TIMEOUT_MAX)
        host = self.string(t, "host", w, required=False) or "127.0.0.1"
        allow_non_loopback = self.boolean(t, "allow_non_loopback", w, False)
        if not is_host(host):
            self.error("ixit.host", f"not an IP address or host name ({host!r})")
        elif (problem := listen_host_problem(host, allow_non_loopback)) is not None:
            self.error("ixit.host", problem)
        tables: dict[tuple[Framework, Role], dict[str, Any]] = {}
        for framework, spec in FRAMEWORKS.items():
            framework_t = self.table(t, str(framework), w, required=False)
            fw = f"{w}.{framework}"
            if framework_t is not None:
                self.keys(framework_t, fw, (str(role) for role in spec.ixit))
            for role, schema in spec.ixit.items():
                at, sub = f"{fw}.{role}", None
                if framework_t is not None:
                    sub = self.table(framework_t, str(role), fw, required=False)
                if role in spec.legacy_ixit_tables and str(role) in t:
                    if sub is not None:
                        self.error(f"{w}.{role}", f"given twice: here and as [{at}]")
                    at, sub = f"{w}.{role}", self.table(t, str(role), w, required=False)
                if sub is not None:
                    tables[(framework, role)] = schema(self, sub, at)
                elif ics is not None and framework in ics.frameworks and role in ics.roles:
                    if role in spec.legacy_ixit_tables:
                        self.error(f"{w}.{role}", f"missing (ics.roles includes {role})")
                    elif not self._table_given(t, framework, role):
                        self.error(
                            at, f"missing (ics.roles includes {role}, ics.frameworks {framework})"
                        )
        return Ixit(timeout, host, tables, allow_non_loopback, self.dtls_timing(t, timeout))

    def dtls_timing(self, t: Mapping[str, Any], timeout: float) -> DtlsTiming:
        """``[ixit.dtls]``: ``retransmissionTimeout`` and ``discardTimeout`` (optional)."""
        w = "ixit.dtls"
        table = self.table(t, "dtls", "ixit", required=False)
        if table is None:
            return DtlsTiming()
        self.keys(table, w, ("retransmissionTimeout", "discardTimeout"))
        retransmission = None
        if "retransmissionTimeout" in table:
            retransmission = self.number(table, "retransmissionTimeout", w, 1.0, 60.0)
        discard = None
        if "discardTimeout" in table:
            discard = self.number(table, "discardTimeout", w, timeout, TIMEOUT_MAX)
            if discard > timeout:
                self.error(
                    f"{w}.discardTimeout",
                    f"{discard:g} exceeds ixit.timeout {timeout:g}: it shortens the bound of "
                    "a case that ends in a silent discard, never lengthens it",
                )
                discard = timeout
            elif retransmission is not None and discard < 2 * retransmission:
                self.error(
                    f"{w}.discardTimeout",
                    f"{discard:g} leaves the SUT no time to retransmit its flight twice on its "
                    f"{retransmission:g} s timer (at least {2 * retransmission:g})",
                )
        return DtlsTiming(retransmission, discard)

    @staticmethod
    def _table_given(t: Mapping[str, Any], framework: Framework, role: Role) -> bool:
        """True when the table is there but malformed (its error is already reported)."""
        framework_t = t.get(str(framework))
        return (isinstance(framework_t, dict) and str(role) in framework_t) or (
            str(role) in t and role in FRAMEWORKS[framework].legacy_ixit_tables
        )


# --- value rules (public: adapters and steps reuse them) --------------------------------------
