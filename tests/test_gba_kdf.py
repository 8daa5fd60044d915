"""The TS 33.220 Annex B KDF, the NAF keys, NAF_Id and the Ua psk_identity forms.

The KDF core is checked against RFC 5448 Appendix C (a published vector of the same
construction); the GBA values in vectors/gba_kdf.json were computed by openssl mac over an
S the recorder assembled itself, and are re-derived live with openssl when it is installed.
The invalid vectors are the keys of the issue-10 mutants (wrong P0, NAF_Id without the Ua
id or with another suite); the harness's definitions must not produce them.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from harness.gba import GbaInputError
from harness.gba.kdf import (
    FC_GBA,
    P0_GBA_ME,
    P0_GBA_U,
    PSK_HINT_ME,
    PSK_HINT_UICC,
    assemble_s,
    kdf,
    ks_ext_naf,
    ks_from,
    ks_int_naf,
    ks_naf,
    naf_id,
    parse_psk_identity,
    psk_identity,
    ua_security_protocol_id_tls,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
DOC = json.loads((VECTORS / "gba_kdf.json").read_text())
SCHEMA = json.loads((VECTORS / "schemas" / "gba_kdf_schema.json").read_text())
H = bytes.fromhex
DERIVE = {"Ks_NAF": ks_naf, "Ks_ext_NAF": ks_ext_naf, "Ks_int_NAF": ks_int_naf}
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl")


def _group(type_: str) -> list[dict]:
    return [t for g in DOC["testGroups"] if g["type"] == type_ for t in g["tests"]]


def test_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(DOC)
    assert DOC["numberOfTests"] == sum(len(g["tests"]) for g in DOC["testGroups"])
    bad = copy.deepcopy(DOC)
    bad["testGroups"][1]["tests"][0]["p0"] = "gba-x"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(bad)


@pytest.mark.parametrize("t", _group("ThreeGppKdfTest"), ids=lambda t: f"tc{t['tcId']}")
def test_kdf_core_published(t: dict) -> None:
    assert kdf(H(t["key"]), t["fc"], *(H(p) for p in t["params"])).hex() == t["output"]


@pytest.mark.parametrize(
    "t", _group("GbaNafKeyTest"), ids=lambda t: f"tc{t['tcId']}-{t['comment'][:40]}"
)
def test_naf_key(t: dict) -> None:
    rand = H(t["rand"])
    # The recorder's S, from its own assembly: the same octets as the harness's.
    p0 = t["p0"].encode()
    assert assemble_s(FC_GBA, p0, rand, t["impi"].encode(), H(t["nafId"])).hex() == t["s"]
    assert kdf(H(t["ks"]), FC_GBA, p0, rand, t["impi"].encode(), H(t["nafId"])).hex() == t["key"]
    right = DERIVE[t["variant"]](
        H(t["ks"]), rand, t["impi"], naf_id(t["nafFqdn"], H(t["negotiatedUaSecurityProtocolId"]))
    )
    if t["result"] == "valid":
        assert t["nafId"] == t["nafFqdn"].encode().hex() + t["uaSecurityProtocolId"]
        assert right.hex() == t["key"]
    else:
        assert right.hex() != t["key"]


def test_parameters_worked_example() -> None:
    """PARAMETERS.md section 9's worked example (TS 35.208 set 1, computed independently there)."""
    ck, ik = H("b40ba9a3c58b2a05bbf0d987b21bf8cb"), H("f769bcd751044604127672711c6d3441")
    rand = H("23553cbe9637a89d218ae64dae47bf35")
    impi = "001010000000001@ims.mnc001.mcc001.3gppnetwork.org"
    ks = ks_from(ck, ik)
    assert ks_naf(ks, rand, impi, naf_id("naf.example.com", H("0100000002"))).hex() == (
        "f265d29189603ed3d4b275b8dd60a9d0064a8394299c73025bc349a5c9a86ad0"
    )
    assert ks_naf(
        ks, rand, impi, naf_id("naf.example.com", ua_security_protocol_id_tls(0x008C))
    ).hex() == ("239d45c39bfbadd8976b0a4269f687ea156fc8f5d583eee554abfa1b28591309")
    assert ks_int_naf(ks, rand, impi, naf_id("naf.example.com", H("0100000002"))).hex() == (
        "f00480881c74c509654a246c330329f1287a0d3735994e778869a7bc83b9c315"
    )


