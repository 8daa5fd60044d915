"""Message sequence charts of a test purpose, as inline SVG built from its traces.

A reader sees in one picture who talked to whom (one lifeline per party: the SUT and
every party the harness played, so a MAF case with Entity A, Entity B and the MAF has
three), what the harness did on purpose (injected faults, marked red and dashed) and
which message of the SUT decided the verdict (highlighted): the first fatal alert it
sent, otherwise its last message, or a note that it sent nothing.

Which parties a trace connects comes from the case's leg records (``TpResult.legs``,
one per leg in order, each naming the harness party and its peer); a trace without a
leg record is the harness playing the role opposite the SUT's. Arrows are ordered by
time across every connection, so legs that overlap (the MAF answering Entity B while
Entity A waits) interleave as they did on the wire.

The markup is compact (classes styled once by :data:`MSC_CSS` in the page's style
sheet, one arrowhead marker defined once per page by :data:`SVG_DEFS`), because a
campaign has a chart per purpose. :func:`standalone_svg` embeds both, for an SVG file
on its own (the Allure attachment).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.results import TpResult
from harness.tls.trace import Trace, TraceEntry

ROLE_ORDER = ("entity_a", "entity_b", "maf", "mef", "bsf", "enrolee")
ROLE_LABELS = {
    "entity_a": "Entity A",
    "entity_b": "Entity B",
    "maf": "MAF",
    "mef": "MEF",
    "bsf": "BSF",
    "enrolee": "Enrolee",
}
OPPOSITE = {"entity_a": "entity_b", "entity_b": "entity_a"}

LEFT = 64  # room for the time column
GAP = 230  # between lifelines
TOP = 46  # header boxes
ROW = 24
NOTE_WIDTH = 330  # the notes column right of the last lifeline
MAX_LABEL = 44
MAX_NOTE = 60

# The arrowhead, in user units so the decisive (thicker) arrow's head is no larger.
_MARKER = (
    '<marker id="msc-ah" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" '
    'markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
    'fill="context-stroke"/></marker>'
)
# Defined once per page; every chart's arrows refer to it.
SVG_DEFS = (
    f'<svg class="msc-defs" width="0" height="0" aria-hidden="true"><defs>{_MARKER}</defs></svg>'
)
# The charts' style, once per page (html_report adds it to the page's style sheet).
MSC_CSS = """\
svg.msc { font: 12px system-ui, sans-serif; background: #fcfcfe; border: 1px solid #ececf2; }
svg.msc rect.ll { fill: #eef1f8; stroke: #8a8aa0; } svg.msc rect.ll.sut { fill: #fff3d6; stroke: #b08400; }
svg.msc line.ll { stroke: #b4b4c4; stroke-dasharray: 4 3; }
svg.msc .lh { text-anchor: middle; font-weight: 600; }
svg.msc line.a { stroke: #34345a; stroke-width: 1.3; marker-end: url(#msc-ah); }
svg.msc line.a.f, svg.msc circle.a.f { stroke: #c01818; stroke-dasharray: 5 3; stroke-width: 1.6; fill: #c01818; }
svg.msc line.a.d { stroke-width: 2.6; stroke: #0a4fa3; }
svg.msc rect.dh { fill: #fff1a8; }
svg.msc .m { text-anchor: middle; } svg.msc .m.f { fill: #c01818; font-weight: 600; }
svg.msc .t { fill: #8a8a95; font-size: 10px; }
svg.msc .n { fill: #6a6a75; font-style: italic; } svg.msc .n.f { fill: #c01818; font-style: normal; }
svg.msc .n.d { fill: #0a4fa3; font-weight: 600; }
svg.msc .e { fill: #34345a; }
"""

_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)}


def _text(value: object, limit: int = 0) -> str:
    text = str(value).translate(_CONTROLS)
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=True)


@dataclass
class Lifeline:
    key: str  # a role ("entity_b") or a harness label
    label: str
    sut: bool


@dataclass
class Arrow:
    source: str  # lifeline keys
    target: str
    label: str  # the message type
    connection: int  # 1-based trace number
    time: float
    note: str = ""
    fault: bool = False
    decisive: bool = False
    from_sut: bool = False


@dataclass
class Chart:
    lifelines: list[Lifeline]
    arrows: list[Arrow]
    endings: list[str] = field(default_factory=list)  # one line per connection
    silent_sut: bool = False  # the SUT sent nothing at all


def is_fault(entry: TraceEntry) -> bool:
    """A deviation the harness injected on purpose (the engine notes them 'fault: ...')."""
    return entry.note.startswith("fault:") or entry.layer == "datagram"


def _label(entry: TraceEntry) -> str:
    if entry.layer == "alert" or entry.type.lower() == "alert":
        level = entry.fields.get("level", "")
        description = entry.fields.get("description", "")
        return f"Alert({level} {description})".replace("( ", "(").replace(" )", ")")
    return entry.type


def role_label(key: str) -> str:
    """``entity_a`` -> ``Entity A``; other keys as they are."""
    return ROLE_LABELS.get(key, key)


def party_pair(tp: TpResult, index: int, trace: Trace) -> tuple[str, str]:
    """(harness party, peer) of the ``index``-th trace, from the legs when they say it."""
    legs: Sequence[Mapping[str, Any]] = tp.legs
    leg: Mapping[str, Any] | None = None
    if len(legs) == len(tp.traces):
        leg = legs[index]
    elif legs:
        # Not one leg per trace: the leg recorded nearest after the trace's last message.
        end = trace.messages[-1].time if trace.messages else 0.0
        later = [g for g in legs if float(g.get("started", 0.0)) >= end]
        leg = min(later, key=lambda g: float(g.get("started", 0.0))) if later else legs[-1]
    if leg and leg.get("party") and leg.get("peer"):
        return str(leg["party"]), str(leg["peer"])
    return OPPOSITE.get(tp.sut_role, "harness"), tp.sut_role or "sut"


def _order(key: str) -> tuple[int, str]:
    return (ROLE_ORDER.index(key), key) if key in ROLE_ORDER else (len(ROLE_ORDER), key)


def decisive_arrow(from_sut: Sequence[Arrow]) -> Arrow | None:
    """The SUT's message a reader looks at first: its first fatal alert (a refusal),
    else its last message that is not the closing ``close_notify`` (the answer it
    gave: a Finished, an HTTP response), else its last message."""
    fatal = next((a for a in from_sut if "fatal" in a.label), None)
    if fatal is not None:
        return fatal
    closing = "close_notify"
    answer = next((a for a in reversed(from_sut) if closing not in a.label), None)
    return answer or (from_sut[-1] if from_sut else None)


def build_chart(tp: TpResult) -> Chart:
    sut_key = tp.sut_role or "sut"
    keys = {sut_key}
    arrows: list[Arrow] = []
    for number, trace in enumerate(tp.traces, start=1):
        party, peer = party_pair(tp, number - 1, trace)
        keys.update((party, peer))
        for entry in trace.messages:
            source, target = (party, peer) if entry.direction == "sent" else (peer, party)
            arrows.append(
                Arrow(
                    source,
                    target,
                    _label(entry),
                    number,
                    entry.time,
                    entry.note,
                    is_fault(entry),
                    from_sut=source == sut_key,
                )
            )
    arrows.sort(key=lambda a: a.time)  # stable: one connection's order is kept on ties
    from_sut = [a for a in arrows if a.from_sut]
    decisive = decisive_arrow(from_sut)
    if decisive is not None:
        decisive.decisive = True
    lifelines = [
        Lifeline(
            key,
            f"{role_label(key)} ({'SUT' if key == sut_key else 'harness'})",
            key == sut_key,
        )
        for key in sorted(keys, key=_order)
    ]
    endings = []
    for number, leg in enumerate(tp.legs, start=1):
        summary = str(leg.get("summary", ""))
        if summary:
            endings.append(f"{number}. {leg.get('name', 'leg')}: {summary}")
    return Chart(lifelines, arrows, endings, silent_sut=bool(tp.traces) and not from_sut)


def render_svg(chart: Chart, title: str = "") -> str:
    """The chart as one ``<svg>`` element (needs :data:`SVG_DEFS` and the page CSS)."""
    x = {line.key: LEFT + GAP // 2 + i * GAP for i, line in enumerate(chart.lifelines)}
    right = max(x.values()) + GAP // 2
    rows = len(chart.arrows) + (1 if chart.silent_sut else 0)
    bottom = TOP + 14 + rows * ROW
    height = bottom + 10 + 16 * len(chart.endings) + 6
    width = right + NOTE_WIDTH
    start = chart.arrows[0].time if chart.arrows else 0.0
    out = [
        f'<svg class="msc" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f"<title>{_text(title or 'message sequence chart')}</title>"
    ]
    out.append('<text class="t" x="4" y="24">t (ms)</text>')
    for line in chart.lifelines:
        cx = x[line.key]
        cls = "ll sut" if line.sut else "ll"
        out.append(
            f'<rect class="{cls}" x="{cx - 95}" y="6" width="190" height="26" rx="4"/>'
            f'<text class="lh" x="{cx}" y="24">{_text(line.label)}</text>'
            f'<line class="{cls}" x1="{cx}" y1="32" x2="{cx}" y2="{bottom}"/>'
        )
    y = TOP + 10
    for arrow in chart.arrows:
        y += ROW
        x1, x2 = x[arrow.source], x[arrow.target]
        classes = "a" + (" f" if arrow.fault else "") + (" d" if arrow.decisive else "")
        if arrow.decisive:
            out.append(
                f'<rect class="dh" x="{min(x1, x2) + 4}" y="{y - 17}" '
                f'width="{abs(x2 - x1) - 8}" height="{ROW - 2}" rx="3"/>'
            )
        ms = max(0.0, arrow.time - start) * 1000
        out.append(f'<text class="t" x="4" y="{y - 3}">{ms:.1f}</text>')
        if x1 == x2:  # a note on one lifeline (a harness-side action)
            out.append(f'<circle class="{classes}" cx="{x1}" cy="{y - 4}" r="4"/>')
        else:
            out.append(f'<line class="{classes}" x1="{x1}" y1="{y}" x2="{x2}" y2="{y}"/>')
        prefix = "⚡ " if arrow.fault else ""
        suffix = f" [{arrow.connection}]" if len(chart.endings) > 1 or arrow.connection > 1 else ""
        mark = "  ◀ decisive" if arrow.decisive else ""
        out.append(
            f'<text class="{"m f" if arrow.fault else "m"}" x="{(x1 + x2) // 2}" y="{y - 4}">'
            f"{_text(prefix + arrow.label + suffix, MAX_LABEL)}</text>"
        )
        if arrow.note or mark:
            note_class = "n f" if arrow.fault else "n"
            out.append(
                f'<text class="{note_class}" x="{right + 8}" y="{y - 3}">'
                f"{_text((arrow.note or '') + mark, MAX_NOTE)}</text>"
            )
    if chart.silent_sut:
        y += ROW
        sut_x = next(x[line.key] for line in chart.lifelines if line.sut)
        out.append(f'<text class="n d" x="{sut_x + 8}" y="{y - 4}">the SUT sent nothing</text>')
    for i, ending in enumerate(chart.endings):
        out.append(
            f'<text class="e" x="{LEFT}" y="{bottom + 16 + i * 16}">{_text(ending, 140)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def chart_svg(tp: TpResult) -> str:
    """The purpose's chart, or an empty string when it made no connection."""
    if not tp.traces:
        return ""
    return render_svg(build_chart(tp), f"{tp.tp}: message sequence chart")


def standalone_svg(tp: TpResult) -> str:
    """The purpose's chart as an SVG document of its own (style and marker inside), or ''."""
    chart = chart_svg(tp)
    if not chart:
        return ""
    head, _, rest = chart.partition("</title>")
    css = MSC_CSS.replace("\n", " ")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{head}</title><defs>{_MARKER}</defs><style>{css}</style>{rest}'
