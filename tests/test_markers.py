"""Gherkin tags are pytest markers too, for labs that run the scenarios with plain pytest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.campaign import list_test_purposes
from harness.markers import feature_tags, marker_lines, marker_names, sanitised
from harness.scenario_tree import FEATURES_DIR

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("tag", "names"),
    [
        ("TP/SAEF-PSK/B/05", ["tp_SAEF_PSK_B_05", "TP/SAEF-PSK/B/05"]),
        ("SAEF-PSK-13", ["SAEF_PSK_13", "SAEF-PSK-13"]),
        ("PARAM-CCF-06", ["PARAM_CCF_06", "PARAM-CCF-06"]),
        ("role:entity_b", ["role_entity_b"]),
        ("framework:saef-psk", ["framework_saef_psk"]),
        ("each-declared-suite", ["each_declared_suite"]),
        ("transport:dtls", ["transport_dtls"]),
    ],
)
def test_marker_names(tag: str, names: list[str]) -> None:
    assert marker_names(tag) == names
    assert sanitised(tag).isidentifier()


def test_every_feature_tag_is_registered_once() -> None:
    tags = feature_tags(FEATURES_DIR)
    assert {p.tp for p in list_test_purposes()} <= tags
    lines = marker_lines(tags)
    names = [line.split(":", 1)[0] for line in lines]
    assert len(names) == len(set(names))
    assert "SAEF_PSK_13" in names and "SAEF-PSK-13" in names and "tp_SAEF_PSK_B_05" in names
    # pytest reads a marker's name up to the first ':' - none of ours contains one.
    assert all(":" not in name for name in names)


def _collect(*marker_args: str) -> list[str]:
    """Node ids plain pytest collects from steps/ for ``-m ...`` (strict markers)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "steps", "--collect-only"]
        + ["-q", "--strict-markers", "-W", "error::pytest.PytestUnknownMarkWarning", *marker_args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [line for line in proc.stdout.splitlines() if "::" in line]


def test_plain_pytest_selects_by_requirement_and_tp_id() -> None:
    by_requirement = _collect("-m", "SAEF_PSK_13")
    assert by_requirement == _collect("-m", "SAEF-PSK-13")
    expected = [p.title for p in list_test_purposes() if "SAEF-PSK-13" in p.requirements]
    assert by_requirement and len(by_requirement) >= len(expected)
    one = _collect("-m", "tp_SAEF_PSK_B_05")
    assert one == _collect("-m", "TP/SAEF-PSK/B/05")
    assert len(one) == 2  # one instance per transport
    assert all("unknown_kpsaid" in node for node in one)
