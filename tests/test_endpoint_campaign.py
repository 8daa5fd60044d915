"""End to end through the endpoint adapter: a lab's already-running server as the SUT.

`openssl s_server` plays an Entity B provisioned out of band from the IXIT, and a
campaign runs against it with no observation channel. The verdicts must rest on the
wire alone and be honest: the handshakes pass, the unknown KpsaId is accepted (s_server
only warns about an unexpected psk_identity, a real non-conformance: SAEF-PSK-05), and
the binding purpose is inconclusive because one authorized entity is all it can hold.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KPSA_ID = "sensor-1@in-cse.m2m.example.com"
KPSA = "5f1c0a9e3b7d2468ace013579bdf0246"

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s_server() -> Iterator[int]:
    port = free_port()
    command = [
        "openssl",
        "s_server",
        "-accept",
        f"127.0.0.1:{port}",
        "-tls1_2",
        "-nocert",
        "-psk",
        KPSA,
        "-psk_identity",
        KPSA_ID,
        "-cipher",
        "PSK-AES128-CBC-SHA256:PSK-AES128-CCM8:@SECLEVEL=0",
    ]
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        else:
            pytest.fail("openssl s_server did not listen within 10 s")
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_campaign_against_a_running_openssl_server(s_server: int, tmp_path: Path) -> None:
    profile = tmp_path / "endpoint.toml"
    profile.write_text(
        f"""
[sut]
name = "openssl s_server, already running"
adapter = "endpoint"

[adapter]
host = "127.0.0.1"
port = {s_server}

[ics]
roles = ["entity_b"]
frameworks = ["saef-psk"]
transports = ["tls"]
cipher_suites = ["0x00AE", "0xC0A8"]
observation_channel = false

[ixit]
timeout = 3.0
host = "127.0.0.1"

[ixit.entity_b]
thisEntityIdentifier = "/in-cse-1"
hostName = "in-cse.m2m.example.com"

[[ixit.entity_b.authorizedEntities]]
kpsaId = "{KPSA_ID}"
kpsaKey = "{KPSA}"
otherEntityIdentifier = "/Cae-sensor-1"
"""
    )
    report = tmp_path / "report"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "--sut",
            str(profile),
            "--quiet",
            "--report",
            str(report),
            "--select",
            "TP/SAEF-PSK/B/01",
            "--select",
            "TP/SAEF-PSK/B/05",
            "--select",
            "TP/SAEF-PSK/B/11",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    results = {r["tp"]: r for r in json.loads((report / "report.json").read_text())["results"]}
    assert results["TP/SAEF-PSK/B/01[tls,0x00AE]"]["verdict"] == "pass"
    assert results["TP/SAEF-PSK/B/01[tls,0xC0A8]"]["verdict"] == "pass"
    unknown = results["TP/SAEF-PSK/B/05[tls]"]
    assert unknown["verdict"] == "fail" and "continued the handshake" in unknown["reason"]
    binding = results["TP/SAEF-PSK/B/11[tls]"]
    assert binding["verdict"] == "inconclusive" and "2 authorized entities" in binding["reason"]
    assert results["TP/SAEF-PSK/B/01[dtls,0x00AE]"]["verdict"] == "not applicable"
    assert any(
        "observation channel" in o for o in results["TP/SAEF-PSK/B/01[tls,0x00AE]"]["observations"]
    )
