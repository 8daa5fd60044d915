"""allure-results/: the campaign in Allure's result format, written from the merged result.

Written after the run from the same :class:`~harness.results.CampaignResult` as every
other report, with allure-python-commons' own model and file writer, rather than by
allure-pytest during the run: that way the Allure view cannot disagree with report.html
or junit.xml, instances the ICS excludes (deselected, so allure-pytest never sees them)
appear as *not applicable*, the per-purpose pcap and key log (written after the run)
can be attached, a run with pytest-xdist workers gives the same results as a sequential
one, and the run itself carries no Allure cost (allure-pytest's per-fixture containers
and teardown were 0.45 s of a campaign, issue 11).

Per purpose instance: the name is the instance id and title (``TP/SAEF-PSK/B/05[tls]
Entity B refuses ...``); labels place it by framework, SUT role and transport (suites:
framework / SUT role; behaviors: framework / feature / test purpose) and tag it with
its TP id and requirement IDs, which are also links into report.html; the Gherkin
steps are Allure steps with their outcomes; the verdict's reason is the status message
(never a traceback); the message sequence chart, the decoded trace, the pcap, the key
log and the SUT's own account are attachments. ``categories.json`` separates SUT
failures (failed) from harness errors (broken) and names inconclusive and not
applicable (skipped, told apart by the message's first word); ``environment.properties``
and ``executor.json`` describe the SUT, its ICS and the run.
"""

from __future__ import annotations

import hashlib
import html
import json
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from allure_commons.logger import AllureFileLogger
from allure_commons.model2 import (
    Attachment,
    Label,
    Link,
    Parameter,
    Status,
    StatusDetails,
    TestResult,
    TestStepResult,
)
from allure_commons.types import AttachmentType, LabelType

from harness.report.cucumber import read_features
from harness.report.decode import one_line
from harness.report.junit import classname
from harness.report.msc import standalone_svg
from harness.report.sources import cite
from harness.results import CampaignResult, Requirement, TpResult
from harness.verdict import Verdict

ALLURE_DIR = "allure-results"
PARENT_SUITE = "oneM2M TS-0003 conformance"
# report.html seen from an Allure report generated inside the report directory
# (``allure generate DIR/allure-results -o DIR/allure-report``).
REPORT_LINK = "../report.html"

STATUS = {
    Verdict.PASS: Status.PASSED,
    Verdict.FAIL: Status.FAILED,
    Verdict.ERROR: Status.BROKEN,
    Verdict.INCONCLUSIVE: Status.SKIPPED,
    Verdict.NOT_APPLICABLE: Status.SKIPPED,
}
STEP_STATUS = {
    "passed": Status.PASSED,
    str(Verdict.FAIL): Status.FAILED,
    str(Verdict.ERROR): Status.BROKEN,
    str(Verdict.INCONCLUSIVE): Status.SKIPPED,
    str(Verdict.NOT_APPLICABLE): Status.SKIPPED,
}
CATEGORIES = [
    {
        "name": "SUT failures: the SUT violated a requirement (verdict fail)",
        "matchedStatuses": [Status.FAILED],
    },
    {
        "name": "Harness errors: the tester failed, no verdict (verdict error)",
        "matchedStatuses": [Status.BROKEN],
    },
    {
        "name": "Inconclusive: the SUT gave no observation the purpose needs",
        "matchedStatuses": [Status.SKIPPED],
        "messageRegex": "(?s)inconclusive:.*",
    },
    {
        "name": "Not applicable: the SUT's ICS excludes the purpose",
        "matchedStatuses": [Status.SKIPPED],
        "messageRegex": "(?s)not applicable:.*",
    },
]


