"""The enrolee-key SBF under the other readings of the spec profile: I-12 (the MEF
releases the published 10.3.7 usage-constrained key instead of Km) and I-05 (KmID
derived from Km instead of assigned). The harness and the reference follow the setting
through the case configuration (kmDerivation, kmIdForm), so the chain still closes."""

from __future__ import annotations

from pathlib import Path

from campaign_cli import run_campaign


def test_other_readings_still_pass(tmp_path: Path) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(
        '[settings]\nmef_returned_key = "usage-constrained"\n'
        'kmid_after_remote_provisioning = "derived"\n'
    )
    args = ["--sut", "reference", "--spec-profile", str(spec)]
    for tp in ("ENR/03", "ENR/04", "MEF/04", "MAF/02", "MAF/03"):
        args += ["--select", f"TP/SBF-PSK/{tp}"]
    result = run_campaign(tmp_path / "report", *args, timeout=180)
    ran = [r for r in result.report["results"] if r["verdict"] != "not applicable"]
    assert len(ran) >= 10, result.output
    assert {r["verdict"] for r in ran} == {"pass"}, [(r["tp"], r["reason"]) for r in ran]
    settings = result.report.get("spec_profile") or {}
    if settings:
        assert settings["mef_returned_key"]["value"] == "usage-constrained"
    assert result.exit_code == 0
