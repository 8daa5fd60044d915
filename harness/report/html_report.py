"""report.html: one self-contained page a lab hands to a customer.

The first screen answers the customer's question: which SUT, the overall decision
(conformant / not conformant / undecided) with the exit code CI saw, the counts by
verdict, framework and role, and every failing, erroneous and inconclusive purpose (one
row per purpose, its instances as links) with its one-line reason. The details follow:
requirement coverage as a compact matrix (one line per requirement), then per test
purpose instance (collapsed unless it needs attention) the requirements with their
TS-0003 clause, the reason, a message sequence chart of what crossed the wire (one
lifeline per party, faults the harness injected marked, the SUT's decisive message
highlighted), the Gherkin steps, the SUT's own account and the decoded trace (folded;
for a pass only its key fields, for the others every field and the octets: the pcap
holds them all). The ICS, the specification profile with each setting's meaning and the
run's provenance close the page. A passing instance costs about 6 kB of page.

The page is rendered by Jinja2 with autoescaping from ``templates/report.html.j2``:
every value from a SUT or a trace is escaped, and C0 controls (a psk_identity may hold
any octet) are shown as ``\\xNN``. The CSS is inline and nothing needs JavaScript, so
the file can be mailed or archived alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from harness import __version__
from harness.report.coverage import compute_coverage
from harness.report.decode import MAX_CHARS, shown_fields
from harness.report.json_report import iso_time
from harness.report.msc import MSC_CSS, SVG_DEFS, chart_svg, party_pair, role_label
from harness.report.sources import cite
from harness.results import CampaignResult, Requirement, TpResult
from harness.tls.trace import Trace
from harness.verdict import Verdict

TEMPLATES = Path(__file__).with_name("templates")
CSS_FILE = Path(__file__).with_name("report.css")
# The order a reader wants the purposes needing attention in: worst first.
ATTENTION = (Verdict.FAIL, Verdict.ERROR, Verdict.INCONCLUSIVE)
# Column heads of narrow count columns (the full word in their title).
SHORT_VERDICTS = {"inconclusive": "inc.", "not applicable": "n/a", "error": "err"}
MAX_RAW = 256  # octets of a message shown in hex (the pcap holds them all)

_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)}


def clean(value: object) -> object:
    """Every ``{{ value }}`` passes here before autoescaping: controls become ``\\xNN``."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return ""
    return str(value).translate(_CONTROLS)


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        finalize=clean,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["vclass"] = lambda v: "v-" + str(v).replace(" ", "-")
    env.filters["vshort"] = lambda v: SHORT_VERDICTS.get(str(v), str(v))
    return env


def _css() -> str:
    try:
        page = CSS_FILE.read_text(encoding="utf-8")
    except OSError:  # an installed copy without package data still renders
        page = ""
    return page + MSC_CSS


def anchors_for(names: Sequence[str]) -> list[str]:
    """Element ids of the purposes, from their unique safe names."""
    return [f"tp-{name}" for name in names]


def requirement_anchor(rid: str) -> str:
    return f"req-{rid}"


# --- view model -------------------------------------------------------------------------


@dataclass
class Cell:
    text: str
    exact: str = ""  # shown on hover: the full or the recorded value


def _cell(text: str, exact: str = "", limit: int = MAX_CHARS, *, hover: bool = True) -> Cell:
    """``text`` cut at ``limit``; the whole (or ``exact``) on hover unless ``hover`` is
    false (a pass's details, kept small: the pcap and report.json hold everything)."""
    if len(text) > limit:
        return Cell(text[:limit] + "…", (exact or text) if hover else "")
    return Cell(text, exact if hover else "")


