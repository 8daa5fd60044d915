"""Nothing hangs: a silent or crashing SUT gets a clear verdict and the campaign goes on.

End to end through the command adapter. A SUT that accepts connections and never
answers fails every purpose with the reason "silent", within the IXIT bound; a shim
that crashes before it is ready is a test-system error with the shim's own words,
never a pass or a fail of the SUT.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from campaign_cli import ROOT, Campaign, entity_b_profile, run_campaign

SHIMS = ROOT / "tests" / "data" / "shims"
SELECT = [
    "--select",
    "TP/SAEF-PSK/B/01",
    "--select",
    "TP/SAEF-PSK/B/05",
    "--select",
    "TP/SAEF-PSK/B/07",
]


def campaign(tmp_path: Path, shim: str) -> tuple[Campaign, float]:
    profile = tmp_path / f"{shim}.toml"
    adapter = f'adapter = "command"\n\n[adapter]\ncommand = ["{sys.executable}", "{SHIMS / shim}"]\nready_timeout = 3.0'
    profile.write_text(entity_b_profile(shim, adapter, timeout=1.0, cipher_suites='"0x00AE"'))
    start = time.monotonic()
    result = run_campaign(tmp_path / f"report-{shim}", "--sut", str(profile), *SELECT)
    return result, time.monotonic() - start


def test_a_silent_sut_fails_every_purpose_with_the_reason(tmp_path: Path) -> None:
    result, elapsed = campaign(tmp_path, "mute_server.py")
    assert result.exit_code == 1, result.output
    ran = {tp: r for tp, r in result.results.items() if r["verdict"] != "not applicable"}
    assert len(ran) == 3, ran.keys()
    for tp, r in ran.items():
        assert r["verdict"] == "fail", (tp, r["reason"])
        assert "silent" in r["reason"], (tp, r["reason"])
    assert elapsed < 60, f"three purposes with a 1 s bound took {elapsed:.0f} s"


def test_a_crashing_shim_is_a_harness_error_with_its_words(tmp_path: Path) -> None:
    result, _ = campaign(tmp_path, "crash.py")
    assert result.exit_code == 3, result.output
    ran = [r for r in result.results.values() if r["verdict"] != "not applicable"]
    assert ran and all(r["verdict"] == "error" for r in ran), ran
    assert all("shim exploded" in r["reason"] or "exited" in r["reason"] for r in ran), ran
