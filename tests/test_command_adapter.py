"""The command adapter against tiny fake shims (tests/data/shims/): every outcome is
reached through its own route, quickly, and nothing outlives stop()."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.sut.command_adapter import CommandAdapter, CommandSession, ShimError, parse_result
from harness.sut.contract import (
    Address,
    ExportRequest,
    Framework,
    Role,
    Status,
    SutRequest,
    Transport,
)
from harness.sut.endpoint_adapter import EndpointAdapter, PeerMismatch, parse_addresses
from harness.verdict import NotApplicable

SHIMS = Path(__file__).parent / "data" / "shims"


def live_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that still run (zombies awaiting a reaper do not)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            members.append(int(stat.parent.name))
    return members


def request(role: Role = Role.ENTITY_B) -> SutRequest:
    server = role is Role.ENTITY_B
    configuration = (
        {"thisEntityIdentifier": "/in-cse-1", "hostName": "in-cse.m2m.example.com"}
        if server
        else {
            "kpsaId": "sensor-1@in-cse.m2m.example.com",
            "kpsaKey": "00" * 16,
            "otherEntityIdentifier": "/in-cse-1",
        }
    )
    return SutRequest(
        role=role,
        framework=Framework.SAEF_PSK,
        transport=Transport.TLS,
        configuration=configuration,
        cipher_suites=[0x00AE, 0xC0A8],
        listen=Address("127.0.0.1", 0) if server else None,
        connect=None if server else Address("127.0.0.1", 4433),
        exports=[ExportRequest("EXPORTER-oneM2M-Connection", 48)],
        test_case="TP/TEST/01",
    )


@pytest.fixture
def start() -> Iterator:
    sessions: list[CommandSession] = []

    def _start(shim: str, req: SutRequest | None = None, ready_timeout: float = 5.0):
        adapter = CommandAdapter([sys.executable, shim], SHIMS, ready_timeout)
        session = adapter.start(req or request())
        sessions.append(session)
        return session

    yield _start
    for session in sessions:
        session.stop()


def test_good_shim_server(start) -> None:
    session = start("good.py")
    assert session.wait_ready(5) == Address("127.0.0.1", 45678)
    result = session.result(5)
    assert result.status is Status.ESTABLISHED
    assert result.cipher_suite == 0x00AE
    assert result.keys == {"EXPORTER-oneM2M-Connection": "ab" * 48}
    assert result.detail == "TP/TEST/01"
    assert "plain text is kept as log" in session.log
    assert f"cwd={SHIMS}" in session.log
    session.stop()
    assert not session.config_path.exists()


def test_good_shim_client_needs_no_ready(start) -> None:
    session = start("good.py", request(Role.ENTITY_A))
    assert session.wait_ready(5) is None
    result = session.result(5)
    assert result.status is Status.ESTABLISHED
    assert result.psk_identity == "sensor-1@in-cse.m2m.example.com"
    assert result.peer_identity == "/in-cse-1"


def test_silent_shim_is_a_bounded_error(start) -> None:
    session = start("silent.py", ready_timeout=0.3)
    began = time.monotonic()
    with pytest.raises(ShimError, match="no ready event within 0.3 s"):
        session.wait_ready(5)
    assert time.monotonic() - began < 3
    assert session.process.poll() is not None  # killed


def test_hung_shim_times_out_and_its_group_dies(start) -> None:
    session = start("hang.py")
    assert session.wait_ready(5) == Address("127.0.0.1", 45679)
    result = session.result(0.3)
    assert result.status is Status.TIMEOUT
    assert session.process.poll() is not None
    deadline = time.monotonic() + 5  # SIGKILL is asynchronous: allow the kernel a moment
    while live_members(session.process.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert live_members(session.process.pid) == []  # the grandchild went with the group


def test_crashing_shim_is_an_error_with_stderr(start) -> None:
    session = start("crash.py", request(Role.ENTITY_A))
    result = session.result(5)
    assert result.status is Status.ERROR
    assert "exited with code 1" in result.detail
    assert "shim exploded" in result.detail


def test_crash_before_ready_is_a_shim_error(start) -> None:
    session = start("crash.py")
    with pytest.raises(ShimError, match="exited with code 1.*shim exploded"):
        session.wait_ready(5)


def test_exit_89_is_unsupported(start) -> None:
    session = start("unsupported.py", request(Role.ENTITY_A))
    result = session.result(5)
    assert result.status is Status.UNSUPPORTED
    assert "DTLS is not supported" in result.detail


def test_exit_89_before_ready_is_not_applicable(start) -> None:
    session = start("unsupported.py")
    with pytest.raises(NotApplicable, match="DTLS is not supported"):
        session.wait_ready(5)
    assert session.result(1).status is Status.UNSUPPORTED


def test_garbage_is_kept_as_log_and_no_result_is_an_error(start) -> None:
    session = start("garbage.py", request(Role.ENTITY_A))
    result = session.result(5)
    assert result.status is Status.ERROR
    assert "without a result event" in result.detail
    assert session.log == ["}{ not json", '{"event": "nonsense"}', "[1, 2, 3]"]


def test_invalid_result_status_is_an_error(start) -> None:
    session = start("bad_result.py", request(Role.ENTITY_A))
    result = session.result(5)
    assert result.status is Status.ERROR
    assert "invalid status" in result.detail


def test_missing_program_is_a_shim_error(tmp_path: Path) -> None:
    adapter = CommandAdapter([str(tmp_path / "nope")], tmp_path)
    with pytest.raises(ShimError, match="cannot start shim"):
        adapter.start(request())


def test_stop_is_idempotent(start) -> None:
    session = start("hang.py")
    session.stop()
    session.stop()
    assert session.process.poll() is not None


def test_endpoint_adapter() -> None:
    adapter = EndpointAdapter("127.0.0.1", 4433)
    session = adapter.start(request())
    assert session.wait_ready(1) == Address("127.0.0.1", 4433)
    result = session.result(1)
    assert result.status is Status.UNKNOWN
    assert result.detail == "endpoint adapter has no observation channel"
    session.stop()
    with pytest.raises(NotApplicable, match="only an already-running Entity B"):
        adapter.start(request(Role.ENTITY_A))


# --- multi-party cases: peers, services, expected_legs, endpoints, legs --------------------

MAF_HOST = "127.0.0.1"


def maf_request() -> SutRequest:
    """A SUT MAF: serves two endpoints (port 0: its choice), no association listen."""
    return SutRequest(
        role=Role.MAF,
        framework=Framework.SAEF_MAF,
        transport=Transport.TLS,
        configuration={"mafIdentifier": "maf.example.com"},
        cipher_suites=[0x00AE],
        services={
            "maf_handshake": Address(MAF_HOST, 0),
            "key_retrieval": Address(MAF_HOST, 0),
        },
        expected_legs={"maf_handshake": 1, "key_retrieval": 1},
        test_case="TP/MAF/01",
    )


def entity_a_maf_request() -> SutRequest:
    b, maf = Address("127.0.0.1", 4433), Address("127.0.0.1", 5684)
    return SutRequest(
        role=Role.ENTITY_A,
        framework=Framework.SAEF_MAF,
        transport=Transport.TLS,
        configuration={"mafIdentifier": "maf.example.com"},
        cipher_suites=[0x00AE],
        connect=b,
        peers={"entity_b": b, "maf": maf},
        expected_legs={"association": 2},
    )


def inline_shim(*events: dict, echo_request: bool = False) -> list[str]:
    """A shim command printing ``events`` (JSON lines); with ``echo_request`` first a log
    event holding the multi-party request fields it was given."""
    lines = ["import json, sys", "request = json.load(open(sys.argv[1]))"]
    if echo_request:
        keys = ("peers", "services", "expected_legs", "connect", "listen")
        lines.append(
            "print(json.dumps({'event': 'log', 'message': json.dumps("
            f"{{k: request[k] for k in {keys!r}}})}}), flush=True)"
        )
    for event in events:
        lines.append(f"print({json.dumps(json.dumps(event))}, flush=True)")
    return [sys.executable, "-c", "\n".join(lines)]


@pytest.fixture
def run_inline(tmp_path: Path) -> Iterator:
    sessions: list[CommandSession] = []

    def _run(command: list[str], req: SutRequest) -> CommandSession:
        session = CommandAdapter(command, tmp_path, ready_timeout=5.0).start(req)
        sessions.append(session)
        return session

    yield _run
    for session in sessions:
        session.stop()


def ready(**fields) -> dict:
    return {"event": "ready", **fields}


def result_event(**fields) -> dict:
    return {"event": "result", "status": "established", **fields}


def at(port: int, host: str = MAF_HOST) -> dict:
    return {"host": host, "port": port}


def test_request_carries_peers_services_and_expected_legs(run_inline) -> None:
    req = entity_a_maf_request()
    session = run_inline(inline_shim(result_event(), echo_request=True), req)
    assert session.wait_ready(5) is None  # a client role: no ready event needed
    assert session.result(5).status is Status.ESTABLISHED
    assert json.loads(session.log[0]) == {
        "peers": {"entity_b": at(4433), "maf": at(5684)},
        "services": {},
        "expected_legs": {"association": 2},
        "connect": at(4433),
        "listen": None,
    }
    assert session.endpoints == {}
    assert req.legs_expected("association") == 2 and req.legs_expected("maf_handshake") == 1


def test_ready_endpoints_of_a_maf(run_inline) -> None:
    endpoints = {"maf_handshake": at(5684), "key_retrieval": at(8443)}
    session = run_inline(inline_shim(ready(endpoints=endpoints), result_event()), maf_request())
    # No listen in request or event: the primary address is the first service's.
    assert session.wait_ready(5) == Address(MAF_HOST, 5684)
    assert session.endpoints == {
        "maf_handshake": Address(MAF_HOST, 5684),
        "key_retrieval": Address(MAF_HOST, 8443),
    }


def test_ready_listen_stays_primary_and_names_the_association(run_inline) -> None:
    req = request()
    req.services = {"association": Address(MAF_HOST, 0)}
    event = ready(listen=at(4433), endpoints={"extra": at(9000)})
    session = run_inline(inline_shim(event, result_event()), req)
    assert session.wait_ready(5) == Address(MAF_HOST, 4433)
    assert session.endpoints == {
        "association": Address(MAF_HOST, 4433),
        "extra": Address(MAF_HOST, 9000),
    }


def test_one_endpoint_case_gets_the_association_endpoint(run_inline) -> None:
    session = run_inline(inline_shim(ready(listen=at(4433)), result_event()), request())
    assert session.wait_ready(5) == Address(MAF_HOST, 4433)
    assert session.endpoints == {"association": Address(MAF_HOST, 4433)}


def test_fixed_service_port_needs_no_report(run_inline) -> None:
    req = maf_request()
    req.services["key_retrieval"] = Address(MAF_HOST, 8443)
    event = ready(endpoints={"maf_handshake": at(5684)})
    session = run_inline(inline_shim(event, result_event()), req)
    assert session.wait_ready(5) == Address(MAF_HOST, 5684)
    assert session.endpoints["key_retrieval"] == Address(MAF_HOST, 8443)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (ready(endpoints={"maf_handshake": at(5684)}), r"endpoints\.key_retrieval: missing"),
        (
            ready(endpoints={"maf_handshake": {"host": MAF_HOST, "port": "x"}}),
            r"endpoints\.maf_handshake: port must be an integer",
        ),
        (
            ready(endpoints={"maf_handshake": at(5684), "key_retrieval": {"port": 1}}),
            r"endpoints\.key_retrieval: host must be",
        ),
        (ready(endpoints=[at(5684)]), "endpoints must be an object"),
        (ready(), "no usable listen address"),
    ],
)
def test_unusable_ready_endpoints_are_a_shim_error(run_inline, event, message) -> None:
    session = run_inline(inline_shim(event, result_event()), maf_request())
    with pytest.raises(ShimError, match=message):
        session.wait_ready(5)
    assert session.process.poll() is not None  # stopped: the case cannot go on


MAF_LEG = {
    "name": "maf_handshake",
    "peer": "maf",
    "status": "established",
    "cipher_suite": "0x00AE",
    "psk_identity": "dev42@maf.example.com",
    "peer_identity": "maf.example.com",
    "keys": {"EXPORTER-oneM2M-Connection": "AB" * 48},
    "fields": {"kcId": "ab" * 16 + "@maf.example.com"},
    "detail": "",
}
ASSOCIATION_LEG = {
    "name": "association",
    "peer": "entity_b",
    "status": "refused",
    "cipher_suite": 0xC0A8,
    "psk_identity": "ab" * 16 + "@maf.example.com",
    "alert": "bad_record_mac (received)",
}


def test_result_legs_are_parsed(run_inline) -> None:
    event = result_event(status="refused", legs=[MAF_LEG, ASSOCIATION_LEG])
    session = run_inline(inline_shim(event), entity_a_maf_request())
    result = session.result(5)
    assert result.status is Status.REFUSED, result.detail
    maf, association = result.legs
    assert (maf.name, maf.peer, maf.status) == ("maf_handshake", "maf", Status.ESTABLISHED)
    assert maf.cipher_suite == 0x00AE
    assert maf.keys == {"EXPORTER-oneM2M-Connection": "ab" * 48}  # lower case
    assert maf.fields == {"kcId": "ab" * 16 + "@maf.example.com"}
    assert maf.peer_identity == "maf.example.com"
    assert association.cipher_suite == 0xC0A8  # an int is accepted too
    assert association.alert == "bad_record_mac (received)"
    assert association.keys == {} and association.fields == {} and association.detail == ""
    assert result.legs_named("association") == [association]
    assert result.to_json()["legs"][1]["cipher_suite"] == "0xC0A8"


def without(leg: dict, key: str) -> dict:
    return {k: v for k, v in leg.items() if k != key}


@pytest.mark.parametrize(
    ("legs", "named", "kept"),
    [
        ({"name": "x"}, "legs: must be a list", 0),
        ([MAF_LEG, "maf_handshake"], "legs[1]: must be an object", 1),
        ([without(MAF_LEG, "name")], "legs[0].name: must be a non-empty string", 0),
        ([without(MAF_LEG, "peer")], "legs[0].peer: must be a non-empty string", 0),
        ([dict(MAF_LEG, status="fine")], "legs[0].status: invalid 'fine'", 0),
        ([MAF_LEG, dict(MAF_LEG, cipher_suite="AES")], "legs[1].cipher_suite: unreadable", 2),
        ([dict(MAF_LEG, cipher_suite=0x10000)], "legs[0].cipher_suite: unreadable", 1),
        ([dict(MAF_LEG, keys={"L": "xyz"})], "legs[0].keys.L: not hex", 1),
        ([dict(MAF_LEG, keys=["ab"])], "legs[0].keys: must be an object", 1),
        ([dict(MAF_LEG, fields="kcId")], "legs[0].fields: must be an object", 1),
        ([dict(MAF_LEG, psk_identity=7)], "legs[0].psk_identity: must be a string", 1),
    ],
)
def test_malformed_legs_make_an_error_naming_the_field(run_inline, legs, named, kept) -> None:
    session = run_inline(inline_shim(result_event(legs=legs)), entity_a_maf_request())
    result = session.result(5)
    assert result.status is Status.ERROR
    assert "malformed shim result" in result.detail
    assert named in result.detail
    assert len(result.legs) == kept  # the legs that could be read stay for the report


def test_malformed_top_level_field_is_an_error(run_inline) -> None:
    event = result_event(keys={"EXPORTER-oneM2M-Connection": "not hex"}, detail="ran")
    result = run_inline(inline_shim(event), request(Role.ENTITY_A)).result(5)
    assert result.status is Status.ERROR
    assert result.detail.startswith("ran; malformed shim result: keys.EXPORTER")


@pytest.mark.parametrize(
    "message",
    [
        {"event": "result"},
        {"event": "result", "status": ["established"]},
        {"event": "result", "status": "established", "legs": [{"fields": None}]},
        {"event": "result", "status": "established", "keys": {1: object()}},
    ],
)
def test_parse_result_never_raises(message) -> None:
    assert parse_result(message).status is Status.ERROR


def test_late_bad_ready_is_logged_not_raised(run_inline) -> None:
    bad = ready(endpoints={"maf_handshake": at(0)})
    session = run_inline(inline_shim(bad, result_event()), maf_request())
    assert session.result(5).status is Status.ESTABLISHED
    assert any("late ready event ignored" in line for line in session.log)


# --- the endpoint adapter with several endpoints and fixed peers ------------------------------


def maf_endpoint_adapter() -> EndpointAdapter:
    return EndpointAdapter(
        "192.0.2.10",
        endpoints={
            "maf_handshake": Address("192.0.2.10", 5684),
            "key_retrieval": Address("192.0.2.10", 8443),
        },
    )


def test_endpoint_adapter_serves_several_endpoints() -> None:
    session = maf_endpoint_adapter().start(maf_request())
    assert session.wait_ready(1) == Address("192.0.2.10", 5684)
    assert session.endpoints == {
        "maf_handshake": Address("192.0.2.10", 5684),
        "key_retrieval": Address("192.0.2.10", 8443),
    }
    assert session.result(1).status is Status.UNKNOWN


def test_endpoint_adapter_one_endpoint_form_is_the_association() -> None:
    adapter = EndpointAdapter("127.0.0.1", 4433)
    assert adapter.endpoints == {"association": Address("127.0.0.1", 4433)}
    assert adapter.start(request()).endpoints == {"association": Address("127.0.0.1", 4433)}
    with pytest.raises(NotApplicable, match="no endpoint for maf_handshake, key_retrieval"):
        adapter.start(maf_request())


def test_endpoint_adapter_checks_the_peers_it_reaches() -> None:
    maf = Address("192.0.2.1", 8443)
    adapter = EndpointAdapter("127.0.0.1", 4433, peers={"maf": maf})
    assert adapter.peer_addresses() == {"maf": maf}
    req = request()
    req.peers = {"maf": maf}
    assert adapter.start(req).wait_ready(1) == Address("127.0.0.1", 4433)
    req.peers = {"maf": Address("127.0.0.1", 1234)}
    with pytest.raises(PeerMismatch, match="reaches its maf at 192.0.2.1:8443"):
        adapter.start(req)
    req.peers = {"mef": maf}
    with pytest.raises(NotApplicable, match="no \\[adapter.peers\\] mef"):
        adapter.start(req)


def test_endpoint_profile_tables() -> None:
    table = {"association": 4433, "key_retrieval": {"host": "192.0.2.5", "port": 8443}}
    addresses, errors = parse_addresses(table, "192.0.2.10", "adapter.endpoints")
    assert errors == []
    assert addresses == {
        "association": Address("192.0.2.10", 4433),
        "key_retrieval": Address("192.0.2.5", 8443),
    }
    bad = {"a": 0, "b": {"host": "h", "port": 1, "tls": True}, "c": {"host": "", "port": 2}}
    addresses, errors = parse_addresses(bad, "h", "adapter.peers")
    assert addresses == {}
    assert [e.field for e in errors] == ["adapter.peers.a.port", "adapter.peers.b.tls",
                                        "adapter.peers.c.host"]  # fmt: skip
    _, errors = parse_addresses([1], "h", "adapter.endpoints")
    assert str(errors[0]).startswith("adapter.endpoints: must be a table")