def _trace_view(tp: TpResult, index: int, trace: Trace, with_raw: bool) -> dict[str, Any]:
    """One connection's messages. ``with_raw`` (a purpose needing attention): every
    decoded field and up to :data:`MAX_RAW` octets of each message; otherwise (a pass:
    the chart already shows times and directions) only the key fields, compactly."""
    local = f"{trace.local[0]}:{trace.local[1]}" if trace.local else "?"
    remote = f"{trace.remote[0]}:{trace.remote[1]}" if trace.remote else "?"
    party, peer = party_pair(tp, index, trace)
    start = trace.messages[0].time if trace.messages else 0.0
    rows = []
    for i, m in enumerate(trace.messages, start=1):
        raw = m.raw[:MAX_RAW].hex(" ") + (" …" if len(m.raw) > MAX_RAW else "")
        rows.append(
            {
                "i": i,
                "ms": f"{max(0.0, m.time - start) * 1000:.1f}",
                "sent": m.direction == "sent",
                "layer": m.layer,
                "type": m.type,
                "fields": [
                    (s.name, _cell(s.text, s.exact if with_raw else ""))
                    for s in shown_fields(m.fields, compact=not with_raw)
                ],
                "note": m.note,
                "fault": m.note.startswith("fault:"),
                "raw": raw if with_raw and m.raw else "",
                "raw_len": len(m.raw),
            }
        )
    return {
        "number": index + 1,
        "transport": trace.transport.upper(),
        "parties": f"{role_label(party)} (harness) ↔ {role_label(peer)}"
        + (" (SUT)" if peer == tp.sut_role else ""),
        "local": local,
        "remote": remote,
        "sent": sum(len(c.data) for c in trace.wire if c.direction == "sent"),
        "received": sum(len(c.data) for c in trace.wire if c.direction == "received"),
        "rows": rows,
        "notes": any(r["note"] for r in rows),
        "omitted": trace.omitted.describe() if trace.omitted else "",
    }


def _plain(value: Any) -> str:
    """A value of the SUT's account as a reader wants it: enums by value, mappings as
    ``key = value`` pairs, lists joined; empty parts left out."""
    value = getattr(value, "value", value)  # an Enum (Status.ESTABLISHED) -> "established"
    if isinstance(value, Mapping):
        return "; ".join(
            f"{k} = {_plain(v)}" for k, v in value.items() if v not in (None, "", [], {})
        )
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def _account_view(sut_result: Mapping[str, Any] | None, detailed: bool) -> list[dict[str, Any]]:
    """The SUT's own account: one row per key; a list of records (its legs) one line
    each, so a three-party case reads as three lines, not a Python dict. Long values
    are cut (``detailed``: at 400 characters, the whole value on hover; else at 120)."""
    limit = 400 if detailed else 120
    rows: list[dict[str, Any]] = []
    for key, value in sorted((sut_result or {}).items()):
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            lines = []
            for item in value:
                name = str(item.get("name", ""))
                rest = {k: v for k, v in item.items() if k != "name"}
                lines.append(
                    _cell(
                        f"{name}: {_plain(rest)}" if name else _plain(rest),
                        limit=limit,
                        hover=detailed,
                    )
                )
            rows.append({"key": key, "lines": lines})
        else:
            rows.append({"key": key, "lines": [_cell(_plain(value), limit=limit, hover=detailed)]})
    return rows


def _requirement_view(rid: str, catalog: Mapping[str, Requirement]) -> dict[str, Any]:
    entry = catalog.get(rid)
    citation = cite(entry.source) if entry else None
    return {
        "id": rid,
        "anchor": requirement_anchor(rid),
        "text": entry.text if entry else "",
        "catalogued": entry is not None,
        "clause": citation.primary if citation else "",
        "short_clause": citation.clause if citation else "",
        "seed": citation.secondary if citation else "",
    }


def _purpose_view(
    tp: TpResult, anchor: str, catalog: Mapping[str, Requirement], first: bool = True
) -> dict[str, Any]:
    """One purpose instance. Needing attention, it shows every detail and, if it is the
    ``first`` of its purpose with this verdict, is open (a purpose failing on five suites
    opens once; the other four are a click away, and linked from the summary)."""
    attention = tp.verdict is not Verdict.PASS and tp.verdict is not Verdict.NOT_APPLICABLE
    return {
        "tp": tp,
        "anchor": anchor,
        "open": attention and first,
        "feature": Path(tp.feature).name if tp.feature else "",
        "requirements": [_requirement_view(r, catalog) for r in tp.requirements],
        "chart": Markup(chart_svg(tp)),  # noqa: S704 - built from escaped parts in msc.py
        "account": _account_view(tp.sut_result, attention),
        "traces": [_trace_view(tp, i, t, attention) for i, t in enumerate(tp.traces)],
    }


