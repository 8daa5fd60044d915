"""The pytest plugin that turns pytest-bdd scenarios into a conformance campaign.

It owns the three things pytest does not know about: the ICS (purposes the SUT's
declared capabilities exclude are deselected and reported *not applicable*, never run
to an inconclusive end), the dimensions (transport, and one run per declared cipher
suite where a scenario asks for it), and the verdict (a SutFailure is fail, an
Inconclusive is inconclusive, any other exception is a harness error).

Under pytest-xdist (``m2mconf run --workers N``) the same plugin runs in every worker
and in the controller: each worker attaches the :class:`TpResult` it recorded to the
test report it sends home (pickled, as pytest-xdist carries only plain values) and its
not-applicable instances to its ``workeroutput``; the controller merges them into its
one :class:`CampaignResult`, in collection order, so every report is the same as a
sequential run's. An instance a worker never reported (a crashed worker) becomes a
harness error, never a silent gap.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pickle
import time
import traceback
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.results import CampaignResult, TpResult
from harness.spec_profile import SpecProfile
from harness.sut.contract import Framework, Role, SutAdapter, SutResult, Transport
from harness.testpurpose import EACH_DECLARED_SUITE, TestPurposeInfo
from harness.tls.suites import PROFILE_SUITES, suite_name
from harness.tls.trace import Trace
from harness.verdict import Inconclusive, NotApplicable, SutFailure, Verdict

PLUGIN_NAME = "m2mconf-campaign"
CASE_KEY = pytest.StashKey["Case"]()
STEPS_KEY = pytest.StashKey[list[dict[str, Any]]]()
# The attribute of a worker's TestReport, and the key of its workeroutput, that carry
# its results to the controller.
REPORT_ATTRIBUTE = "m2mconf_result"
NOT_APPLICABLE_KEY = "m2mconf_not_applicable"
# The workeroutput key of a worker's collected instances (nodeid -> TpResult without a
# verdict): what the controller names an instance after when its worker crashed on it.
INSTANCES_KEY = "m2mconf_instances"


@dataclass
class Case:
    """Everything one test case knows: its purpose, its SUT, and what it observed."""

    info: TestPurposeInfo
    transport: Transport
    cipher_suite: int | None
    profile: Any  # harness.sut.profile.SutProfile
    spec: SpecProfile
    adapter: SutAdapter
    observations: list[str] = field(default_factory=list)
    traces: list[Trace] = field(default_factory=list)
    sut_results: list[SutResult] = field(default_factory=list)
    legs: list[Any] = field(default_factory=list)  # harness.topology.LegRecord, in order
    cleanups: list[Any] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)  # step-to-step scratch space

    def observe(self, text: str) -> None:
        self.observations.append(text)

    def close(self) -> None:
        while self.cleanups:
            with contextlib.suppress(Exception):  # a cleanup must never mask the verdict
                self.cleanups.pop()()


def scenario_info(item: pytest.Item) -> TestPurposeInfo | None:
    function = getattr(item, "function", None)
    tags = getattr(function, "m2m_tags", None)
    if not tags:
        return None
    doc = (function.__doc__ or "").split(": ", 1)
    feature, title = (doc[0], doc[1]) if len(doc) == 2 else ("", doc[0])
    module = getattr(function, "m2m_feature", "") or feature
    return TestPurposeInfo.from_tags(tags, title, module)


def case_id(info: TestPurposeInfo, item: pytest.Item) -> str:
    """The purpose id with the dimensions of this instance, e.g. TP/SAEF-PSK/B/01[tls,0x00AE]."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return info.tp
    parts = [str(v) for k, v in callspec.params.items() if k == "transport"]
    suite = callspec.params.get("cipher_suite")
    if suite is not None:
        parts.append(f"0x{suite:04X}")
    example = callspec.params.get("_pytest_bdd_example")
    if example:
        parts.append("; ".join(str(v) for v in example.values()))
    return f"{info.tp}[{','.join(parts)}]" if parts else info.tp


