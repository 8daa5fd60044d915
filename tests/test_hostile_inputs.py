"""Hostile inputs and what a campaign promises about them (issue 12, items 3, 6, 9, 11
and 12): deep TOML is a named error, the SUT's account is compared with the wire field
by field, listen addresses are loopback unless the lab says otherwise, nothing decided
is not a pass, and key material stays out of what a lab shares.

Each test names what the harness did before the fix.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from campaign_cli import ROOT, run_campaign

from harness import checks
from harness.observations import Ending, Exchange, PeerPlan
from harness.redact import REDACTED, redact_result
from harness.report.keylog import write_keylog
from harness.results import CampaignResult, TpResult
from harness.sut.contract import Role, Status, SutResult
from harness.sut.profile import ProfileErrors, parse_profile, read_toml
from harness.sut.validation import listen_host_problem
from harness.tls.trace import Trace, TraceEntry
from harness.verdict import SutFailure, Verdict

SHIMS = Path(__file__).parent / "data" / "shims"
HEX_RUN = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{32,}(?![0-9A-Fa-f])")


def m2mconf(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def profile_text(host: str = "127.0.0.1", extra_ixit: str = "", roles: str = '"entity_a"') -> str:
    return f"""
[sut]
name = "shim"
adapter = "command"

[adapter]
command = [{json.dumps(sys.executable)}, {json.dumps(str(SHIMS / "good.py"))}]

[ics]
roles = [{roles}]
frameworks = ["saef-psk"]
transports = ["tls"]
cipher_suites = ["0x00AE"]

[ixit]
timeout = 1
host = "{host}"
{extra_ixit}

[ixit.entity_a]
thisEntityIdentifier = "/Cae-sensor-1"
otherEntityIdentifier = "/in-cse-1"
otherEntityHostName = "in-cse.m2m.example.com"
kpsaId = "sensor-1@in-cse.m2m.example.com"
kpsaKey = "5f1c0a9e3b7d2468ace013579bdf0246"
"""


# --- item 3: deep TOML is a named error, never a traceback -------------------------------


def deep_toml(tmp_path: Path, depth: int = 1000, key: str = "x") -> Path:
    path = tmp_path / "deep.toml"
    path.write_text(f"{key} = " + "[" * depth + "]" * depth + "\n")
    return path


def test_deep_toml_profile_is_a_named_error(tmp_path: Path) -> None:
    """Before the fix: RecursionError traceback, exit 1 from validate, 3 from run."""
    path = deep_toml(tmp_path)
    with pytest.raises(ProfileErrors, match="nested too deeply"):
        read_toml(path)
    run = m2mconf("validate", str(path))
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and "deep.toml" in run.stderr
    shallow = tmp_path / "shallow.toml"
    shallow.write_text("x = " + "[" * 40 + "]" * 40 + "\n")  # readable, but deeper than 32
    with pytest.raises(ProfileErrors, match=r"x\[0\].*nested more than 32"):
        read_toml(shallow)


@pytest.mark.parametrize("depth", [1000, 50])
def test_deep_toml_spec_profile_is_a_named_error(tmp_path: Path, depth: int) -> None:
    """Before the fix the spec profile's loader had no guard: RecursionError, exit 3."""
    path = tmp_path / "spec.toml"
    path.write_text("[settings]\nrefusal_alerts = " + "[" * depth + "]" * depth + "\n")
    run = m2mconf(
        "run",
        "--sut",
        "reference",
        "--spec-profile",
        str(path),
        "--report",
        str(tmp_path / "r"),
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and "spec.toml" in run.stderr
    assert not (tmp_path / "r").exists()


# --- item 6: the SUT's account is compared with the wire ------------------------------------


def exchange(result: SutResult, *, harness_server: bool, identity: bytes = b"id-1") -> Exchange:
    trace = Trace()
    if not harness_server:  # the harness (Entity A) sent the ClientKeyExchange
        trace.add(
            TraceEntry("sent", "handshake", "ClientKeyExchange", {"psk_identity": identity.hex()})
        )
    return Exchange(
        harness_role=Role.ENTITY_B if harness_server else Role.ENTITY_A,
        harness_server=harness_server,
        plan=PeerPlan(role=Role.ENTITY_A, psk_identity=identity, psk=b"k" * 16, suites=[0x00AE]),
        ending=Ending("established"),
        trace=trace,
        sut_result=result,
        client_hello=None,
        negotiated_suite=0x00AE,
        negotiated_version=(3, 3),
        psk_identity_received=identity if harness_server else None,
        sut_accepted=None,
        export=lambda label, length, context: bytes(length),
    )


def test_a_reported_suite_the_wire_did_not_negotiate_fails() -> None:
    """Before the fix a result saying 0xC0A8 passed while the wire negotiated 0x00AE."""
    lie = SutResult(Status.ESTABLISHED, cipher_suite=0xC0A8)
    with pytest.raises(
        SutFailure, match="cipher_suite TLS_PSK_WITH_AES_128_CCM_8, but the ServerHello"
    ):
        checks.expect_account_matches_wire(exchange(lie, harness_server=True))
    truth = SutResult(Status.ESTABLISHED, cipher_suite=0x00AE)
    assert "agrees" in checks.expect_account_matches_wire(exchange(truth, harness_server=True))


def test_an_entity_b_reporting_another_psk_identity_fails() -> None:
    """Before the fix a wrong psk_identity reported by Entity B passed."""
    lie = SutResult(Status.ESTABLISHED, psk_identity="someone-else@in-cse.m2m.example.com")
    with pytest.raises(SutFailure, match="psk_identity.*ClientKeyExchange"):
        checks.expect_account_matches_wire(exchange(lie, harness_server=False))
    truth = SutResult(Status.ESTABLISHED, psk_identity="id-1")
    assert "psk_identity" in checks.expect_account_matches_wire(
        exchange(truth, harness_server=False)
    )


def test_reported_exporter_values_are_compared() -> None:
    lie = SutResult(Status.ESTABLISHED, keys={"EXPORTER-oneM2M-Connection": "01" * 48})
    with pytest.raises(SutFailure, match="keys.EXPORTER-oneM2M-Connection"):
        checks.expect_account_matches_wire(exchange(lie, harness_server=True))
    truth = SutResult(Status.ESTABLISHED, keys={"EXPORTER-oneM2M-Connection": "00" * 48})
    assert "keys." in checks.expect_account_matches_wire(exchange(truth, harness_server=True))


# --- item 9: listen addresses ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("0.0.0.0", "every interface"),
        ("::", "every interface"),
        ("::1", "IPv6 loopback"),
        ("192.0.2.10", "not a loopback address"),
        ("sut.example.com", "not a loopback address"),
    ],
)
def test_non_loopback_listen_hosts_are_refused_up_front(
    tmp_path: Path, host: str, problem: str
) -> None:
    """Before the fix 0.0.0.0 validated and the harness listened on every interface;
    ::1 and other addresses validated and then ended every Entity A purpose in error."""
    path = tmp_path / "p.toml"
    path.write_text(profile_text(host))
    run = m2mconf("validate", str(path))
    assert run.returncode == 2, run.stdout
    assert "ixit.host" in run.stderr and problem in run.stderr, run.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost"])
