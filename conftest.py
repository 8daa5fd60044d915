"""Root conftest: wires the pytest-bdd scenarios in steps/ to a campaign.

``m2mconf run`` starts pytest on steps/ with ``--m2m-sut`` (and friends); a lab can run
the same directly: ``pytest steps --m2m-sut examples/openssl-entity-b/profile.toml``.
The suite's own tests (tests/) load this file too but have no scenarios, so nothing
here acts on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.frameworks import step_modules
from harness.plugin import CASE_KEY, PLUGIN_NAME, CampaignPlugin, Case, scenario_info
from harness.sut.contract import Transport

pytest_plugins = ["steps.common_steps", *step_modules()]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("m2mconf", "oneM2M conformance campaign")
    group.addoption("--m2m-sut", default="reference", help="SUT profile TOML or 'reference'")
    group.addoption("--m2m-fault", action="append", default=[], help="reference SUT mutant")
    group.addoption("--m2m-select", action="append", default=[], help="TP id/glob/requirement")
    group.addoption("--m2m-spec-profile", default=None, help="spec profile TOML (I-xx settings)")


def pytest_configure(config: pytest.Config) -> None:
    _register_tag_markers(config)
    if config.pluginmanager.has_plugin(PLUGIN_NAME):
        return  # m2mconf run registered its own, with progress display and catalogue
    config.pluginmanager.register(_LazyCampaign(config), PLUGIN_NAME)


class _LazyCampaign(CampaignPlugin):
    """The campaign plugin for a plain ``pytest steps`` run, built from the options."""

    def __init__(self, config: pytest.Config) -> None:
        from harness.campaign import load_campaign_inputs

        sut = config.getoption("--m2m-sut")
        spec_path = config.getoption("--m2m-spec-profile")
        faults = config.getoption("--m2m-fault")
        super().__init__(
            lambda: load_campaign_inputs(sut, faults, Path(spec_path) if spec_path else None),
            select=config.getoption("--m2m-select"),
        )


def _register_tag_markers(config: pytest.Config) -> None:
    """Register every feature-file tag's markers (harness.markers), so ``pytest -m
    SAEF_PSK_13`` selects and ``--strict-markers`` passes."""
    from harness.markers import feature_tags, marker_lines
    from harness.scenario_tree import FEATURES_DIR

    for line in marker_lines(feature_tags(FEATURES_DIR)):
        config.addinivalue_line("markers", line)


def pytest_bdd_apply_tag(tag: str, function: object) -> bool:
    """Keep Gherkin tags as metadata (the campaign reads TP ids and requirement IDs from
    them) and also apply them as pytest markers for plain-pytest users: the sanitised
    name (``tp_SAEF_PSK_B_05``, ``SAEF_PSK_13``) and, for TP ids and requirement IDs,
    the tag itself (see harness.markers)."""
    from harness.markers import marker_names

    tags = getattr(function, "m2m_tags", None)
    if tags is None:
        tags = set()
        function.m2m_tags = tags  # type: ignore[attr-defined]
    tags.add(tag)
    for name in marker_names(tag):
        getattr(pytest.mark, name)(function)
    return True


@pytest.fixture
def transport() -> Transport:
    return Transport.TLS


@pytest.fixture
def cipher_suite() -> int | None:
    return None


@pytest.fixture
def case(
    request: pytest.FixtureRequest, transport: Transport, cipher_suite: int | None
) -> Iterator[Case]:
    plugin: CampaignPlugin = request.config.pluginmanager.get_plugin(PLUGIN_NAME)
    info = scenario_info(request.node)
    assert info is not None, "the case fixture serves pytest-bdd scenarios only"
    case = Case(
        info=info,
        transport=Transport(transport),
        cipher_suite=cipher_suite,
        profile=plugin.profile,
        spec=plugin.spec,
        adapter=plugin.adapter,
    )
    request.node.stash[CASE_KEY] = case
    yield case
    case.close()
