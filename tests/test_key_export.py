"""oneM2M key export (TS-0003 10.3.1) and KcID formation against two independent oracles.

1. Recorded vectors (vectors/onem2m_key_export_openssl.json, made by
   vectors/record_key_export.py from openssl s_server/s_client and gnutls-cli): the
   engine's RFC 5705 exporter over the recorded master secret and randoms must give the
   value both tools printed, and harness.key_export must split it into the recorded
   RelativeKcID / Kc and form the recorded KcID.
2. Live handshakes: the engine (TLS and DTLS, both roles) against OpenSSL and GnuTLS,
   each printing its own exporter value for the oneM2M labels (``-keymatexport`` /
   ``--keymatexport``). gnutls-serv has no exporter option, so against it the oracle is
   the master secret GnuTLS writes to SSLKEYLOGFILE.
3. Unit tests of harness.key_export (interpretations I-02, I-03, I-04 of the spec profile).
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness.key_export import (
    BOOTSTRAP_LABEL,
    CONNECTION_LABEL,
    CREDENTIAL_TYPE_KMID,
    EXPORT_LENGTH,
    ExportedKey,
    KeyIdentifier,
    credential_id,
    key_identifier,
    parse_key_identifier,
    split_export,
)
from harness.tls import keyschedule
from harness.tls.dtls import DtlsClientConnection, DtlsServerConnection
from harness.tls.dtls_transport import run_dtls_client, run_dtls_server_once
from harness.tls.engine import ClientConfig, ClientConnection, ServerConfig, ServerConnection
from harness.tls.suites import SUITES
from harness.tls.transport import drive, run_client
from tests.peers import (
    HOST,
    accepted,
    free_port,
    free_udp_port,
    gnutls_client_args,
    gnutls_dtls,
    gnutls_server_args,
    openssl_client_args,
    openssl_dtls_client_args,
    openssl_dtls_server_args,
    openssl_server_args,
    running,
    tcp_listener,
    wait_port,
    write_psk_file,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
VECTOR_FILE = VECTORS / "onem2m_key_export_openssl.json"
KM_ID = "dev42@maf.example.com"  # psk_identity of the MAF handshake: the KmID
KM = bytes.fromhex("3a1f9c0e5b7d2468ace013579bdf2468")
MAF_FQDN = "maf.example.com"
TIMEOUT = 5.0
LABELS = {"connection": CONNECTION_LABEL, "bootstrap": BOOTSTRAP_LABEL}


def _document() -> dict[str, Any]:
    return json.loads(VECTOR_FILE.read_text())


def _vectors() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(group, test) for group in _document()["testGroups"] for test in group["tests"]]


VECTOR_CASES = _vectors()
VECTOR_IDS = [f"tcId{t['tcId']}" for _, t in VECTOR_CASES]


# 1. Recorded vectors ----------------------------------------------------------------


def test_vector_file_matches_its_schema() -> None:
    document = _document()
    schema = json.loads((VECTORS / "schemas" / document["schema"]).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["numberOfTests"] == len(VECTOR_CASES)
    assert len({t["tcId"] for _, t in VECTOR_CASES}) == len(VECTOR_CASES)
    assert all(set(t["flags"]) <= set(document["notes"]) for _, t in VECTOR_CASES)


def test_vectors_cover_the_cases_and_the_second_oracle() -> None:
    """The recorded set covers both labels, DTLS, DHE_PSK, EMS on and off, and holds at
    least one handshake where GnuTLS and OpenSSL printed the same exporter value."""
    flags = {f for _, t in VECTOR_CASES for f in t["flags"]}
    assert flags >= {"GnuTLSCrossCheck", "DTLS12", "DHE_PSK", "LegacyMasterSecret"}
    assert {g["label"] for g, _ in VECTOR_CASES} == {CONNECTION_LABEL, BOOTSTRAP_LABEL}
    crossed = [t for _, t in VECTOR_CASES if "GnuTLSCrossCheck" in t["flags"]]
    assert all(t["client"].startswith("gnutls-cli") for t in crossed)
    suites = {int(t["cipher_suite"], 16) for _, t in VECTOR_CASES}
    assert {0x00AE, 0xC0A8} <= suites  # the TLS and DTLS mandatory PSK suites


@pytest.mark.parametrize("group,test", VECTOR_CASES, ids=VECTOR_IDS)
def test_engine_exporter_reproduces_recorded_value(
    group: dict[str, Any], test: dict[str, Any]
) -> None:
    """RFC 5705 without context (I-03) over OpenSSL's master secret and randoms."""
    output = keyschedule.export_keying_material(
        bytes.fromhex(test["master_secret"]),
        bytes.fromhex(test["client_random"]),
        bytes.fromhex(test["server_random"]),
        group["label"].encode("ascii"),
        group["length"],
        None,
    )
    assert output.hex() == test["exporter_output"]


