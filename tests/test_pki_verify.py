"""The seeds' certificate verification rules (harness/pki/verify.py) against the case file.

Every case of vectors/certificate_cases.json goes through the verifier; the chain part is
cross-checked with an independent implementation (``openssl verify``) where the case says
OpenSSL can judge it; the file validates against its schema and regenerates byte for
byte; and mutant verifiers (each one rival reading or one skipped check) must each fail
at least one case, so no rule is a check that never fails.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness.pki import verify
from harness.pki.generator import VALIDATION_TIME

ROOT = Path(__file__).resolve().parent.parent
CASE_FILE = ROOT / "vectors" / "certificate_cases.json"
SCHEMA_FILE = ROOT / "vectors" / "schemas" / "certificate_cases_schema.json"
DOCUMENT: dict[str, Any] = json.loads(CASE_FILE.read_text())
CASES = [case for group in DOCUMENT["testGroups"] for case in group["tests"]]
OPENSSL = shutil.which("openssl")


def _time(case: dict[str, Any]) -> dt.datetime:
    return dt.datetime.strptime(case["validationTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def _trusted(case: dict[str, Any]) -> verify.TrustedInputs:
    t = case["trusted"]
    return verify.TrustedInputs(t["otherEntityCertificateName"], t["otherEntityRootOfTrust"])


def _outcome(verdict: verify.CertificateVerdict) -> tuple[str, str | None, str]:
    return ("accept" if verdict.accepted else "reject", verdict.rule, verdict.path)


def test_schema_validates_case_file() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(DOCUMENT)
    assert DOCUMENT["numberOfTests"] == len(CASES)
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert len({c["tcId"] for c in CASES}) == len(CASES)
    documented = set(DOCUMENT["notes"])
    for case in CASES:
        assert set(case["flags"]) <= documented, case["id"]
        assert {r["flag"] for r in case["rivalReadings"]} <= documented, case["id"]


def test_schema_rejects_a_case_without_expected() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    broken = json.loads(CASE_FILE.read_text())
    del broken["testGroups"][0]["tests"][0]["expected"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_case_file_is_reproducible() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "record_certificate_cases", ROOT / "vectors" / "record_certificate_cases.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.render() == CASE_FILE.read_text()


def test_cases_cover_the_issue_list() -> None:
    """Every bad variant issue 9 lists has at least one case (by feature)."""
    features = {f for c in CASES for f in c["flags"]}
    wanted = {
        "name-wrong",
        "name-disallowed-field",
        "name-wildcard",
        "rot-wrong",
        "rot-intermediate",
        "chain-broken",
        "signature-bad",
        "validity-expired",
        "validity-not-yet-valid",
        "profile-curve",
        "profile-key-usage",
        "rot-other-root",
        "rot-truncated",
        "self-signed",
        "chained",
    }
    assert wanted <= features
    rules = {c["expected"]["rule"] for c in CASES}
    assert rules >= set(verify.RULES) - {"certificate-decodes", "name-present-chained"}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    verdict = verify.verify_peer_certificate(case["peerChain"], _trusted(case), _time(case))
    expected = case["expected"]
    assert _outcome(verdict) == (expected["result"], expected["rule"], expected["path"]), str(
        verdict
    )
    if not verdict.accepted:
        assert (
            verdict.requirement
            == verify.RULES[
                "name-present-chained"
                if (verdict.rule, verdict.path) == ("name-present", "chained")
                else verdict.rule
            ]
        )
        assert verdict.reason


def _openssl_verify(case: dict[str, Any], tmp: Path) -> str:
    chain = case["peerChain"]
    (tmp / "leaf.pem").write_text(chain[0])
    (tmp / "anchor.pem").write_text(case["openssl"]["anchor"])
    command = [
        OPENSSL,
        "verify",
        "-partial_chain",
        "-check_ss_sig",
        "-attime",
        str(int(_time(case).timestamp())),
        "-CAfile",
        str(tmp / "anchor.pem"),
    ]
    if len(chain) > 1:
        (tmp / "rest.pem").write_text("".join(chain[1:]))
        command += ["-untrusted", str(tmp / "rest.pem")]
    command.append(str(tmp / "leaf.pem"))
    done = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    return "ok" if done.returncode == 0 else "fail"


OPENSSL_CASES = [c for c in CASES if c["openssl"] is not None]


@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
@pytest.mark.parametrize("case", OPENSSL_CASES, ids=[c["id"] for c in OPENSSL_CASES])
def test_openssl_cross_check(case: dict[str, Any], tmp_path: Path) -> None:
    """OpenSSL's judgement of the chain part agrees with the case and with the verifier."""
    assert _openssl_verify(case, tmp_path) == case["openssl"]["result"]
    expected = case["expected"]
    if expected["result"] == "accept":
        assert case["openssl"]["result"] == "ok"
    if expected["rule"] in ("chain-valid", "self-signature-valid"):
        assert case["openssl"]["result"] == "fail"


