"""Who tests the tester: every test purpose fails against at least one mutant.

The reference SUT passes the whole campaign; each mutant (a fault switch on the
reference, harness.frameworks.saef_psk.reference.faults) breaks one requirement on purpose, and the
campaign must fail exactly the purposes that watch that requirement. A purpose no
mutant can fail is a check that never fails: a defect of the suite.

The campaigns run as real `m2mconf run` processes (two at a time), so this is also the
end-to-end test of the command line, the adapters and the report.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from campaign_cli import run_campaign

from harness.campaign import list_test_purposes

NEGATIVE_A = {"A/07", "A/08", "A/09", "A/10", "A/11", "A/13"}
NEGATIVE_B = {"B/03", "B/05", "B/06", "B/07", "B/08", "B/09", "B/10", "B/12"}


def _prefixed(framework: str, purposes: set[str]) -> set[str]:
    return {f"{framework}/{tp}" for tp in purposes}


# mutant -> the purposes it must make fail (at least these; "TP/" omitted)
PSK_KILLS: dict[str, set[str]] = {
    "wrong_psk_identity": {"A/01", "A/02", "A/12"},
    "wrong_key": {"A/01", "B/01", "B/11"},
    "accept_any_identity": {"B/05", "B/06"},
    "offer_non_profile_suite": {"A/04", "A/11", "B/03", "B/04"},
    "no_mandatory_suite": {"A/03", "B/02"},
    "ignore_peer_identity": {"A/06", "B/11"},
    "no_sni": {"A/05"},
    "silent_abort": NEGATIVE_A | NEGATIVE_B,
    "claims_established": NEGATIVE_A | NEGATIVE_B,
    "uses_hint_as_identity": {"A/12"},
    "accept_old_version": {"A/13", "B/12"},
    # DTLS
    "no_cookie_exchange": {"B/13"},
    "ignores_hello_verify_request": {"A/14"},
    "no_retransmission": {"B/14", "A/15"},
    "strict_record_order": {"B/14", "A/15"},
    "tear_down_on_bad_record": {"B/15"},
}
MAF_KC_DERIVATION = {"A/02", "A/03", "A/04", "A/05", "A/06", "MAF/01", "MAF/02", "MAF/03"}
MAF_KILLS: dict[str, set[str]] = {
    "a_wrong_kmid": {"A/01", "A/02", "A/03"},
    "wrong_exporter_label": MAF_KC_DERIVATION,
    "wrong_export_split": MAF_KC_DERIVATION,
    "upper_case_kcid": {"A/02", "A/05", "A/06", "MAF/02"},
    "malformed_kcid": {"A/02", "A/03", "A/04", "A/05", "A/06"},
    "kcid_wrong_fqdn": {"A/02", "A/03", "A/04", "A/05", "A/06"},
    "a_sends_kmid_to_b": {"A/02", "A/03", "A/04", "A/05", "A/06"},
    "a_reuses_expired_kc": {"A/06"},
    "a_binds_wrong_identity": {"A/04"},
    "a_contacts_b_without_kc": {"A/07"},
    "maf_releases_to_unauthorised": {"MAF/04"},
    "maf_ignores_expiry": {"MAF/06"},
    "maf_accepts_unknown_kmid": {"MAF/05"},
    "maf_omits_entity_id": {"MAF/03"},
    "b_accepts_expired_kc": {"B/04"},
    "b_binds_kcid": {"B/02", "B/03"},
    "b_uses_cached_key": {"B/01", "B/05"},
    "b_trusts_any_maf": {"B/06"},
    "b_claims_established": {"B/04", "B/05", "B/07"},
}
SBF_KE_DERIVATION = {"ENR/02", "ENR/03", "ENR/04", "MEF/01", "MEF/04"}
SBF_KILLS: dict[str, set[str]] = {
    "sbf_wrong_bootstrap_label": SBF_KE_DERIVATION,
    "sbf_swapped_ke_split": SBF_KE_DERIVATION,
    "sbf_upper_case_keid": {"ENR/02", "MEF/01"},
    "sbf_keid_maf_fqdn": {"ENR/02", "MEF/01"},
    "sbf_km_without_nfkc": {"ENR/07"},
    "sbf_km_wrong_label": {"ENR/03", "MEF/04"},
    "sbf_ke_as_km": {"ENR/03"},
    "sbf_wrong_kpm_id": {"ENR/01"},
    "sbf_contacts_maf_after_failed_bootstrap": {"ENR/05"},
    "sbf_silent_abort": {"ENR/05", "ENR/06", "MEF/02", "MEF/03", "MAF/04", "MAF/05", "MAF/06"},
    "sbf_mef_serves_any_maf": {"MEF/05"},
    "sbf_mef_answers_unknown_keid": {"MEF/06"},
    "sbf_mef_accepts_unknown_kpm_id": {"MEF/02"},
    "sbf_mef_ignores_lifetime": {"MEF/07"},
    "sbf_maf_fetch_wrong_suid": {"MAF/01"},
    "sbf_maf_binds_keid": {"MAF/02"},
    "sbf_maf_refetches": {"MAF/03"},
    "sbf_maf_refuses_kmid": {"MAF/03"},
    "sbf_maf_accepts_refused_keid": {"MAF/04"},
    "sbf_maf_trusts_any_mef": {"MAF/05"},
}
EXPECTED_KILLS: dict[str, set[str]] = {
    **{name: _prefixed("SAEF-PSK", tps) for name, tps in PSK_KILLS.items()},
    **{name: _prefixed("SAEF-MAF", tps) for name, tps in MAF_KILLS.items()},
    **{name: _prefixed("SBF-PSK", tps) for name, tps in SBF_KILLS.items()},
}


def run(fault: str | None, out: Path) -> dict:
    args = ["--sut", "reference"]
    if fault:
        # A mutant campaign runs only the purposes that must kill it: the reference
        # campaign already shows every purpose passes when nothing is broken.
        args += ["--fault", fault]
        for tp in sorted(EXPECTED_KILLS[fault]):
            args += ["--select", f"TP/{tp}"]
    result = run_campaign(out / (fault or "reference"), *args, timeout=240)
    assert result.exit_code in (0, 1, 3), result.output
    return {**result.report, "exit_code": result.exit_code}


@pytest.fixture(scope="module")
def campaigns(tmp_path_factory: pytest.TempPathFactory) -> dict[str | None, dict]:
    out = tmp_path_factory.mktemp("campaigns")
    names: list[str | None] = [None, *EXPECTED_KILLS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(names, pool.map(lambda n: run(n, out), names), strict=True))


def verdicts(data: dict) -> dict[str, str]:
    """Base TP id -> worst verdict over its instances."""
    order = ["not applicable", "pass", "inconclusive", "fail", "error"]
    worst: dict[str, str] = {}
    for r in data["results"]:
        tp = r["tp"].split("[", 1)[0].removeprefix("TP/")
        if order.index(r["verdict"]) >= order.index(worst.get(tp, "not applicable")):
            worst[tp] = r["verdict"]
    return worst


def test_reference_passes_every_purpose(campaigns: dict) -> None:
    data = campaigns[None]
    verdicts_seen = [r["verdict"] for r in data["results"]]
    bad = {
        r["tp"]: (r["verdict"], r["reason"])
        for r in data["results"]
        if r["verdict"] not in ("pass", "not applicable")
    }
    assert not bad, f"the reference SUT does not pass: {bad}"
    assert verdicts_seen.count("pass") >= len(list_test_purposes()), "too few purposes ran"
    assert data["exit_code"] == 0


@pytest.mark.parametrize("mutant", sorted(EXPECTED_KILLS))
def test_mutant_is_killed_by_the_purposes_that_watch_it(campaigns: dict, mutant: str) -> None:
    data = campaigns[mutant]
    seen = verdicts(data)
    errors = {r["tp"]: r["reason"] for r in data["results"] if r["verdict"] == "error"}
    assert not errors, f"harness errors under mutant {mutant}: {errors}"
    survived = sorted(tp for tp in EXPECTED_KILLS[mutant] if seen.get(tp) != "fail")
    assert not survived, f"mutant {mutant} survives {survived}: {seen}"
    assert data["exit_code"] == 1


def test_every_purpose_kills_some_mutant(campaigns: dict) -> None:
    killed = {
        tp
        for name, data in campaigns.items()
        if name
        for tp, v in verdicts(data).items()
        if v == "fail"
    }
    purposes = {p.tp.removeprefix("TP/") for p in list_test_purposes()}
    assert purposes - killed == set(), f"purposes no mutant fails: {sorted(purposes - killed)}"


def test_every_mutant_has_expected_kills() -> None:
    """A mutant the teeth campaign does not run is a fault switch nobody checks."""
    from harness.frameworks import reference_faults

    assert set(reference_faults()) == set(EXPECTED_KILLS)
