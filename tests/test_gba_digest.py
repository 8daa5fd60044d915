"""HTTP Digest / AKAv1-MD5 (Ub) and the BootstrappingInfo XML against vectors/gba_digest.json.

Known answers: RFC 2617 3.5, RFC 7616 3.9.1 (MD5, SHA-256), SIPp's AKAv1-MD5 answer for
TS 35.208 set 1 (with SIPp's doubled "sip:" digest-uri), Ub cases computed by openssl,
and the RES-as-hex-text mutant, which must not verify.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest

from harness.gba import GbaInputError
from harness.gba.digest import (
    AKAV1_MD5,
    Authorization,
    Challenge,
    DigestError,
    aka_nonce,
    build_bootstrapping_info,
    digest_response,
    make_btid,
    parse_authorization,
    parse_bootstrapping_info,
    parse_www_authenticate,
    split_aka_nonce,
    split_btid,
    verify_authorization,
)
from harness.gba.milenage import Milenage, build_autn

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
DOC = json.loads((VECTORS / "gba_digest.json").read_text())
SCHEMA = json.loads((VECTORS / "schemas" / "gba_digest_schema.json").read_text())
MILENAGE = json.loads((VECTORS / "gba_milenage.json").read_text())
SETS = {
    t["setNumber"]: t
    for g in MILENAGE["testGroups"]
    if g.get("document") == "TS 35.208"
    for t in g["tests"]
}
H = bytes.fromhex


def _group(type_: str) -> list[dict]:
    return [t for g in DOC["testGroups"] if g["type"] == type_ for t in g["tests"]]


def test_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(DOC)
    assert DOC["numberOfTests"] == sum(len(g["tests"]) for g in DOC["testGroups"])
    bad = copy.deepcopy(DOC)
    bad["testGroups"][0]["tests"][0]["qop"] = "auth-conf"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(bad)


def _response(t: dict, password: bytes) -> str:
    return digest_response(
        algorithm=t["algorithm"],
        username=t["username"],
        realm=t["realm"],
        password=password,
        method=t["method"],
        uri=t["uri"],
        nonce=t["nonce"],
        qop=t["qop"],
        nc=t["nc"],
        cnonce=t["cnonce"],
        body=H(t["body"]),
    )


def _header(t: dict) -> str:
    return Authorization(
        username=t["username"],
        realm=t["realm"],
        nonce=t["nonce"],
        uri=t["uri"],
        response=t["response"],
        algorithm=t["algorithm"],
        qop=t["qop"],
        nc=t["nc"],
        cnonce=t["cnonce"],
        opaque=t["opaque"],
    ).header_value()


@pytest.mark.parametrize("t", _group("HttpDigestTest"), ids=lambda t: t["comment"])
def test_http_digest(t: dict) -> None:
    password = t["passwordUtf8"].encode()
    assert _response(t, password) == t["response"]
    auth = parse_authorization(_header(t))
    challenge = Challenge(
        realm=t["realm"],
        nonce=t["nonce"],
        algorithm=t["algorithm"],
        qop=(t["qop"],),
        opaque=t["opaque"],
    )
    assert verify_authorization(
        auth, challenge, password=password, method=t["method"], body=H(t["body"])
    )
    assert not verify_authorization(
        auth, challenge, password=password + b"x", method=t["method"], body=H(t["body"])
    )


@pytest.mark.parametrize("t", _group("AkaDigestTest"), ids=lambda t: f"tc{t['tcId']}")
def test_aka_digest(t: dict) -> None:
    s = SETS[t["milenageSet"]]
    m = Milenage(H(s["k"]), H(s["opc"]))
    rand = H(s["rand"])
    f = m.f2345(rand)
    autn = build_autn(H(s["sqn"]), f.ak, H(s["amf"]), m.f1(rand, H(s["sqn"]), H(s["amf"])))
    assert aka_nonce(rand, autn) == t["nonce"]
    assert split_aka_nonce(t["nonce"]) == (rand, autn, b"")
    ours = _response(t, f.res)  # RES as its 8 raw octets (RFC 3310 3.1)
    if t["result"] == "valid":
        assert ours == t["response"]
    else:
        assert ours != t["response"]
        assert "ResAsHexText" in t["flags"] and _response(t, f.res.hex().encode()) == t["response"]
    auth = parse_authorization(_header(t))
    challenge = Challenge(realm=t["realm"], nonce=t["nonce"], qop=(t["qop"],) if t["qop"] else ())
    assert verify_authorization(auth, challenge, password=f.res, method=t["method"]) is (
        t["result"] == "valid"
    )


def test_sipp_doubled_prefix_is_kept_verbatim() -> None:
    (sipp,) = [t for t in _group("AkaDigestTest") if "DoubledSipPrefix" in t["flags"]]
    assert sipp["uri"] == "sip:sip:example.com"
    fixed = dict(sipp, uri="sip:example.com")
    assert _response(fixed, H(SETS[1]["f2"])) != sipp["response"]


@pytest.mark.parametrize("t", _group("BtidTest"), ids=lambda t: f"tc{t['tcId']}")
def test_btid(t: dict) -> None:
    assert make_btid(H(t["rand"]), t["bsfHost"]) == t["btid"]
    assert split_btid(t["btid"]) == (H(t["rand"]), t["bsfHost"])


def test_challenge_round_trip_and_ub_exchange() -> None:
    """A whole Ub exchange on the pure functions: 401 challenge, UE answer, BSF check."""
    s = SETS[1]
    m = Milenage(H(s["k"]), H(s["opc"]))
    rand = H(s["rand"])
    f = m.f2345(rand)
    autn = build_autn(H(s["sqn"]), f.ak, H(s["amf"]), m.f1(rand, H(s["sqn"]), H(s["amf"])))
    ch = Challenge(realm="bsf.example.com", nonce=aka_nonce(rand, autn))
    wire = ch.header_value()
    assert 'qop="auth-int"' in wire and "algorithm=AKAv1-MD5" in wire
    parsed = parse_www_authenticate(wire)
    assert parsed == ch
    ue_rand, ue_autn, _ = split_aka_nonce(parsed.nonce)
    res = Milenage(H(s["k"]), H(s["opc"])).f2(ue_rand)
    resp = digest_response(
        algorithm=AKAV1_MD5,
        username="impi@example.org",
        realm=parsed.realm,
        password=res,
        method="GET",
        uri="/",
        nonce=parsed.nonce,
        qop="auth-int",
        nc="00000001",
        cnonce="abc",
        body=b"",
    )
    auth = parse_authorization(
        Authorization(
            "impi@example.org",
            parsed.realm,
            parsed.nonce,
            "/",
            resp,
            AKAV1_MD5,
            "auth-int",
            "00000001",
            "abc",
        ).header_value()
    )
    assert verify_authorization(auth, ch, password=f.res, method="GET")
    assert not verify_authorization(
        auth, ch, password=f.res, method="GET", body=b"x"
    )  # auth-int covers it
    assert not verify_authorization(auth, ch, password=f.res.hex().encode(), method="GET")


def test_rfc2617_challenge_parses() -> None:
    ch = parse_www_authenticate(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    assert ch.qop == ("auth", "auth-int") and ch.algorithm == "MD5" and ch.opaque.startswith("5ccc")
    ch2 = parse_www_authenticate('digest realm="a\\"b", nonce=abc, stale=TRUE')
    assert ch2.realm == 'a"b' and ch2.nonce == "abc" and ch2.stale


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ('Basic realm="x"', "WWW-Authenticate"),
        ('Digest nonce="n"', "realm"),
        ('Digest realm="r"', "nonce"),
        ('Digest realm="r", realm="s", nonce="n"', "realm"),
        ('Digest realm="r, nonce="n"', "realm"),
        ('Digest realm="r" nonce="n"', "realm"),
        ('Digest realm, nonce="n"', "realm"),
        ('Digest realm="r", nonce="n", stale=maybe', "stale"),
        ('Digest realm="r", nonce=@', "nonce"),
    ],
)
def test_challenge_errors_name_the_parameter(header: str, field: str) -> None:
    with pytest.raises(DigestError) as e:
        parse_www_authenticate(header)
    assert e.value.field == field, str(e.value)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ('Digest realm="r", nonce="n", uri="/", response="00"', "username"),
        ('Digest username="u", realm="r", nonce="n", uri="/"', "response"),
        (
            'Digest username="u", realm="r", nonce="n", uri="/", response="0", qop=auth, cnonce="c"',
            "nc",
        ),
        (
            'Digest username="u", realm="r", nonce="n", uri="/", response="0", qop=auth, nc=1, cnonce="c"',
            "nc",
        ),
        (
            'Digest username="u", realm="r", nonce="n", uri="/", response="0", qop=auth, nc=00000001',
            "cnonce",
        ),
    ],
)
def test_authorization_errors_name_the_parameter(header: str, field: str) -> None:
    with pytest.raises(DigestError) as e:
        parse_authorization(header)
    assert e.value.field == field, str(e.value)


def test_verification_names_a_mismatched_field() -> None:
    ch = Challenge(realm="r", nonce="n", opaque="o")
    base = dict(
        username="u",
        realm="r",
        nonce="n",
        uri="/",
        response="0" * 32,
        algorithm=AKAV1_MD5,
        qop="auth-int",
        nc="00000001",
        cnonce="c",
        opaque="o",
    )
    for name, value in (
        ("realm", "x"),
        ("nonce", "x"),
        ("algorithm", "MD5"),
        ("opaque", None),
        ("qop", "auth"),
    ):
        with pytest.raises(DigestError) as e:
            verify_authorization(
                Authorization(**{**base, name: value}), ch, password=b"p", method="GET"
            )
        assert e.value.field == name


def test_digest_input_errors() -> None:
    kw = dict(algorithm="MD5", username="u", realm="r", method="GET", uri="/", nonce="n")
    with pytest.raises(DigestError) as e:
        digest_response(**{**kw, "algorithm": "SHA-1"}, password=b"p")
    assert e.value.field == "algorithm"
    with pytest.raises(GbaInputError) as e:
        digest_response(**kw, password="text")  # type: ignore[arg-type]
    assert e.value.field == "password"
    with pytest.raises(DigestError) as e:
        digest_response(**kw, password=b"p", qop="auth", nc="00000001")
    assert e.value.field == "cnonce"


def test_nonce_and_btid_errors() -> None:
    with pytest.raises(DigestError, match="nonce"):
        split_aka_nonce("not base64!")
    with pytest.raises(DigestError, match="at least 32"):
        split_aka_nonce("AAAA")
    with pytest.raises(GbaInputError) as e:
        aka_nonce(bytes(16), bytes(15))
    assert e.value.field == "AUTN"
    with pytest.raises(DigestError) as e:
        make_btid(bytes(16), "")
    assert e.value.field == "BSF host"
    with pytest.raises(DigestError) as e:
        split_btid("AAAA@bsf")
    assert e.value.field == "B-TID"


# --- BootstrappingInfo ---------------------------------------------------------------------


def test_bootstrapping_info_round_trip() -> None:
    lifetime = datetime(2026, 12, 8, 12, 0, 0, tzinfo=UTC)
    btid = make_btid(H(SETS[1]["rand"]), "bsf.example.com")
    body = build_bootstrapping_info(btid, lifetime)
    assert b'<BootstrappingInfo xmlns="uri:3gpp-gba">' in body and b"2026-12-08T12:00:00Z" in body
    info = parse_bootstrapping_info(body)
    assert (info.btid, info.lifetime) == (btid, lifetime)
    # TS 24.109 Annex C's example form, with whitespace and an offset time zone.
    other = parse_bootstrapping_info(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<BootstrappingInfo xmlns="uri:3gpp-gba">\n'
        b"  <btid>x@bsf</btid>\n  <lifetime>2002-09-11T12:00:00+02:00</lifetime>\n</BootstrappingInfo>"
    )
    assert other.lifetime == datetime(2002, 9, 11, 10, 0, tzinfo=UTC)
    assert other.lifetime.utcoffset() == timedelta(hours=2)
    assert (
        build_bootstrapping_info(
            "a", datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
        ).count(b"2026-01-01T00:00:00Z")
        == 1
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><BootstrappingInfo xmlns="uri:3gpp-gba">'
            b"<btid>&x;</btid><lifetime>2026-01-01T00:00:00Z</lifetime></BootstrappingInfo>",
            "BootstrappingInfo",
        ),
        (b'<!DOCTYPE a [<!ENTITY l "lol"><!ENTITY l2 "&l;&l;&l;">]><a/>', "BootstrappingInfo"),
        (
            b"<BootstrappingInfo><btid>x</btid><lifetime>2026-01-01T00:00:00Z</lifetime></BootstrappingInfo>",
            "BootstrappingInfo",
        ),
        (
            b'<BootstrappingInfo xmlns="uri:3gpp-gba"><lifetime>2026-01-01T00:00:00Z</lifetime></BootstrappingInfo>',
            "btid",
        ),
        (b'<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>x</btid></BootstrappingInfo>', "lifetime"),
        (
            b'<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>x</btid><lifetime>2026-01-01T00:00:00</lifetime>'
            b"</BootstrappingInfo>",
            "lifetime",
        ),
        (
            b'<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>x</btid><btid>y</btid></BootstrappingInfo>',
            "btid",
        ),
        (b"<BootstrappingInfo", "BootstrappingInfo"),
    ],
)
def test_bootstrapping_info_refusals(body: bytes, field: str) -> None:
    with pytest.raises(DigestError) as e:
        parse_bootstrapping_info(body)
    assert e.value.field == field, str(e.value)


def test_bootstrapping_info_build_errors() -> None:
    with pytest.raises(DigestError) as e:
        build_bootstrapping_info("x", datetime(2026, 1, 1))  # naive: which zone?
    assert e.value.field == "lifetime"
    with pytest.raises(DigestError) as e:
        build_bootstrapping_info("", datetime(2026, 1, 1, tzinfo=UTC))
    assert e.value.field == "btid"
