"""Km (TS-0003 10.3.2), the usage-constrained key (10.3.7, I-12) and the derived KmID
(I-05) against values recorded with independent tools.

1. Recorded vectors (vectors/onem2m_km_derivation.json, made by
   vectors/record_km_derivation.py with ``openssl mac`` / ``openssl dgst`` and NFKC
   cross-checked by Perl's Unicode::Normalize and ICU's uconv): harness.key_export must
   give every valid value and none of the invalid ones (each the value of a wrong
   reading: no NFKC, NFC only, wrong label, Ke as Km, SUID as one octet, ...).
2. Live re-checks: ``openssl mac`` over the octets harness.key_export normalises, and
   Perl (and ICU, where installed) normalising every identifier of the file.
3. Mutants of the derivation (the issue's "Km derived without NFKC", "Km with the wrong
   label", "Enrolee uses Ke as Km") each disagree with some valid vector.
4. Input validation: a bad Ke, identifier, SUID, Km or FQDN raises ValueError naming it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness.key_export import (
    ENROLMENT_KM_LABEL,
    SUID_ENCODING,
    SUID_RSPF_SHARED_WITH_MAF,
    USAGE_CONSTRAINED_LABEL,
    derive_km,
    derive_usage_constrained_key,
    derived_kmid,
    nfkc_identifier,
    parse_key_identifier,
    suid_octets,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
VECTOR_FILE = VECTORS / "onem2m_km_derivation.json"
TIMEOUT = 10.0
KM_TYPE = "OneM2MKmDerivationTest"
UC_TYPE = "OneM2MUsageConstrainedKeyTest"
KMID_TYPE = "OneM2MDerivedKmIdTest"


def _document() -> dict[str, Any]:
    return json.loads(VECTOR_FILE.read_text())


def _group(kind: str) -> dict[str, Any]:
    (group,) = [g for g in _document()["testGroups"] if g["type"] == kind]
    return group


def _tests(kind: str) -> list[dict[str, Any]]:
    return _group(kind)["tests"]


def _ids(tests: list[dict[str, Any]]) -> list[str]:
    return [f"tcId{t['tcId']}" for t in tests]


KM_TESTS = _tests(KM_TYPE)
UC_TESTS = _tests(UC_TYPE)
KMID_TESTS = _tests(KMID_TYPE)
ALL_FLAGS = {f for t in KM_TESTS + UC_TESTS + KMID_TESTS for f in t["flags"]}


def _valid(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in tests if t["result"] == "valid"]


# 1. The file ---------------------------------------------------------------------------


def test_vector_file_matches_its_schema() -> None:
    document = _document()
    schema = json.loads((VECTORS / "schemas" / document["schema"]).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)
    tests = [t for g in document["testGroups"] for t in g["tests"]]
    assert document["numberOfTests"] == len(tests)
    assert len({t["tcId"] for t in tests}) == len(tests)
    assert set(document["notes"]) >= ALL_FLAGS


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["testGroups"][0]["tests"][0].update(surprise=1),
        lambda d: d["testGroups"][0].update(type="OneM2MKeyExportTest"),
        lambda d: d["testGroups"][0].update(label="oneM2M Enrolment Key"),
        lambda d: d["testGroups"][1].update(suidEncoding="octet"),
        lambda d: d["testGroups"][0]["tests"][0].update(km="00" * 31),
        lambda d: d["testGroups"][0]["tests"][0].update(result="maybe"),
    ],
    ids=["unknown-field", "group-type", "label", "suid-encoding", "short-km", "result"],
)
def test_schema_rejects_a_damaged_file(mutate: Callable[[dict[str, Any]], None]) -> None:
    document = _document()
    mutate(document)
    schema = json.loads((VECTORS / "schemas" / document["schema"]).read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(document)


def test_file_labels_are_the_harness_constants() -> None:
    """The recorder types the labels from the clause text itself: a typo on either side
    shows here, not as a silently wrong Km."""
    assert _group(KM_TYPE)["label"] == ENROLMENT_KM_LABEL
    assert _group(UC_TYPE)["label"] == USAGE_CONSTRAINED_LABEL
    assert _group(UC_TYPE)["suidEncoding"] == SUID_ENCODING == "decimal-ascii"
    assert len(_group(KM_TYPE)["nfkcOracles"]) >= 2


def test_vectors_cover_the_cases() -> None:
    """NFKC cases whose normal form differs from the input (fullwidth, ligature,
    compatibility digits, combining sequence vs precomposed), plain ASCII, long
    identifiers, and the wrong readings a SUT may have."""
    km_flags = {f for t in _valid(KM_TESTS) for f in t["flags"]}
    assert km_flags >= {
        "Ascii", "Fullwidth", "Ligature", "CompatibilityDigit", "CombiningSequence",
        "Precomposed", "Long", "NfkcChangesInput", "NfkcDiffersFromNfc", "CaseKept",
    }  # fmt: skip
    wrong = {
        f for t in KM_TESTS + UC_TESTS + KMID_TESTS if t["result"] != "valid" for f in t["flags"]
    }
    assert wrong >= {
        "WithoutNfkc", "NfcOnly", "WrongLabel", "KeAsKm", "SuidOneOctet", "KmNotUsageKey",
        "LastOctets", "UpperCaseHex",
    }  # fmt: skip
    assert {t["suid"] for t in _valid(UC_TESTS)} >= {SUID_RSPF_SHARED_WITH_MAF}
    assert len(_valid(KMID_TESTS)) >= 3


@pytest.mark.parametrize("test", KM_TESTS + UC_TESTS, ids=_ids(KM_TESTS + UC_TESTS))
def test_nfkc_flags_tell_the_truth(test: dict[str, Any]) -> None:
    """The input octets and normal forms in the file are what the flags claim."""
    text = test.get("mafId", test.get("targetId"))
    raw = test.get("mafIdUtf8", test.get("targetIdUtf8"))
    nfkc = test.get("mafIdNfkc", test.get("targetIdNfkc"))
    assert text.encode("utf-8").hex() == raw
    assert ("NfkcChangesInput" in test["flags"]) == (raw != nfkc)
    nfc = unicodedata.normalize("NFC", text).encode("utf-8").hex()
    if "NfkcDiffersFromNfc" in test["flags"]:
        assert nfc != nfkc
    if "Ascii" in test["flags"]:
        assert text.isascii()


# Km, 10.3.2


@pytest.mark.parametrize("test", KM_TESTS, ids=_ids(KM_TESTS))
def test_km_vector(test: dict[str, Any]) -> None:
    assert nfkc_identifier(test["mafId"]).hex() == test["mafIdNfkc"]
    km = derive_km(bytes.fromhex(test["ke"]), test["mafId"])
    assert len(km) == 32
    if test["result"] == "valid":
        assert km.hex() == test["km"]
    else:
        assert km.hex() != test["km"], f"derive_km gives the value of {test['flags']}"


def test_km_depends_on_the_normal_form_only() -> None:
    """Writings of one MAF-ID with one NFKC form give one Km; distinct forms, distinct Km.
    The file must hold such pairs (fullwidth vs ASCII, combining vs precomposed)."""
    by_input: dict[tuple[str, str], set[str]] = {}
    for test in _valid(KM_TESTS):
        by_input.setdefault((test["ke"], test["mafIdNfkc"]), set()).add(test["km"])
    assert all(len(kms) == 1 for kms in by_input.values())
    kms = [next(iter(v)) for v in by_input.values()]
    assert len(set(kms)) == len(kms)
    writings: dict[tuple[str, str], set[str]] = {}
    for test in _valid(KM_TESTS):
        writings.setdefault((test["ke"], test["mafIdNfkc"]), set()).add(test["mafIdUtf8"])
    plain = b"maf.example.com".hex()
    assert any(len(w) >= 3 and plain in w for w in writings.values())  # ASCII + 2 fullwidth
    assert any(len(w) == 2 and plain not in w for w in writings.values())  # e + U+0301 / é


# Usage-constrained key, 10.3.7


@pytest.mark.parametrize("test", UC_TESTS, ids=_ids(UC_TESTS))
def test_usage_constrained_vector(test: dict[str, Any]) -> None:
    assert suid_octets(test["suid"]).hex() == test["suidOctets"]
    assert nfkc_identifier(test["targetId"]).hex() == test["targetIdNfkc"]
    key = derive_usage_constrained_key(bytes.fromhex(test["ke"]), test["suid"], test["targetId"])
    if test["result"] == "valid":
        assert key.hex() == test["key"]
    else:
        assert key.hex() != test["key"], f"10.3.7 gives the value of {test['flags']}"


def test_usage_constrained_key_is_not_km() -> None:
    """The two I-12 settings give different keys for one Ke and target, so a verdict can
    tell which one a MEF followed."""
    for test in _valid(UC_TESTS):
        ke = bytes.fromhex(test["ke"])
        assert derive_km(ke, test["targetId"]).hex() != test["key"]


def test_suid_encoding() -> None:
    assert suid_octets(21) == b"21"
    assert suid_octets(SUID_RSPF_SHARED_WITH_MAF) == b"\x32\x31"
    assert suid_octets(10) == b"10" and suid_octets(145) == b"145"


# Derived KmID, I-05


@pytest.mark.parametrize("test", KMID_TESTS, ids=_ids(KMID_TESTS))
def test_derived_kmid_vector(test: dict[str, Any]) -> None:
    km = bytes.fromhex(test["km"])
    assert hashlib.sha256(km).hexdigest() == test["sha256"]
    kmid = derived_kmid(km, test["mafFqdn"])
    parsed, recorded = parse_key_identifier(kmid), parse_key_identifier(test["kmId"])
    assert parsed is not None and recorded is not None
    assert parsed.fqdn == test["mafFqdn"] and parsed.relative == parsed.relative.lower()
    if test["result"] == "valid":
        assert kmid == test["kmId"]
    elif test["result"] == "acceptable":  # not what the suite writes, but the same KmID
        assert kmid != test["kmId"] and parsed.matches(recorded)
    else:
        assert kmid != test["kmId"] and not parsed.matches(recorded)


def test_derived_kmids_chain_from_recorded_keys() -> None:
    """export (onem2m_key_export_openssl.json) -> Km / 10.3.7 key -> KmID, all recorded."""
    keys = {t["km"] for t in _valid(KM_TESTS)} | {t["key"] for t in _valid(UC_TESTS)}
    chained = [t for t in _valid(KMID_TESTS) if "ChainedKm" in t["flags"]]
    assert len(chained) >= 2 and all(t["km"] in keys for t in chained)
    exported = json.loads((VECTORS / "onem2m_key_export_openssl.json").read_text())
    bootstrap_kes = {
        t["key"]
        for g in exported["testGroups"]
        if g["label"] == "EXPORTER-oneM2M-Bootstrap"
        for t in g["tests"]
    }
    from_export = [t for t in KM_TESTS if "ChainedFromExport" in t["flags"]]
    assert from_export, "no Km vector starts from an exported Ke"
    if not {t["ke"] for t in from_export} <= bootstrap_kes:
        pytest.fail(
            "onem2m_key_export_openssl.json was re-recorded: re-run "
            "vectors/record_km_derivation.py so the chain starts from its Ke again"
        )


# 2. Live oracles -----------------------------------------------------------------------


def _openssl_hmac(tmp_path: Path, key: bytes, message: bytes) -> bytes:
    path = tmp_path / "message.bin"
    path.write_bytes(message)
    done = subprocess.run(
        ["openssl", "mac", "-digest", "SHA256", "-macopt", f"hexkey:{key.hex()}", "-in",
         str(path), "HMAC"],
        capture_output=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    return bytes.fromhex(done.stdout.decode().strip())


def _live_cases() -> list[dict[str, Any]]:
    """One valid Km vector per NFKC kind, the long one, and every valid 10.3.7 vector."""
    picked: dict[str, dict[str, Any]] = {}
    for test in _valid(KM_TESTS):
        for flag in ("Ascii", "Fullwidth", "Ligature", "CompatibilityDigit",
                     "CombiningSequence", "Long"):  # fmt: skip
            if flag in test["flags"]:
                picked.setdefault(flag, test)
    return list({t["tcId"]: t for t in picked.values()}.values()) + _valid(UC_TESTS)


LIVE = _live_cases()
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl")


@needs_openssl
@pytest.mark.parametrize("test", LIVE, ids=_ids(LIVE))
def test_openssl_mac_agrees_live(tmp_path: Path, test: dict[str, Any]) -> None:
    """OpenSSL's HMAC over the octets harness.key_export builds gives the recorded value
    and the harness's own."""
    ke = bytes.fromhex(test["ke"])
    if "mafId" in test:
        message = ENROLMENT_KM_LABEL.encode() + nfkc_identifier(test["mafId"])
        ours, recorded = derive_km(ke, test["mafId"]), test["km"]
    else:
        message = (
            USAGE_CONSTRAINED_LABEL.encode()
            + suid_octets(test["suid"])
            + nfkc_identifier(test["targetId"])
        )
        ours = derive_usage_constrained_key(ke, test["suid"], test["targetId"])
        recorded = test["key"]
    oracle = _openssl_hmac(tmp_path, ke, message)
    assert oracle == ours and oracle.hex() == recorded


