"""The m2mconf command line: argparse wiring and exit codes.

The campaign engine, the profile loader and the reference SUT belong to other modules;
they are replaced by stand-in modules here so these tests check only the CLI.
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import harness.campaign as real_campaign
from harness import __version__
from harness.cli import main
from harness.frameworks import FaultInfo
from harness.results import CampaignResult, TpResult
from harness.sut.contract import Framework, Role, Transport
from harness.testpurpose import TestPurposeInfo as PurposeInfo
from harness.verdict import Verdict


class ConfigError(Exception):
    pass


class ProfileError(ValueError):
    pass


class ProfileErrors(ValueError):
    def __init__(self, errors: list[ProfileError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class CampaignOptions:
    sut: str
    faults: list[str]
    select: list[str]
    report_dir: Path
    spec_profile: Path | None
    progress: Any
    workers: int = 1


@dataclass
class FakeIcs:
    roles: frozenset[Role] = frozenset({Role.ENTITY_B})
    frameworks: frozenset[Framework] = frozenset({Framework.SAEF_PSK})
    transports: frozenset[Transport] = frozenset({Transport.TLS})
    cipher_suites: tuple[int, ...] = (0x00AE, 0xC0A8)
    extended_master_secret: bool = True
    observation_channel: bool = False

    def supports(self, role: Role, framework: Framework, transport: Transport) -> str | None:
        if role not in self.roles:
            return f"ICS roles do not include {role}"
        return None


@dataclass
class FakeProfile:
    sut: Any = field(
        default_factory=lambda: types.SimpleNamespace(name="Box", vendor="Acme", version="2")
    )
    adapter: Any = field(default_factory=lambda: types.SimpleNamespace(kind="command"))
    ics: FakeIcs = field(default_factory=FakeIcs)


def result_with(*verdicts: Verdict) -> CampaignResult:
    return CampaignResult(
        sut={"name": "Box", "adapter": "reference"},
        ics={},
        spec_profile={},
        started=1.0,
        finished=2.0,
        results=[
            TpResult(f"TP/X/{i}", "t", "f", "saef-psk", "entity_b", "tls", [], v, "why")
            for i, v in enumerate(verdicts)
        ],
    )


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> types.SimpleNamespace:
    """Stand-ins for harness.campaign, harness.sut.profile and harness.frameworks.saef_psk.reference.faults."""
    state = types.SimpleNamespace(result=result_with(Verdict.PASS), options=None, raise_=None)

    def run_campaign(options: CampaignOptions) -> CampaignResult:
        state.options = options
        if state.raise_ is not None:
            raise state.raise_
        options.progress.start(len(state.result.results))
        for r in state.result.results:
            options.progress.update(r)
        return state.result

    campaign = types.ModuleType("harness.campaign")
    campaign.ConfigError = ConfigError  # type: ignore[attr-defined]
    campaign.CampaignOptions = CampaignOptions  # type: ignore[attr-defined]
    campaign.run_campaign = run_campaign  # type: ignore[attr-defined]
    campaign.list_test_purposes = lambda: [  # type: ignore[attr-defined]
        PurposeInfo(
            "TP/SAEF-PSK/B/01", "B completes", "b", "saef-psk", "entity_b", ("SAEF-PSK-05",)
        ),
        PurposeInfo("TP/SAEF-PSK/A/01", "A offers", "a", "saef-psk", "entity_a", ("SAEF-PSK-11",)),
    ]
    campaign.select_purposes = lambda expressions: real_campaign.select_purposes(  # type: ignore[attr-defined]
        expressions, campaign.list_test_purposes()
    )
    profile = types.ModuleType("harness.sut.profile")
    profile.ProfileError = ProfileError  # type: ignore[attr-defined]
    profile.ProfileErrors = ProfileErrors  # type: ignore[attr-defined]
    state.profile_error = None

    def load_profile(path: Path) -> FakeProfile:
        if state.profile_error is not None:
            raise state.profile_error
        return FakeProfile()

    profile.load_profile = load_profile  # type: ignore[attr-defined]
    profile.reference_profile = FakeProfile  # type: ignore[attr-defined]
    frameworks = types.ModuleType("harness.frameworks")
    frameworks.reference_faults = lambda: {  # type: ignore[attr-defined]
        "silent_abort": FaultInfo("silent_abort", Framework.SAEF_PSK, "close without an alert", ()),
        "no_sni": FaultInfo("no_sni", Framework.SAEF_PSK, "omit SNI", ()),
    }
    monkeypatch.setitem(sys.modules, "harness.campaign", campaign)
    monkeypatch.setitem(sys.modules, "harness.sut.profile", profile)
    monkeypatch.setitem(sys.modules, "harness.frameworks", frameworks)
    monkeypatch.chdir(tmp_path)
    state.sut_file = tmp_path / "sut.toml"
    state.sut_file.write_text("[sut]\n", encoding="utf-8")
    return state


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"m2mconf {__version__}"


@pytest.mark.parametrize(
    "command", [[], ["run"], ["list"], ["validate"], ["faults"], ["requirements"]]
)
def test_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: m2mconf" in out
    if command == ["run"]:
        assert "--spec-profile" in out and "exit codes" in out


def test_no_command_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["run"]) == 2  # --sut is required
    assert main(["bogus"]) == 2
    assert "--sut" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("verdicts", "code"),
    [
        ((Verdict.PASS, Verdict.NOT_APPLICABLE), 0),
        ((Verdict.PASS, Verdict.FAIL, Verdict.ERROR), 1),
        ((Verdict.PASS, Verdict.INCONCLUSIVE), 3),
        ((Verdict.PASS, Verdict.ERROR), 3),
        # Nothing decided is not a pass (issue 12, item 11): all not applicable, or none ran.
        ((Verdict.NOT_APPLICABLE,), 3),
        ((), 3),
    ],
)
def test_run_exit_codes(
    fakes: types.SimpleNamespace,
    verdicts: tuple[Verdict, ...],
    code: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakes.result = result_with(*verdicts)
    assert main(["run", "--sut", "reference"]) == code
    out = capsys.readouterr().out
    assert "report: reports/latest/report.html" in out
    assert Path("reports/latest/report.json").is_file()
    assert Path("reports/latest/junit.xml").is_file()


def test_run_passes_options_and_records_command_line(
    fakes: types.SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = Path("spec.toml")
    spec.write_text("", encoding="utf-8")
    argv = [
        "run",
        "--sut",
        "reference",
        "--fault",
        "silent_abort",
        "--fault",
        "no_sni",
        "--select",
        "TP/SAEF-PSK/B/*",
        "--select",
        "SAEF-PSK-11",
        "--report",
        "out",
        "--spec-profile",
        str(spec),
        "--quiet",
    ]
    fakes.result = result_with(Verdict.FAIL)
    assert main(argv) == 1
    options = fakes.options
    assert options.sut == "reference"
    assert options.faults == ["silent_abort", "no_sni"]
    assert options.select == ["TP/SAEF-PSK/B/*", "SAEF-PSK-11"]
    assert options.report_dir == Path("out") and options.spec_profile == spec
    out = capsys.readouterr().out
    assert "[1/1]" not in out  # quiet: no per-purpose lines
    assert out.startswith("1 test purpose instances")
    data = json.loads(Path("out/report.json").read_text(encoding="utf-8"))
    assert data["command_line"].startswith("m2mconf run --sut reference --fault silent_abort")
    assert data["version"] == __version__


def test_run_progress_lines(
    fakes: types.SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes.result = result_with(Verdict.PASS, Verdict.FAIL)
    assert main(["run", "--sut", str(fakes.sut_file)]) == 1
    out = capsys.readouterr().out
    assert "[1/2] pass TP/X/0 (0.00 s)" in out
    assert "[2/2] fail TP/X/1 (0.00 s)\n        why" in out


def test_run_config_error_exits_2_before_tests(
    fakes: types.SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes.raise_ = ProfileErrors(
        [
            ProfileError("ixit.entity_b.authorizedEntities[1].kpsaKey: not hex"),
            ProfileError("ics.roles: unknown role 'x'"),
        ]
    )
    assert main(["run", "--sut", str(fakes.sut_file)]) == 2
    err = capsys.readouterr().err
    assert "ixit.entity_b.authorizedEntities[1].kpsaKey: not hex" in err
    assert "ics.roles: unknown role" in err
    assert not Path("reports/latest").exists()
    fakes.raise_ = ConfigError("spec profile: settings.sni_required: 'x' is not one of [...]")
    assert main(["run", "--sut", "reference"]) == 2
    assert "settings.sni_required" in capsys.readouterr().err


def test_run_missing_files(
    fakes: types.SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--sut", "nope.toml"]) == 2
    assert "--sut" in capsys.readouterr().err
    assert main(["run", "--sut", "reference", "--spec-profile", "nope.toml"]) == 2
    assert "--spec-profile" in capsys.readouterr().err
    assert fakes.options is None  # nothing ran


def test_run_select_matching_nothing_exits_2_before_touching_the_report(
    fakes: types.SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    report = Path("out")
    report.mkdir()
    (report / "report.html").write_text("the previous report", encoding="utf-8")
    argv = ["run", "--sut", "reference", "--report", "out", "--select", "TP/NOPE/*"]
    assert main([*argv, "--select", "NOPE-13"]) == 2
    err = capsys.readouterr().err
    # Every expression that matches nothing is named.
    assert "--select 'TP/NOPE/*' matches no test purpose" in err
    assert "--select 'NOPE-13' matches no test purpose" in err
    assert fakes.options is None  # nothing ran
    assert [p.name for p in report.iterdir()] == ["report.html"]
    assert (report / "report.html").read_text(encoding="utf-8") == "the previous report"


def test_run_warns_about_each_select_matching_nothing(
    fakes: types.SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--sut", "reference", "--select", "tp/saef-psk/b/*", "--select", "NOPE"]
    assert main([*argv, "--select", "saef-psk-11"]) == 0
    err = capsys.readouterr().err
    assert "warning: --select 'NOPE' matches no test purpose" in err
    assert "tp/saef-psk/b/*" not in err and "saef-psk-11" not in err  # both match
    assert fakes.options.select == ["tp/saef-psk/b/*", "NOPE", "saef-psk-11"]


def test_list_select_previews_a_selection(
    fakes: types.SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", "--select", "TP/SAEF-PSK/b/01", "--select", "typo"]) == 0
    captured = capsys.readouterr()
    assert "TP/SAEF-PSK/B/01  B completes" in captured.out
    assert "TP/SAEF-PSK/A/01" not in captured.out
    assert captured.out.rstrip().endswith("1 test purposes")
    assert "--select 'typo' matches no test purpose" in captured.err
    assert main(["list", "--select", "saef-psk-11", "--format", "json"]) == 0
    assert [r["tp"] for r in json.loads(capsys.readouterr().out)] == ["TP/SAEF-PSK/A/01"]
    assert main(["list", "--select", "TP/NOPE"]) == 2
    assert "--select 'TP/NOPE' matches no test purpose" in capsys.readouterr().err


def test_list_text_and_json(
    fakes: types.SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "TP/SAEF-PSK/B/01  B completes" in out and "SAEF-PSK-05" in out
    assert main(["list", "--sut", "reference", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["tp"] for r in rows] == ["TP/SAEF-PSK/B/01", "TP/SAEF-PSK/A/01"]
    assert rows[0]["applicable"] is True and rows[0]["requirements"] == ["SAEF-PSK-05"]
    assert rows[1]["applicable"] is False
    assert "entity_a" in rows[1]["not_applicable_reason"]


def test_validate(fakes: types.SimpleNamespace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(fakes.sut_file)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "Acme Box 2" in out and "entity_b" in out
    assert "TLS_PSK_WITH_AES_128_CBC_SHA256" in out or "0x00AE" in out
    fakes.profile_error = ProfileErrors(
        [ProfileError("sut.name: missing"), ProfileError("ixit.timeout: 500 is out of range")]
    )
    assert main(["validate", str(fakes.sut_file)]) == 2
    err = capsys.readouterr().err
    assert "sut.name: missing" in err and "ixit.timeout: 500 is out of range" in err
    assert main(["validate", "missing.toml"]) == 2


def test_faults(fakes: types.SimpleNamespace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["faults"]) == 0
    out = capsys.readouterr().out
    assert "silent_abort  saef-psk  close without an alert" in out and "no_sni" in out


def test_requirements(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["requirements", "--group", "SAEF-PSK"]) == 0
    out = capsys.readouterr().out
    assert "SAEF-PSK-11" in out and out.rstrip().endswith("15 requirements")
    assert main(["requirements", "--group", "param-ccf", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 13
    assert main(["requirements"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("235 requirements")
    assert main(["requirements", "--group", "NOPE"]) == 2
    assert "known: SAEF-COMMON" in capsys.readouterr().err


def test_run_harness_crash_is_not_a_sut_failure(
    fakes: types.SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    fakes.raise_ = ModuleNotFoundError("No module named 'harness.sut.reference_adapter'")
    assert main(["run", "--sut", "reference"]) == 3
    assert "harness error, no verdict" in capsys.readouterr().err
