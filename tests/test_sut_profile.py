"""SUT profiles: the shipped ones load, and every validation rule names the exact field.

Most malformed profiles are the valid fixture with one change, so each case shows the
one rule it breaks; whole fixture files cover TOML syntax, typos and error collection.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.sut.adapters import make_adapter
from harness.sut.command_adapter import CommandAdapter
from harness.sut.contract import Framework, Role, Transport
from harness.sut.endpoint_adapter import EndpointAdapter
from harness.sut.profile import (
    ProfileError,
    ProfileErrors,
    SutProfile,
    load_profile,
    parse_profile,
    reference_profile,
)
from harness.tls.suites import PROFILE_SUITES

ROOT = Path(__file__).resolve().parent.parent
PROFILES = Path(__file__).resolve().parent / "data" / "profiles"
VALID = PROFILES / "valid-both.toml"


def base() -> dict[str, Any]:
    return tomllib.loads(VALID.read_text())


def errors_of(data: dict[str, Any]) -> ProfileErrors:
    with pytest.raises(ProfileErrors) as info:
        parse_profile(data, PROFILES)
    return info.value


# --- profiles that must load ----------------------------------------------------------


def test_reference_profile() -> None:
    profile = reference_profile()
    assert profile.adapter.kind == "reference"
    assert profile.ics.roles == {Role.ENTITY_A, Role.ENTITY_B, Role.MAF, Role.ENROLEE, Role.MEF}
    assert profile.ics.frameworks == {Framework.SAEF_PSK, Framework.SAEF_MAF, Framework.SBF_PSK}
    assert profile.ics.transports == {Transport.TLS, Transport.DTLS}
    assert set(profile.ics.cipher_suites) == set(PROFILE_SUITES)
    assert len(profile.configuration(Role.ENTITY_B)["authorizedEntities"]) == 2
    assert profile.ics.supports(Role.ENTITY_A, Framework.SAEF_PSK, Transport.TLS) is None


@pytest.mark.parametrize("name", ["openssl-entity-a", "openssl-entity-b"])
def test_example_profiles(name: str) -> None:
    profile = load_profile(ROOT / "examples" / name / "profile.toml")
    assert profile.adapter.kind == "command"
    assert Path(profile.adapter.command[0]).is_absolute()  # python3 resolved on PATH
    assert profile.base == (ROOT / "examples" / name)
    assert isinstance(make_adapter(profile), CommandAdapter)


def test_valid_fixture_values() -> None:
    profile = load_profile(VALID)
    assert profile.ics.cipher_suites == (0x00AE, 0xC0A8)
    assert profile.ixit.timeout == 3.0
    a = profile.configuration(Role.ENTITY_A)
    assert a["kpsaKey"] == "00112233445566778899aabbccddeeff"  # normalised to lower case
    assert profile.adapter.command[1] == "../shims/good.py"
    assert profile.ics.observation_channel and profile.ics.extended_master_secret
    a["kpsaKey"] = "changed"
    assert profile.configuration(Role.ENTITY_A)["kpsaKey"] != "changed"  # copies


def test_supports_reasons() -> None:
    profile = load_profile(PROFILES / "endpoint.toml")
    ics = profile.ics
    assert ics.supports(Role.ENTITY_A, Framework.SAEF_PSK, Transport.TLS) == (
        "ICS roles do not include entity_a"
    )
    assert "frameworks do not include saef-cert" in str(
        ics.supports(Role.ENTITY_B, Framework.SAEF_CERT, Transport.TLS)
    )
    assert "transports do not include dtls" in str(
        ics.supports(Role.ENTITY_B, Framework.SAEF_PSK, Transport.DTLS)
    )
    assert not ics.observation_channel  # the endpoint default
    adapter = make_adapter(profile)
    assert isinstance(adapter, EndpointAdapter)
    assert str(adapter.address) == "127.0.0.1:4433"


def test_faults_only_for_reference() -> None:
    with pytest.raises(ProfileError, match="faults apply to the reference SUT only"):
        make_adapter(load_profile(VALID), ["skip-finished"])


# --- one malformed profile per rule -----------------------------------------------------


def setter(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set (or with value DELETE, remove) the dotted ``path``; [n] indexes a list."""

    def apply(data: dict[str, Any]) -> None:
        parts = path.replace("[", ".").replace("]", "").split(".")
        node: Any = data
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        last: Any = int(parts[-1]) if parts[-1].isdigit() else parts[-1]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value

    return apply


DELETE = object()
B0 = "ixit.entity_b.authorizedEntities[0]"
B1 = "ixit.entity_b.authorizedEntities[1]"