class CampaignPlugin:
    """Holds the campaign's inputs (SUT profile, spec profile, adapter) and its result.

    The inputs come from a loader called on first use, so that a pytest run with no
    scenarios (the suite's own tests) never loads a SUT profile.
    """

    def __init__(
        self,
        load_inputs: Callable[[], tuple[Any, SpecProfile, SutAdapter]],
        select: list[str] | None = None,
        progress: Any = None,
        catalog: dict[str, Any] | None = None,
    ) -> None:
        self._load_inputs = load_inputs
        self._inputs: tuple[Any, SpecProfile, SutAdapter] | None = None
        self.select = list(select or [])
        self.progress = progress
        self.catalog = dict(catalog or {})
        self._result: CampaignResult | None = None
        # pytest-xdist roles: "worker", "controller" or "" (a sequential run).
        self._xdist = ""
        self._order: dict[str, int] = {}  # controller: nodeid -> collection index
        self._executed: dict[str, TpResult] = {}  # controller: nodeid -> worker's result
        self._not_applicable: list[TpResult] | None = None  # controller: from a worker
        self._lost: dict[str, str] = {}  # controller: nodeid -> why its worker gave none
        self._instances: dict[str, TpResult] = {}  # worker: collected; controller: received
        self._deselected: list[TpResult] = []  # not applicable, recorded at collection

    def _loaded(self) -> tuple[Any, SpecProfile, SutAdapter]:
        if self._inputs is None:
            self._inputs = self._load_inputs()
        return self._inputs

    @property
    def profile(self) -> Any:
        return self._loaded()[0]

    @property
    def spec(self) -> SpecProfile:
        return self._loaded()[1]

    @property
    def adapter(self) -> SutAdapter:
        return self._loaded()[2]

    @property
    def result(self) -> CampaignResult:
        if self._result is None:
            self._result = CampaignResult(
                sut=_sut_summary(self.profile, self.adapter),
                ics=_ics_summary(self.profile),
                spec_profile=self.spec.to_json(),
                started=time.time(),
                requirements=self.catalog,
            )
        return self._result

    # --- collection -------------------------------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        tags = getattr(metafunc.function, "m2m_tags", None)
        if not tags:
            return
        if "transport" in metafunc.fixturenames:
            # Every transport the suite knows; the ICS decides later which are applicable,
            # so a TLS-only SUT's report still lists the DTLS instances as not applicable.
            only = {t.split(":", 1)[1] for t in tags if t.startswith("transport:")}
            transports = [t for t in Transport if not only or t.value in only]
            metafunc.parametrize("transport", transports, ids=[str(t) for t in transports])
        if "cipher_suite" in metafunc.fixturenames:
            if EACH_DECLARED_SUITE in tags:
                suites = [s for s in self.profile.ics.cipher_suites if s in PROFILE_SUITES]
                metafunc.parametrize(
                    "cipher_suite",
                    suites or [None],
                    ids=[suite_name(s) for s in suites] or ["none"],
                )
            else:
                metafunc.parametrize("cipher_suite", [None], ids=[""])

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        if not any(scenario_info(item) for item in items):
            return
        self.result.started = time.time()
        keep: list[pytest.Item] = []
        dropped: list[pytest.Item] = []
        for item in items:
            info = scenario_info(item)
            if info is None:
                keep.append(item)
                continue
            if not info.matches(self.select):
                dropped.append(item)
                continue
            reason = self._exclusion(info, item)
            if reason is not None:
                dropped.append(item)
                excluded = self._record(item, info, Verdict.NOT_APPLICABLE, reason, duration=0.0)
                self._deselected.append(excluded)
                continue
            keep.append(item)
            if self._xdist == "worker":
                self._instances[item.nodeid] = self._instance(item, info, Verdict.ERROR, "")
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = keep
        if self.progress is not None:
            self.progress.start(len(keep), not_applicable=len(self._deselected))

    def _exclusion(self, info: TestPurposeInfo, item: pytest.Item) -> str | None:
        """Why the ICS excludes this instance, or None."""
        ics = self.profile.ics
        try:
            role, framework = Role(info.sut_role), Framework(info.framework)
        except ValueError:
            return (
                f"scenario tags name an unknown role/framework ({info.sut_role}/{info.framework})"
            )
        callspec = getattr(item, "callspec", None)
        transport = (
            Transport(callspec.params["transport"])
            if callspec and "transport" in callspec.params
            else Transport.TLS
        )
        reason = ics.supports(role, framework, transport)
        if reason:
            return reason
        if (
            EACH_DECLARED_SUITE in info.flags
            and callspec
            and callspec.params.get("cipher_suite") is None
        ):
            return "the ICS declares no cipher suite of the profile"
        return None

    # --- steps ------------------------------------------------------------------------

    def pytest_bdd_before_step(self, request: pytest.FixtureRequest, step: Any) -> None:
        request.node.stash.setdefault(STEPS_KEY, []).append(
            {"keyword": step.keyword, "text": step.name, "outcome": "running"}
        )

    def pytest_bdd_after_step(self, request: pytest.FixtureRequest) -> None:
        steps = request.node.stash.get(STEPS_KEY, [])
        if steps:
            steps[-1]["outcome"] = "passed"

    def pytest_bdd_step_error(self, request: pytest.FixtureRequest, exception: Exception) -> None:
        steps = request.node.stash.get(STEPS_KEY, [])
        if steps:
            steps[-1]["outcome"] = _verdict_for(exception).value

    # --- verdicts ---------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        info = scenario_info(item)
        if info is None:
            return report
        if call.when == "setup" and report.passed:
            return report
        if call.when == "teardown" and (report.passed or item.stash.get(_DONE, False)):
            return report
        item.stash[_DONE] = True
        if call.excinfo is None:
            verdict, reason = Verdict.PASS, "every check of the purpose held"
        else:
            exc = call.excinfo.value
            verdict = _verdict_for(exc)
            reason = _reason_for(exc, verdict, call.when)
            if verdict in (Verdict.INCONCLUSIVE, Verdict.NOT_APPLICABLE):
                report.outcome = "skipped"
                report.longrepr = (str(item.path), 0, f"{verdict}: {reason}")
        result = self._record(item, info, verdict, reason, duration=call.duration)
        if self._xdist == "worker":
            setattr(report, REPORT_ATTRIBUTE, pickle.dumps(result))
        return report

    @staticmethod
    def _instance(
        item: pytest.Item, info: TestPurposeInfo, verdict: Verdict, reason: str
    ) -> TpResult:
        """The instance's identity (id with its dimensions, title, requirements) with a
        verdict, and nothing observed yet."""
        callspec = getattr(item, "callspec", None)
        transport = str(callspec.params.get("transport", "tls")) if callspec else "tls"
        return TpResult(
            tp=case_id(info, item),
            title=info.title,
            feature=Path(info.feature).stem if info.feature else "",
            framework=info.framework,
            sut_role=info.sut_role,
            transport=transport,
            requirements=list(info.requirements),
            verdict=verdict,
            reason=reason,
            nodeid=item.nodeid,
        )

    def _record(
        self,
        item: pytest.Item,
        info: TestPurposeInfo,
        verdict: Verdict,
        reason: str,
        duration: float,
    ) -> TpResult:
        case: Case | None = item.stash.get(CASE_KEY, None)
        result = self._instance(item, info, verdict, reason)
        result.duration = duration
        result.steps = list(item.stash.get(STEPS_KEY, []))
        if case is not None:
            result.observations = list(case.observations)
            result.traces = list(case.traces)
            result.sut_result = case.sut_results[-1].to_json() if case.sut_results else None
            result.legs = [leg.to_json() for leg in case.legs]
        self.result.results.append(result)
        if self.progress is not None and verdict is not Verdict.NOT_APPLICABLE:
            self.progress.update(result)
        return result

    # --- pytest-xdist: workers report, the controller merges ------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        config = session.config
        if hasattr(config, "workerinput"):
            self._xdist = "worker"
        elif config.pluginmanager.has_plugin("dsession"):
            self._xdist = "controller"  # collects nothing itself: the campaign starts now
            self.result.started = time.time()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """Every worker collects the same instances; the first list fixes the order."""
        if self._order:
            return
        self._order = {nodeid: index for index, nodeid in enumerate(ids)}
        if self.progress is not None:
            self.progress.start(len(ids))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self._xdist != "controller":
            return
        blob = getattr(report, REPORT_ATTRIBUTE, None)
        if blob is None:
            if report.failed and report.nodeid not in self._executed:
                self._lost[report.nodeid] = str(report.longrepr or "")[-400:]
            return
        result: TpResult = pickle.loads(blob)  # our own worker's result, same code
        self._executed.setdefault(report.nodeid, result)
        self._lost.pop(report.nodeid, None)
        if self.progress is not None and result.verdict is not Verdict.NOT_APPLICABLE:
            self.progress.update(result)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """A worker that ended normally sends what it collected; one that crashed sends
        nothing, and any surviving worker's lists stand for it (all collect the same)."""
        output = getattr(node, "workeroutput", None) or {}
        blob = output.get(NOT_APPLICABLE_KEY)
        if blob is not None and self._not_applicable is None:
            self._not_applicable = pickle.loads(blob)
        instances = output.get(INSTANCES_KEY)
        if instances is not None and not self._instances:
            self._instances = pickle.loads(instances)

    def _merge(self) -> None:
        """The controller's one result: the not-applicable instances, then the executed
        ones in collection order (a sequential run's order); a lost one is an error."""
        if not self._order and self._not_applicable is None:
            return
        executed = []
        for nodeid in sorted(self._order, key=self._order.__getitem__):
            result = self._executed.get(nodeid)
            if result is None:
                result = _lost_result(nodeid, self._lost, self._instances.get(nodeid))
                if self.progress is not None:
                    self.progress.update(result)
            executed.append(result)
        self.result.results = [*(self._not_applicable or []), *executed]

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self._xdist == "worker" and hasattr(session.config, "workeroutput"):
            session.config.workeroutput[NOT_APPLICABLE_KEY] = pickle.dumps(self._deselected)
            session.config.workeroutput[INSTANCES_KEY] = pickle.dumps(self._instances)
        elif self._xdist == "controller":
            self._merge()
        if self._result is not None:
            self._result.finished = time.time()


