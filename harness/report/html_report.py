"""report.html: one self-contained page a lab and a vendor can both read.

In the manner of Autobahn|Testsuite and TLS-Anvil reports: the header says exactly what
was tested and how (SUT, adapter, ICS, the specification-profile settings in force,
tool version, command line), the summary says how it went, and each test purpose shows
the requirements it decides with their catalogued text, the verdict in colour *and* in
words, the reason, the Gherkin steps with their outcome and the wire trace as a message
list. The CSS is inline and nothing needs JavaScript, so the file can be mailed or
archived alone. Every value from a SUT or a trace passes through :func:`html.escape`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness import __version__
from harness.report.coverage import compute_coverage
from harness.report.json_report import iso_time
from harness.results import CampaignResult, Requirement, TpResult
from harness.tls.trace import Trace, TraceEntry
from harness.verdict import Verdict

CSS_FILE = Path(__file__).with_name("report.css")
MAX_FIELD_CHARS = 160
# Decoded fields shown first in a trace row, in this order; the rest follow.
KEY_FIELDS = (
    "version",
    "cipher_suite",
    "cipher_suites",
    "server_name",
    "psk_identity",
    "psk_identity_hint",
    "extended_master_secret",
    "extensions",
    "verify_data",
    "level",
    "description",
    "length",
)


# C0 controls (but tab and newline) and DEL: HTML may not carry them, and a SUT's
# psk_identity can hold any octet ("KpsaId\0...") that the report must still show.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)}


def esc(value: object) -> str:
    return html.escape(str(value).translate(_CONTROLS), quote=True)


def verdict_badge(verdict: Verdict | str) -> str:
    """The verdict as a coloured label that also reads as a word (no colour-only cue)."""
    word = str(verdict)
    return f'<span class="verdict v-{word.replace(" ", "-")}">{esc(word.upper())}</span>'


def _css() -> str:
    try:
        return CSS_FILE.read_text(encoding="utf-8")
    except OSError:  # an installed copy without package data still renders
        return ""


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """A table; cells in ``rows`` are already escaped HTML."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    class_attr = f' class="{cls}"' if cls else ""
    return f"<table{class_attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _meta_table(items: Iterable[tuple[str, object]]) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{_value(v)}</td></tr>" for k, v in items)
    return f'<table class="meta">{rows}</table>'


def _value(value: object) -> str:
    """A decoded value, compact and escaped: lists joined, dicts as JSON, long text cut."""
    if isinstance(value, bytes):
        text = value.hex()
    elif isinstance(value, list | tuple):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(value, default=str, ensure_ascii=False)
    elif value is None or value == "":
        return '<span class="muted">–</span>'
    else:
        text = str(value)
    if len(text) > MAX_FIELD_CHARS:
        return f'<span title="{esc(text)}">{esc(text[:MAX_FIELD_CHARS])}…</span>'
    return esc(text)


def _setting_text(value: object) -> tuple[str, str, bool]:
    """(setting id, value, is default) from a SpecProfile.to_json() item or a plain value."""
    if isinstance(value, dict) and "value" in value:
        return str(value.get("id", "")), str(value["value"]), bool(value.get("default", True))
    return "", str(value), True


# --- header and summary ------------------------------------------------------------------


