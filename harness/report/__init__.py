"""Report writers: one campaign result, several views that cannot disagree.

:func:`write_reports` writes into one report directory:

- ``report.json``: the results and requirement coverage as data (CI gates, diffs);
- ``report.html``: one self-contained page for a lab and a vendor;
- ``junit.xml``: one testcase per purpose for CI servers;
- ``cucumber.json``: the scenarios and their steps in the Cucumber JSON format;
- ``allure-results/``: Allure's result files (``allure generate`` makes the report);
- ``captures/<safe-tp-name>.pcap`` and ``.keys``: per purpose, a synthetic capture of
  every connection it made and the NSS key log that decrypts it in Wireshark.

The per-purpose artifacts are written first and recorded in ``TpResult.artifacts``
(paths relative to the report directory) so the others link to or attach them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from harness.report.cucumber import write_cucumber
from harness.report.html_report import anchors_for, write_html
from harness.report.json_report import write_json
from harness.report.junit import write_junit
from harness.report.keylog import write_keylog
from harness.report.names import safe_name, unique_names
from harness.report.pcap import write_pcap
from harness.results import CampaignResult, Requirement

__all__ = ["CAPTURES_DIR", "safe_name", "write_reports"]

CAPTURES_DIR = "captures"
_log = logging.getLogger(__name__)


def _catalog_for(result: CampaignResult) -> Mapping[str, Requirement]:
    """The campaign's own catalogue, else the committed one, else none (report still works)."""
    if result.requirements:
        return result.requirements
    try:
        from harness.requirements_catalog import load_catalog

        return load_catalog()
    except (OSError, ValueError) as exc:
        _log.warning("requirement catalogue unavailable: %s", exc)
        return {}


def write_captures(result: CampaignResult, report_dir: Path, names: list[str]) -> Path:
    """Per purpose pcap and key log; stale ones of an earlier run in the same dir go first."""
    captures = report_dir / CAPTURES_DIR
    if captures.is_dir():
        for old in [*captures.glob("*.pcap"), *captures.glob("*.keys")]:
            old.unlink()
    for tp, name in zip(result.results, names, strict=True):
        pcap = captures / f"{name}.pcap"
        keys = captures / f"{name}.keys"
        if tp.traces and write_pcap(tp.traces, pcap):
            tp.artifacts["pcap"] = f"{CAPTURES_DIR}/{pcap.name}"
        if tp.traces and write_keylog(tp.traces, keys):
            tp.artifacts["keylog"] = f"{CAPTURES_DIR}/{keys.name}"
    return captures


def write_reports(
    result: CampaignResult, report_dir: Path, *, allure: bool = True
) -> dict[str, Path]:
    """Write every report of ``result`` into ``report_dir`` (created if needed).

    Returns ``{"json", "html", "junit", "cucumber", "captures"}`` -> path, and
    ``"allure"`` unless ``allure`` is false or allure-python-commons is not installed.
    """
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    names = unique_names(tp.tp for tp in result.results)
    catalog = _catalog_for(result)
    captures = write_captures(result, report_dir, names)
    paths = {
        "json": write_json(result, catalog, report_dir / "report.json"),
        "html": write_html(result, catalog, names, report_dir / "report.html"),
        "junit": write_junit(result, report_dir / "junit.xml"),
        "cucumber": write_cucumber(result, report_dir / "cucumber.json"),
        "captures": captures,
    }
    if allure:
        try:
            from harness.report.allure import write_allure
        except ImportError as exc:  # allure-pytest (and its commons) is optional at run time
            _log.warning("allure-results not written: %s", exc)
        else:
            paths["allure"] = write_allure(result, catalog, anchors_for(names), report_dir)
    return paths
