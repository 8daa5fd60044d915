"""Nothing hangs: a silent or crashing SUT gets a clear verdict and the campaign goes on.

End to end through the command adapter. A SUT that accepts connections and never
answers fails every purpose with the reason "silent", within the IXIT bound; a shim
that crashes before it is ready is a test-system error with the shim's own words,
never a pass or a fail of the SUT.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIMS = ROOT / "tests" / "data" / "shims"
SELECT = [
    "--select",
    "TP/SAEF-PSK/B/01",
    "--select",
    "TP/SAEF-PSK/B/05",
    "--select",
    "TP/SAEF-PSK/B/07",
]


def profile(tmp_path: Path, shim: str) -> Path:
    path = tmp_path / f"{shim}.toml"
    path.write_text(
        f"""
[sut]
name = "{shim}"
adapter = "command"

[adapter]
command = ["{sys.executable}", "{SHIMS / shim}"]
ready_timeout = 3.0

[ics]
roles = ["entity_b"]
frameworks = ["saef-psk"]
transports = ["tls"]
cipher_suites = ["0x00AE"]

[ixit]
timeout = 1.0
host = "127.0.0.1"

[ixit.entity_b]
thisEntityIdentifier = "/in-cse-1"
hostName = "in-cse.m2m.example.com"

[[ixit.entity_b.authorizedEntities]]
kpsaId = "sensor-1@in-cse.m2m.example.com"
kpsaKey = "5f1c0a9e3b7d2468ace013579bdf0246"
otherEntityIdentifier = "/Cae-sensor-1"
"""
    )
    return path


def campaign(tmp_path: Path, shim: str) -> tuple[int, dict[str, dict], float]:
    report = tmp_path / f"report-{shim}"
    start = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "--sut",
            str(profile(tmp_path, shim)),
            "--quiet",
            "--report",
            str(report),
            *SELECT,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - start
    results = {r["tp"]: r for r in json.loads((report / "report.json").read_text())["results"]}
    return proc.returncode, results, elapsed


def test_a_silent_sut_fails_every_purpose_with_the_reason(tmp_path: Path) -> None:
    code, results, elapsed = campaign(tmp_path, "mute_server.py")
    assert code == 1
    ran = {tp: r for tp, r in results.items() if r["verdict"] != "not applicable"}
    assert len(ran) == 3, ran.keys()
    for tp, r in ran.items():
        assert r["verdict"] == "fail", (tp, r["reason"])
        assert "silent" in r["reason"], (tp, r["reason"])
    assert elapsed < 60, f"three purposes with a 1 s bound took {elapsed:.0f} s"


def test_a_crashing_shim_is_a_harness_error_with_its_words(tmp_path: Path) -> None:
    code, results, _ = campaign(tmp_path, "crash.py")
    assert code == 3
    ran = [r for r in results.values() if r["verdict"] != "not applicable"]
    assert ran and all(r["verdict"] == "error" for r in ran), ran
    assert all("shim exploded" in r["reason"] or "exited" in r["reason"] for r in ran), ran