@pytest.mark.parametrize("group,test", VECTOR_CASES, ids=VECTOR_IDS)
def test_recorded_value_gives_recorded_onem2m_values(
    group: dict[str, Any], test: dict[str, Any]
) -> None:
    exported = split_export(bytes.fromhex(test["exporter_output"]))
    assert exported.relative_id.hex() == test["relative_id"]  # RelativeKcID / RelativeKeID
    assert exported.key.hex() == test["key"]  # Kc / Ke
    assert exported.key_id(test["fqdn"]) == test["key_id"]  # KcID / KeID
    assert test["key_id"] == key_identifier(exported.relative_id, test["fqdn"])
    parsed = parse_key_identifier(test["key_id"])
    assert parsed is not None and parsed.fqdn == test["fqdn"]
    assert parsed.relative_bytes() == exported.relative_id
    shouted = parse_key_identifier(f"{test['relative_id'].upper()}@{test['fqdn'].upper()}")
    assert shouted is not None and shouted.matches(parsed)


@pytest.mark.parametrize("group,test", VECTOR_CASES, ids=VECTOR_IDS)
def test_label_and_context_change_the_value(group: dict[str, Any], test: dict[str, Any]) -> None:
    """The recorded value is bound to its label and to the no-context form: the other
    oneM2M label, or an empty context, gives a different value (so a SUT that mixes them
    up cannot pass by accident)."""
    master, cr, sr = (
        bytes.fromhex(test[k]) for k in ("master_secret", "client_random", "server_random")
    )
    other = BOOTSTRAP_LABEL if group["label"] == CONNECTION_LABEL else CONNECTION_LABEL
    recorded = bytes.fromhex(test["exporter_output"])
    assert keyschedule.export_keying_material(master, cr, sr, other.encode(), 48, None) != recorded
    label = group["label"].encode()
    assert keyschedule.export_keying_material(master, cr, sr, label, 48, b"") != recorded


@pytest.mark.parametrize(
    "group,test",
    [(g, t) for g, t in VECTOR_CASES if "LegacyMasterSecret" in t["flags"] and "PSK" in t["flags"]],
    ids=lambda v: f"tcId{v['tcId']}" if "tcId" in v else "",
)
def test_legacy_master_secret_from_psk(group: dict[str, Any], test: dict[str, Any]) -> None:
    """Without EMS the whole chain Km -> master -> Kc is recomputable from the vector."""
    premaster = keyschedule.psk_premaster(bytes.fromhex(test["psk"]))
    master = keyschedule.master_secret(
        premaster, bytes.fromhex(test["client_random"]), bytes.fromhex(test["server_random"])
    )
    assert master.hex() == test["master_secret"]


# 2. Live oracles ----------------------------------------------------------------------


def _check_onem2m(local: bytes, oracle: bytes, fqdn: str = MAF_FQDN) -> None:
    """Equal exporter values, hence equal RelativeKcID, Kc and KcID on both ends."""
    assert len(local) == EXPORT_LENGTH
    assert local == oracle
    mine, theirs = split_export(local), split_export(oracle)
    assert mine.key == theirs.key and mine.key_id(fqdn) == theirs.key_id(fqdn)


@pytest.mark.parametrize(
    "code,label",
    [(0x00AE, "connection"), (0x00AE, "bootstrap"), (0x00B2, "connection")],
    ids=["PSK-connection", "PSK-bootstrap", "DHE_PSK-connection"],
)
def test_engine_client_vs_openssl_server(code: int, label: str) -> None:
    port = free_port()
    args = openssl_server_args(port, KM, KM_ID, None, SUITES[code].openssl, LABELS[label])
    with running(args, ready=r"^ACCEPT", timeout=TIMEOUT) as peer:
        client = ClientConnection(ClientConfig(KM_ID.encode(), KM, [code], MAF_FQDN))
        outcome = run_client(client, (HOST, port), TIMEOUT)
        assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
        expected = peer.required_keying_material(TIMEOUT)
    _check_onem2m(client.export_keying_material(LABELS[label].encode(), 48, None), expected)


def test_engine_server_vs_openssl_client() -> None:
    with tcp_listener() as listener:
        port = listener.getsockname()[1]
        args = openssl_client_args(
            port, KM, KM_ID, "PSK-AES128-CBC-SHA256", CONNECTION_LABEL, MAF_FQDN
        )
        with running(args, ready=None) as peer:
            server = ServerConnection(ServerConfig({KM_ID.encode(): KM}, [0x00AE]))
            with accepted(listener, TIMEOUT) as sock:
                server.start()
                outcome = drive(server, sock, time.monotonic() + TIMEOUT)
                assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
                expected = peer.required_keying_material(TIMEOUT)
                server.close()
                sock.sendall(server.data_to_send())
    assert server.psk_identity == KM_ID.encode()
    _check_onem2m(server.export_keying_material(CONNECTION_LABEL.encode(), 48, None), expected)


