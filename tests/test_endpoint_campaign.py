"""End to end through the endpoint adapter: a lab's already-running server as the SUT.

`openssl s_server` plays an Entity B provisioned out of band from the IXIT, and a
campaign runs against it with no observation channel. The verdicts must rest on the
wire alone and be honest: the handshakes pass, the unknown KpsaId is accepted (s_server
only warns about an unexpected psk_identity, a real non-conformance: SAEF-PSK-05), and
the binding purpose is inconclusive because one authorized entity is all it can hold.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from campaign_cli import entity_b_profile, run_campaign
from peers import free_port

KPSA_ID = "sensor-1@in-cse.m2m.example.com"
KPSA = "5f1c0a9e3b7d2468ace013579bdf0246"

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")


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
    adapter = f'adapter = "endpoint"\n\n[adapter]\nhost = "127.0.0.1"\nport = {s_server}'
    profile.write_text(
        entity_b_profile(
            "openssl s_server, already running",
            adapter,
            timeout=3.0,
            cipher_suites='"0x00AE", "0xC0A8"',
            ics_extra="observation_channel = false",
        )
    )
    result = run_campaign(
        tmp_path / "report",
        "--sut",
        str(profile),
        "--select",
        "TP/SAEF-PSK/B/01",
        "--select",
        "TP/SAEF-PSK/B/05",
        "--select",
        "TP/SAEF-PSK/B/11",
    )
    assert result.exit_code == 1, result.output
    results = result.results
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