def test_variants_and_suites_differ() -> None:
    ks, rand, impi = bytes(range(32)), bytes(16), "u@example.org"
    nid = naf_id("naf.example.com", ua_security_protocol_id_tls(0xC0A4))
    assert ks_naf(ks, rand, impi, nid) == ks_ext_naf(ks, rand, impi, nid)
    assert ks_naf(ks, rand, impi, nid) != ks_int_naf(ks, rand, impi, nid)
    assert ks_naf(ks, rand, impi, nid) != ks_naf(
        ks, rand, impi, naf_id("naf.example.com", ua_security_protocol_id_tls(0xC0A8))
    )
    assert (P0_GBA_ME, P0_GBA_U) == (b"gba-me", b"gba-u")
    assert ua_security_protocol_id_tls(0xC0A4) == H("010001c0a4")


@needs_openssl
@pytest.mark.parametrize("t", _group("GbaNafKeyTest")[:4], ids=lambda t: f"tc{t['tcId']}")
def test_openssl_recomputes(t: dict, tmp_path: Path) -> None:
    f = tmp_path / "s.bin"
    f.write_bytes(H(t["s"]))
    done = subprocess.run(
        [
            "openssl",
            "mac",
            "-digest",
            "SHA256",
            "-macopt",
            f"hexkey:{t['ks']}",
            "-in",
            str(f),
            "HMAC",
        ],
        capture_output=True,
        timeout=10,
        check=True,
    )
    assert done.stdout.decode().strip().lower() == t["key"]


@pytest.mark.parametrize("t", _group("UaPskIdentityTest"), ids=lambda t: f"tc{t['tcId']}")
def test_psk_identity(t: dict) -> None:
    ours = psk_identity(t["btid"], uicc=t["uicc"])
    if t["result"] == "valid":
        assert ours == t["pskIdentity"]
        assert parse_psk_identity(t["pskIdentity"]) == (
            PSK_HINT_UICC if t["uicc"] else PSK_HINT_ME,
            t["btid"],
        )
    else:
        assert ours != t["pskIdentity"]
        with pytest.raises(GbaInputError) as e:
            parse_psk_identity(t["pskIdentity"])
        assert e.value.field == "psk_identity"


def test_psk_identity_separator_setting() -> None:
    assert psk_identity("b@bsf", separator=":") == "3GPP-bootstrapping:b@bsf"
    assert parse_psk_identity("3GPP-bootstrapping:b@bsf", separator=":") == (PSK_HINT_ME, "b@bsf")
    for bad in ("3gpp-bootstrapping;b@bsf", "3GPP-bootstrapping;", "Other;b@bsf"):
        with pytest.raises(GbaInputError):
            parse_psk_identity(bad)


def test_input_errors_name_the_field() -> None:
    cases = [
        (lambda: kdf(b"k", 256), "FC"),
        (lambda: kdf(b"k", 1, b"x" * 65536), "P0"),
        (lambda: kdf(b"k", 1, b"ok", "text"), "P1"),  # type: ignore[arg-type]
        (lambda: ks_from(bytes(15), bytes(16)), "CK"),
        (lambda: ks_naf(bytes(31), bytes(16), "u", b"n"), "Ks"),
        (lambda: ks_naf(bytes(32), bytes(15), "u", b"n"), "RAND"),
        (lambda: ks_naf(bytes(32), bytes(16), "", b"n"), "IMPI"),
        (lambda: naf_id("", bytes(5)), "NAF FQDN"),
        (lambda: naf_id("naf", bytes(4)), "Ua security protocol id"),
        (lambda: ua_security_protocol_id_tls(0x10000), "cipher_suite"),
        (lambda: psk_identity(""), "B-TID"),
    ]
    for call, name in cases:
        with pytest.raises(GbaInputError) as e:
            call()
        assert e.value.field == name, (name, str(e.value))
