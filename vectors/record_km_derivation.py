"""Record the oneM2M Ke derivation vectors (TS-0003 10.3.2, 10.3.7, spec-profile I-05).

Run by hand (``python vectors/record_km_derivation.py > vectors/onem2m_km_derivation.json``);
the tests only read the JSON. The values are computed with tools that share no code with
``harness.key_export``, and this script does not import it (not even its labels, which are
typed here again from the clause text, so a typo in either place shows as a mismatch):

- NFKC: Python's ``unicodedata`` gives the normalised octets, and every input is
  normalised again by Perl's Unicode::Normalize and, where installed, ICU's ``uconv -x
  any-nfkc``; recording stops unless all of them agree, and the group names who agreed.
- HMAC-SHA-256: ``openssl mac -digest SHA256 -macopt hexkey:<Ke> -in <message file>
  HMAC`` over label || normalised identifier (|| SUID for 10.3.7) written to a file.
- SHA-256 of Km for the derived KmID: ``openssl dgst -sha256 -r``.

Invalid vectors hold the value a wrong implementation computes (no NFKC, NFC only, a
wrong label, Ke used as Km, SUID as one octet, ...), recorded with the same tools, so a
test can show the harness's definitions reject each of those readings.
"""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIMEOUT = 10.0  # bound on every tool run
KM_LABEL = "oneM2M Enrolment Key to Master Credential derivation"  # TS-0003 10.3.2
UC_LABEL = "oneM2M Enrolment Key to Usage-Constrained Symmetric Key derivation"  # 10.3.7
KPSA_LABEL = "oneM2M Enrolment Key to Provisioned Secure Connection Key derivation"  # 10.3.3
HERE = Path(__file__).resolve().parent


