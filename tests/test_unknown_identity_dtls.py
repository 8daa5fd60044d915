"""No false fail on a permitted refusal (issue 12 item 7), against the real implementation.

`gnutls-serv -u` (GnuTLS 3.7, DTLS 1.2) handles an unknown psk_identity as a wrong key,
as RFC 4279 section 2 allows: it goes on with a random key, cannot read the harness's
Finished, and discards it in silence (RFC 6347 4.1.2.7). TP/SAEF-PSK/B/05 and B/06 used
to fail it ("the SUT neither refused nor completed the handshake"); they pass now and
say which reaction was seen, and S-08 ``dtls_unknown_identity_discard = false`` makes the
stricter reading fail, naming the setting. That the relaxed purposes still fail an
Entity B that accepts the identity is tests/test_teeth.py's accept_any_identity mutant
(per DTLS instance) and tests/test_checks.py.

gnutls-serv runs once, already listening, behind the endpoint adapter (one worker: its
UDP server serves one session at a time).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from campaign_cli import run_campaign

KPSA_ID = "sensor-1@in-cse.m2m.example.com"
KPSA = "5f1c0a9e3b7d2468ace013579bdf0246"
PRIORITY = (
    "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK:-CIPHER-ALL:+AES-128-CBC:+AES-128-CCM-8:"
    "-MAC-ALL:+SHA256:+AEAD"
)

pytestmark = pytest.mark.skipif(shutil.which("gnutls-serv") is None, reason="no gnutls-serv")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gnutls_dtls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    folder = tmp_path_factory.mktemp("gnutls-dtls")
    passwd = folder / "psk.txt"
    passwd.write_text(f"{KPSA_ID}:{KPSA}\n")
    passwd.chmod(0o600)
    port = free_udp_port()
    log = folder / "serv.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["gnutls-serv", "-u", "-p", str(port), "--echo", "--pskpasswd", str(passwd)]
            + ["--priority", PRIORITY],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 10
        while "listening on IPv4" not in log.read_text():
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"gnutls-serv -u did not listen: {log.read_text()}")
            time.sleep(0.05)
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=10)


def profile(folder: Path, port: int) -> Path:
    path = folder / "gnutls-dtls.toml"
    path.write_text(
        f"""
[sut]
name = "gnutls-serv -u, already running"
adapter = "endpoint"

[adapter]
host = "127.0.0.1"
port = {port}

[ics]
roles = ["entity_b"]
frameworks = ["saef-psk"]
transports = ["dtls"]
cipher_suites = ["0x00AE", "0xC0A8"]
observation_channel = false

[ixit]
timeout = 2.5
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
    return path


def test_gnutls_wrong_key_reaction_passes_b05_b06(gnutls_dtls: int, tmp_path: Path) -> None:
    run = run_campaign(
        tmp_path / "report",
        *("--sut", str(profile(tmp_path, gnutls_dtls)), "--workers", "1"),
        *("--select", "TP/SAEF-PSK/B/05", "--select", "TP/SAEF-PSK/B/06"),
        timeout=120,
    )
    ran = {tp: r for tp, r in run.results.items() if r["verdict"] != "not applicable"}
    assert len(ran) == 6, run.output  # B/05 and the five B/06 variants, over DTLS
    for tp, r in ran.items():
        assert r["verdict"] == "pass", (tp, r["reason"])
        assert any("as a wrong key" in o and "S-08" in o for o in r["observations"]), (
            tp,
            r["observations"],
        )
    assert run.exit_code == 0, run.output


def test_the_stricter_reading_is_a_named_setting(gnutls_dtls: int, tmp_path: Path) -> None:
    spec = tmp_path / "strict.toml"
    spec.write_text("[settings]\ndtls_unknown_identity_discard = false\n")
    run = run_campaign(
        tmp_path / "report",
        *("--sut", str(profile(tmp_path, gnutls_dtls)), "--workers", "1"),
        *("--select", "TP/SAEF-PSK/B/05", "--spec-profile", str(spec)),
        timeout=60,
    )
    result = run.results["TP/SAEF-PSK/B/05[dtls]"]
    assert result["verdict"] == "fail", result
    assert "S-08 dtls_unknown_identity_discard=False" in result["reason"]
    assert run.exit_code == 1, run.output
