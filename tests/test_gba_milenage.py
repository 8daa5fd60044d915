"""Milenage and the HSS/UICC simulator against TS 35.207 / TS 35.208 and osmo-auc-gen.

vectors/gba_milenage.json holds the published test sets (transcribed, sources in each
group) and AUTS cases checked by osmo-auc-gen; osmo-auc-gen (Debian libosmocore-utils) is
also run live as an independent second implementation of RAND/AUTN/RES/CK/IK/AK, of the
RFC 3310 nonce base64(RAND || AUTN) and of resynchronisation from AUTS. Those live tests
skip when the tool is absent.
"""

from __future__ import annotations

import base64
import copy
import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from harness.gba import GbaInputError
from harness.gba.digest import aka_nonce
from harness.gba.hss import AkaStatus, Hss, Uicc, join_sqn, split_sqn, sqn_octets
from harness.gba.milenage import (
    C4,
    AutsError,
    Milenage,
    build_autn,
    build_auts,
    opc_from_op,
    recover_sqn_ms,
    split_autn,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
DOC = json.loads((VECTORS / "gba_milenage.json").read_text())
SCHEMA = json.loads((VECTORS / "schemas" / "gba_milenage_schema.json").read_text())
OSMO = shutil.which("osmo-auc-gen")
needs_osmo = pytest.mark.skipif(
    OSMO is None, reason="osmo-auc-gen (libosmocore-utils) not installed"
)


def _group(type_: str, document: str | None = None) -> list[dict]:
    return [
        t
        for g in DOC["testGroups"]
        if g["type"] == type_ and (document is None or g.get("document") == document)
        for t in g["tests"]
    ]


SETS_208 = _group("MilenageTest", "TS 35.208")
SETS_207 = _group("MilenageTest", "TS 35.207")
AUTS = _group("MilenageAutsTest")
H = bytes.fromhex


def test_schema_and_counts() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(DOC)
    assert [t["setNumber"] for t in SETS_208] == list(range(1, 21))
    assert [t["setNumber"] for t in SETS_207] == list(range(1, 7))
    assert DOC["numberOfTests"] == sum(len(g["tests"]) for g in DOC["testGroups"])
    assert len({t["tcId"] for g in DOC["testGroups"] for t in g["tests"]}) == DOC["numberOfTests"]
    # hostapd repeats set 1 as "set 2"; the file must not (the 20 sets are distinct).
    assert len({t["k"] + t["rand"] for t in SETS_208}) == 20


def test_schema_refuses_an_extra_field() -> None:
    doc = copy.deepcopy(DOC)
    doc["testGroups"][0]["tests"][0]["res"] = "00"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(doc)


@pytest.mark.parametrize("t", SETS_208 + SETS_207, ids=lambda t: t["comment"])
def test_published_set(t: dict) -> None:
    assert opc_from_op(H(t["k"]), H(t["op"])).hex() == t["opc"]
    m = Milenage(H(t["k"]), H(t["opc"]))
    rand, sqn, amf = H(t["rand"]), H(t["sqn"]), H(t["amf"])
    assert m.f1(rand, sqn, amf).hex() == t["f1"]
    assert m.f1star(rand, sqn, amf).hex() == t["f1star"]
    assert m.f2(rand).hex() == t["f2"]
    assert m.f3(rand).hex() == t["f3"]
    assert m.f4(rand).hex() == t["f4"]
    assert m.f5(rand).hex() == t["f5"]
    assert m.f5star(rand).hex() == t["f5star"]
    out = m.f2345(rand)
    assert (out.res.hex(), out.ck.hex(), out.ik.hex(), out.ak.hex()) == (
        t["f2"],
        t["f3"],
        t["f4"],
        t["f5"],
    )


def test_ts35207_sets_are_ts35208_sets_1_to_6() -> None:
    """The sources give TS 35.207's six sets the inputs/outputs of TS 35.208 sets 1-6."""
    keys = [k for k in SETS_208[0] if k not in ("tcId", "comment", "flags")]
    for a, b in zip(SETS_207, SETS_208[:6], strict=True):
        assert {k: a[k] for k in keys} == {k: b[k] for k in keys}


def test_rfc5448_vector_is_set_19() -> None:
    """RFC 5448 Appendix C test vector 1 publishes AUTN of TS 35.208 set 19: a third source."""
    t = SETS_208[18]
    autn = build_autn(H(t["sqn"]), H(t["f5"]), H(t["amf"]), H(t["f1"]))
    assert autn.hex() == "bb52e91c747ac3ab2a5c23d15ee351d5"


@pytest.mark.parametrize("t", AUTS, ids=lambda t: f"tc{t['tcId']}")
def test_auts_vector(t: dict) -> None:
    m = Milenage(H(t["k"]), H(t["opc"]))
    if t["result"] == "valid":
        assert recover_sqn_ms(m, H(t["rand"]), H(t["auts"])).hex() == t["sqnMs"]
        assert build_auts(m, H(t["rand"]), H(t["sqnMs"])).hex() == t["auts"]
    else:
        with pytest.raises(AutsError) as e:
            recover_sqn_ms(m, H(t["rand"]), H(t["auts"]))
        assert e.value.field == "AUTS"


def test_input_validation_names_the_field() -> None:
    k = bytes(16)
    cases = [
        (lambda: Milenage(bytes(15), k), "K"),
        (lambda: Milenage(k, "00" * 16), "OPc"),
        (lambda: opc_from_op(k, bytes(17)), "OP"),
        (lambda: Milenage(k, k).f1(bytes(16), bytes(5), bytes(2)), "SQN"),
        (lambda: Milenage(k, k).f1(bytes(16), bytes(6), bytes(3)), "AMF"),
        (lambda: Milenage(k, k).f2(bytes(8)), "RAND"),
        (lambda: split_autn(bytes(15)), "AUTN"),
        (lambda: recover_sqn_ms(Milenage(k, k), bytes(16), bytes(13)), "AUTS"),
        (lambda: build_auts(Milenage(k, k), bytes(16), bytes(7)), "SQN_MS"),
        (lambda: join_sqn(1, 32), "IND"),
        (lambda: sqn_octets(2**48), "SQN"),
    ]
    for call, name in cases:
        with pytest.raises(GbaInputError) as e:
            call()
        assert e.value.field == name, (name, str(e.value))


# --- HSS / UICC ---------------------------------------------------------------------------

SET1 = SETS_208[0]
IMPI = "001010000000001@ims.mnc001.mcc001.3gppnetwork.org"


def _pair(seq_he: int = 0, **uicc: object) -> tuple[Hss, Uicc]:
    hss = Hss(rand_source=lambda n: H(SET1["rand"]))
    hss.add_subscriber(IMPI, H(SET1["k"]), H(SET1["opc"]), amf=H(SET1["amf"]), seq_he=seq_he)
    return hss, Uicc(H(SET1["k"]), H(SET1["opc"]), **uicc)


def test_vector_accepted_then_replay_refused() -> None:
    hss, uicc = _pair()
    av = hss.generate_vector(IMPI)
    assert split_sqn(int.from_bytes(av.sqn, "big")) == (1, 0)
    ok = uicc.authenticate(av.rand, av.autn)
    assert ok.status is AkaStatus.SUCCESS
    assert (ok.res, ok.ck, ok.ik, ok.ks) == (av.xres, av.ck, av.ik, av.ks)
    replay = uicc.authenticate(av.rand, av.autn)
    assert replay.status is AkaStatus.SYNC_FAILURE and "SEQ_MS(0)" in replay.reason
    assert replay.res is None
    with pytest.raises(GbaInputError):
        _ = replay.ks


def test_ind_slots_accept_out_of_order_vectors() -> None:
    """Annex C.2.1: vectors of different IND are accepted in any order, once each."""
    hss, uicc = _pair()
    first, second = hss.generate_vector(IMPI), hss.generate_vector(IMPI)
    assert uicc.authenticate(second.rand, second.autn).status is AkaStatus.SUCCESS
    assert uicc.authenticate(first.rand, first.autn).status is AkaStatus.SUCCESS
    assert uicc.authenticate(first.rand, first.autn).status is AkaStatus.SYNC_FAILURE


def test_delta_window() -> None:
    hss, uicc = _pair(seq_he=100, delta=50)
    av = hss.generate_vector(IMPI)
    answer = uicc.authenticate(av.rand, av.autn)
    assert answer.status is AkaStatus.SYNC_FAILURE and "delta" in answer.reason


def test_resynchronisation_from_auts() -> None:
    hss, uicc = _pair(seq_he=40)
    uicc.authenticate(*_rand_autn(hss.generate_vector(IMPI)))  # UICC now at SEQ 41
    stale_hss, _ = _pair(seq_he=0)
    av = stale_hss.generate_vector(IMPI)
    answer = uicc.authenticate(av.rand, av.autn)
    assert answer.status is AkaStatus.SYNC_FAILURE and answer.auts is not None
    sqn_ms = stale_hss.resynchronise(IMPI, av.rand, answer.auts)
    assert split_sqn(int.from_bytes(sqn_ms, "big"))[0] == 41
    assert stale_hss.seq_he(IMPI) == 41
    fresh = stale_hss.generate_vector(IMPI)
    assert uicc.authenticate(fresh.rand, fresh.autn).status is AkaStatus.SUCCESS


def test_resynchronisation_refuses_a_forged_auts() -> None:
    hss, _ = _pair(seq_he=7)
    forged = bytes(14)
    with pytest.raises(AutsError):
        hss.resynchronise(IMPI, H(SET1["rand"]), forged)
    assert hss.seq_he(IMPI) == 7


def test_resynchronisation_keeps_an_in_range_counter() -> None:
    """An AUTS whose SEQ_MS is below SEQ_HE (e.g. replayed) does not move SEQ_HE back."""
    hss, uicc = _pair(seq_he=0)
    first = hss.generate_vector(IMPI)
    uicc.authenticate(first.rand, first.autn)
    replay = uicc.authenticate(first.rand, first.autn)  # SEQ_MS 1
    for _ in range(5):
        hss.generate_vector(IMPI)
    assert hss.resynchronise(IMPI, first.rand, replay.auts) is not None
    assert hss.seq_he(IMPI) == 6


def test_resynchronisation_resets_a_counter_beyond_delta() -> None:
    hss = Hss(delta=10)
    hss.add_subscriber(IMPI, H(SET1["k"]), H(SET1["opc"]), seq_he=1000)
    uicc = Uicc(H(SET1["k"]), H(SET1["opc"]), delta=10)
    av = hss.generate_vector(IMPI)
    answer = uicc.authenticate(av.rand, av.autn)
    assert answer.status is AkaStatus.SYNC_FAILURE and "delta" in answer.reason
    hss.resynchronise(IMPI, av.rand, answer.auts)
    assert hss.seq_he(IMPI) == 0
    again = hss.generate_vector(IMPI)
    assert uicc.authenticate(again.rand, again.autn).status is AkaStatus.SUCCESS


def test_mac_failure() -> None:
    hss, uicc = _pair()
    av = hss.generate_vector(IMPI)
    bad = av.autn[:-1] + bytes([av.autn[-1] ^ 1])
    answer = uicc.authenticate(av.rand, bad)
    assert answer.status is AkaStatus.MAC_FAILURE and answer.auts is None


def test_unknown_impi_named() -> None:
    with pytest.raises(GbaInputError) as e:
        Hss().generate_vector("nobody@example.org")
    assert e.value.field == "IMPI"


def _rand_autn(av: object) -> tuple[bytes, bytes]:
    return av.rand, av.autn  # type: ignore[attr-defined]


# --- osmo-auc-gen, live --------------------------------------------------------------------


def _osmo(*args: str) -> tuple[int, dict[str, str]]:
    done = subprocess.run(
        [OSMO or "osmo-auc-gen", "-3", "-a", "milenage", *args],
        capture_output=True,
        timeout=10,
        check=False,
    )
    fields = {}
    for line in done.stdout.decode().splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip()] = value.strip()
    return done.returncode, fields


