"""Interrupting a campaign (issue 12, item 10): SIGINT, SIGTERM, and even SIGKILL of
``m2mconf run`` leave no shim, no child of a shim and no request file (keys in clear)
behind; SIGINT and SIGTERM write the partial report, every instance that did not run
marked "not run", and exit 128 + the signal (130 for SIGINT, 143 for SIGTERM).

Before the fix SIGINT exited 3 with a traceback and wrote no report, and SIGTERM or
SIGKILL left the request file and the shim's processes running.

The SUT is tests/data/shims/slow_client.py, an Entity A that never answers: every case
waits for its timeout, so the campaign is always mid-case when the signal comes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from campaign_cli import ROOT

from harness.sut.command_adapter import sweep_stale_requests

SLOW_CLIENT = Path(__file__).parent / "data" / "shims" / "slow_client.py"
BOUND = 15.0  # seconds from the signal to the exit, cleanup and partial report included


def profile(tmp_path: Path, pids: Path, timeout: float) -> Path:
    path = tmp_path / "slow.toml"
    path.write_text(
        f"""
[sut]
name = "an Entity A that never answers"
adapter = "command"

[adapter]
command = [{json.dumps(sys.executable)}, {json.dumps(str(SLOW_CLIENT))}, {json.dumps(str(pids))}]

[ics]
roles = ["entity_a"]
frameworks = ["saef-psk"]
transports = ["tls"]
cipher_suites = ["0x00AE"]

[ixit]
timeout = {timeout}

[ixit.entity_a]
thisEntityIdentifier = "/Cae-sensor-1"
otherEntityIdentifier = "/in-cse-1"
otherEntityHostName = "in-cse.m2m.example.com"
kpsaId = "sensor-1@in-cse.m2m.example.com"
kpsaKey = "5f1c0a9e3b7d2468ace013579bdf0246"
"""
    )
    return path


def start_campaign(tmp_path: Path, timeout: float, workers: int = 1) -> tuple:
    pids = tmp_path / "pids"
    pids.mkdir()
    command = [
        sys.executable,
        "-m",
        "harness.cli",
        "run",
        "--workers",
        str(workers),
        "--sut",
        str(profile(tmp_path, pids, timeout)),
        "--select",
        "TP/SAEF-PSK/A/0*",
        "--report",
        str(tmp_path / "report"),
    ]
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return proc, pids


def wait_for_shims(pids: Path, count: int, proc: subprocess.Popen, bound: float = 30) -> None:
    """Until ``count`` shims have started (each records 3 pid files)."""
    deadline = time.monotonic() + bound
    while len(list(pids.glob("*.pid"))) < 3 * count:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the shims did not start"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def leftovers(pids: Path, bound: float = 3.0) -> tuple[list[int], list[str]]:
    """(processes a shim started that still run, request files still there), after
    giving a dying process ``bound`` seconds."""
    deadline = time.monotonic() + bound
    while True:
        running = [int(p.stem) for p in pids.glob("*.pid") if alive(int(p.stem))]
        files = sorted({p.read_text() for p in pids.glob("*.pid") if Path(p.read_text()).exists()})
        if not (running or files) or time.monotonic() > deadline:
            return running, files
        time.sleep(0.05)


def finish(proc: subprocess.Popen, signum: int) -> tuple[int, str, float]:
    began = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=BOUND + 30)
    return proc.returncode, f"{out}\n{err}", time.monotonic() - began


NO_XDIST = importlib.util.find_spec("xdist") is None


@pytest.mark.parametrize(
    ("signum", "workers"),
    [
        (signal.SIGINT, 1),
        pytest.param(
            signal.SIGTERM,
            2,
            marks=pytest.mark.skipif(NO_XDIST, reason="--workers 2 needs pytest-xdist"),
        ),
    ],
)
def test_an_interrupted_campaign_cleans_up_and_writes_the_partial_report(
    signum: signal.Signals, workers: int, tmp_path: Path
) -> None:
    proc, pids = start_campaign(tmp_path, timeout=1.0, workers=workers)
    # The first instance (one per worker) has ended at its 1 s timeout and the next
    # is running: some verdicts exist, some instances have not run.
    wait_for_shims(pids, 2 * workers, proc)
    code, output, took = finish(proc, signum)
    assert code == 128 + signum, output
    assert "Traceback" not in output, output
    assert took < BOUND, f"{took:.1f} s from the signal to the exit"
    running, files = leftovers(pids)
    assert not running, f"processes a shim started outlived the campaign: {running}"
    assert not files, f"request files (kpsaKey in clear) were left behind: {files}"
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["exit_code"] == 128 + signum
    applicable = [r for r in report["results"] if r["verdict"] != "not applicable"]
    assert len(applicable) == 9  # every selected instance is in the report
    not_run = [r for r in applicable if r["reason"].startswith("not run:")]
    ran = [r for r in applicable if not r["reason"].startswith("not run:")]
    assert ran and not_run, [(r["tp"], r["verdict"], r["reason"]) for r in applicable]
    assert all(r["verdict"] == "error" for r in not_run)
    assert all(signum.name in r["reason"] for r in not_run)
    assert all(r["verdict"] != "pass" for r in applicable)


def test_a_killed_campaign_leaves_nothing_once_the_next_one_starts(tmp_path: Path) -> None:
    """SIGKILL cannot be handled: the shim itself dies with the harness (PDEATHSIG); its
    children and the request file are swept by the next harness's adapter."""
    proc, pids = start_campaign(tmp_path, timeout=30.0)
    wait_for_shims(pids, 1, proc)
    shim = min(int(p.stem) for p in pids.glob("*.pid"))  # the shim started first
    proc.kill()
    proc.communicate(timeout=10)
    deadline = time.monotonic() + 3
    while alive(shim) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(shim), "the shim outlived the harness killed with SIGKILL"
    request = Path(next(iter(pids.glob("*.pid"))).read_text())
    assert request.exists()  # nothing could remove it yet
    assert oct(request.stat().st_mode & 0o777) == "0o600"
    removed = sweep_stale_requests(request.parent)
    assert request in removed
    running, files = leftovers(pids)
    assert not running and not files, (running, files)


def test_the_sweep_leaves_a_live_harness_alone(tmp_path: Path) -> None:
    mine = tmp_path / f"m2mconf-request-{os.getpid()}-abc.json"
    mine.write_text("{}")
    gone = tmp_path / "m2mconf-request-999999999-abc.json"
    gone.write_text("{}")
    assert sweep_stale_requests(tmp_path) == [gone]
    assert mine.exists() and not gone.exists()
