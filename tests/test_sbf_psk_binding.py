"""The enrolee-key SBF's pure parts: the fetch binding, the harness MEF's Ke table and
the fetch verdicts (docs/sbf-psk.md). The campaign tests (tests/test_teeth.py) prove the
purposes against the reference and its mutants; these pin the rules themselves."""

from __future__ import annotations

import secrets

import pytest

from harness.frameworks.sbf_psk import binding
from harness.frameworks.sbf_psk import checks as sbf_checks
from harness.frameworks.sbf_psk.parties import (
    CredentialFetch,
    KeStore,
    MefAnswer,
    SbfCase,
    answer_fetch,
)
from harness.http import HttpRequest
from harness.key_export import derive_km, split_export
from harness.onem2m_values import refusal
from harness.spec_profile import SpecProfile
from harness.sut.contract import Role
from harness.verdict import SutFailure

MEF = "mef.m2m.example.com"
MAF = "maf.m2m.example.com"


def test_fetch_target_round_trip() -> None:
    ke_id = "3c5572608de9f7d398dd42a23fd8fb23@" + MEF
    target = binding.fetch_target(ke_id)
    assert target == f"/fetchCredentials/{ke_id}/21"
    read = binding.read_fetch("GET", target, {"x-m2m-origin": MAF})
    assert (read.ke_id, read.suid, read.origin, read.problem) == (ke_id, 21, MAF, None)


@pytest.mark.parametrize(
    ("method", "target", "headers", "problem"),
    [
        ("POST", "/fetchCredentials/a@b/21", {"x-m2m-origin": MAF}, "not GET"),
        ("GET", "/keyRetrieval", {"x-m2m-origin": MAF}, "no such resource"),
        ("GET", "/fetchCredentials/a@b", {"x-m2m-origin": MAF}, "is not /fetchCredentials"),
        ("GET", "/fetchCredentials/a@b/x1", {"x-m2m-origin": MAF}, "is not /fetchCredentials"),
        ("GET", "/fetchCredentials/a@b/21", {}, "no X-M2M-Origin"),
    ],
)
def test_malformed_fetches_are_named(method: str, target: str, headers: dict, problem: str) -> None:
    read = binding.read_fetch(method, target, headers)
    assert read.problem and problem in read.problem


def test_decode_answer_names_every_wrong_field() -> None:
    good = binding.decode_answer(binding.answer(bytes(32), "/Cae-1", "20261208T010203"))
    assert good.problems == () and good.enrolee_id == "/Cae-1"
    bad = binding.decode_answer({"credential": "zz", "lifetime": "2026-12-08"})
    assert len(bad.problems) == 3
    assert binding.is_refusal({"status": False, "errorString": "no"})
    assert not binding.is_refusal({"status": "false", "errorString": "no"})


def _store() -> tuple[KeStore, object]:
    store = KeStore(MEF)
    held = store.issue(split_export(secrets.token_bytes(48)), "kpm@" + MEF, "/Cae-1", MAF)
    return store, held


def test_ke_store_lookup_follows_i04() -> None:
    store, held = _store()
    relative, _, _ = held.ke_id.partition("@")
    assert store.by_ke_id(held.ke_id) is held
    assert store.by_ke_id(f"{relative.upper()}@{MEF.upper()}.") is held
    assert store.by_ke_id(f"{relative}@other.example.com") is None
    assert store.by_ke_id(relative) is None


def _request(target: str, origin: str | None) -> HttpRequest:
    headers = [("x-m2m-origin", origin)] if origin else []
    return HttpRequest(headers=headers, body=b"", method="GET", target=target)


def test_harness_mef_answers() -> None:
    store, held = _store()
    spec = SpecProfile()
    target = binding.fetch_target(held.ke_id)
    status, body, _ = answer_fetch(store, MefAnswer(), _request(target, MAF), MAF, 60, spec)
    assert status == 200 and bytes.fromhex(body["credential"]) == derive_km(held.ke, MAF)
    assert (
        answer_fetch(store, MefAnswer(), _request(target, "other.example.com"), MAF, 60, spec)[0]
        == 403
    )
    unknown = binding.fetch_target("00" * 16 + "@" + MEF)
    assert answer_fetch(store, MefAnswer(), _request(unknown, MAF), MAF, 60, spec)[0] == 404
    assert answer_fetch(store, MefAnswer(), _request(target, None), MAF, 60, spec)[0] == 400
    assert (
        answer_fetch(store, MefAnswer(refuse_status=403), _request(target, MAF), MAF, 60, spec)[0]
        == 403
    )


def test_fetch_refusal_verdicts() -> None:
    ob = SbfCase(Role.MEF, fetches=[CredentialFetch(status=200, body={})])
    with pytest.raises(SutFailure, match="released a credential"):
        sbf_checks.expect_fetch_refused(ob, 0, (403,), "another MAF")
    ob.fetches = [CredentialFetch(status=404, body=refusal("x"))]
    with pytest.raises(SutFailure, match="not 403"):
        sbf_checks.expect_fetch_refused(ob, 0, (403,), "another MAF")
    ob.fetches = [CredentialFetch(status=403, body={"error": "x"})]
    with pytest.raises(SutFailure, match="failure form"):
        sbf_checks.expect_fetch_refused(ob, 0, (403,), "another MAF")
    ob.fetches = [CredentialFetch(status=403, body=refusal("not yours"))]
    assert "HTTP 403" in sbf_checks.expect_fetch_refused(ob, 0, (403,), "another MAF")


def test_fetch_count_verdicts() -> None:
    ob = SbfCase(Role.MAF, fetches=[CredentialFetch(), CredentialFetch()])
    with pytest.raises(SutFailure, match="fetched 2 time"):
        sbf_checks.expect_fetch_count(ob, 1)
    with pytest.raises(SutFailure, match="although"):
        sbf_checks.expect_no_fetch(ob, "the KeID names an untrusted MEF")
