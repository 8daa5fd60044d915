"""Running `m2mconf run` as a lab does, for the suite's end-to-end tests.

One place starts the real command line in a subprocess (bounded), and reads the
report.json it wrote, so every end-to-end test checks the same artefact a lab gets.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Campaign:
    exit_code: int
    report: dict[str, Any]  # report.json
    output: str  # stdout and stderr, for assertion messages

    @property
    def results(self) -> dict[str, dict[str, Any]]:
        """Test-purpose instance id -> its entry in report.json."""
        return {r["tp"]: r for r in self.report["results"]}


def run_campaign(report: Path, *args: str, timeout: float = 120) -> Campaign:
    """`m2mconf run --quiet --report REPORT ARGS...` from the repository root."""
    command = [
        sys.executable,
        "-m",
        "harness.cli",
        "run",
        "--quiet",
        "--report",
        str(report),
        *args,
    ]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    output = f"{' '.join(command)}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    path = report / "report.json"
    assert path.exists(), f"no report.json was written\n{output}"
    return Campaign(proc.returncode, json.loads(path.read_text()), output)


def entity_b_profile(
    name: str, adapter: str, timeout: float, cipher_suites: str, ics_extra: str = ""
) -> str:
    """A SUT profile for an Entity B of the PSK SAEF over TLS, with one authorized Entity A.

    ``adapter`` is the TOML of the [sut] adapter kind and the [adapter] table;
    ``ics_extra`` further [ics] lines.
    """
    return f"""
[sut]
name = "{name}"
{adapter}

[ics]
roles = ["entity_b"]
frameworks = ["saef-psk"]
transports = ["tls"]
cipher_suites = [{cipher_suites}]
{ics_extra}

[ixit]
timeout = {timeout}
host = "127.0.0.1"

[ixit.entity_b]
thisEntityIdentifier = "/in-cse-1"
hostName = "in-cse.m2m.example.com"

[[ixit.entity_b.authorizedEntities]]
kpsaId = "sensor-1@in-cse.m2m.example.com"
kpsaKey = "5f1c0a9e3b7d2468ace013579bdf0246"
otherEntityIdentifier = "/Cae-sensor-1"
"""
