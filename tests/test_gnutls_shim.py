"""The GnuTLS Entity B example (examples/gnutls-entity-b) end to end: a real campaign
against `gnutls-serv` through the command adapter, and the shim's own refusals.

The verdicts asserted here are GnuTLS 3.7.9's real behaviour as the full campaign
established it (README.md there): every declared suite completes with the exporter
value the harness computes, and with two authorized entities in --pskpasswd the
association is bound to the IdA of the KpsaId used.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from campaign_cli import run_campaign

from harness.sut.adapters import make_adapter
from harness.sut.contract import Address, Framework, Role, SutRequest, Transport
from harness.sut.profile import load_profile
from harness.verdict import NotApplicable

pytestmark = pytest.mark.skipif(shutil.which("gnutls-serv") is None, reason="no gnutls-serv")

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "examples" / "gnutls-entity-b" / "profile.toml"
WAIT = 10.0


def test_profile_validates() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "harness.cli", "validate", str(PROFILE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_campaign_b01_b11_pass_with_two_entities(tmp_path: Path) -> None:
    run = run_campaign(
        tmp_path / "report",
        *("--sut", str(PROFILE), "--select", "TP/SAEF-PSK/B/01", "--select", "TP/SAEF-PSK/B/11"),
        timeout=30,
    )
    results = run.results
    ran = {tp: r for tp, r in results.items() if r["verdict"] != "not applicable"}
    assert sorted(ran) == [
        "TP/SAEF-PSK/B/01[tls,0x00AE]",
        "TP/SAEF-PSK/B/01[tls,0xC0A4]",
        "TP/SAEF-PSK/B/01[tls,0xC0A6]",
        "TP/SAEF-PSK/B/01[tls,0xC0A8]",
        "TP/SAEF-PSK/B/01[tls,0xC0AA]",
        "TP/SAEF-PSK/B/11[tls]",
    ], run.output
    for tp, r in ran.items():
        assert r["verdict"] == "pass", (tp, r["reason"])
        assert r["sut_result"]["status"] == "established", (tp, r["sut_result"])
    assert run.exit_code == 0, run.output
    bound = ran["TP/SAEF-PSK/B/11[tls]"]["sut_result"]
    assert bound["psk_identity"] == "sensor-2@in-cse.m2m.example.com"
    assert bound["peer_identity"] == "/Cae-sensor-2"
    dhe = ran["TP/SAEF-PSK/B/01[tls,0xC0A6]"]["sut_result"]
    assert dhe["cipher_suite"] == "0xC0A6" and dhe["peer_identity"] == "/Cae-sensor-1"
    assert dhe["keys"], dhe  # gnutls-serv printed its exporter value (compared by B/01)


def test_dtls_is_not_applicable() -> None:
    profile = load_profile(PROFILE)
    request = SutRequest(
        role=Role.ENTITY_B,
        framework=Framework.SAEF_PSK,
        transport=Transport.DTLS,
        configuration=profile.configuration(Role.ENTITY_B),
        cipher_suites=[0x00AE],
        listen=Address("127.0.0.1", 0),
        timeout=WAIT,
        test_case="TEST/gnutls-b-dtls",
    )
    session = make_adapter(profile).start(request)
    try:
        with pytest.raises(NotApplicable, match="TLS 1.2 only"):
            session.wait_ready(WAIT)
    finally:
        session.stop()
