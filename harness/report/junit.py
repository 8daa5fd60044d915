"""junit.xml: one testcase per test purpose, for CI servers that read JUnit.

Written here rather than by pytest's ``--junitxml`` because the mapping is the
conformance one: fail is a <failure>, a harness error an <error>, and inconclusive and
not applicable are <skipped> whose message starts with the verdict ("inconclusive: the
SUT ...", "not applicable: ICS ..."), so a CI run never counts an undecided purpose as
passed and says why it was not. Requirement IDs go in <properties>.

Names are stable across machines and runs, so CI history lines up: the classname is
``<framework>.<SUT role>`` (``saef-psk.entity_b``), the name the purpose instance id
(``TP/SAEF-PSK/B/05[tls]``); nothing carries a path.
"""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.results import CampaignResult, TpResult
from harness.verdict import Verdict

SUITE_NAME = "m2mconf"


def _details(tp: TpResult) -> str:
    lines = [f"verdict: {tp.verdict}", f"reason: {tp.reason}"]
    if tp.observations:
        lines.append("observations:")
        lines.extend(f"  - {o}" for o in tp.observations)
    if tp.steps:
        lines.append("steps:")
        lines.extend(
            f"  {s.get('keyword', '')} {s.get('text', '')} [{s.get('outcome', '')}]".rstrip()
            for s in tp.steps
        )
    return "\n".join(lines)


def classname(tp: TpResult) -> str:
    """``saef-psk.entity_b``: framework and SUT role, the same on every machine."""
    return ".".join(p.replace(".", "_") for p in (tp.framework, tp.sut_role) if p) or SUITE_NAME


def _testcase(tp: TpResult) -> ET.Element:
    case = ET.Element(
        "testcase",
        {
            "classname": classname(tp),
            "name": tp.tp,
            "time": f"{tp.duration:.3f}",
        },
    )
    properties = ET.SubElement(case, "properties")
    for rid in tp.requirements:
        ET.SubElement(properties, "property", {"name": "requirement", "value": rid})
    for name in ("purpose", "title", "feature", "transport", "verdict"):
        ET.SubElement(properties, "property", {"name": name, "value": str(getattr(tp, name))})
    for name, path in tp.artifacts.items():
        ET.SubElement(properties, "property", {"name": f"artifact.{name}", "value": path})
    message = tp.reason or str(tp.verdict)
    if tp.verdict is Verdict.FAIL:
        ET.SubElement(case, "failure", {"message": message, "type": "fail"}).text = _details(tp)
    elif tp.verdict is Verdict.ERROR:
        ET.SubElement(case, "error", {"message": message, "type": "error"}).text = _details(tp)
    elif tp.verdict in (Verdict.INCONCLUSIVE, Verdict.NOT_APPLICABLE):
        ET.SubElement(
            case, "skipped", {"message": f"{tp.verdict}: {message}", "type": str(tp.verdict)}
        ).text = _details(tp)
    ET.SubElement(case, "system-out").text = _details(tp)
    return case


def junit_tree(result: CampaignResult) -> ET.ElementTree:
    counts = result.counts()
    duration = (
        max(0.0, result.finished - result.started)
        if result.finished
        else sum(r.duration for r in result.results)
    )
    attrs = {
        "name": SUITE_NAME,
        "tests": str(len(result.results)),
        "failures": str(counts[str(Verdict.FAIL)]),
        "errors": str(counts[str(Verdict.ERROR)]),
        "skipped": str(counts[str(Verdict.INCONCLUSIVE)] + counts[str(Verdict.NOT_APPLICABLE)]),
        "time": f"{duration:.3f}",
    }
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", attrs)
    if result.started:
        suite.set(
            "timestamp",
            datetime.datetime.fromtimestamp(result.started, datetime.UTC).isoformat(
                timespec="seconds"
            ),
        )
    suite.set("hostname", "127.0.0.1")
    properties = ET.SubElement(suite, "properties")
    for key in ("name", "vendor", "version", "adapter"):
        if result.sut.get(key):
            ET.SubElement(
                properties, "property", {"name": f"sut.{key}", "value": str(result.sut[key])}
            )
    for key, value in result.spec_profile.items():
        if isinstance(value, dict) and "value" in value:  # SpecProfile.to_json() item
            value = value["value"]
        ET.SubElement(properties, "property", {"name": f"spec_profile.{key}", "value": str(value)})
    for tp in result.results:
        suite.append(_testcase(tp))
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(result: CampaignResult, path: Path) -> Path:
    junit_tree(result).write(path, encoding="utf-8", xml_declaration=True)
    return path
