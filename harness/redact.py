"""``m2mconf run --redact``: reports a lab can share without sharing keys.

A campaign's reports carry key material in three places: the SUT's own account (the
RFC 5705 exporter values it reports, per leg too), the verdict text that compares
those values with the harness's (a mismatch names both), and the traces (the NSS key
log with each master secret, written as ``captures/*.keys``; the plaintext of
application data, which in the MAF-based SAEF is the key-retrieval answer carrying
Kc). :func:`redact_result` removes all of them from a :class:`CampaignResult` before
any report is written, so every format (report.json, report.html, junit.xml, and the
others written from the same model) is redacted alike and no ``.keys`` file is made.

What stays: verdicts, reasons (with key values replaced), the decoded handshake
messages (random values, suites, identities: all sent in clear on the wire) and the
pcap, which holds only what crossed the wire. Text is redacted by shape: every run of
32 or more hex digits (16 octets, the shortest Kpsa) becomes ``[redacted]``, so an
identifier written in hex that long (a KcID's relative part) is hidden too: a redacted
report errs on the side of keys.
"""

from __future__ import annotations

import re
from typing import Any

from harness.results import CampaignResult, TpResult
from harness.tls.trace import Trace

REDACTED = "[redacted]"
HEX_RUN = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{32,}(?![0-9A-Fa-f])")
KEY_FIELDS = ("keys",)  # result and leg fields whose values are key material


def redact_text(text: str) -> str:
    """``text`` with every run of 32 or more hex digits replaced."""
    return HEX_RUN.sub(REDACTED, text)


def redact_value(value: Any) -> Any:
    """A JSON-like value with every key field's values and every long hex run replaced
    (recursive: a shim's result is at most MAX_JSON_DEPTH deep, harness.sut.command_adapter)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if key in KEY_FIELDS and isinstance(item, dict):
                out[key] = {label: REDACTED for label in item}
            else:
                out[key] = redact_value(item)
        return out
    return value


def redact_trace(trace: Trace) -> None:
    """No key log (so no .keys file), and no application-data plaintext; the decoded
    handshake stays (it crossed the wire in clear)."""
    trace.omitted.keylog_lines += len(trace.keylog)
    trace.keylog.clear()
    for entry in trace.messages:
        if entry.layer == "application_data":
            entry.fields = {"length": len(entry.raw), "redacted": True}
            entry.raw = b""
        entry.note = redact_text(entry.note)


def redact_tp(tp: TpResult) -> None:
    tp.reason = redact_text(tp.reason)
    tp.observations = [redact_text(o) for o in tp.observations]
    tp.steps = redact_value(tp.steps)
    tp.sut_result = redact_value(tp.sut_result)
    tp.legs = redact_value(tp.legs)
    for trace in tp.traces:
        redact_trace(trace)


def redact_result(result: CampaignResult) -> CampaignResult:
    """Redact ``result`` in place (and return it); the command line records the option."""
    for tp in result.results:
        redact_tp(tp)
    result.command_line = redact_text(result.command_line)
    return result
