"""report.json: the campaign as data, for CI gates and for comparing two runs.

Traces are left out (they live in the pcap and key log files, and in the HTML); every
other field of each :class:`harness.results.TpResult` is kept, so the JSON and HTML
reports are two views of one model and cannot disagree about a verdict.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness import __version__
from harness.report.coverage import compute_coverage
from harness.results import CampaignResult, Requirement

TOOL = "m2mconf"
SCHEMA_VERSION = 1


def iso_time(timestamp: float) -> str | None:
    """UTC ISO 8601, or None for an unset (0) time."""
    if not timestamp:
        return None
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).isoformat(timespec="seconds")


def report_data(result: CampaignResult, catalog: Mapping[str, Requirement]) -> dict[str, Any]:
    return {
        "tool": TOOL,
        "version": result.tool_version or __version__,
        "schema": SCHEMA_VERSION,
        "command_line": result.command_line,
        "sut": result.sut,
        "ics": result.ics,
        "spec_profile": result.spec_profile,
        "started": iso_time(result.started),
        "finished": iso_time(result.finished),
        "duration": round(max(0.0, result.finished - result.started), 3)
        if result.finished
        else None,
        "counts": result.counts(),
        "exit_code": result.exit_code(),
        "results": [r.to_json(with_traces=False) for r in result.results],
        "coverage": compute_coverage(result, catalog),
    }


def write_json(result: CampaignResult, catalog: Mapping[str, Requirement], path: Path) -> Path:
    data = report_data(result, catalog)
    path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    return path