def _matrix(result: CampaignResult) -> list[dict[str, Any]]:
    """Counts by verdict per (framework, SUT role)."""
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for tp in result.results:
        cell = cells.setdefault((tp.framework, tp.sut_role), {str(v): 0 for v in Verdict})
        cell[str(tp.verdict)] += 1
    return [
        {"framework": fw or "?", "role": role or "?", "counts": c, "total": sum(c.values())}
        for (fw, role), c in sorted(cells.items())
    ]


def _by_transport(result: CampaignResult) -> list[dict[str, Any]]:
    cells: dict[str, dict[str, int]] = {}
    for tp in result.results:
        cell = cells.setdefault(tp.transport, {str(v): 0 for v in Verdict})
        cell[str(tp.verdict)] += 1
    return [
        {"transport": t.upper(), "counts": c, "total": sum(c.values())}
        for t, c in sorted(cells.items())
    ]


def _coverage_view(
    result: CampaignResult, catalog: Mapping[str, Requirement], first_anchor: Mapping[str, str]
) -> dict[str, Any]:
    coverage = compute_coverage(result, catalog)
    instances: dict[str, list[TpResult]] = {}
    for tp in result.results:
        for rid in tp.requirements:
            instances.setdefault(rid, []).append(tp)
    rows = []
    for group, g in coverage["groups"].items():
        for rid, item in g["requirements"].items():
            counts = {str(v): 0 for v in Verdict}
            purposes: dict[str, Verdict] = {}
            for tp in instances.get(rid, []):
                counts[str(tp.verdict)] += 1
                worst = purposes.get(tp.purpose, tp.verdict)
                purposes[tp.purpose] = worst.worst(tp.verdict)
            view = _requirement_view(rid, catalog)
            view.update(
                group=group,
                verdict=item["verdict"],
                counts=counts,
                purposes=[
                    {
                        "id": purpose,
                        "short": purpose.removeprefix("TP/"),
                        "verdict": str(verdict),
                        "anchor": first_anchor.get(purpose, ""),
                    }
                    for purpose, verdict in purposes.items()
                ],
            )
            rows.append(view)
    untestable = [
        (r, why) for g in coverage["groups"].values() for r, why in g["not_testable"].items()
    ]
    uncovered = [r for g in coverage["groups"].values() for r in g["uncovered"]]
    return {
        "covered": coverage["covered"],
        "catalogued": coverage["catalogued"],
        "groups": [
            {"name": n, "covered": g["covered"], "catalogued": g["catalogued"]}
            for n, g in coverage["groups"].items()
        ],
        "rows": rows,
        "untestable": untestable,
        "uncovered": uncovered,
    }


def _settings_view(spec_profile: Mapping[str, Any]) -> list[dict[str, Any]]:
    try:
        from harness.spec_profile import SETTINGS

        known = {s.key: s for s in SETTINGS}
    except ImportError:
        known = {}
    rows = []
    for key, raw in spec_profile.items():
        if isinstance(raw, Mapping) and "value" in raw:
            sid, value, default = (
                str(raw.get("id", "")),
                raw["value"],
                bool(raw.get("default", True)),
            )
        else:
            sid, value, default = "", raw, True
        setting = known.get(key)
        rows.append(
            {
                "id": sid or (setting.id if setting else ""),
                "key": key,
                "value": value,
                "default": default,
                "meaning": setting.meaning if setting else "",
                "choices": ", ".join(str(c) for c in setting.choices) if setting else "",
                "source": setting.source if setting else "",
            }
        )
    return rows


def _attention(result: CampaignResult, anchors: Sequence[str]) -> list[dict[str, Any]]:
    """The purposes needing attention, worst verdict first, one row per purpose (its
    instances as links): a mutant failing one purpose on five suites is one line."""
    rows: dict[tuple[str, Verdict], dict[str, Any]] = {}
    for tp, anchor in zip(result.results, anchors, strict=True):
        if tp.verdict not in ATTENTION:
            continue
        row = rows.setdefault(
            (tp.purpose, tp.verdict),
            {"purpose": tp.purpose, "title": tp.title, "verdict": tp.verdict, "instances": []},
        )
        row["instances"].append(
            {"label": tp.dimensions or "details", "anchor": anchor, "reason": tp.reason}
        )
    out = sorted(rows.values(), key=lambda r: ATTENTION.index(r["verdict"]))
    for row in out:
        reasons = list(dict.fromkeys(i["reason"] for i in row["instances"]))
        row["reason"] = reasons[0]
        row["other_reasons"] = len(reasons) - 1
    return out


