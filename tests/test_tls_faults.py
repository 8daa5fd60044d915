"""Each fault switch does what it says, checked on the bytes the engine puts on the wire.

The engines run with a seeded random source, so a faulted run can be compared octet by
octet with the same run without the fault.
"""

from __future__ import annotations

import json
import random

import pytest

from harness.tls.engine import (
    ClientConfig,
    ClientConnection,
    ServerConfig,
    ServerConnection,
    run_in_memory,
)
from harness.tls.faults import AlertFault, Faults, MessageOp
from harness.tls.messages import (
    decode_client_hello,
    decode_client_key_exchange,
    decode_server_hello,
)

IDENTITY = b"kpsa-id@issuer.example.com"
PSK = bytes(range(16))


def _rng(seed: int = 7):  # noqa: ANN202 - a bytes source
    return random.Random(seed).randbytes


def _records(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    while data:
        length = int.from_bytes(data[3:5], "big")
        out.append((data[0], data[5 : 5 + length]))
        data = data[5 + length :]
    return out


def _client(faults: Faults | None = None, suite: int = 0x00AE) -> ClientConnection:
    config = ClientConfig(
        IDENTITY, PSK, [suite], "b.example.com", True, faults or Faults(), _rng(1)
    )
    return ClientConnection(config)


def _server(
    faults: Faults | None = None, suite: int = 0x00AE, hint: bytes | None = None
) -> ServerConnection:
    config = ServerConfig(
        {IDENTITY: PSK}, [suite], hint, True, faults=faults or Faults(), rng=_rng(2)
    )
    return ServerConnection(config)


def _client_second_flight(
    faults: Faults, suite: int = 0x00AE
) -> tuple[ClientConnection, list[tuple[int, bytes]]]:
    client, server = _client(faults, suite), _server(suite=suite)
    client.start()
    server.receive(client.data_to_send())
    client.receive(server.data_to_send())
    return client, _records(client.data_to_send())


def _server_first_flight(
    faults: Faults, suite: int = 0x00AE, hint: bytes | None = None
) -> tuple[ServerConnection, list[tuple[int, bytes]]]:
    client, server = _client(suite=suite), _server(faults, suite, hint)
    client.start()
    server.receive(client.data_to_send())
    return server, _records(server.data_to_send())


def _handshake_types(records: list[tuple[int, bytes]]) -> list[int | str]:
    return [
        payload[0] if ctype == 22 else {20: "CCS", 21: "alert", 23: "data"}[ctype]
        for ctype, payload in records
    ]


def test_default_is_no_fault_and_json_round_trip() -> None:
    assert not Faults().any and Faults().to_json() == {}
    faults = Faults(
        psk_identity=b"x",
        offered_suites=(0x00B0,),
        alert=AlertFault("Finished", "after", "warning", "user_canceled"),
        message_ops=(
            MessageOp("replace", "Finished", b"\x14\x00\x00\x00"),
            MessageOp("move_after", "ClientKeyExchange", target="Finished"),
        ),
    )
    text = json.dumps(faults.to_json())
    assert Faults.from_json(json.loads(text)) == faults
    assert Faults.from_json({"selected_suite": "0xC0A4"}).selected_suite == 0xC0A4
    with pytest.raises(ValueError, match="unknown fault"):
        Faults.from_json({"no_such_switch": True})


def test_psk_identity_override_is_on_the_wire() -> None:
    client, records = _client_second_flight(Faults(psk_identity=b"other@x"))
    cke = records[0][1]
    assert (
        cke[0] == 16 and decode_client_key_exchange(cke[4:], dhe=False).psk_identity == b"other@x"
    )
    assert client.psk_identity == b"other@x"
    assert "psk_identity overridden" in client.trace.of_type("ClientKeyExchange", "sent")[0].note


def test_psk_override_changes_the_keys() -> None:
    _, clean = _client_second_flight(Faults())
    _, faulted = _client_second_flight(Faults(psk=b"\x00" * 16))
    assert clean[0] == faulted[0]  # same ClientKeyExchange
    assert clean[2] != faulted[2]  # Finished protected under other keys


def test_psk_identity_hint_forces_server_key_exchange() -> None:
    _, records = _server_first_flight(Faults())
    assert _handshake_types(records) == [2, 14]
    server, records = _server_first_flight(Faults(psk_identity_hint=b"fault-hint"))
    assert _handshake_types(records) == [2, 12, 14]
    assert records[1][1][4:] == b"\x00\x0afault-hint"
    assert server.psk_identity_hint == b"fault-hint"


def test_offered_suites_and_sni_and_version() -> None:
    client = _client(
        Faults(offered_suites=(0x00B0, 0x008C), send_no_sni=True, hello_version=0x0302)
    )
    client.start()
    body = _records(client.data_to_send())[0][1][4:]
    hello = decode_client_hello(body)
    assert hello.cipher_suites[:2] == [0x00B0, 0x008C]
    assert hello.server_name is None and hello.version == (3, 2)
    client = _client(Faults(sni="other.example"))
    client.start()
    assert (
        decode_client_hello(_records(client.data_to_send())[0][1][4:]).server_name
        == "other.example"
    )


def test_selected_suite_and_unsolicited_ems() -> None:
    client, server = _client(), _server(Faults(selected_suite=0xC0A8, unsolicited_ems=True))
    client.config.extended_master_secret = False
    client.start()
    server.receive(client.data_to_send())
    hello = decode_server_hello(_records(server.data_to_send())[0][1][4:])
    assert hello.cipher_suites == [0xC0A8]
    assert hello.extension(23) == b""


def test_corrupt_finished_flips_one_bit_of_verify_data() -> None:
    clean, _ = _client_second_flight(Faults())
    faulted, _ = _client_second_flight(Faults(corrupt_finished=True))
    a = clean.trace.of_type("Finished", "sent")[0]
    b = faulted.trace.of_type("Finished", "sent")[0]
    diff = bytes(x ^ y for x, y in zip(a.raw, b.raw, strict=True))
    assert diff == bytes(15) + b"\x01" and "verify_data" in b.note


@pytest.mark.parametrize("suite", [0x00AE, 0xC0A8])
def test_corrupt_record_mac_flips_the_last_octet(suite: int) -> None:
    _, clean = _client_second_flight(Faults(), suite)
    _, faulted = _client_second_flight(Faults(corrupt_record_mac="Finished"), suite)
    assert clean[:2] == faulted[:2]
    diff = bytes(x ^ y for x, y in zip(clean[2][1], faulted[2][1], strict=True))
    assert diff == bytes(len(diff) - 1) + b"\x01"


def test_alert_instead_of_and_after() -> None:
    server, records = _server_first_flight(
        Faults(alert=AlertFault("ServerHelloDone", "instead", "fatal", "internal_error"))
    )
    assert _handshake_types(records) == [2, "alert"] and records[1][1] == b"\x02\x50"
    assert server.closed
    server, records = _server_first_flight(
        Faults(alert=AlertFault("ServerHello", "after", "warning", "user_canceled"))
    )
    assert _handshake_types(records) == [2, "alert", 14] and records[1][1] == b"\x01\x5a"


def test_message_ops_drop_duplicate_move() -> None:
    _, records = _client_second_flight(Faults(message_ops=(MessageOp("drop", "ChangeCipherSpec"),)))
    assert _handshake_types(records) == [16, 20]  # Finished in the clear: no write-key switch
    assert len(records[1][1]) == 16
    _, records = _client_second_flight(
        Faults(message_ops=(MessageOp("duplicate", "ClientKeyExchange"),))
    )
    assert _handshake_types(records)[:3] == [16, 16, "CCS"] and records[0] == records[1]
    _, records = _client_second_flight(
        Faults(
            message_ops=(MessageOp("move_after", "ClientKeyExchange", target="ChangeCipherSpec"),)
        )
    )
    assert [ctype for ctype, _ in records] == [20, 22, 22]  # CCS first, then (encrypted) CKE
    assert len(records[1][1]) > 4 + 2 + len(IDENTITY)  # CKE protected under the new keys
    server, records = _server_first_flight(
        Faults(message_ops=(MessageOp("drop", "ServerHelloDone"),))
    )
    assert _handshake_types(records) == [2]
    assert server.trace.messages[-1].note == "fault: ServerHelloDone not sent"
    assert server.trace.messages[-1].raw == b""


def test_message_ops_replace_and_insert() -> None:
    junk = bytes([99, 0, 0, 1, 0])
    _, records = _server_first_flight(
        Faults(message_ops=(MessageOp("replace", "ServerHelloDone", junk),))
    )
    assert records[-1] == (22, junk)
    _, records = _server_first_flight(
        Faults(
            message_ops=(
                MessageOp("insert_before", "ServerHello", b"\x01", content_type=20),
                MessageOp("insert_after", "ServerHello", junk),
            )
        )
    )
    assert records == [(20, b"\x01"), records[1], (22, junk), records[3]] and records[1][1][0] == 2


def test_application_data_probes() -> None:
    _, records = _client_second_flight(Faults(app_data_before_ccs=b"clear"))
    assert records[1] == (23, b"clear") and [c for c, _ in records] == [22, 23, 20, 22]
    _, records = _client_second_flight(Faults(app_data_before_finished=b"early"))
    assert [c for c, _ in records] == [22, 20, 23, 22]
    assert b"early" not in records[2][1]  # encrypted under the new keys


def test_faults_are_noted_in_the_trace() -> None:
    client, server = _client(Faults(corrupt_finished=True)), _server()
    client.start()
    run_in_memory(client, server)
    notes = [m.note for m in client.trace.messages if m.note]
    assert notes == ["fault: corrupted verify_data"]
