"""The committed requirement catalogue matches REQUIREMENTS.md section 11."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.requirements_catalog import (
    CatalogEntry,
    dump_catalog,
    group_of,
    load_catalog,
    parse_counts,
    parse_requirements_md,
)
from harness.results import Requirement

REFERENCE_MD = Path(__file__).resolve().parents[2] / "shared" / "reference" / "REQUIREMENTS.md"
# Section 11 of REQUIREMENTS.md, kept here so the test also runs without ../shared.
SECTION_11 = {
    "SAEF-COMMON": 12,
    "SAEF-PSK": 15,
    "SAEF-CERT": 19,
    "SAEF-MAF": 27,
    "SAEF-GBA": 31,
    "SBF-COMMON": 21,
    "SBF-PSK": 16,
    "SBF-CERT": 13,
    "SBF-GBA": 19,
    "PARAM-CCF": 13,
    "PARAM-CCI": 11,
    "PARAM-CCM": 7,
    "PARAM-ACF": 12,
    "PARAM-ACI": 9,
    "PARAM-ACM": 5,
    "PARAM-ACU": 5,
}


def test_every_counted_id_is_catalogued() -> None:
    catalog = load_catalog()
    expected = {
        f"{prefix}-{n:02d}" for prefix, count in SECTION_11.items() for n in range(1, count + 1)
    }
    assert sum(SECTION_11.values()) == 235
    assert set(catalog) == expected
    assert len(catalog) == 235


def test_entries_carry_every_column() -> None:
    catalog = load_catalog()
    psk = catalog["SAEF-PSK-11"]
    assert isinstance(psk, Requirement)
    assert psk.group == "SAEF-PSK"
    assert psk.text == "psk_identity equals KpsaId."
    assert psk.keyword == "DESC" and psk.role == "Entity A" and psk.phase == "ASH"
    assert "byte-equal" in psk.observation
    assert psk.source.startswith("001_1e9122c875d0c566.txt")
    assert "`" not in psk.source
    assert psk.negative == "No" and not psk.needs_negative_test
    assert catalog["SAEF-PSK-05"].needs_negative_test


def test_param_tables_are_mapped() -> None:
    entry = load_catalog()["PARAM-CCI-02"]
    assert entry.group == "PARAM" and entry.subgroup == "PARAM-CCI"
    assert entry.role == "ID" and entry.keyword == "M" and entry.phase == "CC"
    assert entry.text.startswith("kpsaId (M): KpsaId")
    assert entry.extra == {"framework": "PSK", "parameter": "kpsaId"}
    assert entry.needs_negative_test


def test_group_of() -> None:
    assert group_of("SAEF-PSK-01") == "SAEF-PSK"
    assert group_of("PARAM-ACU-05") == "PARAM"


def test_parser_on_a_small_document() -> None:
    text = (
        "## 2. X\n\n| ID | Src | Kw | Role | Phase | Requirement | Black-box observation | Neg |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| SAEF-PSK-01 | `seed` L1 | DESC | Entity A | GEN | **Do** it. | Seen. | Yes: refuse |\n"
        "\n| Group | Count |\n|---|---|\n| SAEF-PSK | 1 |\n"
    )
    entries = parse_requirements_md(text)
    assert list(entries) == ["SAEF-PSK-01"]
    assert entries["SAEF-PSK-01"].text == "Do it."
    assert entries["SAEF-PSK-01"].source == "seed L1"
    assert CatalogEntry.from_json(entries["SAEF-PSK-01"].to_json()) == entries["SAEF-PSK-01"]


@pytest.mark.skipif(
    not REFERENCE_MD.exists(), reason="reference REQUIREMENTS.md not beside the repo"
)
def test_committed_json_is_current() -> None:
    text = REFERENCE_MD.read_text(encoding="utf-8")
    assert parse_counts(text) == SECTION_11
    entries = parse_requirements_md(text)
    committed = Path(__file__).resolve().parents[1] / "harness" / "data" / "requirements.json"
    assert committed.read_text(encoding="utf-8") == dump_catalog(entries)
