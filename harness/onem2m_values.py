"""oneM2M value formats the frameworks' HTTP bindings share (no framework knowledge).

Timestamps are oneM2M's ISO 8601 basic format in UTC (TS-0004 m2m:timestamp,
``YYYYMMDDTHHMMSS``); a refusal body is the ``{status: false, errorString}`` form of
TS-0003 8.3.2.1's failure answer, which the suite's bindings use for every refusal.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

_TIMESTAMP = re.compile(r"^\d{8}T\d{6}$")


def format_timestamp(moment: dt.datetime) -> str:
    """oneM2M timestamp: ISO 8601 basic format, UTC, whole seconds (YYYYMMDDTHHMMSS)."""
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S")


def parse_timestamp(text: Any) -> dt.datetime | None:
    if not isinstance(text, str) or not _TIMESTAMP.match(text):
        return None
    try:
        return dt.datetime.strptime(text, "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def refusal(error: str) -> dict[str, Any]:
    return {"status": False, "errorString": error}