def test_openssl_judges_enough_cases() -> None:
    assert len(OPENSSL_CASES) >= 25
    assert sum(c["openssl"]["result"] == "fail" for c in OPENSSL_CASES) >= 8


# --- bad configuration input is a harness error naming the field ------------------------

GOOD = next(c for c in CASES if c["id"] == "chain-root-sha256")


@pytest.mark.parametrize(
    ("name", "root", "field"),
    [
        ("", GOOD["trusted"]["otherEntityRootOfTrust"], "otherEntityCertificateName"),
        ("cse1.example.com", "", "otherEntityRootOfTrust"),
        ("cse1.example.com", "sha-256:abcd", "otherEntityRootOfTrust"),
        ("cse1.example.com", "ni:///md5;AAAA", "otherEntityRootOfTrust"),
        ("cse1.example.com", "ni:///sha-256;AAAA", "otherEntityRootOfTrust"),
        (
            "cse1.example.com",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "otherEntityRootOfTrust",
        ),
    ],
)
def test_bad_trusted_input_names_the_field(name: str, root: str, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        verify.verify_peer_certificate(GOOD["peerChain"], verify.TrustedInputs(name, root))


def test_naive_validation_time_is_refused() -> None:
    with pytest.raises(ValueError, match="validation_time"):
        verify.verify_peer_certificate(GOOD["peerChain"], _trusted(GOOD), dt.datetime(2026, 6, 1))


def test_undecodable_peer_chain_is_a_refusal() -> None:
    for chain in ([], [b"\x30\x03\x02\x01\x00"]):
        verdict = verify.verify_peer_certificate(chain, _trusted(GOOD), VALIDATION_TIME)
        assert not verdict.accepted and verdict.rule == "certificate-decodes"
        assert verdict.requirement and "SAEF-CERT-05" in verdict.requirement


def test_der_and_pem_inputs_agree() -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    der = [
        x509.load_pem_x509_certificate(p.encode()).public_bytes(serialization.Encoding.DER)
        for p in GOOD["peerChain"]
    ]
    verdict = verify.verify_peer_certificate(der, _trusted(GOOD), VALIDATION_TIME)
    assert verdict.accepted and verdict.anchor_index == 2
    assert verdict.name_field == "subject commonName"


# --- mutants: each rival reading or skipped check must fail at least one case -----------


def _run_all() -> list[str]:
    """Ids of the cases the (possibly patched) verifier gets wrong."""
    wrong = []
    for case in CASES:
        verdict = verify.verify_peer_certificate(case["peerChain"], _trusted(case), _time(case))
        if ("accept" if verdict.accepted else "reject") != case["expected"]["result"]:
            wrong.append(case["id"])
    return wrong


def _case_insensitive(certificate: Any, configured: str, rule: str) -> str:
    for field_name, value in verify.certificate_names(certificate):
        if value.lower() == configured.lower():
            return field_name
    raise verify._Refusal(rule, "no name")


def _prefix(certificate: Any, configured: str, rule: str) -> str:
    for field_name, value in verify.certificate_names(certificate):
        if value.startswith(configured):
            return field_name
    raise verify._Refusal(rule, "no name")


def _wildcard(certificate: Any, configured: str, rule: str) -> str:
    for field_name, value in verify.certificate_names(certificate):
        if value == configured or (
            value.startswith("*.") and configured.split(".", 1)[-1] == value[2:]
        ):
            return field_name
    raise verify._Refusal(rule, "no name")


def _full_sha256_only(trusted: Any, key: Any) -> bool:
    from harness.pki import rot

    return trusted.algorithm == "sha-256" and rot.digest(rot.spki_der(key)) == trusted.value


def _no_name_check(certificate: Any, configured: str, rule: str) -> str:
    return "none"


MUTANTS = {
    "name-case-insensitive": ("_name_field", _case_insensitive),
    "name-prefix": ("_name_field", _prefix),
    "accepts-wildcard": ("_name_field", _wildcard),
    "no-name-check": ("_name_field", _no_name_check),
    "ignores-expiry": ("_check_time", lambda *a, **k: None),
    "no-signature-check": ("_check_signature", lambda *a, **k: None),
    "no-ca-check": ("_check_issuer", lambda *a, **k: None),
    "no-profile-check": ("_check_profile", lambda *a, **k: None),
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_verifier_fails_a_case(mutant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    attribute, replacement = MUTANTS[mutant]
    monkeypatch.setattr(verify, attribute, replacement)
    assert _run_all(), f"mutant {mutant} passes every case: a check that never fails"


def test_mutant_full_sha256_only_fails_a_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify.rot, "matches", _full_sha256_only)
    assert {"chain-root-sha-256-128", "ss-sha-256-120"} <= set(_run_all())


def test_mutant_no_root_of_trust_check_fails_a_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify._Trusted, "matches", lambda self, certificate: True)
    assert _run_all()


def test_mutant_accepts_any_self_signed(monkeypatch: pytest.MonkeyPatch) -> None:
    def accept(leaf: Any, trusted: Any, when: Any) -> verify.CertificateVerdict:
        return verify.CertificateVerdict(True, verify.SELF_SIGNED)

    monkeypatch.setattr(verify, "_verify_self_signed", accept)
    assert "ss-name-not-key-hash" in _run_all()


def test_mutant_stops_at_first_chain_element(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the leaf's own signature is checked, not the links above it."""
    original = verify._check_signature

    def first_link_only(child: Any, issuer: Any, index: int) -> None:
        if index == 0:
            original(child, issuer, index)

    monkeypatch.setattr(verify, "_check_signature", first_link_only)
    assert "chain-bad-signature-intermediate" in _run_all()


def _rival(flag: str) -> dict[str, str]:
    return {c["id"]: r["result"] for c in CASES for r in c["rivalReadings"] if r["flag"] == flag}


@pytest.mark.parametrize(
    ("mutant", "flag"),
    [
        ("name-case-insensitive", "name-case-insensitive"),
        ("accepts-wildcard", "name-wildcard-match"),
    ],
)
def test_rival_flags_predict_the_rival_verifier(
    mutant: str, flag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flag says what a verifier with that reading does: check it with such a verifier."""
    attribute, replacement = MUTANTS[mutant]
    monkeypatch.setattr(verify, attribute, replacement)
    rival = _rival(flag)
    assert rival
    assert set(_run_all()) >= set(rival)


def test_rival_flag_full_sha256_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify.rot, "matches", _full_sha256_only)
    rival = _rival("rot-full-sha256-only")
    assert len(rival) == 4 and set(_run_all()) == set(rival)


@pytest.mark.parametrize(
    ("case_id", "alert"),
    [
        ("chain-wrong-name", "bad_certificate"),
        ("chain-other-root", "unknown_ca"),
        ("chain-leaf-expired", "certificate_expired"),
        ("chain-leaf-not-yet-valid", "certificate_expired"),
        ("ss-expired", "certificate_expired"),
        ("chain-bad-signature-leaf", "bad_certificate"),
        ("chain-leaf-wrong-curve", "unsupported_certificate"),
    ],
)
def test_refusal_alert(case_id: str, alert: str) -> None:
    """RFC 5246 7.2.2 alerts for a refusal (the seeds name none; spec-profile S-06)."""
    case = next(c for c in CASES if c["id"] == case_id)
    verdict = verify.verify_peer_certificate(case["peerChain"], _trusted(case), _time(case))
    assert verdict.alert == alert


def test_engine_check_shape() -> None:
    """The verifier as harness/tls's CertificateCheck: DER chain in, None or (alert, why)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    def der(case: dict[str, Any]) -> list[bytes]:
        return [
            x509.load_pem_x509_certificate(p.encode()).public_bytes(serialization.Encoding.DER)
            for p in case["peerChain"]
        ]

    check = verify.engine_check(_trusted(GOOD), VALIDATION_TIME)
    assert check(der(GOOD)) is None
    other = next(c for c in CASES if c["id"] == "chain-other-root")
    refusal = check(der(other))
    assert refusal is not None and refusal[0] == "unknown_ca" and "SAEF-CERT-10" in refusal[1]
    with pytest.raises(ValueError, match="otherEntityRootOfTrust"):
        verify.engine_check(verify.TrustedInputs("x", "ni:///sha-256;AAAA"))
