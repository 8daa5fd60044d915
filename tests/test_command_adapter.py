"""The command adapter against tiny fake shims (tests/data/shims/): every outcome is
reached through its own route, quickly, and nothing outlives stop()."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.sut.command_adapter import CommandAdapter, CommandSession, ShimError
from harness.sut.contract import (
    Address,
    ExportRequest,
    Framework,
    Role,
    Status,
    SutRequest,
    Transport,
)
from harness.sut.endpoint_adapter import EndpointAdapter
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
