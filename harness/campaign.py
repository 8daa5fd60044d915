"""Running a campaign: load and validate the inputs, run the scenarios, return the result.

Everything that can be wrong with the inputs (SUT profile, spec profile, unknown
mutant) is found here, before any test runs, and raised as :class:`ConfigError`
naming the field (``m2mconf`` exits 2 on it).
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.plugin import CampaignPlugin
from harness.results import CampaignResult
from harness.spec_profile import SpecProfile, SpecProfileError
from harness.testpurpose import TestPurposeInfo
from harness.verdict import HarnessError

ROOT = Path(__file__).resolve().parent.parent
STEPS_DIR = ROOT / "steps"
FEATURES_DIR = ROOT / "features"


class ConfigError(ValueError):
    """A malformed SUT profile, spec profile or option; the message names the field."""


@dataclass
class CampaignOptions:
    sut: str = "reference"  # "reference" or a path to a SUT profile TOML
    faults: list[str] = field(default_factory=list)  # mutants of the reference SUT
    select: list[str] = field(default_factory=list)  # TP ids/globs, requirement IDs, words
    report_dir: Path = Path("reports/latest")
    spec_profile: Path | None = None
    progress: Any = None
    allure: bool = True
    workers: int = 1  # >1: pytest-xdist workers, merged into one result (same reports)


def load_campaign_inputs(
    sut: str, faults: list[str] | tuple[str, ...], spec_path: Path | None
) -> tuple[Any, SpecProfile, Any]:
    """The SUT profile, spec profile and adapter, validated. Raises ConfigError."""
    from harness.sut.adapters import make_adapter
    from harness.sut.profile import load_profile, reference_profile

    try:
        profile = reference_profile() if sut == "reference" else load_profile(Path(sut))
    except ValueError as exc:  # ProfileError(s) subclass ValueError
        raise ConfigError(str(exc)) from exc
    except OSError as exc:
        raise ConfigError(f"{sut}: {exc.strerror or exc}") from exc
    try:
        spec = SpecProfile.load(spec_path)
    except SpecProfileError as exc:
        raise ConfigError(str(exc)) from exc
    try:
        adapter = make_adapter(profile, list(faults))
    except ValueError as exc:
        raise ConfigError(f"--fault: {exc}") from exc
    return profile, spec, adapter


def load_requirement_catalog() -> dict[str, Any]:
    try:
        from harness.requirements_catalog import load_catalog
    except ImportError:
        return {}
    return dict(load_catalog())


# pytest options that split a run over processes or machines, each with its own results:
# m2mconf could not merge them (pytest-xdist's own, pytest-parallel's, pytest-split's,
# pytest-shard's), so a campaign refuses them and offers --workers, which merges.
SPLITTING_OPTIONS = (
    "-n",
    "--numprocesses",
    "--maxprocesses",
    "-d",
    "--dist",
    "--tx",
    "-f",
    "--looponfail",
    "--workers",
    "--tests-per-worker",
    "--splits",
    "--group",
    "--shard-id",
    "--num-shards",
)


def splitting_options(arguments: list[str]) -> list[str]:
    """The arguments among ``arguments`` that would split the run (``-n2``, ``--dist=load``)."""
    found = []
    for argument in arguments:
        name = argument.split("=", 1)[0]
        if name in SPLITTING_OPTIONS or (
            argument.startswith("-n") and not argument.startswith("--") and argument[2:].isalnum()
        ):
            found.append(argument)
    return found


def worker_count(workers: int) -> int:
    """Validate --workers; pytest-xdist is needed for more than one."""
    if workers < 1:
        raise ConfigError(f"--workers: {workers} is not a number of worker processes (>= 1)")
    if workers > 1 and importlib.util.find_spec("xdist") is None:
        raise ConfigError(
            "--workers: more than one worker needs pytest-xdist (pip install pytest-xdist)"
        )
    return workers


def _xdist_arguments(options: CampaignOptions, workers: int) -> list[str]:
    """pytest-xdist workers, and the campaign inputs they load themselves (conftest.py
    builds each worker's campaign plugin from these options; paths made absolute)."""
    if workers == 1:
        return ["-p", "no:xdist"] if importlib.util.find_spec("xdist") is not None else []
    sut = options.sut if options.sut == "reference" else str(Path(options.sut).resolve())
    args = ["-p", "xdist", "-n", str(workers), "--dist", "load", "--m2m-sut", sut]
    for fault in options.faults:
        args += ["--m2m-fault", fault]
    for expression in options.select:
        args += ["--m2m-select", expression]
    if options.spec_profile is not None:
        args += ["--m2m-spec-profile", str(Path(options.spec_profile).resolve())]
    return args


def run_campaign(options: CampaignOptions) -> CampaignResult:
    split = splitting_options(shlex.split(os.environ.get("PYTEST_ADDOPTS", "")))
    if split:
        raise ConfigError(
            f"PYTEST_ADDOPTS: {' '.join(split)} would split the campaign into runs whose "
            "results m2mconf cannot merge; use m2mconf run --workers N instead"
        )
    workers = worker_count(options.workers)
    profile, spec, adapter = load_campaign_inputs(options.sut, options.faults, options.spec_profile)
    plugin = CampaignPlugin(
        lambda: (profile, spec, adapter),
        select=options.select,
        progress=options.progress,
        catalog=load_requirement_catalog(),
    )
    report_dir = Path(options.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    args = [
        str(STEPS_DIR),
        f"--rootdir={ROOT}",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "-p",
        "no:terminal",
        "-p",
        "no:randomly",
        "-p",
        "no:benchmark",  # pytest-benchmark, where installed: nothing to do in a campaign
    ]
    args += _xdist_arguments(options, workers)
    if options.allure and importlib.util.find_spec("allure_pytest") is not None:
        # Cleaned here, once: allure's --clean-alluredir would run in every worker, and
        # one worker's cleaning could delete another's results.
        allure_dir = report_dir / "allure-results"
        shutil.rmtree(allure_dir, ignore_errors=True)
        args += ["--alluredir", str(allure_dir)]
    else:
        args += ["-p", "no:allure_pytest"]
    code = pytest.main(args, plugins=[_Registered(plugin)])
    if code not in (
        pytest.ExitCode.OK,
        pytest.ExitCode.TESTS_FAILED,
        pytest.ExitCode.NO_TESTS_COLLECTED,
    ):
        raise HarnessError(f"the scenario run ended with pytest exit code {int(code)}")
    return plugin.result


class _Registered:
    """Registers the campaign plugin under its well-known name before conftest looks."""

    def __init__(self, plugin: CampaignPlugin) -> None:
        self.plugin = plugin

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        from harness.plugin import PLUGIN_NAME

        if not config.pluginmanager.has_plugin(PLUGIN_NAME):
            config.pluginmanager.register(self.plugin, PLUGIN_NAME)


def list_test_purposes() -> list[TestPurposeInfo]:
    """Every test purpose of the feature files, in file order, from their tags."""
    from pytest_bdd.feature import get_features

    purposes: list[TestPurposeInfo] = []
    for feature in get_features([str(FEATURES_DIR)]):
        stem = Path(feature.filename).stem
        for scenario in feature.scenarios.values():
            tags = set(scenario.tags) | set(feature.tags)
            purposes.append(TestPurposeInfo.from_tags(tags, scenario.name, stem))
    return purposes