def _md5(*parts: str) -> str:
    return hashlib.md5("\x1f".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()


def _message(tp: TpResult) -> str:
    """The status message: the reason, prefixed by the verdict where the status alone
    does not say it (both inconclusive and not applicable are Allure's 'skipped')."""
    if tp.verdict in (Verdict.INCONCLUSIVE, Verdict.NOT_APPLICABLE):
        return f"{tp.verdict}: {tp.reason}"
    return tp.reason


def _trace_text(tp: TpResult) -> str:
    """The decoded trace, one line per message (the pcap holds the octets)."""
    lines: list[str] = []
    for number, trace in enumerate(tp.traces, start=1):
        local = f"{trace.local[0]}:{trace.local[1]}" if trace.local else "?"
        remote = f"{trace.remote[0]}:{trace.remote[1]}" if trace.remote else "?"
        lines.append(f"connection {number}: {trace.transport.upper()} harness {local} <-> {remote}")
        start = trace.messages[0].time if trace.messages else 0.0
        for m in trace.messages:
            arrow = "harness -> SUT" if m.direction == "sent" else "SUT -> harness"
            fields = one_line(m.fields)
            note = f"  [{m.note}]" if m.note else ""
            ms = max(0.0, m.time - start) * 1000
            lines.append(
                f"  {ms:8.1f} ms  {arrow}  {m.type}{': ' + fields if fields else ''}{note}"
            )
        if trace.omitted:
            lines.append(f"  {trace.omitted.describe()}")
    return "\n".join(lines) + "\n"


def _description_html(tp: TpResult, catalog: Mapping[str, Requirement]) -> str:
    """The verdict and reason, the requirements with their clause, the observations
    (HTML: Allure 2 shows a plain description as one paragraph)."""
    e = html.escape
    items = []
    for rid in tp.requirements:
        entry = catalog.get(rid)
        if entry is None:
            items.append(f"<li><code>{e(rid)}</code> (not in the catalogue)</li>")
            continue
        citation = cite(entry.source)
        where = f" <i>{e(citation.primary)}</i>" if citation.primary else ""
        items.append(f"<li><code>{e(rid)}</code> {e(entry.text)}{where}</li>")
    parts = [f"<p><b>Verdict {e(str(tp.verdict))}</b>: {e(tp.reason)}</p>"]
    if items:
        parts.append(f"<p>Requirements:</p><ul>{''.join(items)}</ul>")
    if tp.observations:
        observed = "".join(f"<li>{e(o)}</li>" for o in tp.observations)
        parts.append(f"<p>Observations:</p><ol>{observed}</ol>")
    return "".join(parts)


def _steps(tp: TpResult) -> list[TestStepResult]:
    """The Gherkin steps with their outcomes (no times: a result records only the case's
    duration, and invented step times would mislead)."""
    steps = []
    for step in tp.steps:
        outcome = str(step.get("outcome", ""))
        status = STEP_STATUS.get(outcome, Status.BROKEN)  # "running": it never finished
        details = None
        if status is not Status.PASSED:
            details = StatusDetails(message=_message(tp))
        steps.append(
            TestStepResult(
                name=f"{step.get('keyword', '')} {step.get('text', '')}".strip(),
                status=status,
                statusDetails=details,
            )
        )
    return steps


def _times(tp: TpResult, campaign_start: float) -> tuple[int, int]:
    """Start and stop in ms: the first message the case exchanged (the nearest to its
    start a result records), else the campaign's start; stop is start + duration."""
    firsts = [t.messages[0].time for t in tp.traces if t.messages]
    begin = min(firsts) if firsts else campaign_start
    start = int(begin * 1000)
    return start, start + int(tp.duration * 1000)


def _labels(tp: TpResult, result: CampaignResult, feature_names: Mapping[str, str]) -> list[Label]:
    labels = [
        Label(LabelType.PARENT_SUITE, PARENT_SUITE),
        Label(LabelType.SUITE, tp.framework or "?"),
        Label(LabelType.SUB_SUITE, f"SUT {tp.sut_role or '?'}"),
        Label(LabelType.EPIC, tp.framework or "?"),
        Label(LabelType.FEATURE, feature_names.get(tp.feature) or tp.feature or "?"),
        Label(LabelType.STORY, f"{tp.purpose} {tp.title}"),
        Label(LabelType.FRAMEWORK, tp.framework or "?"),
        Label("role", tp.sut_role or "?"),
        Label("transport", tp.transport or "?"),
        Label("verdict", str(tp.verdict)),
        Label(LabelType.HOST, str(result.sut.get("name") or "SUT")),
        Label(LabelType.LANGUAGE, "python"),
        Label(LabelType.TAG, tp.purpose),
    ]
    labels += [Label(LabelType.TAG, rid) for rid in tp.requirements]
    labels += [Label("requirement", rid) for rid in tp.requirements]
    return labels


def _links(tp: TpResult, anchor: str) -> list[Link]:
    links = [Link("link", f"{REPORT_LINK}#{anchor}", f"{tp.tp} in report.html")]
    links += [
        Link("requirement", f"{REPORT_LINK}#req-{rid}", f"{rid} in report.html")
        for rid in tp.requirements
    ]
    return links


def _parameters(tp: TpResult) -> list[Parameter]:
    parameters = [Parameter(name="transport", value=tp.transport)]
    rest = tp.dimensions.split(",", 1)[1] if "," in tp.dimensions else ""
    if rest:
        parameters.append(Parameter(name="instance", value=rest))
    return parameters


class _Writer:
    def __init__(self, directory: Path) -> None:
        self.logger = AllureFileLogger(str(directory))
        self.directory = directory

    def data(self, body: str, name: str, kind: AttachmentType) -> Attachment:
        source = f"{uuid.uuid4()}-attachment.{kind.extension}"
        self.logger.report_attached_data(body=body, file_name=source)
        return Attachment(name=name, source=source, type=kind.mime_type)

    def file(self, path: Path, name: str, kind: AttachmentType) -> Attachment | None:
        if not path.is_file():
            return None
        source = f"{uuid.uuid4()}-attachment.{kind.extension}"
        self.logger.report_attached_file(source=str(path), file_name=source)
        return Attachment(name=name, source=source, type=kind.mime_type)


def _attachments(tp: TpResult, writer: _Writer, report_dir: Path) -> list[Attachment]:
    found: list[Attachment | None] = []
    chart = standalone_svg(tp)
    if chart:
        found.append(writer.data(chart, "message sequence chart", AttachmentType.SVG))
    if tp.traces:
        found.append(writer.data(_trace_text(tp), "trace (decoded)", AttachmentType.TEXT))
    if "pcap" in tp.artifacts:
        found.append(writer.file(report_dir / tp.artifacts["pcap"], "pcap", AttachmentType.PCAP))
    if "keylog" in tp.artifacts:
        found.append(
            writer.file(
                report_dir / tp.artifacts["keylog"],
                "key log (NSS, for Wireshark)",
                AttachmentType.TEXT,
            )
        )
    if tp.sut_result:
        body = json.dumps(tp.sut_result, indent=2, ensure_ascii=False, default=str)
        found.append(writer.data(body, "the SUT's own account", AttachmentType.JSON))
    return [a for a in found if a is not None]


def _properties_value(value: Any) -> str:
    """A Java properties value on one line (backslashes and line ends escaped)."""
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    text = str(value)
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def environment(result: CampaignResult) -> dict[str, str]:
    """The Environment widget: the SUT, its ICS, changed spec-profile settings, the tool."""
    env: dict[str, str] = {}
    for key in ("name", "vendor", "version", "adapter", "profile"):
        if result.sut.get(key):
            env[f"sut.{key}"] = str(result.sut[key])
    if result.sut.get("faults"):
        env["sut.faults"] = ", ".join(result.sut["faults"])
    for key, value in sorted(result.ics.items()):
        env[f"ics.{key}"] = value if isinstance(value, str) else _properties_value(value)
    for key, raw in result.spec_profile.items():
        if isinstance(raw, Mapping) and "value" in raw:
            if raw.get("default", True):
                continue
            key = f"{raw.get('id', '')} {key}".strip()
            raw = raw["value"]
        env[f"spec_profile.{key}"] = str(raw)
    env["tool"] = f"m2mconf {result.tool_version}".strip()
    if result.command_line:
        env["command_line"] = result.command_line
    return env


def write_allure(
    result: CampaignResult,
    catalog: Mapping[str, Requirement],
    anchors: list[str],
    report_dir: Path,
) -> Path:
    """Replace ``report_dir/allure-results`` with this campaign's results.

    ``anchors`` are the purposes' element ids in report.html, in result order.
    """
    directory = report_dir / ALLURE_DIR
    shutil.rmtree(directory, ignore_errors=True)  # results of an earlier run would mix in
    writer = _Writer(directory)
    feature_names = {stem: f.name for stem, f in read_features().items()}
    for tp, anchor in zip(result.results, anchors, strict=True):
        start, stop = _times(tp, result.started)
        full_name = f"{classname(tp)}:{tp.tp}"
        details = None
        if tp.verdict is not Verdict.PASS:
            trace = "\n".join(tp.observations) or None
            details = StatusDetails(message=_message(tp), trace=trace)
        writer.logger.report_result(
            TestResult(
                uuid=str(uuid.uuid4()),
                historyId=_md5(full_name),
                testCaseId=_md5(classname(tp), tp.purpose),
                fullName=full_name,
                name=f"{tp.tp} {tp.title}".strip(),
                titlePath=[PARENT_SUITE, tp.framework or "?", f"SUT {tp.sut_role or '?'}"],
                status=STATUS[tp.verdict],
                statusDetails=details,
                stage="finished",
                descriptionHtml=_description_html(tp, catalog),
                steps=_steps(tp),
                attachments=_attachments(tp, writer, report_dir),
                parameters=_parameters(tp),
                labels=_labels(tp, result, feature_names),
                links=_links(tp, anchor),
                start=start,
                stop=stop,
            )
        )
    (directory / "categories.json").write_text(
        json.dumps(CATEGORIES, indent=2) + "\n", encoding="utf-8"
    )
    (directory / "environment.properties").write_text(
        "".join(
            f"{key.replace(' ', '_')}={_properties_value(value)}\n"
            for key, value in environment(result).items()
        ),
        encoding="utf-8",
    )
    (directory / "executor.json").write_text(
        json.dumps(
            {
                "name": "m2mconf",
                "type": "m2mconf",
                "buildName": result.command_line or "m2mconf run",
                "reportName": f"m2mconf report: {result.sut.get('name') or 'SUT'}",
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return directory
