"""Requirement coverage: which catalogued requirements a campaign decided, and how.

A requirement's verdict is the worst verdict of the purposes that cite it (ETSI: a
verdict only gets worse), so one failing purpose marks the requirement failed however
many others passed. Requirements no purpose cites are listed as uncovered, per group,
so a lab sees the gap as plainly as the result (TLS-Anvil's coverage accounting).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.requirements_catalog import group_of
from harness.results import CampaignResult, Requirement
from harness.verdict import Verdict


def requirement_verdicts(result: CampaignResult) -> dict[str, tuple[Verdict, list[str]]]:
    """Requirement ID -> (worst verdict of its purposes, the purposes citing it)."""
    covered: dict[str, tuple[Verdict, list[str]]] = {}
    for tp in result.results:
        for rid in tp.requirements:
            verdict, purposes = covered.get(rid, (tp.verdict, []))
            purposes.append(tp.tp)
            covered[rid] = (verdict.worst(tp.verdict), purposes)
    return covered


def not_testable() -> dict[str, str]:
    """Requirement ID -> why no black-box test can observe it (harness/data/coverage.toml)."""
    path = Path(__file__).resolve().parent.parent / "data" / "coverage.toml"
    return dict(tomllib.loads(path.read_text(encoding="utf-8"))["not_testable"])


def compute_coverage(result: CampaignResult, catalog: Mapping[str, Requirement]) -> dict[str, Any]:
    """The ``coverage`` object of report.json.

    ``{"catalogued": n, "covered": m, "groups": {group: {"catalogued", "covered",
    "requirements": {id: {"verdict", "purposes"}}, "uncovered": [id, ...],
    "not_testable": {id: reason}}}}``.
    IDs cited by a purpose but absent from the catalogue are kept under their group and
    flagged ``"catalogued": false`` so a typo in a tag shows in the report.
    """
    covered = requirement_verdicts(result)
    groups: dict[str, dict[str, Any]] = {}

    def group(name: str) -> dict[str, Any]:
        return groups.setdefault(
            name,
            {
                "catalogued": 0,
                "covered": 0,
                "requirements": {},
                "uncovered": [],
                "not_testable": {},
            },
        )

    untestable = not_testable()

    for rid, entry in catalog.items():
        g = group(getattr(entry, "group", "") or group_of(rid))
        g["catalogued"] += 1
        if rid in covered:
            verdict, purposes = covered[rid]
            g["covered"] += 1
            g["requirements"][rid] = {"verdict": str(verdict), "purposes": purposes}
        elif rid in untestable:
            g["not_testable"][rid] = untestable[rid]
        else:
            g["uncovered"].append(rid)
    for rid in sorted(set(covered) - set(catalog)):
        verdict, purposes = covered[rid]
        g = group(group_of(rid))
        g["covered"] += 1
        g["requirements"][rid] = {
            "verdict": str(verdict),
            "purposes": purposes,
            "catalogued": False,
        }
    return {
        "catalogued": sum(g["catalogued"] for g in groups.values()),
        "covered": sum(g["covered"] for g in groups.values()),
        "groups": groups,
    }
