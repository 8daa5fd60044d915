"""Every vector file is valid against its schema, and the engine reproduces every vector."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness.tls import keyschedule
from harness.tls.prf import prf, transcript_hash

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
FILES = sorted(VECTORS.glob("*.json"))


def _load(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text())


def _tests(name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    document = _load(name)
    return [(group, test) for group in document["testGroups"] for test in group["tests"]]


def _h(value: str) -> bytes:
    return bytes.fromhex(value)


def test_there_are_vector_files() -> None:
    assert {f.name for f in FILES} >= {
        "tls12_prf_sha256.json",
        "tls12_psk_openssl.json",
        "tls12_exporter_openssl.json",
    }


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_file_matches_its_schema(path: Path) -> None:
    document = json.loads(path.read_text())
    schema_path = VECTORS / "schemas" / document["schema"]
    schema = json.loads(schema_path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)
    count = sum(len(g["tests"]) for g in document["testGroups"])
    assert document["numberOfTests"] == count
    ids = [t["tcId"] for g in document["testGroups"] for t in g["tests"]]
    assert len(ids) == len(set(ids))
    for group in document["testGroups"]:
        for test in group["tests"]:
            assert set(test["flags"]) <= set(document["notes"]), (
                f"undocumented flag in tcId {test['tcId']}"
            )


def test_schemas_reject_unknown_fields() -> None:
    document = _load("tls12_prf_sha256.json")
    document["testGroups"][0]["tests"][0]["surprise"] = 1
    schema = json.loads((VECTORS / "schemas" / document["schema"]).read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


@pytest.mark.parametrize(
    "group,test", _tests("tls12_prf_sha256.json"), ids=lambda v: str(v.get("tcId", ""))
)
def test_prf(group: dict[str, Any], test: dict[str, Any]) -> None:
    output = prf(_h(test["secret"]), _h(test["label"]), _h(test["seed"]), test["length"])
    assert (output.hex() == test["output"]) is (test["result"] == "valid")


@pytest.mark.parametrize(
    "group,test", _tests("tls12_psk_openssl.json"), ids=lambda v: str(v.get("tcId", ""))
)
def test_psk_key_schedule(group: dict[str, Any], test: dict[str, Any]) -> None:
    premaster = keyschedule.psk_premaster(_h(test["psk"]))
    client_random, server_random = _h(test["client_random"]), _h(test["server_random"])
    if test["extended_master_secret"]:
        session_hash = transcript_hash([_h(m) for m in test["handshake_messages"]])
        master = keyschedule.extended_master_secret(premaster, session_hash)
    else:
        master = keyschedule.master_secret(premaster, client_random, server_random)
    assert master.hex() == test["master_secret"]
    exported = keyschedule.export_keying_material(
        master, client_random, server_random, _h(test["label"]), test["length"], None
    )
    assert exported.hex() == test["exporter_no_context"]
    # The randoms really are the ones inside the recorded hellos.
    assert _h(test["handshake_messages"][0])[6:38] == client_random
    assert _h(test["handshake_messages"][1])[6:38] == server_random


@pytest.mark.parametrize(
    "group,test", _tests("tls12_exporter_openssl.json"), ids=lambda v: str(v.get("tcId", ""))
)
def test_exporter(group: dict[str, Any], test: dict[str, Any]) -> None:
    context = None if test["context"] is None else _h(test["context"])
    output = keyschedule.export_keying_material(
        _h(group["masterSecret"]),
        _h(group["clientRandom"]),
        _h(group["serverRandom"]),
        _h(test["label"]),
        test["length"],
        context,
    )
    assert output.hex() == test["output"]


def test_psk_premaster_layout() -> None:
    """RFC 4279 section 2: uint16 N, N zero octets, uint16 N, the PSK."""
    assert keyschedule.psk_premaster(b"\xaa\xbb") == bytes.fromhex("00020000" + "0002aabb")


def test_dhe_psk_premaster_strips_leading_zeros() -> None:
    """RFC 4279 section 3: Z as in RFC 2246 8.1.2, leading zero octets stripped."""
    assert keyschedule.dhe_psk_premaster(b"\x00\x00\x01\x02", b"\xaa") == bytes.fromhex(
        "00020102" + "0001aa"
    )