def _header(result: CampaignResult) -> str:
    sut = result.sut
    title = sut.get("name") or "unnamed SUT"
    duration = f"{result.finished - result.started:.2f} s" if result.finished else ""
    meta = _meta_table(
        [
            ("SUT", sut.get("name", "")),
            ("Vendor", sut.get("vendor", "")),
            ("Version", sut.get("version", "")),
            ("Adapter", sut.get("adapter", "")),
            ("Profile", sut.get("profile", "")),
            ("Faults injected into the SUT", sut.get("faults", []) or "none"),
            ("Tool", f"m2mconf {result.tool_version or __version__}"),
            ("Command line", result.command_line),
            ("Started (UTC)", iso_time(result.started) or ""),
            ("Finished (UTC)", iso_time(result.finished) or ""),
            ("Duration", duration),
        ]
    )
    ics = _meta_table(sorted(result.ics.items())) if result.ics else "<p>No ICS recorded.</p>"
    settings_rows = []
    for key, raw in result.spec_profile.items():
        sid, value, default = _setting_text(raw)
        cls = "" if default else ' class="nondefault"'
        note = "default" if default else "<strong>changed</strong>"
        settings_rows.append(
            f"<tr{cls}><td>{esc(sid)}</td><td><code>{esc(key)}</code></td>"
            f"<td><code>{esc(value)}</code></td><td>{note}</td></tr>"
        )
    settings = (
        "<table><thead><tr><th>Setting</th><th>Key</th><th>Value</th><th></th></tr></thead>"
        f"<tbody>{''.join(settings_rows)}</tbody></table>"
        if settings_rows
        else "<p>No specification profile recorded.</p>"
    )
    return (
        f"<header><h1>oneM2M TS-0003 conformance report: {esc(title)}</h1>{meta}</header>"
        f'<h2 id="ics">Implementation conformance statement (ICS)</h2>{ics}'
        f'<h2 id="spec-profile">Specification profile</h2>'
        "<p>The interpretation settings in force; a verdict that depends on one names it "
        f"in its reason.</p>{settings}"
    )


def _summary(result: CampaignResult) -> str:
    counts = result.counts()
    total = len(result.results)
    badges = " ".join(
        f"{verdict_badge(v)} <strong>{counts[str(v)]}</strong>&nbsp;&nbsp;" for v in Verdict
    )
    matrix: dict[tuple[str, str], dict[str, int]] = {}
    for tp in result.results:
        cell = matrix.setdefault((tp.framework, tp.sut_role), {str(v): 0 for v in Verdict})
        cell[str(tp.verdict)] += 1
    rows = [
        [esc(fw or "?"), esc(role or "?")]
        + [f'<span class="num">{cell[str(v)] or ""}</span>' for v in Verdict]
        + [str(sum(cell.values()))]
        for (fw, role), cell in sorted(matrix.items())
    ]
    table = _table(["Framework", "SUT role", *[str(v) for v in Verdict], "total"], rows)
    return f'<h2 id="summary">Summary</h2><p>{total} test purpose instances: {badges}</p>{table}'


def _coverage(
    result: CampaignResult, catalog: Mapping[str, Requirement], anchors: Mapping[str, str]
) -> str:
    coverage = compute_coverage(result, catalog)
    parts = [
        '<h2 id="coverage">Requirement coverage</h2>',
        f"<p>{coverage['covered']} of {coverage['catalogued']} catalogued requirements are "
        "decided by at least one test purpose; a requirement's verdict is the worst of its "
        "purposes.</p>",
    ]
    group_rows = [
        [esc(name), f"{g['covered']}", f"{g['catalogued']}"]
        for name, g in coverage["groups"].items()
    ]
    parts.append(_table(["Group", "covered", "catalogued"], group_rows))
    rows = []
    for name, g in coverage["groups"].items():
        for rid, item in g["requirements"].items():
            entry = catalog.get(rid)
            text = esc(entry.text) if entry else '<span class="fault">not in the catalogue</span>'
            links = ", ".join(
                f'<a href="#{esc(anchors.get(tp, ""))}"><code>{esc(tp)}</code></a>'
                for tp in item["purposes"]
            )
            rows.append(
                [f"<code>{esc(rid)}</code>", esc(name), verdict_badge(item["verdict"]), text, links]
            )
    parts.append(_table(["Requirement", "Group", "Verdict", "Text", "Test purposes"], rows))
    untestable = [
        (rid, why) for g in coverage["groups"].values() for rid, why in g["not_testable"].items()
    ]
    if untestable:
        parts.append(
            f"<details><summary>{len(untestable)} requirements not black-box testable</summary>"
            + _table(
                ["Requirement", "Why"], [[f"<code>{esc(r)}</code>", esc(w)] for r, w in untestable]
            )
            + "</details>"
        )
    uncovered = [rid for g in coverage["groups"].values() for rid in g["uncovered"]]
    if uncovered:
        parts.append(
            f"<details><summary>{len(uncovered)} requirements not covered by this campaign"
            '</summary><p class="mono">' + esc(", ".join(uncovered)) + "</p></details>"
        )
    return "".join(parts)


