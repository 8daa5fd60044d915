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
import difflib
import ipaddress
import re
import shutil
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.sut.contract import Framework, Role, Transport
from harness.tls.suites import parse_suite

ADAPTER_KINDS = ("reference", "command", "endpoint")
TIMEOUT_MAX = 120.0
KPSA_KEY_OCTETS = (16, 64)
REFERENCE_PROFILE = Path(__file__).resolve().parent.parent / "data" / "reference-profile.toml"

# Seed parameter names (tables 9.1.x) accepted as optional strings in an entity's IXIT,
# so that profiles for the other frameworks load before their test purposes exist.
OPTIONAL_SEED_PARAMETERS = frozenset(
    {
        "thisEntityPrivateKey",
        "thisEntityCertificate",
        "thisEntityCertificateChain",
        "mafIdentifier",
        "masterCredential",
        "masterCredentialIdentifier",
        "masterCredentialExpiry",
        "associationConfigurationExpiry",
        "securityAssociationLifespan",
        "otherEntityCertificateName",
        "otherEntityRootOfTrust",
        "nafPrivateKey",
        "nafCertificate",
        "nafCertificateChain",
        "rootCertificateBSF",
    }
)

_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_HEX = re.compile(r"^[0-9A-Fa-f]*$")


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
    port: int | None = None

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
class Ixit:
    timeout: float
    host: str
    entity_a: dict[str, Any] | None
    entity_b: dict[str, Any] | None
    other: dict[str, dict[str, Any]] = field(default_factory=dict)
    """IXIT tables of roles without a schema yet (maf, mef, bsf, enrolee), kept as given."""


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

    def configuration(self, role: Role) -> dict[str, Any]:
        """A fresh copy of the role's IXIT table, ready to become SutRequest.configuration
        (a copy, so a test purpose that alters it for a fault cannot leak into the next)."""
        table = {
            Role.ENTITY_A: self.ixit.entity_a,
            Role.ENTITY_B: self.ixit.entity_b,
        }.get(role, self.ixit.other.get(str(role)))
        if table is None:
            raise KeyError(f"the profile has no IXIT for {role}")
        return copy.deepcopy(table)


# --- loading ------------------------------------------------------------------------------


def load_profile(path: Path | str) -> SutProfile:
    """Read and validate a profile file. Raises OSError if unreadable, ProfileErrors if invalid."""
    path = Path(path)
    data = path.read_bytes()
    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProfileErrors([ProfileError(str(path), f"not UTF-8 text ({exc.reason})")]) from exc
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line L, column C)".
        raise ProfileErrors([ProfileError(str(path), f"invalid TOML: {exc}")]) from exc
    return parse_profile(parsed, path.resolve().parent, path=path)


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


class _Missing:
    pass


_MISSING = _Missing()


