"""cucumber.json: the campaign in the Cucumber JSON format (cucumber-ruby/-js), for the
CI plugins and report tools that read it (Jenkins cucumber-reports, cucumber-html-reporter).

Written from the merged :class:`~harness.results.CampaignResult` like every other
report, rather than by pytest-bdd's ``--cucumberjson`` during the run, so it has every
instance (the ones the ICS excludes are deselected before pytest-bdd sees them), agrees
with the other reports on every verdict, and is the same with pytest-xdist workers.

Cucumber knows passed, failed and skipped: a fail is a failed step with the reason as
its error message; a harness error is a failed step too, its message beginning "harness
error" (Cucumber has no separate status for it); inconclusive and not applicable are
skipped steps whose message begins with the verdict. Steps after the one that decided
are listed as skipped, so every scenario shows all its steps. Feature names, lines and
tags come from the feature files when they can be read (``harness.scenario_tree``); without
them the scenarios are still listed, grouped by feature file stem.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.results import CampaignResult, TpResult
from harness.verdict import Verdict

_SLUG = re.compile(r"[^a-z0-9]+")


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-") or "x"


@dataclass
class _Step:
    keyword: str
    name: str
    line: int


@dataclass
class _Scenario:
    name: str
    line: int
    tags: list[str]
    steps: list[_Step]


@dataclass
class _Feature:
    uri: str
    name: str
    line: int
    description: str
    tags: list[str]
    scenarios: dict[str, _Scenario] = field(default_factory=dict)  # TP id -> scenario


def read_features(directory: Path | None = None) -> dict[str, _Feature]:
    """Feature file stem -> its name, lines and tags; {} when the files cannot be read."""
    if directory is None:
        from harness.scenario_tree import FEATURES_DIR

        directory = FEATURES_DIR
    return _read_features(Path(directory))


@functools.cache
def _read_features(directory: Path) -> dict[str, _Feature]:
    """Parsed once per process (the Cucumber and Allure writers both read them)."""
    try:
        from pytest_bdd.feature import get_features

        parsed = get_features([str(directory)])
    except Exception:  # noqa: BLE001 - the report is written without lines, never fails
        return {}
    features: dict[str, _Feature] = {}
    for feature in parsed:
        stem = Path(feature.filename).stem
        entry = _Feature(
            uri=f"features/{Path(feature.filename).name}",
            name=feature.name,
            line=feature.line_number,
            description=feature.description or "",
            tags=sorted(feature.tags),
        )
        for scenario in feature.scenarios.values():
            tp = next((t for t in scenario.tags if t.startswith("TP/")), scenario.name)
            steps = [*scenario.all_background_steps, *scenario.steps]
            entry.scenarios[tp] = _Scenario(
                scenario.name,
                scenario.line_number,
                sorted(scenario.tags),
                [_Step(s.keyword, s.name, s.line_number) for s in steps],
            )
        features[stem] = entry
    return features


def _status(verdict: Verdict) -> str:
    return {Verdict.PASS: "passed", Verdict.FAIL: "failed", Verdict.ERROR: "failed"}.get(
        verdict, "skipped"
    )


def _error_message(tp: TpResult) -> str:
    if tp.verdict in (Verdict.INCONCLUSIVE, Verdict.NOT_APPLICABLE):
        return f"{tp.verdict}: {tp.reason}"
    if tp.verdict is Verdict.ERROR and not tp.reason.startswith("harness error"):
        return f"harness error: {tp.reason}"
    return tp.reason


def _steps(tp: TpResult, template: Sequence[_Step]) -> list[dict[str, Any]]:
    """The steps as run (outcome of each), then the template's remaining ones as skipped."""
    steps: list[dict[str, Any]] = []
    decided = False
    duration = int(tp.duration * 1e9 / max(1, len(tp.steps)))
    for i, step in enumerate(tp.steps):
        outcome = str(step.get("outcome", ""))
        line = template[i].line if i < len(template) else 0
        result: dict[str, Any] = {"status": "passed", "duration": duration}
        if outcome != "passed":
            result = {"status": _status(tp.verdict), "duration": duration}
            result["error_message"] = _error_message(tp)
            decided = True
        steps.append(
            {
                "keyword": f"{step.get('keyword', '')} ",
                "name": str(step.get("text", "")),
                "line": line,
                "match": {"location": tp.nodeid or tp.tp},
                "result": result,
            }
        )
    remaining = template[len(tp.steps) :] if tp.verdict is not Verdict.PASS else []
    for step in remaining:
        result = {"status": "skipped", "duration": 0}
        if not decided:  # nothing ran (not applicable) or nothing failed a step: say why
            result["error_message"] = _error_message(tp)
            decided = True
        steps.append(
            {
                "keyword": f"{step.keyword} ",
                "name": step.name,
                "line": step.line,
                "match": {"location": tp.nodeid or tp.tp},
                "result": result,
            }
        )
    if not decided and tp.verdict is not Verdict.PASS:
        # Decided outside a step (a fixture, a teardown): the last step carries it.
        if steps:
            steps[-1]["result"] = {
                "status": _status(tp.verdict),
                "duration": steps[-1]["result"]["duration"],
                "error_message": _error_message(tp),
            }
        else:
            steps.append(
                {
                    "keyword": "Then ",
                    "name": f"the verdict is {tp.verdict}",
                    "line": 0,
                    "match": {"location": tp.nodeid or tp.tp},
                    "result": {"status": _status(tp.verdict), "error_message": _error_message(tp)},
                }
            )
    return steps


def cucumber_data(
    result: CampaignResult, features: Mapping[str, _Feature] | None = None
) -> list[dict[str, Any]]:
    """The Cucumber JSON document: features in the order their first purpose ran."""
    features = read_features() if features is None else features
    out: dict[str, dict[str, Any]] = {}
    seen: dict[str, int] = {}
    for tp in result.results:
        stem = tp.feature or tp.framework or "m2mconf"
        known = features.get(stem)
        feature = out.get(stem)
        if feature is None:
            feature = out[stem] = {
                "uri": known.uri if known else f"features/{stem}.feature",
                "id": _slug(known.name if known else stem),
                "keyword": "Feature",
                "name": known.name if known else stem,
                "line": known.line if known else 1,
                "description": known.description if known else "",
                "tags": [
                    {"name": f"@{t}", "line": max(1, (known.line if known else 1) - 1)}
                    for t in (known.tags if known else [])
                ],
                "elements": [],
            }
        scenario = known.scenarios.get(tp.purpose) if known else None
        tags = scenario.tags if scenario else [tp.purpose, *tp.requirements]
        line = scenario.line if scenario else 0
        scenario_id = f"{feature['id']};{_slug(tp.tp)}"
        seen[scenario_id] = seen.get(scenario_id, 0) + 1
        if seen[scenario_id] > 1:
            scenario_id += f";{seen[scenario_id]}"
        feature["elements"].append(
            {
                "id": scenario_id,
                "keyword": "Scenario",
                "name": f"{tp.tp} {tp.title}".strip(),
                "line": line,
                "description": "",
                "type": "scenario",
                "tags": [{"name": f"@{t}", "line": max(1, line - 1)} for t in tags],
                "steps": _steps(tp, scenario.steps if scenario else []),
            }
        )
    return list(out.values())


def write_cucumber(result: CampaignResult, path: Path) -> Path:
    path.write_text(
        json.dumps(cucumber_data(result), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return path