CASES: list[tuple[str, str, Any, str]] = [
    # (id, dotted path to change, new value, expected "field: message" fragment)
    ("unknown-section", "ixtt", {}, "ixtt: unknown key; did you mean 'ixit'?"),
    ("unknown-key", "sut.nmae", "x", "sut.nmae: unknown key; did you mean 'name'?"),
    ("name-missing", "sut.name", DELETE, "sut.name: missing"),
    ("name-type", "sut.name", 7, "sut.name: must be a string, not an integer"),
    ("adapter-unknown", "sut.adapter", "docker", "sut.adapter: unknown adapter 'docker'"),
    ("command-missing", "adapter.command", DELETE, "adapter.command: missing"),
    (
        "command-type",
        "adapter.command",
        "python3 shim.py",
        "adapter.command: must be a non-empty list",
    ),
    (
        "program-missing",
        "adapter.command",
        ["no-such-program-m2m"],
        "adapter.command[0]: program 'no-such-program-m2m' not found",
    ),
    ("program-path", "adapter.command", ["./nope.sh"], "adapter.command[0]: program not found"),
    ("ready-timeout", "adapter.ready_timeout", -1, "adapter.ready_timeout: -1 out of range"),
    ("adapter-key-of-other", "adapter.port", 4433, "adapter.port: not used by the command adapter"),
    (
        "role-unknown",
        "ics.roles",
        ["entity_a", "entity_c"],
        "ics.roles[1]: unknown Role 'entity_c'",
    ),
    ("roles-empty", "ics.roles", [], "ics.roles: must not be empty"),
    (
        "framework-unknown",
        "ics.frameworks",
        ["saef-pks"],
        "ics.frameworks[0]: unknown Framework 'saef-pks'",
    ),
    ("transport-unknown", "ics.transports", ["tcp"], "ics.transports[0]: unknown Transport 'tcp'"),
    (
        "suite-unknown",
        "ics.cipher_suites",
        ["0x00AE", "TLS_RSA_WITH_RC4"],
        "ics.cipher_suites[1]: unknown cipher suite",
    ),
    (
        "suite-duplicate",
        "ics.cipher_suites",
        ["0x00AE", "PSK-AES128-CBC-SHA256"],
        "ics.cipher_suites[1]: duplicate suite",
    ),
    (
        "bool-type",
        "ics.extended_master_secret",
        "yes",
        "ics.extended_master_secret: must be true or false",
    ),
    ("timeout-zero", "ixit.timeout", 0, "ixit.timeout: 0 out of range"),
    ("timeout-large", "ixit.timeout", 121, "ixit.timeout: 121 out of range"),
    ("timeout-type", "ixit.timeout", "5", "ixit.timeout: must be a number"),
    ("ixit-missing", "ixit", DELETE, "ixit: missing"),
    (
        "role-without-ixit",
        "ixit.entity_a",
        DELETE,
        "ixit.entity_a: missing (ics.roles includes entity_a)",
    ),
    ("key-not-hex", f"{B1}.kpsaKey", "zz11" + "00" * 15, f'{B1}.kpsaKey: not hex ("zz11...")'),
    (
        "key-odd",
        "ixit.entity_a.kpsaKey",
        "0" * 33,
        "ixit.entity_a.kpsaKey: odd number of hex digits (33)",
    ),
    ("key-short", "ixit.entity_a.kpsaKey", "00" * 15, "ixit.entity_a.kpsaKey: 15 octets"),
    ("key-long", "ixit.entity_a.kpsaKey", "00" * 65, "ixit.entity_a.kpsaKey: 65 octets"),
    ("key-missing", f"{B0}.kpsaKey", DELETE, f"{B0}.kpsaKey: missing"),
    ("kpsaid-empty", "ixit.entity_a.kpsaId", "", "ixit.entity_a.kpsaId: must not be empty"),
    (
        "kpsaid-no-at",
        "ixit.entity_a.kpsaId",
        "sensor-1",
        "ixit.entity_a.kpsaId: not of the form relative@fqdn",
    ),
    (
        "kpsaid-no-relative",
        "ixit.entity_a.kpsaId",
        "@in-cse.example.com",
        "ixit.entity_a.kpsaId: empty or blank relative part",
    ),
    (
        "kpsaid-bad-fqdn",
        "ixit.entity_a.kpsaId",
        "s1@in_cse.example.com",
        "ixit.entity_a.kpsaId: 'in_cse.example.com' after '@' is not a fully qualified",
    ),
    (
        "kpsaid-label-hyphen",
        f"{B1}.kpsaId",
        "gw@-in.example.com",
        f"{B1}.kpsaId: '-in.example.com'",
    ),
    (
        "kpsaid-single-label",
        "ixit.entity_a.kpsaId",
        "s1@localhost",
        "ixit.entity_a.kpsaId: 'localhost'",
    ),
    (
        "kpsaid-duplicate",
        f"{B1}.kpsaId",
        "sensor-1@IN-CSE.m2m.example.com",
        f"{B1}.kpsaId: duplicate kpsaId",
    ),
    (
        "identifier-empty",
        "ixit.entity_a.thisEntityIdentifier",
        " ",
        "ixit.entity_a.thisEntityIdentifier: must not be empty",
    ),
    (
        "identifier-missing",
        f"{B1}.otherEntityIdentifier",
        DELETE,
        f"{B1}.otherEntityIdentifier: missing",
    ),
    ("hostname-bad", "ixit.entity_b.hostName", "in cse", "ixit.entity_b.hostName: not a host name"),
    (
        "entities-empty",
        "ixit.entity_b.authorizedEntities",
        [],
        "ixit.entity_b.authorizedEntities: must not be empty",
    ),
    (
        "entity-typo",
        f"{B0}.kpsaid",
        "x@y.example.com",
        f"{B0}.kpsaid: unknown key; did you mean 'kpsaId'?",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rule(path: str, value: Any, expected: str) -> None:
    data = base()
    setter(path, value)(data)
    error = errors_of(data)
    messages = [str(e) for e in error.errors]
    assert any(m.startswith(expected) or expected in m for m in messages), messages
    assert len(messages) == 1, messages  # exactly the one rule broken, nothing else


ENDPOINT_CASES: list[tuple[str, str, Any, str]] = [
    ("port-range", "adapter.port", 0, "adapter.port: must be an integer 1..65535"),
    ("port-missing", "adapter.port", DELETE, "adapter.port: missing"),
    ("port-type", "adapter.port", "4433", "adapter.port: must be an integer 1..65535"),
    (
        "endpoint-client",
        "ics.roles",
        ["entity_b", "entity_a"],
        "ics.roles: the endpoint adapter can only play entity_b",
    ),
    (
        "endpoint-observation",
        "ics.observation_channel",
        True,
        "ics.observation_channel: the endpoint adapter has no observation channel",
    ),
    (
        "endpoint-command",
        "adapter.command",
        ["python3"],
        "adapter.command: not used by the endpoint adapter",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [c[1:] for c in ENDPOINT_CASES],
    ids=[c[0] for c in ENDPOINT_CASES],
)
def test_endpoint_rule(path: str, value: Any, expected: str) -> None:
    data = tomllib.loads((PROFILES / "endpoint.toml").read_text())
    setter(path, value)(data)
    messages = [str(e) for e in errors_of(data).errors]
    assert any(expected in m for m in messages), messages


# --- whole files --------------------------------------------------------------------------


def test_invalid_toml_names_file_and_line() -> None:
    with pytest.raises(ProfileErrors) as info:
        load_profile(PROFILES / "invalid-toml.toml")
    text = str(info.value)
    assert "invalid-toml.toml" in text and "line 5" in text


def test_typos_are_named() -> None:
    with pytest.raises(ProfileErrors) as info:
        load_profile(PROFILES / "typo.toml")
    assert set(info.value.fields) >= {
        "ics.cipher_suite",
        "ixit.entity_a.kpsaKee",
        "ixit.entity_a.kpsaKey",
    }
    assert "did you mean 'cipher_suites'?" in str(info.value)


def test_all_errors_collected() -> None:
    with pytest.raises(ProfileErrors) as info:
        load_profile(PROFILES / "many-errors.toml")
    fields = info.value.fields
    for expected in (
        "sut.name",
        "adapter.port",
        "ics.roles[1]",
        "ics.transports[0]",
        "ics.cipher_suites[0]",
        "ixit.timeout",
        "ixit.entity_b.thisEntityIdentifier",
        f"{B0}.kpsaId",
        f"{B0}.kpsaKey",
    ):
        assert expected in fields, (expected, str(info.value))
    assert isinstance(info.value, ValueError)  # campaign.py turns ValueError into ConfigError
    assert str(info.value).startswith(f"{len(fields)} error(s) in ")


def test_missing_file_is_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_profile(tmp_path / "none.toml")


def test_profile_is_frozen() -> None:
    profile: SutProfile = reference_profile()
    with pytest.raises(AttributeError):
        profile.sut = copy.copy(profile.sut)  # type: ignore[misc]