def _index(results: Sequence[TpResult], anchors: Sequence[str]) -> str:
    rows = [
        [
            f'<a href="#{esc(anchor)}"><code>{esc(tp.tp)}</code></a>',
            esc(tp.title),
            verdict_badge(tp.verdict),
            f"{tp.duration:.2f} s",
            esc(tp.reason),
        ]
        for tp, anchor in zip(results, anchors, strict=True)
    ]
    return '<h2 id="purposes">Test purposes</h2>' + _table(
        ["Test purpose", "Title", "Verdict", "Time", "Reason"], rows
    )


# --- one test purpose ----------------------------------------------------------------------


def _direction(entry: TraceEntry) -> str:
    if entry.direction == "sent":
        return '<span class="dir-sent">harness → SUT</span>'
    return '<span class="dir-received">SUT → harness</span>'


# Fields holding cipher-suite codes: shown in hex, as every specification writes them.
SUITE_FIELDS = frozenset({"cipher_suites", "cipher_suite"})


def _suite_hex(value: Any) -> Any:
    if isinstance(value, int):
        return f"0x{value:04X}"
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return ", ".join(f"0x{v:04X}" for v in value)
    return value


def _fields(fields: Mapping[str, Any]) -> str:
    ordered = [k for k in KEY_FIELDS if k in fields] + [k for k in fields if k not in KEY_FIELDS]
    return "<br>".join(
        f"<code>{esc(k)}</code> = {_value(_suite_hex(fields[k]) if k in SUITE_FIELDS else fields[k])}"
        for k in ordered
    )


def _trace(trace: Trace, number: int) -> str:
    local = f"{trace.local[0]}:{trace.local[1]}" if trace.local else "?"
    remote = f"{trace.remote[0]}:{trace.remote[1]}" if trace.remote else "?"
    sent = sum(len(c.data) for c in trace.wire if c.direction == "sent")
    received = sum(len(c.data) for c in trace.wire if c.direction == "received")
    start = trace.messages[0].time if trace.messages else 0.0
    rows = []
    for i, m in enumerate(trace.messages, start=1):
        note = f'<span class="fault">{esc(m.note)}</span>' if m.note else ""
        raw = (
            f"<details><summary>{len(m.raw)} bytes</summary><pre>{esc(m.raw.hex(' '))}</pre></details>"
            if m.raw
            else ""
        )
        rows.append(
            [
                str(i),
                f"{max(0.0, m.time - start) * 1000:.1f} ms",
                _direction(m),
                esc(m.layer),
                f"<strong>{esc(m.type)}</strong>",
                _fields(m.fields),
                note,
                raw,
            ]
        )
    table = _table(
        ["#", "t", "Direction", "Layer", "Message", "Decoded fields", "Note", "Raw"], rows, "trace"
    )
    return (
        f"<h4>Connection {number}: {esc(trace.transport.upper())}, harness {esc(local)} ↔ SUT "
        f'{esc(remote)} <span class="muted">({sent} bytes sent, {received} bytes received, '
        f"{len(trace.messages)} messages)</span></h4>{table if rows else '<p>No messages.</p>'}"
    )


