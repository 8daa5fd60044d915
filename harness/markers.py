"""Gherkin tags as pytest markers, for labs that drive the scenarios with plain pytest.

The feature files tag every scenario with its test purpose (``@TP/SAEF-PSK/B/05``), the
requirements it checks (``@SAEF-PSK-13``), its framework and SUT role
(``@framework:saef-psk``, ``@role:entity_b``) and flags (``@each-declared-suite``,
``@transport:dtls``). The campaign reads them as metadata; this module also makes each
one a registered pytest marker, so ``pytest steps -m SAEF_PSK_13`` selects what
``m2mconf run --select SAEF-PSK-13`` selects:

- every tag gets a *sanitised* marker, a Python identifier usable in ``-m`` expressions
  and as ``@pytest.mark.<name>``: ``tp_SAEF_PSK_B_05``, ``SAEF_PSK_13``,
  ``role_entity_b``, ``framework_saef_psk``, ``each_declared_suite``, ``transport_dtls``;
- TP ids and requirement IDs also keep their own spelling (``-m SAEF-PSK-13``,
  ``-m TP/SAEF-PSK/B/05``: pytest's ``-m`` grammar accepts ``-`` and ``/``).

Tags with a ``:`` get only the sanitised form: pytest's ``markers`` setting cannot
register a name containing one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from harness.testpurpose import REQUIREMENT_TAG, TP_PREFIX

_NOT_IDENTIFIER = re.compile(r"[^0-9A-Za-z_]+")


def sanitised(tag: str) -> str:
    """``TP/SAEF-PSK/B/05`` -> ``tp_SAEF_PSK_B_05``; ``SAEF-PSK-13`` -> ``SAEF_PSK_13``."""
    if tag.startswith(TP_PREFIX):
        tag = "tp_" + tag[len(TP_PREFIX) :]
    name = _NOT_IDENTIFIER.sub("_", tag).strip("_") or "tag"
    return f"tag_{name}" if name[0].isdigit() else name


def marker_names(tag: str) -> list[str]:
    """Every marker a tag becomes: the sanitised name, and the tag itself for TP ids and
    requirement IDs (which pytest's marker registration and ``-m`` both accept)."""
    names = [sanitised(tag)]
    if (tag.startswith(TP_PREFIX) or REQUIREMENT_TAG.match(tag)) and tag not in names:
        names.append(tag)
    return names


def describe(tag: str) -> str:
    """The one-line help ``pytest --markers`` shows for a tag's markers."""
    if tag.startswith(TP_PREFIX):
        return f"m2mconf test purpose {tag}"
    if REQUIREMENT_TAG.match(tag):
        return f"scenarios checking requirement {tag} (harness/data/requirements.json)"
    return f"m2mconf scenario tag @{tag}"


def feature_tags(features: Path) -> set[str]:
    """Every tag of the feature files under ``features``, read from their tag lines (a
    cheap scan: this runs at every pytest start, including the suite's own tests)."""
    tags: set[str] = set()
    for path in sorted(features.glob("*.feature")):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith("@"):
                tags.update(t[1:] for t in stripped.split() if t.startswith("@") and len(t) > 1)
    return tags


def marker_lines(tags: Iterable[str]) -> list[str]:
    """``markers`` ini lines registering every marker of ``tags``, sorted, no duplicate."""
    lines: dict[str, str] = {}
    for tag in sorted(tags):
        for name in marker_names(tag):
            lines.setdefault(name, f"{name}: {describe(tag)}")
    return [lines[name] for name in sorted(lines)]