@needs_osmo
@pytest.mark.parametrize("t", SETS_208, ids=lambda t: f"set{t['setNumber']}")
def test_osmo_auc_gen_agrees(t: dict) -> None:
    rc, out = _osmo(
        "-k", t["k"], "-O", t["op"], "-r", t["rand"], "-s", str(int(t["sqn"], 16)), "-f", t["amf"]
    )
    assert rc == 0, out
    m = Milenage.from_op(H(t["k"]), H(t["op"]))
    rand, sqn, amf = H(t["rand"]), H(t["sqn"]), H(t["amf"])
    f = m.f2345(rand)
    autn = build_autn(sqn, f.ak, amf, m.f1(rand, sqn, amf))
    assert out["RAND"] == t["rand"]
    assert out["AUTN"] == autn.hex()
    assert (out["RES"], out["CK"], out["IK"]) == (f.res.hex(), f.ck.hex(), f.ik.hex())
    # osmo-auc-gen prints SQN, not AK: AK is AUTN's first six octets xor SQN.
    assert int(out["SQN"]) == int(t["sqn"], 16)
    osmo_ak = bytes(a ^ b for a, b in zip(H(out["AUTN"])[:6], H(t["sqn"]), strict=True))
    assert osmo_ak == f.ak
    assert out["IMS nonce"] == aka_nonce(rand, autn)
    assert base64.b64decode(out["IMS nonce"]) == rand + autn