_DONE = pytest.StashKey[bool]()


def _lost_result(nodeid: str, lost: dict[str, str], instance: TpResult | None) -> TpResult:
    """A harness error for an instance whose worker sent no result (crash, lost node),
    named as a surviving worker collected it (its id, title and requirements), else by
    its pytest node id."""
    why = lost.get(nodeid, "").strip().splitlines()
    reason = "harness error: the pytest-xdist worker running this instance gave no result" + (
        f" ({why[-1]})" if why else " (it crashed or was lost)"
    )
    if instance is not None:
        return dataclasses.replace(instance, verdict=Verdict.ERROR, reason=reason)
    return TpResult(
        tp=nodeid,
        title="",
        feature="",
        framework="",
        sut_role="",
        transport="",
        requirements=[],
        verdict=Verdict.ERROR,
        reason=reason,
        nodeid=nodeid,
    )


def _verdict_for(exc: BaseException) -> Verdict:
    if isinstance(exc, SutFailure):
        return Verdict.FAIL
    if isinstance(exc, Inconclusive):
        return Verdict.INCONCLUSIVE
    if isinstance(exc, NotApplicable):
        return Verdict.NOT_APPLICABLE
    return Verdict.ERROR


def _reason_for(exc: BaseException, verdict: Verdict, when: str) -> str:
    text = str(exc).strip() or type(exc).__name__
    if verdict is Verdict.ERROR:
        frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
        where = f" at {frame[0].filename.rsplit('/', 1)[-1]}:{frame[0].lineno}" if frame else ""
        return f"harness error during {when}: {type(exc).__name__}: {text}{where}"
    return text


def _sut_summary(profile: Any, adapter: SutAdapter) -> dict[str, Any]:
    sut = profile.sut
    return {
        "name": sut.name,
        "vendor": getattr(sut, "vendor", ""),
        "version": getattr(sut, "version", ""),
        "adapter": getattr(adapter, "name", str(profile.adapter)),
        "profile": str(getattr(profile, "path", "") or "built-in reference profile"),
        "faults": list(getattr(adapter, "faults", ()) or ()),
    }


def _ics_summary(profile: Any) -> dict[str, Any]:
    ics = profile.ics
    return {
        "roles": sorted(str(r) for r in ics.roles),
        "frameworks": sorted(str(f) for f in ics.frameworks),
        "transports": sorted(str(t) for t in ics.transports),
        "cipher_suites": [suite_name(s) for s in ics.cipher_suites],
        "extended_master_secret": ics.extended_master_secret,
        "observation_channel": ics.observation_channel,
    }
