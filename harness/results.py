"""What a campaign produced: one :class:`TpResult` per test purpose, and the campaign.

The report writers (harness.report) read only this model, so JSON, HTML, JUnit and
pcap outputs cannot disagree about a verdict.
"""

from __future__ import annotations

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

    def counts(self) -> dict[str, int]:
        counts = {str(v): 0 for v in Verdict}
        for r in self.results:
            counts[str(r.verdict)] += 1
        return counts

    def exit_code(self) -> int:
        """0: every applicable purpose passed; 1: a purpose failed; 3: no failure, but an
        error or an inconclusive verdict kept the campaign from deciding."""
        verdicts = {r.verdict for r in self.results}
        if Verdict.FAIL in verdicts:
            return 1
        if verdicts & {Verdict.ERROR, Verdict.INCONCLUSIVE}:
            return 3
        return 0
