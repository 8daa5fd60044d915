"""The requirement catalogue: REQUIREMENTS.md's tables as data the suite can cite.

Every verdict names the requirement IDs it decides (the Gherkin tags), and a report a
vendor can act on must show the text behind each ID. The catalogue is extracted once
from ``REQUIREMENTS.md`` by ``tools/extract_requirements.py`` into
``harness/data/requirements.json``, which is committed, so the suite works without the
reference folder beside the repository.

Two table shapes exist: the framework groups (ID, Src, Kw, Role, Phase, Requirement,
Black-box observation, Neg) and the PARAM tables of section 10 (ID, Src, End-point,
Framework, Phase, Parameter, M/O, Meaning, Observation, Neg). Both map to one entry;
the PARAM columns without a counterpart are kept in ``extra``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.results import Requirement

DATA_FILE = Path(__file__).parent / "data" / "requirements.json"
REQUIREMENT_ID = re.compile(r"^(?:SAEF|SBF|PARAM)-[A-Z]+-\d+$")

# Header cell (lower case) -> entry attribute. Headers absent here go to ``extra``.
_COLUMNS: dict[str, str] = {
    "id": "id",
    "src": "source",
    "kw": "keyword",
    "m/o": "keyword",
    "role": "role",
    "end-point": "role",
    "phase": "phase",
    "requirement": "text",
    "black-box observation": "observation",
    "observation": "observation",
    "neg": "negative",
}


class CatalogError(ValueError):
    """REQUIREMENTS.md is not in the expected shape (a table row does not fit its header)."""


@dataclass
class CatalogEntry(Requirement):
    """One catalogued requirement. A :class:`harness.results.Requirement` with the
    remaining columns, so report code can take either."""

    group: str = ""  # SAEF-PSK, PARAM, ... (the section 11 count groups)
    subgroup: str = ""  # the ID prefix: SAEF-PSK, PARAM-CCF, ...
    keyword: str = ""  # Kw (SHALL, DESC, ...) or, for PARAM, M/O
    role: str = ""  # Role or, for PARAM, End-point
    phase: str = ""
    negative: str = ""  # the Neg column as written ("No", "Yes (derived): ...")
    extra: dict[str, str] = field(default_factory=dict)  # PARAM: framework, parameter

    @property
    def needs_negative_test(self) -> bool:
        return self.negative.lstrip("*").lower().startswith("yes")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CatalogEntry:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def group_of(requirement_id: str) -> str:
    """The count group of section 11: the ID without its number, PARAM-* as PARAM."""
    prefix = requirement_id.rsplit("-", 1)[0]
    return "PARAM" if prefix.startswith("PARAM-") else prefix


def _cells(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|"):
        body = body[:-1]
    return [c.strip() for c in body.split("|")]


def _is_separator(cells: list[str]) -> bool:
    return all(re.fullmatch(r":?-+:?", c) for c in cells if c) and any(cells)


def _clean(cell: str) -> str:
    """Markdown to plain text: drop code backticks and bold markers, keep the words."""
    return cell.replace("`", "").replace("**", "").strip()


def parse_requirements_md(text: str) -> dict[str, CatalogEntry]:
    """Every requirement row of every table whose first header cell is ``ID``."""
    entries: dict[str, CatalogEntry] = {}
    header: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.lstrip().startswith("|"):
            header = None
            continue
        cells = _cells(line)
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if _is_separator(cells) or header[0] != "id":
            continue
        rid = _clean(cells[0])
        if not REQUIREMENT_ID.match(rid):
            continue
        if len(cells) != len(header):
            raise CatalogError(
                f"line {number}: {rid} has {len(cells)} cells, its table has {len(header)}"
            )
        values: dict[str, str] = {}
        extra: dict[str, str] = {}
        for name, cell in zip(header, cells, strict=True):
            attr = _COLUMNS.get(name)
            if attr is None:
                extra[name] = _clean(cell)
            else:
                values[attr] = _clean(cell)
        if "text" not in values:
            # PARAM rows: the requirement is the parameter, its status and meaning.
            parameter = extra.get("parameter", "")
            meaning = extra.pop("meaning", "")
            values["text"] = f"{parameter} ({values.get('keyword', '')}): {meaning}".strip()
        if rid in entries:
            raise CatalogError(f"line {number}: {rid} is catalogued twice")
        entries[rid] = CatalogEntry(
            id=rid,
            text=values.get("text", ""),
            source=values.get("source", ""),
            observation=values.get("observation", ""),
            group=group_of(rid),
            subgroup=rid.rsplit("-", 1)[0],
            keyword=values.get("keyword", ""),
            role=values.get("role", ""),
            phase=values.get("phase", ""),
            negative=values.get("negative", ""),
            extra=extra,
        )
    return entries


def parse_counts(text: str) -> dict[str, int]:
    """Section 11's expected counts per ID prefix (PARAM split into its tables)."""
    section = text.split("## 11. Counts", 1)[-1].split("\n## ", 1)[0]
    counts: dict[str, int] = {}
    for line in section.splitlines():
        if not line.startswith("|"):
            continue
        cells = _cells(line)
        if len(cells) != 2 or not cells[1].isdigit():
            continue
        name = cells[0]
        if name.startswith("PARAM"):
            for sub, n in re.findall(r"([A-Z]{3}) (\d+)", name):
                counts[f"PARAM-{sub}"] = int(n)
        else:
            counts[name] = int(cells[1])
    return counts


def dump_catalog(entries: dict[str, CatalogEntry]) -> str:
    return (
        json.dumps({k: v.to_json() for k, v in entries.items()}, indent=1, ensure_ascii=False)
        + "\n"
    )


def load_catalog(path: Path | None = None) -> dict[str, CatalogEntry]:
    """The committed catalogue, ID -> entry, in document order."""
    data = json.loads((path or DATA_FILE).read_text(encoding="utf-8"))
    return {rid: CatalogEntry.from_json(item) for rid, item in data.items()}


def groups(catalog: dict[str, CatalogEntry]) -> list[str]:
    """Group names in catalogue order."""
    return list(dict.fromkeys(e.group for e in catalog.values()))