@needs_openssl
def test_openssl_dgst_agrees_live() -> None:
    for test in _valid(KMID_TESTS)[:2]:
        km = bytes.fromhex(test["km"])
        done = subprocess.run(
            ["openssl", "dgst", "-sha256", "-r"], input=km, capture_output=True,
            timeout=TIMEOUT, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr.decode()
        digest = bytes.fromhex(done.stdout.decode().split()[0])
        assert f"{digest[:16].hex()}@{test['mafFqdn']}" == derived_kmid(km, test["mafFqdn"])


IDENTIFIERS = sorted({t.get("mafId", t.get("targetId")) for t in KM_TESTS + UC_TESTS})
PERL_NFKC = (
    "use Unicode::Normalize; binmode STDIN, ':encoding(UTF-8)';"
    " binmode STDOUT, ':encoding(UTF-8)'; local $/; my $s = <STDIN>; print NFKC($s);"
)


def _normaliser(args: list[str]) -> Callable[[bytes], bytes]:
    def run(raw: bytes) -> bytes:
        done = subprocess.run(args, input=raw, capture_output=True, timeout=TIMEOUT, check=False)
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout

    return run


NORMALISERS = {
    "perl": (shutil.which("perl"), ["perl", "-e", PERL_NFKC]),
    "uconv": (shutil.which("uconv"), ["uconv", "-f", "utf-8", "-t", "utf-8", "-x", "any-nfkc"]),
}


@pytest.mark.parametrize("name", sorted(NORMALISERS))
def test_second_normaliser_agrees_live(name: str) -> None:
    """Every identifier of the file normalises to the same octets with Perl's
    Unicode::Normalize / ICU as with harness.key_export (Python's unicodedata)."""
    found, args = NORMALISERS[name]
    if found is None:
        pytest.skip(f"{args[0]} is not installed")
    run = _normaliser(args)
    for text in IDENTIFIERS:
        assert run(text.encode("utf-8")) == nfkc_identifier(text), text


# 3. Mutants: the vectors catch the wrong readings --------------------------------------


def _km_without_nfkc(ke: bytes, maf_id: str) -> bytes:
    return hmac.new(ke, ENROLMENT_KM_LABEL.encode() + maf_id.encode(), hashlib.sha256).digest()


def _km_nfc(ke: bytes, maf_id: str) -> bytes:
    message = ENROLMENT_KM_LABEL.encode() + unicodedata.normalize("NFC", maf_id).encode()
    return hmac.new(ke, message, hashlib.sha256).digest()


def _km_wrong_label(ke: bytes, maf_id: str) -> bytes:
    message = b"oneM2M Enrolment Key to Master Credential" + nfkc_identifier(maf_id)
    return hmac.new(ke, message, hashlib.sha256).digest()


def _km_is_ke(ke: bytes, maf_id: str) -> bytes:
    return ke


@pytest.mark.parametrize(
    "mutant", [_km_without_nfkc, _km_nfc, _km_wrong_label, _km_is_ke], ids=lambda f: f.__name__
)
def test_vectors_kill_km_mutant(mutant: Callable[[bytes, str], bytes]) -> None:
    killed = [
        t["tcId"]
        for t in _valid(KM_TESTS)
        if mutant(bytes.fromhex(t["ke"]), t["mafId"]).hex() != t["km"]
    ]
    assert killed, f"{mutant.__name__} passes every Km vector"


def test_vectors_kill_suid_octet_mutant() -> None:
    def one_octet(ke: bytes, suid: int, target: str) -> bytes:
        message = USAGE_CONSTRAINED_LABEL.encode() + bytes([suid]) + nfkc_identifier(target)
        return hmac.new(ke, message, hashlib.sha256).digest()

    assert all(
        one_octet(bytes.fromhex(t["ke"]), t["suid"], t["targetId"]).hex() != t["key"]
        for t in _valid(UC_TESTS)
    )


# 4. Input validation -------------------------------------------------------------------

KE = bytes(range(32))


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: derive_km(KE[:31], "maf.example.com"), r"Ke is 31 octets, expected 32"),
        (lambda: derive_km(KE + b"\0", "maf.example.com"), r"Ke is 33 octets"),
        (lambda: derive_km(b"", "maf.example.com"), r"Ke is 0 octets"),
        (lambda: derive_km(bytes(48), "maf.example.com"), r"Ke is 48 octets"),
        (lambda: derive_km(KE.hex(), "maf.example.com"), r"Ke must be octets, not str"),
        (lambda: derive_km(KE, ""), r"MAF-ID is empty"),
        (lambda: derive_km(KE, b"maf.example.com"), r"MAF-ID must be a string, not bytes"),
        (lambda: derive_km(KE, None), r"MAF-ID must be a string, not NoneType"),
        (lambda: derive_km(KE, "maf\ud800.example.com"), r"MAF-ID is not encodable as UTF-8"),
        (lambda: derive_usage_constrained_key(KE[:16], 21, "maf.example.com"), r"Ke is 16"),
        (lambda: derive_usage_constrained_key(KE, 21, ""), r"Enrolment-Target-ID is empty"),
        (lambda: derive_usage_constrained_key(KE, 0, "maf.example.com"), r"positive .*not 0"),
        (lambda: derive_usage_constrained_key(KE, -21, "maf.example.com"), r"not -21"),
        (lambda: derive_usage_constrained_key(KE, "21", "maf.example.com"), r"SUID must be an integer, not str"),
        (lambda: derive_usage_constrained_key(KE, True, "maf.example.com"), r"SUID must be an integer, not bool"),
        (lambda: derive_usage_constrained_key(KE, 21.0, "maf.example.com"), r"not float"),
        (lambda: derived_kmid(KE[:16], "maf.example.com"), r"Km is 16 octets, expected 32"),
        (lambda: derived_kmid("00" * 32, "maf.example.com"), r"Km must be octets, not str"),
        (lambda: derived_kmid(KE, ""), r"MAF-FQDN is empty"),
        (lambda: derived_kmid(KE, None), r"MAF-FQDN must be a string"),
        (lambda: derived_kmid(KE, "dev@maf.example.com"), r"contains '@'"),
        (lambda: nfkc_identifier("", "Enrolee-ID"), r"Enrolee-ID is empty"),
    ],
    ids=[
        "ke-31", "ke-33", "ke-empty", "ke-48-unsplit", "ke-hex-text", "maf-id-empty",
        "maf-id-bytes", "maf-id-none", "maf-id-surrogate", "uc-ke-16", "uc-target-empty",
        "suid-0", "suid-negative", "suid-text", "suid-bool", "suid-float", "km-16", "km-text",
        "fqdn-empty", "fqdn-none", "fqdn-at", "field-name",
    ],
)  # fmt: skip
def test_bad_input_names_the_problem(call: Callable[[], object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_octet_types_are_accepted() -> None:
    """bytearray Ke / Km (as a key store may hold them) give the same values as bytes."""
    assert derive_km(bytearray(KE), "maf.example.com") == derive_km(KE, "maf.example.com")
    km = derive_km(KE, "maf.example.com")
    assert derived_kmid(bytearray(km), "maf.example.com") == derived_kmid(km, "maf.example.com")
