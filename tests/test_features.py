"""The feature files are the suite's specification: lint them like code.

Every scenario names exactly one test purpose id, unique across the suite; every
requirement tag exists in the catalogue; every requirement in scope is either covered
by a purpose or listed as not testable with a reason.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

from harness.campaign import FEATURES_DIR, list_test_purposes

ROOT = Path(__file__).resolve().parent.parent
COVERAGE = tomllib.loads((ROOT / "harness/data/coverage.toml").read_text())
TP_FORMAT = re.compile(r"^TP/[A-Z]+-[A-Z]+/(A|B|MAF|MEF|BSF|ENR)/\d{2}$")


def test_every_scenario_has_a_unique_well_formed_tp_id() -> None:
    purposes = list_test_purposes()
    assert purposes, f"no scenarios found under {FEATURES_DIR}"
    for p in purposes:
        assert TP_FORMAT.match(p.tp), f"{p.title!r}: TP id {p.tp!r} is malformed"
        assert p.requirements, f"{p.tp} cites no requirement"
        assert p.sut_role and p.framework, f"{p.tp} lacks role/framework tags"
    duplicates = [tp for tp, n in Counter(p.tp for p in purposes).items() if n > 1]
    assert not duplicates, f"duplicate TP ids: {duplicates}"


def test_requirement_tags_exist_in_the_catalogue() -> None:
    from harness.requirements_catalog import load_catalog

    catalog = load_catalog()
    for p in list_test_purposes():
        unknown = [r for r in p.requirements if r not in catalog]
        assert not unknown, f"{p.tp} cites unknown requirements {unknown}"


def test_every_in_scope_requirement_is_covered_or_declared_untestable() -> None:
    from harness.requirements_catalog import load_catalog

    catalog = load_catalog()
    covered = {r for p in list_test_purposes() for r in p.requirements}
    untestable = set(COVERAGE["not_testable"])
    scope = set(COVERAGE["in_scope"]["ids"])
    for group in COVERAGE["in_scope"]["groups"]:
        scope |= {rid for rid in catalog if rid.startswith(group + "-")}
    missing = sorted(scope - covered - untestable)
    assert not missing, f"in-scope requirements with no test purpose and no reason: {missing}"
    assert not (covered & untestable), "a requirement is both covered and declared untestable"


def test_every_role_of_each_framework_is_tested() -> None:
    from harness.frameworks import FRAMEWORKS

    for name, spec in FRAMEWORKS.items():
        roles = {p.sut_role for p in list_test_purposes() if p.framework == name}
        assert roles == {r.value for r in spec.sut_roles}, f"{name}: purposes for {roles}"
