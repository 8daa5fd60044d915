"""`m2mconf run --workers N`: pytest-xdist workers merged into one campaign result.

A parallel campaign must say exactly what a sequential one says: the same instances in
the same order with the same verdicts and reasons, for the reference and for mutants.
What may differ between any two runs (not only sequential vs parallel) is normalised
before comparing, and said here: the random identifiers a handshake makes (KcID, KeID:
hex of exporter output) and the reference's own count of its retransmissions in the
account it gives (how many fit in its bound is timing).

A worker that crashes leaves no gap: its instance is a harness error named like the
others. An option that would split the run without merging is refused with exit 2,
however it arrives.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from campaign_cli import ROOT, run_campaign
from test_teeth import EXPECTED_KILLS

from harness.campaign import split_problem

pytest.importorskip("xdist")

# Mutants whose purposes cover the waits that changed most: DTLS silent discards (the
# discard bound), loss and retransmission, a bad record after the handshake (the last
# probe), and accounts that lie where the SUT must give its handshake up (PSK and MAF).
MUTANTS = (
    "claims_established",
    "no_retransmission",
    "tear_down_on_bad_record",
    "b_claims_established",
)

_RANDOM_ID = re.compile(r"\b[0-9a-f]{32}\b")
_SUT_RETRANSMISSIONS = re.compile(r"retransmissions \d+")


def normalised(reason: str) -> str:
    """``reason`` without what differs between any two runs (see the module docstring)."""
    return _SUT_RETRANSMISSIONS.sub("retransmissions N", _RANDOM_ID.sub("<id>", reason))


def outcomes(report: dict) -> list[tuple[str, str, str]]:
    """(tp, verdict, normalised reason) of every instance, in report order."""
    return [(r["tp"], r["verdict"], normalised(r["reason"])) for r in report["results"]]


def campaign_args(fault: str | None) -> list[str]:
    args = ["--sut", "reference"]
    if fault:
        args += ["--fault", fault]
        for tp in sorted(EXPECTED_KILLS[fault]):
            args += ["--select", f"TP/{tp}"]
    return args


@pytest.mark.parametrize("fault", [None, *MUTANTS], ids=["reference", *MUTANTS])
def test_parallel_campaign_says_what_the_sequential_one_says(
    tmp_path: Path, fault: str | None
) -> None:
    sequential = run_campaign(tmp_path / "seq", *campaign_args(fault), "--workers", "1")
    parallel = run_campaign(tmp_path / "par", *campaign_args(fault), "--workers", "2")
    assert sequential.exit_code == parallel.exit_code, parallel.output
    assert outcomes(parallel.report) == outcomes(sequential.report)
    if fault is None:
        assert sequential.exit_code == 0, sequential.output
    else:
        assert sequential.exit_code == 1, sequential.output


CRASH_PLUGIN = '''
import os

def pytest_runtest_call(item):
    """In a pytest-xdist worker only: die (no report, no teardown) on the chosen case."""
    if hasattr(item.config, "workerinput") and os.environ["M2M_CRASH_ON"] in item.nodeid:
        os._exit(17)
'''


def test_a_crashed_worker_gives_a_harness_error_not_a_gap(tmp_path: Path) -> None:
    (tmp_path / "m2m_crash.py").write_text(CRASH_PLUGIN)
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])),
        "PYTEST_ADDOPTS": "-p m2m_crash",
        "M2M_CRASH_ON": "test_entity_b_completes_the_association_with_the_transports_mandatory",
    }
    command = [sys.executable, "-m", "harness.cli", "run", "--quiet", "--workers", "2"]
    command += ["--report", str(tmp_path / "report"), "--sut", "reference"]
    command += ["--select", "TP/SAEF-PSK/B/02", "--select", "TP/SAEF-PSK/B/04"]
    proc = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=180, env={**os.environ, **env}
    )
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    verdicts = {r["tp"]: (r["verdict"], r["reason"], r["requirements"]) for r in report["results"]}
    assert set(verdicts) == {
        "TP/SAEF-PSK/B/02[tls]",
        "TP/SAEF-PSK/B/02[dtls]",
        "TP/SAEF-PSK/B/04[tls]",
        "TP/SAEF-PSK/B/04[dtls]",
    }, proc.stderr
    for tp in ("TP/SAEF-PSK/B/02[tls]", "TP/SAEF-PSK/B/02[dtls]"):
        verdict, reason, requirements = verdicts[tp]
        assert verdict == "error", (tp, reason)
        assert "worker" in reason and "gave no result" in reason, reason
        assert requirements, f"{tp}: named as collected, with its requirements"
    assert {verdicts[tp][0] for tp in verdicts if "/B/04" in tp} == {"pass"}
    assert proc.returncode == 3, proc.stdout + proc.stderr  # undecided, never a pass


@pytest.mark.parametrize("addopts", ["-n 2", "-vn2", "--dist=each", "-f", "--numprocesses=auto"])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_splitting_options_are_refused_however_they_arrive(
    tmp_path: Path, addopts: str, workers: str
) -> None:
    command = [sys.executable, "-m", "harness.cli", "run", "--quiet", "--workers", workers]
    command += ["--report", str(tmp_path), "--sut", "reference", "--select", "TP/SAEF-PSK/B/02"]
    proc = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTEST_ADDOPTS": addopts},
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "PYTEST_ADDOPTS" in proc.stderr or "split" in proc.stderr, proc.stderr
    assert not (tmp_path / "report.json").exists(), "nothing ran, nothing was reported"


def _config(**options: object) -> types.SimpleNamespace:
    return types.SimpleNamespace(option=types.SimpleNamespace(**options))


def test_split_problem_reads_the_parsed_options() -> None:
    """What the words of PYTEST_ADDOPTS cannot show: the options as pytest parsed them."""
    whole = {"numprocesses": 2, "tx": ["popen", "popen"], "dist": "worksteal", "looponfail": False}
    assert split_problem(_config(**whole), 2) is None  # type: ignore[arg-type]
    assert split_problem(_config(), 1) is None  # type: ignore[arg-type]
    assert "looponfail" in split_problem(_config(looponfail=True), 1)  # type: ignore[arg-type, operator]
    assert "1 worker" in split_problem(_config(tx=["popen"]), 1)  # type: ignore[arg-type, operator]
    fewer = {**whole, "tx": ["popen"]}  # --maxprocesses 1
    assert split_problem(_config(**fewer), 2) is not None  # type: ignore[arg-type]
    each = {**whole, "dist": "each"}
    assert "--dist each" in split_problem(_config(**each), 2)  # type: ignore[arg-type, operator]
    assert "num-shards" in split_problem(_config(num_shards=3), 1)  # type: ignore[arg-type, operator]
    assert "splits" in split_problem(_config(splits=2), 1)  # type: ignore[arg-type, operator]