class _Validator:
    """Collects every error instead of stopping at the first."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.errors: list[ProfileError] = []

    def error(self, where: str, message: str) -> None:
        self.errors.append(ProfileError(where, message))

    # generic helpers

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
            "endpoint": ("host", "port"),
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
            host = self.string(t, "host", "adapter", required=False)
            if host is not None and not _is_host(host):
                self.error("adapter.host", f"not an IP address or host name ({host!r})")
            port = t.get("port", _MISSING)
            if port is _MISSING:
                self.error("adapter.port", "missing (the SUT server's TCP/UDP port)")
                port = None
            elif isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                self.error("adapter.port", f"must be an integer 1..65535, not {port!r}")
                port = None
            return AdapterSpec(kind, host=host or (ixit.host if ixit else "127.0.0.1"), port=port)
        return AdapterSpec(kind)

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
            for role in sorted(roles - {Role.ENTITY_B}):
                self.error(f"{w}.roles", f"the endpoint adapter can only play entity_b, not {role}")
        return Ics(roles, frameworks, transports, tuple(suites), ems, observation)

    def ixit(self, t: Mapping[str, Any], ics: Ics | None) -> Ixit:
        w = "ixit"
        other_roles = [str(r) for r in Role if r not in (Role.ENTITY_A, Role.ENTITY_B)]
        self.keys(t, w, ("timeout", "host", "entity_a", "entity_b", *other_roles))
        timeout = self.number(t, "timeout", w, 5.0, TIMEOUT_MAX)
        host = self.string(t, "host", w, required=False) or "127.0.0.1"
        if not _is_host(host):
            self.error("ixit.host", f"not an IP address or host name ({host!r})")
        roles = ics.roles if ics else frozenset()
        psk = ics is None or Framework.SAEF_PSK in ics.frameworks
        entity_a = entity_b = None
        for role in (Role.ENTITY_A, Role.ENTITY_B):
            sub = self.table(t, str(role), w, required=False)
            if sub is None:
                if role in roles and str(role) not in t:
                    self.error(f"{w}.{role}", f"missing (ics.roles includes {role})")
                continue
            if role is Role.ENTITY_A:
                entity_a = self.entity_a(sub, f"{w}.{role}", psk)
            else:
                entity_b = self.entity_b(sub, f"{w}.{role}", psk)
        other = {}
        for name in other_roles:
            sub = self.table(t, name, w, required=False)
            if sub is not None:
                other[name] = dict(sub)
        return Ixit(timeout, host, entity_a, entity_b, other)

    def entity_a(self, t: Mapping[str, Any], w: str, psk: bool) -> dict[str, Any]:
        required = ("thisEntityIdentifier", "otherEntityIdentifier", "otherEntityHostName")
        credentials = ("kpsaId", "kpsaKey")
        self.keys(t, w, (*required, *credentials, *sorted(OPTIONAL_SEED_PARAMETERS)))
        out = self.optional_seed(t, w)
        for key in required:
            out[key] = self.string(t, key, w)
        out["otherEntityHostName"] = self.host_name(
            out["otherEntityHostName"], f"{w}.otherEntityHostName"
        )
        out.update(self.credentials(t, w, required=psk))
        return {k: v for k, v in out.items() if v is not None}

    def entity_b(self, t: Mapping[str, Any], w: str, psk: bool) -> dict[str, Any]:
        required = ("thisEntityIdentifier", "hostName")
        self.keys(t, w, (*required, "authorizedEntities", *sorted(OPTIONAL_SEED_PARAMETERS)))
        out = self.optional_seed(t, w)
        for key in required:
            out[key] = self.string(t, key, w)
        out["hostName"] = self.host_name(out["hostName"], f"{w}.hostName")
        entities = t.get("authorizedEntities", _MISSING)
        at = f"{w}.authorizedEntities"
        if entities is _MISSING:
            if psk:
                self.error(at, "missing (one or more [[...authorizedEntities]] tables)")
            entities = []
        elif not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
            self.error(at, "must be an array of tables ([[ixit.entity_b.authorizedEntities]])")
            entities = []
        elif not entities and psk:
            self.error(at, "must not be empty")
        authorized = []
        seen: dict[str, int] = {}
        for i, entity in enumerate(entities):
            ew = f"{at}[{i}]"
            self.keys(entity, ew, ("kpsaId", "kpsaKey", "otherEntityIdentifier"))
            item = self.credentials(entity, ew, required=True)
            item["otherEntityIdentifier"] = self.string(entity, "otherEntityIdentifier", ew)
            kpsa_id = item.get("kpsaId")
            if kpsa_id is not None:
                key = _kpsa_id_key(kpsa_id)
                if key in seen:
                    self.error(
                        f"{ew}.kpsaId", f"duplicate kpsaId {kpsa_id!r} (also in [{seen[key]}])"
                    )
                else:
                    seen[key] = i
            authorized.append({k: v for k, v in item.items() if v is not None})
        out["authorizedEntities"] = authorized
        return {k: v for k, v in out.items() if v is not None}

    def optional_seed(self, t: Mapping[str, Any], w: str) -> dict[str, Any]:
        return {k: self.string(t, k, w) for k in OPTIONAL_SEED_PARAMETERS if k in t}

    def credentials(self, t: Mapping[str, Any], w: str, required: bool) -> dict[str, Any]:
        kpsa_id = self.string(t, "kpsaId", w, required=required)
        if kpsa_id is not None:
            problem = kpsa_id_problem(kpsa_id)
            if problem:
                self.error(f"{w}.kpsaId", problem)
                kpsa_id = None
        key = self.string(t, "kpsaKey", w, required=required)
        if key is not None:
            problem = kpsa_key_problem(key)
            if problem:
                self.error(f"{w}.kpsaKey", problem)
                key = None
            else:
                key = key.lower()
        return {"kpsaId": kpsa_id, "kpsaKey": key}

    def host_name(self, value: str | None, at: str) -> str | None:
        if value is not None and not is_host_name(value):
            self.error(at, f"not a host name per RFC 1123 ({value!r})")
            return None
        return value


# --- value rules (public: adapters and steps reuse them) --------------------------------------


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
    if not _HEX.match(text):
        shown = text[:4] + ("..." if len(text) > 4 else "")
        return f'not hex ("{shown}")'
    if len(text) % 2:
        return f"odd number of hex digits ({len(text)})"
    octets = len(text) // 2
    low, high = KPSA_KEY_OCTETS
    if not low <= octets <= high:
        return f"{octets} octets; a Kpsa must be {low}..{high} octets"
    return None


def _kpsa_id_key(kpsa_id: str) -> str:
    relative, _, fqdn = kpsa_id.rpartition("@")
    return f"{relative}@{fqdn.lower().rstrip('.')}"


def _is_host(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return is_host_name(text)
    return True


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