def _run(args: list[str], data: bytes | None = None) -> bytes:
    done = subprocess.run(args, input=data, capture_output=True, timeout=TIMEOUT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed ({done.returncode}): {done.stderr.decode()!r}")
    return done.stdout


def _tool_version(args: list[str]) -> str:
    return _run(args).decode().strip().splitlines()[0]


class Normalisers:
    """NFKC by Python, checked against Perl and (if present) ICU on every input."""

    PERL = (
        "use Unicode::Normalize; binmode STDIN, ':encoding(UTF-8)';"
        " binmode STDOUT, ':encoding(UTF-8)'; local $/; my $s = <STDIN>; print NFKC($s);"
    )

    def __init__(self) -> None:
        if shutil.which("perl") is None:
            raise SystemExit("perl (Unicode::Normalize) is needed as the second NFKC oracle")
        perl = _run(
            [
                "perl",
                "-MUnicode::Normalize",
                "-MUnicode::UCD",
                "-e",
                'print "$Unicode::Normalize::VERSION ", Unicode::UCD::UnicodeVersion();',
            ]
        ).decode()
        module, unicode = perl.split()
        self.names = [
            f"Python {sys.version.split()[0]} unicodedata (Unicode {unicodedata.unidata_version})",
            f"Perl Unicode::Normalize {module} (Unicode {unicode})",
        ]
        self.uconv = shutil.which("uconv")
        if self.uconv is not None:
            icu = _tool_version([self.uconv, "--version"]).split("ICU")[-1].strip()
            self.names.append(f"ICU {icu} uconv -x any-nfkc")

    def nfkc(self, text: str) -> bytes:
        raw = text.encode("utf-8")
        python = unicodedata.normalize("NFKC", text).encode("utf-8")
        others = [_run(["perl", "-e", self.PERL], raw)]
        if self.uconv is not None:
            others.append(_run([self.uconv, "-f", "utf-8", "-t", "utf-8", "-x", "any-nfkc"], raw))
        for name, value in zip(self.names[1:], others, strict=True):
            if value != python:
                raise SystemExit(
                    f"NFKC of {text!r}: Python gives {python.hex()}, {name} {value.hex()}"
                )
        return python


def openssl_hmac(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA-256 by ``openssl mac`` over the message as a file."""
    with tempfile.TemporaryDirectory(prefix="m2mconf-km-") as tmp:
        path = Path(tmp) / "message.bin"
        path.write_bytes(message)
        out = _run(
            ["openssl", "mac", "-digest", "SHA256", "-macopt", f"hexkey:{key.hex()}"]
            + ["-in", str(path), "HMAC"]
        )
    value = bytes.fromhex(out.decode().strip())
    assert len(value) == 32, out
    return value


def openssl_sha256(data: bytes) -> bytes:
    """SHA-256 by ``openssl dgst -sha256 -r`` (stdin)."""
    out = _run(["openssl", "dgst", "-sha256", "-r"], data).decode()
    return bytes.fromhex(out.split()[0])


def _bootstrap_ke() -> tuple[bytes, str]:
    """The Ke OpenSSL exported in the bootstrap vector of onem2m_key_export_openssl.json,
    so the chain export -> Km -> KmID starts from a value a real handshake produced."""
    document = json.loads((HERE / "onem2m_key_export_openssl.json").read_text())
    for group in document["testGroups"]:
        if group["label"] == "EXPORTER-oneM2M-Bootstrap":
            test = group["tests"][0]
            return bytes.fromhex(test["key"]), f"tcId {test['tcId']}"
    raise SystemExit("no bootstrap vector in onem2m_key_export_openssl.json")


KE_B = bytes(range(32))
KE_C = bytes.fromhex("a5" * 16 + "5a" * 16)
LONG_FQDN = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 57, "maf"])  # 253 octets


@dataclass(frozen=True)
class KmCase:
    comment: str
    flags: list[str]
    ke: str  # "A" (the bootstrap export), "B", "C"
    maf_id: str
    wrong: str | None = None  # how an invalid vector's km is computed


KM_CASES = [
    KmCase("plain ASCII MAF-ID, the MAF FQDN (I-06 default); Ke exported by OpenSSL",
           ["Ascii", "ChainedFromExport"], "A", "maf.example.com"),
    KmCase("fullwidth letters: NFKC gives maf.example.com, so Km equals the ASCII case",
           ["Fullwidth", "NfkcChangesInput"], "A", "\uff4d\uff41\uff46.example.com"),
    KmCase("fullwidth letters and fullwidth full stops throughout: NFKC gives maf.example.com",
           ["Fullwidth", "NfkcChangesInput"], "A",
           "\uff4d\uff41\uff46\uff0e\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff43\uff4f\uff4d"),
    KmCase("NFKC does not fold case: upper-case letters give another Km",
           ["Ascii", "CaseKept"], "A", "MAF.Example.COM"),
    KmCase("ligature U+FB01 (fi): NFKC gives profile-maf.example.com, NFC leaves it",
           ["Ligature", "NfkcChangesInput", "NfkcDiffersFromNfc"], "B",
           "pro\ufb01le-maf.example.com"),
    KmCase("superscript two U+00B2: NFKC gives maf2.example.com",
           ["CompatibilityDigit", "NfkcChangesInput", "NfkcDiffersFromNfc"], "B",
           "maf\u00b2.example.com"),
    KmCase("circled digit one U+2460 and fullwidth digit U+FF17: NFKC gives maf17.example.com",
           ["CompatibilityDigit", "Fullwidth", "NfkcChangesInput", "NfkcDiffersFromNfc"], "B",
           "maf\u2460\uff17.example.com"),
    KmCase("combining sequence e + U+0301: NFKC composes it to U+00E9, Km equals the"
           " precomposed case", ["CombiningSequence", "NfkcChangesInput"], "B",
           "cafe\u0301.maf.example"),
    KmCase("precomposed U+00E9: already NFKC, non-ASCII UTF-8 (c3 a9)",
           ["Precomposed", "NonAscii"], "B", "caf\u00e9.maf.example"),
    KmCase("Kelvin sign U+212A: a canonical singleton, NFKC (and NFC) give K",
           ["CanonicalSingleton", "NfkcChangesInput"], "B", "\u212aelvin-maf.example.com"),
    KmCase("a 253-octet FQDN, the longest DNS name (message of 305 octets)",
           ["Ascii", "Long"], "C", LONG_FQDN),
    KmCase("a long MAF-ID of 120 fullwidth letters (360 octets, 120 after NFKC)",
           ["Fullwidth", "Long", "NfkcChangesInput"], "C", "\uff4d" * 120),
    KmCase("Km over the fullwidth MAF-ID without NFKC: not the 10.3.2 value",
           ["Fullwidth", "WithoutNfkc"], "A", "\uff4d\uff41\uff46.example.com", "raw"),
    KmCase("Km over the combining sequence without normalisation: not the 10.3.2 value",
           ["CombiningSequence", "WithoutNfkc"], "B", "cafe\u0301.maf.example", "raw"),
    KmCase("Km over the ligature after NFC instead of NFKC: not the 10.3.2 value",
           ["Ligature", "NfcOnly"], "B", "pro\ufb01le-maf.example.com", "nfc"),
    KmCase("Km with the 10.3.3 (Kpsa) label instead of the 10.3.2 label",
           ["Ascii", "WrongLabel"], "A", "maf.example.com", "kpsa-label"),
    KmCase("Km with the 10.3.7 label and no SUID instead of the 10.3.2 label",
           ["Ascii", "WrongLabel"], "A", "maf.example.com", "uc-label"),
    KmCase("Ke used as Km (no derivation)", ["Ascii", "KeAsKm"], "A", "maf.example.com", "ke"),
    KmCase("MAF-ID before the label instead of after it",
           ["Ascii", "WrongOrder"], "A", "maf.example.com", "swapped"),
]  # fmt: skip


@dataclass(frozen=True)
class UcCase:
    comment: str
    flags: list[str]
    ke: str
    suid: int
    target_id: str
    wrong: str | None = None


UC_CASES = [
    UcCase("SUID 21 (RSPF key shared with a MAF), the MAF as Enrolment Target (8.3.2.1);"
           " Ke exported by OpenSSL, so the key differs from the Km of the same Ke",
           ["Ascii", "ChainedFromExport"], "A", 21, "maf.example.com"),
    UcCase("SUID 21, fullwidth target: NFKC gives maf.example.com, the key equals the ASCII"
           " case", ["Fullwidth", "NfkcChangesInput"], "A", 21, "\uff4d\uff41\uff46.example.com"),
    UcCase("SUID 22 (RSPF key for a SAEF), a CSE as target in its FQDN form",
           ["Ascii"], "B", 22, "in-cse.sp.example.net"),
    UcCase("SUID 10, ligature in the target: NFKC gives profile-mef.example.com",
           ["Ligature", "NfkcChangesInput"], "B", 10, "pro\ufb01le-mef.example.com"),
    UcCase("SUID 21 as one octet 0x15 instead of the decimal digits 32 31: the other"
           " reading of 10.3.7, not the suite's (SUID_ENCODING)",
           ["Ascii", "SuidOneOctet"], "A", 21, "maf.example.com", "suid-octet"),
    UcCase("SUID left out of the message", ["Ascii", "SuidOmitted"], "A", 21,
           "maf.example.com", "no-suid"),
    UcCase("the 10.3.2 Km of the same Ke and target: right under I-12 default, not 10.3.7",
           ["Ascii", "KmNotUsageKey"], "A", 21, "maf.example.com", "km"),
    UcCase("fullwidth target without NFKC", ["Fullwidth", "WithoutNfkc"], "A", 21,
           "\uff4d\uff41\uff46.example.com", "raw"),
]  # fmt: skip


def _flags(flags: list[str], raw: bytes, nfkc: bytes) -> list[str]:
    """The case's flags, with NfkcChangesInput set exactly when NFKC changed the octets."""
    return sorted(
        {f for f in flags if f != "NfkcChangesInput"}
        | ({"NfkcChangesInput"} if raw != nfkc else set())
    )


def _km_group(norm: Normalisers, kes: dict[str, bytes], ke_a_source: str) -> dict[str, Any]:
    tests = []
    for case in KM_CASES:
        ke = kes[case.ke]
        nfkc = norm.nfkc(case.maf_id)
        raw = case.maf_id.encode("utf-8")
        label = KM_LABEL.encode("ascii")
        match case.wrong:
            case None:
                km = openssl_hmac(ke, label + nfkc)
            case "raw":
                km = openssl_hmac(ke, label + raw)
            case "nfc":
                km = openssl_hmac(ke, label + unicodedata.normalize("NFC", case.maf_id).encode())
            case "kpsa-label":
                km = openssl_hmac(ke, KPSA_LABEL.encode("ascii") + nfkc)
            case "uc-label":
                km = openssl_hmac(ke, UC_LABEL.encode("ascii") + nfkc)
            case "ke":
                km = ke
            case "swapped":
                km = openssl_hmac(ke, nfkc + label)
            case _:
                raise AssertionError(case.wrong)
        comment = case.comment
        if "ChainedFromExport" in case.flags:
            comment += f" (the bootstrap Ke of onem2m_key_export_openssl.json {ke_a_source})"
        tests.append(
            {
                "comment": comment,
                "flags": _flags(case.flags, raw, nfkc),
                "ke": ke.hex(),
                "mafId": case.maf_id,
                "mafIdUtf8": raw.hex(),
                "mafIdNfkc": nfkc.hex(),
                "km": km.hex(),
                "result": "valid" if case.wrong is None else "invalid",
            }
        )
    return {
        "type": "OneM2MKmDerivationTest",
        "clause": "TS-0003 10.3.2",
        "mac": "HMAC-SHA-256",
        "label": KM_LABEL,
        "message": "label || NFKC(MAF-ID) as UTF-8",
        "nfkcOracles": norm.names,
        "tests": tests,
    }


def _uc_group(norm: Normalisers, kes: dict[str, bytes]) -> dict[str, Any]:
    tests = []
    for case in UC_CASES:
        ke = kes[case.ke]
        nfkc = norm.nfkc(case.target_id)
        raw = case.target_id.encode("utf-8")
        label = UC_LABEL.encode("ascii")
        digits = str(case.suid).encode("ascii")
        match case.wrong:
            case None:
                key = openssl_hmac(ke, label + digits + nfkc)
            case "suid-octet":
                key = openssl_hmac(ke, label + bytes([case.suid]) + nfkc)
            case "no-suid":
                key = openssl_hmac(ke, label + nfkc)
            case "km":
                key = openssl_hmac(ke, KM_LABEL.encode("ascii") + nfkc)
            case "raw":
                key = openssl_hmac(ke, label + digits + raw)
            case _:
                raise AssertionError(case.wrong)
        tests.append(
            {
                "comment": case.comment,
                "flags": _flags(case.flags, raw, nfkc),
                "ke": ke.hex(),
                "suid": case.suid,
                "suidOctets": digits.hex(),
                "targetId": case.target_id,
                "targetIdUtf8": raw.hex(),
                "targetIdNfkc": nfkc.hex(),
                "key": key.hex(),
                "result": "valid" if case.wrong is None else "invalid",
            }
        )
    return {
        "type": "OneM2MUsageConstrainedKeyTest",
        "clause": "TS-0003 10.3.7 (published; spec-profile I-12 second setting)",
        "mac": "HMAC-SHA-256",
        "label": UC_LABEL,
        "message": "label || SUID as decimal ASCII digits || NFKC(Enrolment-Target-ID) as UTF-8",
        "suidEncoding": "decimal-ascii",
        "nfkcOracles": norm.names,
        "tests": tests,
    }


def _first(tests: list[dict[str, Any]], flag: str) -> dict[str, Any]:
    return next(t for t in tests if flag in t["flags"] and t["result"] == "valid")


def _kmid_group(km_tests: list[dict[str, Any]], uc_tests: list[dict[str, Any]]) -> dict[str, Any]:
    """Derived KmIDs of Km values recorded above (and of one arbitrary Km)."""
    sources = [
        (_first(km_tests, "Ascii"), "km", "maf.example.com", "Km of tcId {tc} (ASCII MAF-ID)"),
        (_first(km_tests, "Ligature"), "km", "maf.example.net",
         "Km of tcId {tc} (ligature MAF-ID)"),
        (_first(uc_tests, "ChainedFromExport"), "key", "maf.example.com",
         "the 10.3.7 key of tcId {tc}, the Km a MAF holds under I-12 second setting"),
    ]  # fmt: skip
    cases: list[tuple[bytes, str, str, list[str], str]] = [
        (bytes.fromhex(t[field]), fqdn, text.format(tc=t["tcId"]), ["ChainedKm"], "valid")
        for t, field, fqdn, text in sources
    ]
    cases.append((bytes(32), "maf.example.org", "Km of 32 zero octets", ["ZeroKm"], "valid"))
    tests = []
    for index, (km, fqdn, comment, flags, result) in enumerate(cases):
        digest = openssl_sha256(km)
        tests.append(
            {
                "comment": comment,
                "flags": flags,
                "km": km.hex(),
                "mafFqdn": fqdn,
                "sha256": digest.hex(),
                "kmId": f"{digest[:16].hex()}@{fqdn}",
                "result": result,
            }
        )
        if index == 0:
            tests.append(
                {
                    "comment": "the same Km with the last 16 octets of SHA-256(Km): not I-05",
                    "flags": ["LastOctets"],
                    "km": km.hex(),
                    "mafFqdn": fqdn,
                    "sha256": digest.hex(),
                    "kmId": f"{digest[16:].hex()}@{fqdn}",
                    "result": "invalid",
                }
            )
            tests.append(
                {
                    "comment": "the same KmID in upper-case hex: the suite writes lower case"
                    " (I-04), a receiver compares the relative part case-insensitively",
                    "flags": ["UpperCaseHex"],
                    "km": km.hex(),
                    "mafFqdn": fqdn,
                    "sha256": digest.hex(),
                    "kmId": f"{digest[:16].hex().upper()}@{fqdn}",
                    "result": "acceptable",
                }
            )
    return {
        "type": "OneM2MDerivedKmIdTest",
        "clause": "spec-profile I-05, setting 'derived'",
        "hash": "SHA-256",
        "relativeIdOctets": 16,
        "form": "hexBinary(first 16 octets of SHA-256(Km)) '@' MAF-FQDN, lower-case hex",
        "tests": tests,
    }


NOTES = {
    "Ascii": "the identifier is ASCII, so NFKC leaves it unchanged",
    "NonAscii": "the identifier is non-ASCII and already in NFKC",
    "Fullwidth": "fullwidth forms (U+FF01..U+FF5E): NFKC maps them to ASCII",
    "Ligature": "a compatibility ligature (U+FB01 fi): NFKC decomposes it, NFC does not",
    "CompatibilityDigit": "superscript, circled or fullwidth digits: NFKC maps them to ASCII digits",
    "CombiningSequence": "a base letter and a combining mark: NFKC composes them",
    "Precomposed": "the precomposed form of the CombiningSequence case: same NFKC octets",
    "CanonicalSingleton": "a character that NFC and NFKC both replace (U+212A KELVIN SIGN -> K)",
    "CaseKept": "NFKC does not fold case: this identifier gives a different value",
    "NfkcChangesInput": "the NFKC octets differ from the input's UTF-8 octets",
    "NfkcDiffersFromNfc": "NFC would leave the compatibility character: a SUT that applies NFC gets another key",
    "Long": "a long identifier (the HMAC message spans several SHA-256 blocks)",
    "ChainedFromExport": "Ke is the bootstrap Ke OpenSSL exported in onem2m_key_export_openssl.json",
    "ChainedKm": "Km is a value recorded in this file",
    "ZeroKm": "an arbitrary Km (32 zero octets)",
    "WithoutNfkc": "invalid: the HMAC over the input's UTF-8 octets without normalisation",
    "NfcOnly": "invalid: the HMAC over the NFC form, which keeps the compatibility character",
    "WrongLabel": "invalid: the HMAC with another clause's label",
    "KeAsKm": "invalid: Ke itself, no derivation",
    "WrongOrder": "invalid: identifier before label",
    "SuidOneOctet": "invalid under the suite's SUID encoding (decimal ASCII): SUID as one binary octet",
    "SuidOmitted": "invalid: SUID left out of the HMAC message",
    "KmNotUsageKey": "invalid in this group: the 10.3.2 Km, the value of the other I-12 setting",
    "LastOctets": "invalid: the last 16 octets of SHA-256(Km) instead of the first",
    "UpperCaseHex": "acceptable: upper-case hex, which the suite never writes but matches case-insensitively (I-04)",
}  # fmt: skip


def main() -> None:
    if shutil.which("openssl") is None:
        raise SystemExit("openssl is needed: it computes every HMAC and SHA-256 here")
    openssl = _tool_version(["openssl", "version"])
    norm = Normalisers()
    ke_a, ke_a_source = _bootstrap_ke()
    kes = {"A": ke_a, "B": KE_B, "C": KE_C}
    groups = [_km_group(norm, kes, ke_a_source), _uc_group(norm, kes)]
    tc_id = 0
    for group in groups:
        for test in group["tests"]:
            tc_id += 1
            test["tcId"] = tc_id
    groups.append(_kmid_group(groups[0]["tests"], groups[1]["tests"]))
    for test in groups[2]["tests"]:
        tc_id += 1
        test["tcId"] = tc_id
    for group in groups:  # tcId first, as in the other files
        group["tests"] = [{"tcId": t.pop("tcId"), **t} for t in group["tests"]]
    document = {
        "algorithm": "oneM2M-TS-0003-EnrolmentKeyDerivation",
        "schema": "onem2m_km_derivation_schema.json",
        "generatorVersion": "record_km_derivation.py",
        "header": [
            f"Recorded on {datetime.date.today().isoformat()} by vectors/record_km_derivation.py",
            f"with {openssl}:",
            "every HMAC-SHA-256 by 'openssl mac -digest SHA256 -macopt hexkey:<ke>",
            "-in <message file> HMAC', every SHA-256 by 'openssl dgst -sha256'.",
            "NFKC octets by " + "; ".join(norm.names) + ", which agreed on every input.",
            "Km: TS-0003 10.3.2. Usage-constrained key: published TS-0003 10.3.7 (spec-profile",
            "I-12), SUID as its decimal ASCII digits (the clause gives no encoding; the suite's",
            "reading, harness.key_export.SUID_ENCODING). KmID: spec-profile I-05 'derived'.",
            "Identifiers are JSON \\u escapes (file-level normalisation cannot alter them);",
            "*Utf8 is the input's UTF-8, *Nfkc the normalised octets. Invalid vectors hold the",
            "value a wrong reading gives (see notes).",
        ],
        "notes": NOTES,
        "numberOfTests": tc_id,
        "testGroups": groups,
    }
    json.dump(document, sys.stdout, indent=2, ensure_ascii=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