@needs_osmo
@pytest.mark.parametrize("t", AUTS, ids=lambda t: f"tc{t['tcId']}")
def test_osmo_auc_gen_resynchronises(t: dict) -> None:
    rc, out = _osmo("-k", t["k"], "-o", t["opc"], "-r", t["rand"], "-A", t["auts"])
    if t["result"] == "valid":
        assert rc == 0 and int(out["SQN.MS"]) == int(t["sqnMs"], 16)
    else:
        assert rc != 0 and "SQN.MS" not in out


@needs_osmo
def test_osmo_auc_gen_resynchronises_a_uicc_auts() -> None:
    """The AUTS the harness UICC sends is one another implementation accepts."""
    hss, uicc = _pair(seq_he=300)
    uicc.authenticate(*_rand_autn(hss.generate_vector(IMPI)))
    stale, _ = _pair(seq_he=2)
    av = stale.generate_vector(IMPI)
    answer = uicc.authenticate(av.rand, av.autn)
    assert answer.auts is not None
    rc, out = _osmo(
        "-k", SET1["k"], "-o", SET1["opc"], "-r", av.rand.hex(), "-A", answer.auts.hex()
    )
    assert rc == 0
    assert int(out["SQN.MS"]) == int.from_bytes(
        stale.resynchronise(IMPI, av.rand, answer.auts), "big"
    )