def test_dtls_engine_both_roles_vs_openssl() -> None:
    """DTLS 1.2 with the DTLS mandatory suite, TLS_PSK_WITH_AES_128_CCM_8."""
    code = 0xC0A8
    port = free_udp_port()
    args = openssl_dtls_server_args(port, KM, KM_ID, None, SUITES[code].openssl, CONNECTION_LABEL)
    with running(args, ready=r"^ACCEPT", timeout=TIMEOUT) as peer:
        client = DtlsClientConnection(ClientConfig(KM_ID.encode(), KM, [code], MAF_FQDN))
        outcome = run_dtls_client(client, (HOST, port), TIMEOUT)
        assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
        expected = peer.required_keying_material(TIMEOUT)
    _check_onem2m(client.export_keying_material(CONNECTION_LABEL.encode(), 48, None), expected)

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        args = openssl_dtls_client_args(
            sock.getsockname()[1], KM, KM_ID, SUITES[code].openssl, CONNECTION_LABEL, None
        )
        with running(args, ready=None) as peer:
            server = DtlsServerConnection(ServerConfig({KM_ID.encode(): KM}, [code]))
            outcome = run_dtls_server_once(server, sock, TIMEOUT)
            assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
            expected = peer.required_keying_material(TIMEOUT)
    _check_onem2m(server.export_keying_material(CONNECTION_LABEL.encode(), 48, None), expected)


@pytest.mark.parametrize("label", list(LABELS), ids=list(LABELS))
def test_engine_server_vs_gnutls_client(label: str) -> None:
    suite = SUITES[0x00AE]
    with tcp_listener() as listener:
        port = listener.getsockname()[1]
        args = gnutls_client_args(port, KM, KM_ID, suite.gnutls, LABELS[label], MAF_FQDN)
        with running(args, ready=None) as peer:
            server = ServerConnection(ServerConfig({KM_ID.encode(): KM}, [0x00AE]))
            with accepted(listener, TIMEOUT) as sock:
                server.start()
                outcome = drive(server, sock, time.monotonic() + TIMEOUT)
                assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
                expected = peer.gnutls_keying_material(False, TIMEOUT)
                server.close()
                sock.sendall(server.data_to_send())
    _check_onem2m(server.export_keying_material(LABELS[label].encode(), 48, None), expected)


def test_dtls_engine_server_vs_gnutls_client() -> None:
    suite = SUITES[0xC0A8]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        args = gnutls_dtls(
            gnutls_client_args(
                sock.getsockname()[1], KM, KM_ID, suite.gnutls, CONNECTION_LABEL, MAF_FQDN
            )
        )
        with running(args, ready=None) as peer:
            server = DtlsServerConnection(ServerConfig({KM_ID.encode(): KM}, [0xC0A8]))
            outcome = run_dtls_server_once(server, sock, TIMEOUT)
            assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
            expected = peer.gnutls_keying_material(False, TIMEOUT)
    _check_onem2m(server.export_keying_material(CONNECTION_LABEL.encode(), 48, None), expected)


def _wait_keylog(path: Path, client_random: bytes, timeout: float) -> bytes | None:
    """The master secret GnuTLS logged for ``client_random`` (bounded poll)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text().splitlines():
                parts = line.split()
                if parts[:1] == ["CLIENT_RANDOM"] and bytes.fromhex(parts[1]) == client_random:
                    return bytes.fromhex(parts[2])
        time.sleep(0.05)
    return None


def test_engine_client_vs_gnutls_server_keylog(tmp_path: Path) -> None:
    """gnutls-serv cannot print exporter values; its SSLKEYLOGFILE gives GnuTLS's master
    secret, and the oneM2M values over it must equal the engine's."""
    env = shutil.which("env")
    if env is None:
        pytest.skip("env(1) is not installed; cannot pass SSLKEYLOGFILE to gnutls-serv")
    keylog = tmp_path / "gnutls.keylog"
    port = free_port()
    psk_file = write_psk_file(str(tmp_path), KM_ID, KM)
    args = [env, f"SSLKEYLOGFILE={keylog}"] + gnutls_server_args(
        port, psk_file, None, SUITES[0x00AE].gnutls
    )
    with running(args, ready=r"listening", timeout=TIMEOUT) as peer:
        assert wait_port(port, TIMEOUT), peer.output
        client = ClientConnection(ClientConfig(KM_ID.encode(), KM, [0x00AE], MAF_FQDN))
        outcome = run_client(
            client, (HOST, port), TIMEOUT, until="quiet", application_data=b"ping\n"
        )
        assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
        assert outcome.application_data == b"ping\n", peer.output
        assert client.client_random is not None and client.server_random is not None
        master = _wait_keylog(keylog, client.client_random, TIMEOUT)
        assert master is not None, peer.output
    assert master == client.master_secret
    oracle = keyschedule.export_keying_material(
        master, client.client_random, client.server_random, CONNECTION_LABEL.encode(), 48, None
    )
    _check_onem2m(client.export_keying_material(CONNECTION_LABEL.encode(), 48, None), oracle)