def _purpose(tp: TpResult, anchor: str, catalog: Mapping[str, Requirement]) -> str:
    vclass = f"v-{str(tp.verdict).replace(' ', '-')}"
    parts = [
        f'<section class="tp {vclass}" id="{esc(anchor)}">',
        f"<h3>{esc(tp.tp)} {verdict_badge(tp.verdict)}</h3>",
        f"<div><strong>{esc(tp.title)}</strong></div>",
        f'<p class="reason">Verdict <strong>{esc(tp.verdict)}</strong>: {esc(tp.reason)}</p>',
        _meta_table(
            [
                ("Feature", tp.feature),
                ("Framework / SUT role", f"{tp.framework} / {tp.sut_role}"),
                ("Transport", tp.transport),
                ("Duration", f"{tp.duration:.3f} s"),
                ("pytest node", tp.nodeid),
            ]
        ),
    ]
    if tp.requirements:
        items = []
        for rid in tp.requirements:
            entry = catalog.get(rid)
            text = esc(entry.text) if entry else '<span class="muted">not catalogued</span>'
            source = (
                f' <span class="muted">({esc(entry.source)})</span>'
                if entry and entry.source
                else ""
            )
            items.append(f"<li><code>{esc(rid)}</code>: {text}{source}</li>")
        parts.append(f"<h4>Requirements</h4><ul>{''.join(items)}</ul>")
    if tp.observations:
        parts.append(
            "<h4>Observations</h4><ol>"
            + "".join(f"<li>{esc(o)}</li>" for o in tp.observations)
            + "</ol>"
        )
    if tp.steps:
        rows = [
            [
                f"<strong>{esc(s.get('keyword', ''))}</strong>",
                esc(s.get("text", "")),
                f'<span class="outcome-{esc(str(s.get("outcome", "")).replace(" ", "-"))}">'
                f"{esc(s.get('outcome', ''))}</span>",
            ]
            for s in tp.steps
        ]
        parts.append("<h4>Steps</h4>" + _table(["", "Step", "Outcome"], rows))
    if tp.sut_result:
        parts.append("<h4>The SUT's own account</h4>" + _meta_table(tp.sut_result.items()))
    if tp.traces:
        parts.append("<h4>Wire trace</h4>")
        parts.extend(_trace(t, i) for i, t in enumerate(tp.traces, start=1))
    if tp.artifacts:
        links = " ".join(
            f'<a href="{esc(path)}">{esc(name)}: <code>{esc(path)}</code></a>'
            for name, path in tp.artifacts.items()
        )
        parts.append(f"<p>Artifacts: {links}</p>")
    parts.append('<p><a href="#summary">back to summary</a></p></section>')
    return "".join(parts)


def anchors_for(names: Sequence[str]) -> list[str]:
    """Element ids of the purposes, from their unique safe names."""
    return [f"tp-{name}" for name in names]


def render_html(
    result: CampaignResult, catalog: Mapping[str, Requirement], names: Sequence[str]
) -> str:
    """The whole page. ``names`` are the purposes' unique safe names, in result order."""
    anchors = anchors_for(names)
    first_anchor: dict[str, str] = {}
    for tp, anchor in zip(result.results, anchors, strict=True):
        first_anchor.setdefault(tp.tp, anchor)
    title = f"m2mconf report: {result.sut.get('name', 'SUT')}"
    nav = (
        '<nav><a href="#summary">Summary</a><a href="#coverage">Coverage</a>'
        '<a href="#purposes">Test purposes</a><a href="#ics">ICS</a>'
        '<a href="#spec-profile">Specification profile</a></nav>'
    )
    body = "".join(
        [
            _header(result),
            _summary(result),
            _coverage(result, catalog, first_anchor),
            _index(result.results, anchors),
            "".join(
                _purpose(tp, anchor, catalog)
                for tp, anchor in zip(result.results, anchors, strict=True)
            ),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_css()}</style></head>"
        f'<body>{nav}{body}<footer><p class="muted">Generated by m2mconf '
        f"{esc(result.tool_version or __version__)}.</p></footer></body></html>\n"
    )


def write_html(
    result: CampaignResult, catalog: Mapping[str, Requirement], names: Sequence[str], path: Path
) -> Path:
    path.write_text(render_html(result, catalog, names), encoding="utf-8")
    return path
