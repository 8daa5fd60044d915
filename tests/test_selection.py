"""--select: what an expression selects, case-insensitively, and what selects nothing."""

from __future__ import annotations

import pytest

from harness.campaign import ConfigError, check_selection, list_test_purposes, select_purposes
from harness.testpurpose import TestPurposeInfo as PurposeInfo

INFO = PurposeInfo(
    "TP/SAEF-PSK/B/05",
    "Entity B refuses an unknown KpsaId even with a valid key",
    "saef_psk_entity_b",
    "saef-psk",
    "entity_b",
    ("SAEF-PSK-05", "SAEF-COMMON-07"),
)


@pytest.mark.parametrize(
    "expression",
    [
        "TP/SAEF-PSK/B/05",
        "tp/saef-psk/b/05",  # ids as users type them
        "TP/SAEF-PSK/B/*",
        "tp/saef-psk/*/0?",
        "SAEF-PSK-05",
        "saef-psk-05",
        "saef-common-07",
        "unknown kpsaid",  # words of the title
        " SAEF-PSK-05 ",
    ],
)
def test_expression_matches(expression: str) -> None:
    assert INFO.matches_expression(expression)
    assert INFO.matches([expression])


@pytest.mark.parametrize("expression", ["TP/SAEF-PSK/B/06", "SAEF-PSK-5", "tp/unknown", "", " "])
def test_expression_does_not_match(expression: str) -> None:
    assert not INFO.matches_expression(expression)


def test_no_expression_selects_everything() -> None:
    assert INFO.matches([])


def test_selection_over_the_feature_files() -> None:
    purposes = list_test_purposes()
    selection = select_purposes(["tp/saef-psk/b/05", "saef-psk-13", "TP/NOPE/*", "NOPE-1"])
    chosen = {p.tp for p in selection.purposes}
    assert "TP/SAEF-PSK/B/05" in chosen
    assert {p.tp for p in purposes if "SAEF-PSK-13" in p.requirements} <= chosen
    assert selection.unmatched == ("TP/NOPE/*", "NOPE-1")
    assert not selection.empty
    assert select_purposes([]).purposes == tuple(purposes)


def test_a_selection_of_nothing_is_a_config_error_naming_each_expression() -> None:
    with pytest.raises(ConfigError) as caught:
        check_selection(["TP/NOPE/*", "NOPE-1"])
    assert "--select 'TP/NOPE/*' matches no test purpose" in str(caught.value)
    assert "--select 'NOPE-1' matches no test purpose" in str(caught.value)
