"""What a campaign produced: one :class:`TpResult` per test purpose, and the campaign.

The report writers (harness.report) read only this model, so JSON, HTML, JUnit and
pcap outputs cannot disagree about a verdict.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import Any

from harness.tls.trace import Trace
from harness.verdict import Verdict


@dataclass
class Requirement:
    id: str  # e.g. SAEF-PSK-11
    text: str  # the requirement as catalogued
    source: str = ""  # seed, clause, lines
    observation: str = ""  # how a black-box test sees it


@dataclass
class TpResult:
    tp: str  # test purpose id, e.g. TP/SAEF-PSK/B/UNKNOWN-ID
    title: str  # the scenario name
    feature: str  # feature file stem
    framework: str
    sut_role: str
    transport: str
    requirements: list[str]
    verdict: Verdict
    reason: str  # one sentence a vendor can act on
    observations: list[str] = field(default_factory=list)  # what was seen, step by step
    steps: list[dict[str, Any]] = field(default_factory=list)  # {keyword, text, outcome}
    traces: list[Trace] = field(default_factory=list)  # one per connection the case made
    sut_result: dict[str, Any] | None = None
    duration: float = 0.0
    nodeid: str = ""
    artifacts: dict[str, str] = field(default_factory=dict)  # name -> path relative to report dir
    # One per leg of the case, in order (harness.topology.LegRecord.to_json(): name,
    # party, peer, summary, started): which parties each trace connects, for the charts.
    legs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def purpose(self) -> str:
        """The test purpose id without this instance's dimensions: TP/SAEF-PSK/B/01."""
        return self.tp.split("[", 1)[0]

    @property
    def dimensions(self) -> str:
        """This instance's dimensions as written in its id (``tls,0x00AE``), or ''."""
        return self.tp[len(self.purpose) :].strip("[]")

    def to_json(self, *, with_traces: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "tp": self.tp,
            "title": self.title,
            "feature": self.feature,
            "framework": self.framework,
            "sut_role": self.sut_role,
            "transport": self.transport,
            "requirements": list(self.requirements),
            "verdict": str(self.verdict),
            "reason": self.reason,
            "observations": list(self.observations),
            "steps": list(self.steps),
            "sut_result": self.sut_result,
            "duration": round(self.duration, 4),
            "nodeid": self.nodeid,
            "artifacts": dict(self.artifacts),
            "legs": [dict(leg) for leg in self.legs],
        }
        if with_traces:
            data["traces"] = [t.to_json() for t in self.traces]
        return data


@dataclass
class CampaignResult:
    sut: dict[str, Any]  # name, vendor, version, adapter
    ics: dict[str, Any]  # the declared capabilities
    spec_profile: dict[str, Any]  # the interpretation settings in force
    started: float
    finished: float = 0.0
    results: list[TpResult] = field(default_factory=list)
    requirements: dict[str, Requirement] = field(default_factory=dict)  # catalogue for the report
    tool_version: str = ""
    command_line: str = ""
    # The signal that interrupted the campaign ("SIGINT"), or "": the instances it kept
    # from running are errors whose reason starts "not run:" (harness.interrupt).
    interrupted: str = ""

    def counts(self) -> dict[str, int]:
        counts = {str(v): 0 for v in Verdict}
        for r in self.results:
            counts[str(r.verdict)] += 1
        return counts

    def applicable(self) -> list[TpResult]:
        return [r for r in self.results if r.verdict is not Verdict.NOT_APPLICABLE]

    def decision(self) -> tuple[str, str]:
        """The campaign's overall statement, (word, sentence), agreeing with the exit code:
        "not conformant" (1), "undecided" (3), "conformant" (0, for the purposes run)."""
        counts = self.counts()
        ran = len(self.applicable())
        code = self.exit_code()
        if self.interrupted:
            not_run = sum(1 for r in self.results if r.reason.startswith("not run:"))
            return "interrupted", (
                f"The campaign was interrupted by {self.interrupted}: {not_run} test purpose "
                'instances did not run (reported as errors, "not run"), so it decides '
                "nothing; the verdicts of those that ran stand."
            )
        if code == 1:
            failed = counts[str(Verdict.FAIL)]
            return "not conformant", (
                f"{failed} of {ran} applicable test purpose instances failed: the SUT "
                "violated the requirements they check."
            )
        if code == 3 and not ran:
            return "undecided", (
                "No test purpose instance ran: every one selected is not applicable to the "
                "SUT's ICS (or none was collected), so nothing was decided."
            )
        if code == 3:
            undecided = counts[str(Verdict.ERROR)] + counts[str(Verdict.INCONCLUSIVE)]
            return "undecided", (
                f"No test purpose failed, but {undecided} of {ran} applicable instances "
                "ended inconclusive or in a harness error, so the campaign cannot decide."
            )
        return "conformant", (
            f"Every one of the {ran} applicable test purpose instances passed (conformance "
            "to the purposes selected, under the specification profile in force)."
        )

    def exit_code(self) -> int:
        """0: every applicable purpose passed; 1: a purpose failed; 3: no failure, but an
        error or an inconclusive verdict kept the campaign from deciding, or nothing was
        decided at all (every purpose not applicable, or none ran: nothing decided is
        not a pass)."""
        if self.interrupted:  # 128 + the signal, as a shell reports it: SIGINT 130
            return 128 + int(getattr(signal.Signals, self.interrupted, signal.SIGINT))
        verdicts = {r.verdict for r in self.results}
        if Verdict.FAIL in verdicts:
            return 1
        if verdicts & {Verdict.ERROR, Verdict.INCONCLUSIVE}:
            return 3
        if Verdict.PASS not in verdicts:
            return 3
        return 0