def _sut_line(sut: Mapping[str, Any]) -> str:
    """``Acme Box 2.1``: vendor, name, version, without the vendor twice."""
    vendor, name, version = (str(sut.get(k) or "") for k in ("vendor", "name", "version"))
    if vendor and name.lower().startswith(vendor.lower()):
        vendor = ""
    return " ".join(p for p in (vendor, name, version) if p) or "unnamed SUT"


def page_model(
    result: CampaignResult, catalog: Mapping[str, Requirement], names: Sequence[str]
) -> dict[str, Any]:
    anchors = anchors_for(names)
    first_anchor: dict[str, str] = {}
    for tp, anchor in zip(result.results, anchors, strict=True):
        first_anchor.setdefault(tp.tp, anchor)
        first_anchor.setdefault(tp.purpose, anchor)
    word, sentence = result.decision()
    attention = _attention(result, anchors)
    groups: list[dict[str, Any]] = []
    opened: set[tuple[str, Verdict]] = set()  # one open instance per purpose and verdict
    for tp, anchor in zip(result.results, anchors, strict=True):
        key = (tp.framework or "?", tp.sut_role or "?")
        if not groups or groups[-1]["key"] != key:
            groups.append({"key": key, "purposes": []})
        first = (tp.purpose, tp.verdict) not in opened
        opened.add((tp.purpose, tp.verdict))
        groups[-1]["purposes"].append(_purpose_view(tp, anchor, catalog, first))
    sut = result.sut
    duration = f"{result.finished - result.started:.1f} s" if result.finished else ""
    changed = [s for s in _settings_view(result.spec_profile) if not s["default"]]
    return {
        "title": f"m2mconf report: {sut.get('name') or 'SUT'}",
        "sut": sut,
        "sut_line": _sut_line(sut),
        "decision": word,
        "decision_class": word.replace(" ", "-"),
        "sentence": sentence,
        "exit_code": result.exit_code(),
        "verdicts": [str(v) for v in Verdict],
        "counts": result.counts(),
        "total": len(result.results),
        "applicable": len(result.applicable()),
        "matrix": _matrix(result),
        "by_transport": _by_transport(result),
        "attention": attention,
        "attention_instances": sum(len(a["instances"]) for a in attention),
        "coverage": _coverage_view(result, catalog, first_anchor),
        "groups": groups,
        "ics": sorted(result.ics.items()),
        "settings": _settings_view(result.spec_profile),
        "changed_settings": changed,
        "meta": [
            ("SUT", sut.get("name", "")),
            ("Vendor", sut.get("vendor", "")),
            ("Version", sut.get("version", "")),
            ("Adapter", sut.get("adapter", "")),
            ("Profile", sut.get("profile", "")),
            ("Faults injected into the SUT", ", ".join(sut.get("faults", []) or []) or "none"),
            ("Tool", f"m2mconf {result.tool_version or __version__}"),
            ("Command line", result.command_line),
            ("Started (UTC)", iso_time(result.started) or ""),
            ("Finished (UTC)", iso_time(result.finished) or ""),
            ("Duration", duration),
        ],
        "started": iso_time(result.started) or "",
        "duration": duration,
        "tool_version": result.tool_version or __version__,
        "css": Markup(_css()),  # noqa: S704 - the package's own stylesheet
        "svg_defs": Markup(SVG_DEFS),  # noqa: S704 - a constant
    }


def render_html(
    result: CampaignResult, catalog: Mapping[str, Requirement], names: Sequence[str]
) -> str:
    """The whole page. ``names`` are the purposes' unique safe names, in result order."""
    return _environment().get_template("report.html.j2").render(page_model(result, catalog, names))


def write_html(
    result: CampaignResult, catalog: Mapping[str, Requirement], names: Sequence[str], path: Path
) -> Path:
    path.write_text(render_html(result, catalog, names), encoding="utf-8")
    return path
