"""Hostile and broken shims (issue 12, items 2, 3 and 6): whatever a shim does, a case
ends within a bound, nothing it started outlives stop(), the request file (keys in
clear) is gone, what is kept of its output is bounded, and an event the harness cannot
read is a named error (verdict *error*), never a dead reader that looks like a silent SUT.

The shims are in tests/data/shims/; each test states the bound it holds the adapter to.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import checks
from harness.observations import Ending, Exchange, PeerPlan
from harness.sut import command_adapter
from harness.sut.command_adapter import (
    LOG_HEAD,
    LOG_TAIL,
    MAX_LOG_LINE,
    CommandAdapter,
    CommandSession,
    ShimError,
    parse_ready,
    parse_result,
)
from harness.sut.contract import Address, Framework, Role, Status, SutRequest, Transport
from harness.tls.trace import Trace
from harness.verdict import HarnessError

SHIMS = Path(__file__).parent / "data" / "shims"
# stop(): SIGTERM, KILL_GRACE, SIGKILL, KILL_GRACE at most, then the readers' poll.
STOP_BOUND = 2 * command_adapter.KILL_GRACE + 1.0


def request(role: Role = Role.ENTITY_B) -> SutRequest:
    server = role is Role.ENTITY_B
    return SutRequest(
        role=role,
        framework=Framework.SAEF_PSK,
        transport=Transport.TLS,
        configuration={"kpsaKey": "00" * 16},
        cipher_suites=[0x00AE],
        listen=Address("127.0.0.1", 0) if server else None,
        connect=None if server else Address("127.0.0.1", 4433),
        test_case="TP/HOSTILE/01",
    )


@pytest.fixture
def start() -> Iterator:
    sessions: list[CommandSession] = []

    def _start(*args: str, role: Role = Role.ENTITY_B, ready_timeout: float = 5.0):
        adapter = CommandAdapter([sys.executable, *args], SHIMS, ready_timeout)
        session = adapter.start(request(role))
        sessions.append(session)
        return session

    yield _start
    for session in sessions:
        session.stop()


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_dead(pid: int, bound: float = 3.0) -> bool:
    deadline = time.monotonic() + bound
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not alive(pid)


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --- item 2: stop() is bounded whatever the shim does -------------------------------------


def test_child_in_its_own_session_holding_stdout_is_killed_and_stop_is_bounded(
    start, tmp_path: Path
) -> None:
    """Before the fix stop() blocked forever in stream.close() (the reader thread held
    the stream's lock, waiting for an EOF the escaped child never gave) and the child
    lived on."""
    pid_file = tmp_path / "child.pid"
    session = start("setsid_child.py", str(pid_file))
    assert session.wait_ready(5) == Address("127.0.0.1", 45680)
    assert session.result(5).status is Status.ESTABLISHED
    child = int(pid_file.read_text())
    assert alive(child) and os.getsid(child) != os.getsid(session.process.pid)
    began = time.monotonic()
    session.stop()
    took = time.monotonic() - began
    assert took < STOP_BOUND, f"stop() took {took:.1f} s"
    assert wait_dead(child), "the child that left the shim's session outlived stop()"
    assert not session.config_path.exists()


def test_shim_ignoring_sigterm_is_killed_within_the_bound(start) -> None:
    session = start("ignore_sigterm.py")
    assert session.wait_ready(5) == Address("127.0.0.1", 45681)
    began = time.monotonic()
    result = session.result(0.3)
    session.stop()
    assert result.status is Status.TIMEOUT
    assert time.monotonic() - began < 0.3 + STOP_BOUND
    assert wait_dead(session.process.pid)
    assert not session.config_path.exists()


# --- item 1 (shim side): bounded output -----------------------------------------------------


@pytest.mark.parametrize("mode", ["lines", "line", "stderr"])
def test_endless_output_is_bounded_and_ends_at_the_ready_bound(start, mode: str) -> None:
    """Before the fix every line was kept: 782 MB within a 3 s ready bound."""
    before = rss_kib()
    session = start("endless_output.py", mode, ready_timeout=1.0)
    began = time.monotonic()
    with pytest.raises(ShimError, match="no ready event within 1 s"):
        session.wait_ready(5)
    took = time.monotonic() - began
    assert took < 1.0 + STOP_BOUND
    grown = (rss_kib() - before) // 1024
    assert grown < 64, f"reading the shim's output grew this process by {grown} MB"
    assert len(session.log) <= LOG_HEAD + 1 + LOG_TAIL
    assert all(len(line) <= MAX_LOG_LINE + 40 for line in session.log)
    if mode == "lines":
        assert session.log.omitted > 0
        assert session.log[LOG_HEAD] == f"[{session.log.omitted} log lines omitted]"
    if mode == "line":
        assert any("more than the" in line for line in session.log) or not session.log


# --- items 3 and 6: unreadable and malformed events ----------------------------------------


def test_result_nested_100000_deep_is_a_named_error_not_a_timeout(start) -> None:
    """Before the fix the RecursionError killed the reader thread in silence and the
    case became "SUT reports timeout" (fail)."""
    session = start("bad_event.py", "deep_result", role=Role.ENTITY_A)
    began = time.monotonic()
    result = session.result(5)
    assert time.monotonic() - began < 3
    assert result.status is Status.ERROR
    assert result.problems and "nested more than 32 deep" in result.detail
    with pytest.raises(HarnessError, match="malformed"):
        checks.expect_account_matches_wire(exchange(result))


def test_result_longer_than_a_line_may_be_is_a_named_error(start) -> None:
    session = start("bad_event.py", "long_result", role=Role.ENTITY_A)
    result = session.result(5)
    assert result.status is Status.ERROR
    assert "more than the 1048576 an event may have" in result.detail


def test_ready_nested_too_deeply_is_a_shim_error(start) -> None:
    session = start("bad_event.py", "deep_ready")
    with pytest.raises(ShimError, match="cannot read.*nested more than 32 deep"):
        session.wait_ready(5)


def test_ready_port_true_is_not_port_1(start) -> None:
    session = start("bad_event.py", "port_true")
    with pytest.raises(ShimError, match="no usable listen address"):
        session.wait_ready(5)
    with pytest.raises(ShimError, match="port must be an integer"):
        parse_ready(
            {"event": "ready", "endpoints": {"association": {"host": "h", "port": True}}}, request()
        )


def test_non_hex_exporter_values_make_the_result_malformed(start) -> None:
    session = start("bad_event.py", "bad_keys", role=Role.ENTITY_A)
    result = session.result(5)
    assert result.status is Status.ERROR
    assert [p.split(":")[0] for p in result.problems] == ["keys.A", "keys.B", "keys.C"]
    with pytest.raises(HarnessError, match="keys.B: not hex"):
        checks.expect_account_matches_wire(exchange(result))


@pytest.mark.parametrize("value", ["zz", "ab cd", "", "0xab", "abc", " ab"])
def test_hex_rule(value: str) -> None:
    result = parse_result({"event": "result", "status": "established", "keys": {"L": value}})
    assert result.status is Status.ERROR and result.problems
    good = parse_result({"event": "result", "status": "established", "keys": {"L": "aB01"}})
    assert good.status is Status.ESTABLISHED and good.keys == {"L": "ab01"}


def test_invalid_status_is_malformed_too() -> None:
    result = parse_result({"event": "result", "status": "fine"})
    assert result.status is Status.ERROR and result.problems
    # A refusal purpose must not read a malformed result as "the SUT did not establish".
    with pytest.raises(HarnessError):
        checks.expect_account_matches_wire(exchange(result))


def exchange(result) -> Exchange:
    return Exchange(
        harness_role=Role.ENTITY_B,
        harness_server=True,
        plan=PeerPlan(role=Role.ENTITY_B, psk_identity=b"i", psk=b"k" * 16, suites=[0x00AE]),
        ending=Ending("established"),
        trace=Trace(),
        sut_result=result,
        client_hello=None,
        negotiated_suite=0x00AE,
        negotiated_version=(3, 3),
        psk_identity_received=b"i",
        sut_accepted=None,
        export=lambda label, length, context: bytes(length),
    )


# --- item 13: an Entity A that exits 89 costs nothing ------------------------------------------


def test_an_entity_a_shim_exiting_89_is_not_applicable_at_once(tmp_path: Path) -> None:
    """Before the fix the harness, listening as Entity B, waited the whole timeout for a
    connection the shim would never make: 73 s against 8 s on the B side."""
    from campaign_cli import run_campaign
    from test_hostile_inputs import profile_text

    profile = tmp_path / "unsupported.toml"
    profile.write_text(
        profile_text().replace("good.py", "unsupported.py").replace("timeout = 1", "timeout = 8")
    )
    began = time.monotonic()
    campaign = run_campaign(
        tmp_path / "r", "--sut", str(profile), "--select", "TP/SAEF-PSK/A/0*", "--workers", "1"
    )
    took = time.monotonic() - began
    ran = [r for r in campaign.report["results"] if r["transport"] == "tls"]
    assert ran and all(r["verdict"] == "not applicable" for r in ran), campaign.output
    assert all(r["duration"] < 2.0 for r in ran), [(r["tp"], r["duration"]) for r in ran]
    assert campaign.exit_code == 3  # nothing decided (item 11)
    assert took < 30, f"{took:.1f} s for {len(ran)} cases of an 8 s timeout"