def test_loopback_listen_hosts_validate(tmp_path: Path, host: str) -> None:
    profile = parse_profile(
        __import__("tomllib").loads(profile_text(host)), tmp_path, tmp_path / "p.toml"
    )
    assert profile.ixit.host == host and not profile.ixit.allow_non_loopback


def test_non_loopback_needs_the_explicit_option_and_an_address_of_this_machine() -> None:
    assert "allow_non_loopback" in (listen_host_problem("192.0.2.10") or "")
    assert "no address of this machine" in (listen_host_problem("192.0.2.10", True) or "")
    assert "every interface" in (listen_host_problem("0.0.0.0", True) or "")  # never
    assert "IPv6" in (listen_host_problem("::1", True) or "")
    assert listen_host_problem("127.0.0.1", True) is None


def test_the_option_is_a_validated_boolean(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(profile_text(extra_ixit='allow_non_loopback = "yes"'))
    run = m2mconf("validate", str(path))
    assert run.returncode == 2 and "ixit.allow_non_loopback" in run.stderr, run.stderr


def test_endpoint_peers_are_listen_addresses_too(tmp_path: Path) -> None:
    text = """
[sut]
name = "running B"
adapter = "endpoint"
[adapter]
host = "192.0.2.10"
port = 4433
[adapter.peers]
maf = { host = "0.0.0.0", port = 5684 }
[ics]
roles = ["entity_b"]
frameworks = ["saef-psk"]
transports = ["tls"]
cipher_suites = ["0x00AE"]
observation_channel = false
[ixit.entity_b]
thisEntityIdentifier = "/in-cse-1"
hostName = "in-cse.m2m.example.com"
[[ixit.entity_b.authorizedEntities]]
kpsaId = "sensor-1@in-cse.m2m.example.com"
kpsaKey = "5f1c0a9e3b7d2468ace013579bdf0246"
otherEntityIdentifier = "/Cae-sensor-1"
"""
    with pytest.raises(ProfileErrors) as raised:
        parse_profile(__import__("tomllib").loads(text), tmp_path)
    # The SUT's own address may be remote (a lab's server); where the harness listens not.
    assert raised.value.fields == ["adapter.peers.maf.host"]


# --- item 11: nothing decided is not a pass ---------------------------------------------------


def result_of(*verdicts: Verdict) -> CampaignResult:
    result = CampaignResult(sut={}, ics={}, spec_profile={}, started=0.0)
    for i, verdict in enumerate(verdicts):
        result.results.append(
            TpResult(f"TP/X/{i}", "t", "f", "saef-psk", "entity_a", "tls", [], verdict, "r")
        )
    return result


@pytest.mark.parametrize(
    ("verdicts", "code", "word"),
    [
        ((), 3, "undecided"),
        ((Verdict.NOT_APPLICABLE,) * 3, 3, "undecided"),
        ((Verdict.NOT_APPLICABLE, Verdict.PASS), 0, "conformant"),
    ],
)
def test_nothing_decided_is_not_a_pass(verdicts: tuple[Verdict, ...], code: int, word: str) -> None:
    result = result_of(*verdicts)
    assert result.exit_code() == code
    assert result.decision()[0] == word


def test_a_campaign_of_only_not_applicable_purposes_exits_3(tmp_path: Path) -> None:
    """Before the fix it exited 0: an Entity A-only SUT, only Entity B purposes selected."""
    path = tmp_path / "p.toml"
    path.write_text(profile_text())
    campaign = run_campaign(
        tmp_path / "r", "--sut", str(path), "--select", "TP/SAEF-PSK/B/01", "--workers", "1"
    )
    assert campaign.exit_code == 3, campaign.output
    assert {r["verdict"] for r in campaign.report["results"]} == {"not applicable"}
    assert campaign.report["exit_code"] == 3


# --- item 12: secrets --------------------------------------------------------------------------


def test_key_logs_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    """Before the fix captures/*.keys were 0644."""
    trace = Trace()
    trace.add_keylog(b"\x01" * 32, b"\x02" * 48)
    path = tmp_path / "captures" / "x.keys"
    path.parent.mkdir()
    path.write_text("old")
    path.chmod(0o644)  # an earlier run's file, rewritten in place
    assert write_keylog([trace], path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert ("02" * 48) in path.read_text()


def test_redaction_removes_every_key_the_model_carries() -> None:
    exporter, harness_value, kc, master = "ab" * 48, "cd" * 48, "ef" * 32, "12" * 48
    trace = Trace()
    trace.add_keylog(b"\x01" * 32, bytes.fromhex(master))
    trace.add(TraceEntry("received", "handshake", "ClientHello", {"random": "99" * 32}, b"\x01"))
    body = json.dumps({"kcId": "k@maf.example.com", "keyValue": kc}).encode()
    trace.add(TraceEntry("received", "application_data", "ApplicationData", {"length": 9}, body))
    tp = TpResult(
        "TP/X/1",
        "t",
        "f",
        "saef-maf",
        "entity_a",
        "tls",
        [],
        Verdict.FAIL,
        f"the SUT's EXPORTER output {exporter} differs from the harness's {harness_value}",
        observations=[f"prefix {exporter[:32]}..."],
        traces=[trace],
        sut_result={
            "status": "established",
            "keys": {"EXPORTER-oneM2M-Connection": exporter},
            "legs": [{"name": "maf_handshake", "keys": {"EXPORTER-oneM2M-Connection": kc}}],
            "detail": f"Kc {kc}",
        },
    )
    result = result_of()
    result.results.append(tp)
    redact_result(result)
    dumped = json.dumps(tp.to_json(with_traces=True))
    for secret in (exporter, harness_value, kc, master, exporter[:32]):
        assert secret not in dumped
    assert tp.sut_result["keys"] == {"EXPORTER-oneM2M-Connection": REDACTED}
    assert tp.sut_result["legs"][0]["keys"] == {"EXPORTER-oneM2M-Connection": REDACTED}
    assert not trace.keylog and trace.omitted.keylog_lines == 1
    assert ("99" * 32) in dumped  # the ClientHello's random crossed the wire in clear


def test_run_redact_keeps_keys_out_of_every_shareable_report(tmp_path: Path) -> None:
    """Before the fix the SUT's exporter outputs were in report.json, report.html and
    junit.xml, and there was no --redact."""
    plain = run_campaign(
        tmp_path / "plain", "--sut", "reference", "--select", "TP/SAEF-PSK/A/01", "--workers", "1"
    )
    assert plain.exit_code == 0, plain.output
    exported = {
        value
        for r in plain.report["results"]
        for value in (r["sut_result"] or {}).get("keys", {}).values()
    }
    assert exported
    keys_files = list((tmp_path / "plain" / "captures").glob("*.keys"))
    assert keys_files and all(p.stat().st_mode & 0o777 == 0o600 for p in keys_files)
    plain_json = (tmp_path / "plain" / "report.json").read_text()
    assert all(value in plain_json for value in exported)  # what --redact is for

    redacted = run_campaign(
        tmp_path / "red",
        "--sut",
        "reference",
        "--redact",
        "--workers",
        "1",
        "--select",
        "TP/SAEF-PSK/A/01",
        "--select",
        "TP/SAEF-MAF/MAF/01",  # its key-retrieval answer carries Kc in application data
    )
    assert redacted.exit_code == 0, redacted.output
    report = tmp_path / "red"
    assert not list((report / "captures").glob("*.keys"))
    assert list((report / "captures").glob("*.pcap"))
    for name in ("report.json", "junit.xml"):
        text = (report / name).read_text()
        assert not HEX_RUN.findall(text), f"{name}: {HEX_RUN.findall(text)[:3]}"
    for r in redacted.report["results"]:
        keys = (r["sut_result"] or {}).get("keys", {})
        assert set(keys.values()) <= {REDACTED}, r["tp"]
    html = (report / "report.html").read_text()
    assert "keyValue" not in html  # the MAF's answer (Kc) is not shown in clear