# 3. harness.key_export ----------------------------------------------------------------

MATERIAL = bytes(range(0xA0, 0xA0 + 48))  # high nibbles a-d: hex letters in every octet


def test_labels_and_lengths() -> None:
    assert CONNECTION_LABEL == "EXPORTER-oneM2M-Connection"
    assert BOOTSTRAP_LABEL == "EXPORTER-oneM2M-Bootstrap"
    assert EXPORT_LENGTH == 48


def test_split_is_16_then_32() -> None:
    """I-02: the 16 most significant octets identify, the 32 least significant are Kc."""
    exported = split_export(MATERIAL)
    assert exported == ExportedKey(MATERIAL[:16], MATERIAL[16:])
    assert len(exported.relative_id) == 16 and len(exported.key) == 32
    assert exported.relative_id + exported.key == MATERIAL


@pytest.mark.parametrize("length", [0, 16, 32, 47, 49, 64])
def test_split_refuses_wrong_length(length: int) -> None:
    with pytest.raises(ValueError, match="expected 48"):
        split_export(bytes(length))


def test_key_id_is_lower_case_hex_at_fqdn() -> None:
    """I-04: hexBinary written in lower case, then "@" and the MAF's FQDN."""
    exported = split_export(MATERIAL)
    kc_id = exported.key_id(MAF_FQDN)
    assert kc_id == "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf@maf.example.com"
    relative = kc_id.split("@")[0]
    assert relative == relative.lower() and relative != relative.upper()
    assert key_identifier(b"\xab" * 16, "mef.example.com") == "ab" * 16 + "@mef.example.com"


def test_parse_and_matches_case_insensitive_relative_part() -> None:
    lower = parse_key_identifier("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf@maf.example.com")
    upper = parse_key_identifier("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF@MAF.Example.COM.")
    assert lower is not None and upper is not None
    assert lower.relative == "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" and lower.fqdn == MAF_FQDN
    assert lower.matches(upper) and upper.matches(lower)
    assert upper.relative_bytes() == lower.relative_bytes() == MATERIAL[:16]
    assert str(upper) == "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF@MAF.Example.COM."


def test_matches_needs_same_relative_and_same_maf() -> None:
    base = KeyIdentifier("a0" * 16, MAF_FQDN)
    assert not base.matches(KeyIdentifier("a0" * 15 + "a1", MAF_FQDN))
    assert not base.matches(KeyIdentifier("a0" * 16, "evil-maf.example.com"))
    assert not base.matches(KeyIdentifier("a0" * 16, "maf.example.org"))


@pytest.mark.parametrize("text", ["", "abc", "abc@", "@maf.example.com", "@"])
def test_missing_part_is_none(text: str) -> None:
    """No FQDN, no MAF to ask: parse gives None (and so does an empty relative part)."""
    assert parse_key_identifier(text) is None


def test_parse_splits_at_last_at() -> None:
    """The relative part of a KmID-shaped identity may hold "@"; the FQDN cannot."""
    parsed = parse_key_identifier("dev42@site@maf.example.com")
    assert parsed == KeyIdentifier("dev42@site", MAF_FQDN)
    assert parsed is not None and parsed.relative_bytes() is None  # not a 16-octet hexBinary


@pytest.mark.parametrize("relative", ["a0" * 15, "a0" * 17, "zz" * 16, "dev42"])
def test_relative_bytes_none_unless_16_octets_of_hex(relative: str) -> None:
    assert KeyIdentifier(relative, MAF_FQDN).relative_bytes() is None


def test_credential_id_of_kmid() -> None:
    """SAEF-MAF-24/25: B binds to "11-" + KmID when the MAF gives no sourceEntityID."""
    assert CREDENTIAL_TYPE_KMID == "11"
    assert credential_id("11", KM_ID) == "11-dev42@maf.example.com"
    assert credential_id(CREDENTIAL_TYPE_KMID, KM_ID) == "11-" + KM_ID
