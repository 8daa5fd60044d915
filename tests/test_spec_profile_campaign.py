"""A setting of the specification profile decides the verdict it names, end to end.

The silent_abort mutant refuses without an alert. Under the default S-01 that fails the
wrong-key purpose, and the reason names S-01. With S-01 false the same run passes, and
the report records the setting that was in force.
"""

from __future__ import annotations

from pathlib import Path

from campaign_cli import run_campaign


def run(tmp_path: Path, name: str, *extra: str) -> dict:
    args = ["--sut", "reference", "--fault", "silent_abort", "--select", "TP/SAEF-PSK/B/07"]
    return run_campaign(tmp_path / name, *args, *extra).report


def test_s01_decides_a_refusal_without_alert(tmp_path: Path) -> None:
    strict = run(tmp_path, "strict")
    verdict = {r["tp"]: r for r in strict["results"]}["TP/SAEF-PSK/B/07[tls]"]
    assert (
        verdict["verdict"] == "fail"
        and "S-01 refusal_requires_fatal_alert=True" in verdict["reason"]
    )

    lenient_file = tmp_path / "lenient.toml"
    lenient_file.write_text("[settings]\nrefusal_requires_fatal_alert = false\n")
    lenient = run(tmp_path, "lenient", "--spec-profile", str(lenient_file))
    verdict = {r["tp"]: r for r in lenient["results"]}["TP/SAEF-PSK/B/07[tls]"]
    assert verdict["verdict"] == "pass"
    setting = lenient["spec_profile"]["refusal_requires_fatal_alert"]
    assert setting["value"] is False and setting["id"] == "S-01" and setting["default"] is False
