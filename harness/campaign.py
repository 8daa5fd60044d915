"""Running a campaign: load and validate the inputs, run the scenarios, return the result.

Everything that can be wrong with the inputs (SUT profile, spec profile, unknown
mutant) is found here, before any test runs, and raised as :class:`ConfigError`
naming the field (``m2mconf`` exits 2 on it).
"""

from __future__ import annotations

import importlib.util
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness import interrupt
from harness.plugin import CampaignPlugin
from harness.results import CampaignResult
from harness.scenario_tree import FEATURES_DIR, ROOT, STEPS_DIR  # also imported from here
from harness.spec_profile import SpecProfile, SpecProfileError
from harness.sut.command_adapter import stop_live_sessions
from harness.testpurpose import TestPurposeInfo
from harness.verdict import HarnessError


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
    allure: bool = True  # for the caller writing the reports: include allure-results/
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


@dataclass(frozen=True)
class Selection:
    """What ``--select`` expressions pick from the feature files, before anything runs."""

    expressions: tuple[str, ...]
    purposes: tuple[TestPurposeInfo, ...]  # the selected purposes, in file order
    unmatched: tuple[str, ...]  # expressions that select no purpose at all

    @property
    def empty(self) -> bool:
        """Expressions were given and none of them selects anything."""
        return bool(self.expressions) and not self.purposes

    def describe_unmatched(self) -> str:
        return "; ".join(f"--select {e!r} matches no test purpose" for e in self.unmatched)


def select_purposes(
    expressions: list[str] | tuple[str, ...], purposes: list[TestPurposeInfo] | None = None
) -> Selection:
    """The purposes ``expressions`` select among ``purposes`` (default: the feature
    files'; all when there is no expression), and which expressions select nothing
    (each is worth a warning: a typo hides a purpose)."""
    purposes = list_test_purposes() if purposes is None else purposes
    chosen = tuple(p for p in purposes if p.matches(list(expressions)))
    unmatched = tuple(e for e in expressions if not any(p.matches_expression(e) for p in purposes))
    return Selection(tuple(expressions), chosen, unmatched)


def check_selection(expressions: list[str] | tuple[str, ...]) -> Selection:
    """:func:`select_purposes`, raising ConfigError when the expressions select nothing
    (checked before a campaign touches its report directory)."""
    selection = select_purposes(expressions)
    if selection.empty:
        raise ConfigError(selection.describe_unmatched())
    return selection


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


# Options of splitting plugins, with the value that leaves the run whole (dest -> default):
# pytest-split, pytest-shard, pytest-parallel. Checked on the parsed options, however
# they arrived (command line, PYTEST_ADDOPTS, a plugin or conftest setting them).
SPLITTING_DESTS: dict[str, object] = {
    "splits": None,
    "group": None,
    "shard_id": 0,
    "num_shards": 1,
    "tests_per_worker": None,
    "workers": None,
}


def split_problem(config: pytest.Config, workers: int) -> str | None:
    """Why the options pytest parsed would run the campaign other than in ``workers``
    merged processes (one: this process alone), or None. Catches what a look at the words
    of PYTEST_ADDOPTS cannot: ``-vn2``, an option a plugin or conftest.py set."""
    option = config.option
    if getattr(option, "looponfail", False):
        return "-f/--looponfail re-runs the scenarios in a loop of separate runs"
    numprocesses = getattr(option, "numprocesses", None) or 0
    tx = list(getattr(option, "tx", None) or [])
    if workers == 1 and (numprocesses or tx):
        return f"pytest-xdist was asked for {numprocesses or len(tx)} worker(s)"
    if workers > 1:
        dist = getattr(option, "dist", "no")
        if numprocesses != workers or len(tx) != workers or dist != "worksteal":
            return (
                f"pytest-xdist was asked for -n {numprocesses}, {len(tx)} gateway(s), "
                f"--dist {dist} instead of the {workers} workers of --workers"
            )
    for dest, whole in SPLITTING_DESTS.items():
        value = getattr(option, dest, whole)
        if value != whole:
            return f"the option {dest.replace('_', '-')}={value!r} of a splitting plugin"
    return None


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
    # worksteal: an idle worker takes queued instances from a busy one, so a few long
    # cases (DTLS discards waiting out their bound) do not leave one worker alone at the end.
    args = ["-p", "xdist", "-n", str(workers), "--dist", "worksteal", "--m2m-sut", sut]
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
    check_selection(options.select)  # before the report directory is touched
    plugin = CampaignPlugin(
        lambda: (profile, spec, adapter),
        select=options.select,
        progress=options.progress,
        catalog=load_requirement_catalog(),
    )
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
        "-p",
        "no:hypothesispytest",  # hypothesis, where installed: 0.6 s of imports per process
    ]
    args += _xdist_arguments(options, workers)
    # allure-results are written afterwards from the merged result (harness.report.allure),
    # like every other report, so allure-pytest has nothing to do during the run.
    args += ["-p", "no:allure_pytest"]
    # SIGINT/SIGTERM/SIGHUP: the running case is torn down (its shim stopped), the rest
    # is reported "not run", the exit code is 128 + the signal (harness.interrupt); the
    # plugin option reaches pytest-xdist workers, which install the same handlers.
    args += ["-p", "harness.interrupt"]
    ledger = interrupt.RunLedger()
    with interrupt.handling():
        try:
            registered = _Registered(plugin, workers)
            code = pytest.main(args, plugins=[registered, ledger])
        finally:
            stop_live_sessions()  # a backstop: every case stops its own SUT
        signum = interrupt.received()
    if signum is not None:
        interrupt.report_interrupt(interrupt.mark_not_run(plugin.result, ledger, signum))
        return plugin.result
    if registered.refused is not None:
        raise ConfigError(
            f"{registered.refused}: it would split the campaign into runs whose results "
            "m2mconf cannot merge; use m2mconf run --workers N instead"
        )
    if code == pytest.ExitCode.USAGE_ERROR:
        # Before any scenario ran: an option pytest rejects (PYTEST_ADDOPTS, say -n with
        # pytest-xdist off for --workers 1); pytest printed which on stderr.
        raise ConfigError(
            "pytest refused its options (see above; PYTEST_ADDOPTS is "
            f"{os.environ.get('PYTEST_ADDOPTS', '')!r})"
        )
    if code not in (
        pytest.ExitCode.OK,
        pytest.ExitCode.TESTS_FAILED,
        pytest.ExitCode.NO_TESTS_COLLECTED,
    ):
        raise HarnessError(f"the scenario run ended with pytest exit code {int(code)}")
    return plugin.result


class _Registered:
    """Registers the campaign plugin under its well-known name before conftest looks,
    and refuses parsed options that would split the campaign (:func:`split_problem`)."""

    def __init__(self, plugin: CampaignPlugin, workers: int = 1) -> None:
        self.plugin = plugin
        self.workers = workers
        self.refused: str | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        from harness.plugin import PLUGIN_NAME

        self.refused = split_problem(config, self.workers)
        if self.refused is not None:
            raise pytest.UsageError(self.refused)
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