# --- teeth: wrong readings fail the checks above -------------------------------------------


class _RotationMutant(Milenage):
    """r4 = 32 instead of 64: an implementation slip the f4 vectors must catch."""

    def f4(self, rand: bytes) -> bytes:
        return self._out(rand, 32, C4)


def test_teeth_published_sets_catch_a_wrong_rotation() -> None:
    failures = 0
    for t in SETS_208:
        if _RotationMutant(H(t["k"]), H(t["opc"])).f4(H(t["rand"])).hex() != t["f4"]:
            failures += 1
    assert failures == len(SETS_208)


def test_teeth_auts_vectors_catch_mac_s_over_the_real_amf() -> None:
    t = next(a for a in AUTS if a["result"] == "valid")
    m = Milenage(H(t["k"]), H(t["opc"]))
    sqn_ms = H(t["sqnMs"])
    wrong = bytes(x ^ y for x, y in zip(sqn_ms, m.f5star(H(t["rand"])), strict=True)) + m.f1star(
        H(t["rand"]), sqn_ms, H(SET1["amf"])
    )
    assert wrong.hex() != t["auts"]
    with pytest.raises(AutsError):
        recover_sqn_ms(m, H(t["rand"]), wrong)


class _StaleSqnUicc(Uicc):
    """A UICC (or BSF-side check) that skips SQN freshness: the issue-10 'stale SQN' mutant."""

    def _fresh(self, sqn: int) -> str:
        return ""


def test_teeth_replay_check_sees_a_uicc_without_freshness() -> None:
    hss, _ = _pair()
    mutant = _StaleSqnUicc(H(SET1["k"]), H(SET1["opc"]))
    av = hss.generate_vector(IMPI)
    mutant.authenticate(av.rand, av.autn)
    assert (
        mutant.authenticate(av.rand, av.autn).status is AkaStatus.SUCCESS
    )  # what the real one refuses
