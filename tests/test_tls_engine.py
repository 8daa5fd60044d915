"""Engine client against engine server in memory: the full matrix and the negative cases."""

from __future__ import annotations

import itertools

import pytest

from harness.tls.engine import (
    AlertReceived,
    AlertSent,
    ApplicationDataReceived,
    ClientConfig,
    ClientConnection,
    ConnectionClosed,
    HandshakeComplete,
    ServerConfig,
    ServerConnection,
    client_and_server,
    run_in_memory,
)
from harness.tls.faults import AlertFault, Faults, MessageOp
from harness.tls.suites import PROFILE_SUITES, SUITES

IDENTITY = b"0123456789abcdef@maf.example.com"
PSK = bytes(range(32))
LABEL = b"EXPORTER-oneM2M-Connection"

MATRIX = list(
    itertools.product(PROFILE_SUITES, [True, False], [None, b"hint"], [None, "b.example.com"])
)


def _pair(
    suite: int = 0x00AE,
    client_faults: Faults | None = None,
    server_faults: Faults | None = None,
    **kw: object,
) -> tuple[ClientConnection, ServerConnection]:
    client = ClientConnection(
        ClientConfig(
            kw.get("identity", IDENTITY),  # type: ignore[arg-type]
            kw.get("psk", PSK),  # type: ignore[arg-type]
            kw.get("suites", [suite]),  # type: ignore[arg-type]
            kw.get("server_name"),  # type: ignore[arg-type]
            kw.get("ems", True),  # type: ignore[arg-type]
            client_faults or Faults(),
        )
    )
    server = ServerConnection(
        ServerConfig(
            {IDENTITY: PSK},
            kw.get("server_suites", [suite]),  # type: ignore[arg-type]
            kw.get("hint"),  # type: ignore[arg-type]
            kw.get("server_ems", True),  # type: ignore[arg-type]
            unknown_identity=kw.get("unknown_identity", "alert"),  # type: ignore[arg-type]
            faults=server_faults or Faults(),
        )
    )
    client.start()
    run_in_memory(client, server)
    return client, server


@pytest.mark.parametrize(
    "suite,ems,hint,sni",
    MATRIX,
    ids=[
        f"{SUITES[s].name}-{'ems' if e else 'noems'}-{'hint' if h else 'nohint'}-{'sni' if n else 'nosni'}"
        for s, e, h, n in MATRIX
    ],
)
def test_handshake_matrix(suite: int, ems: bool, hint: bytes | None, sni: str | None) -> None:
    client, server = _pair(suite, ems=ems, hint=hint, server_name=sni)
    assert client.established and server.established, (client.error, server.error)
    assert client.negotiated_suite == server.negotiated_suite == suite
    assert client.extended_master_secret is server.extended_master_secret is ems
    assert client.master_secret == server.master_secret
    assert server.psk_identity == client.psk_identity == IDENTITY
    dhe = SUITES[suite].key_exchange == "DHE_PSK"
    expected_hint = hint if hint is not None else (b"" if dhe else None)
    assert client.psk_identity_hint == server.psk_identity_hint == expected_hint
    assert server.server_name == sni
    assert server.client_hello is not None and server.client_hello["server_name"] == sni
    assert server.client_hello["extended_master_secret"] is ems
    assert suite in server.client_hello["cipher_suites"]
    for context in (None, b"", b"ctx"):
        assert client.export_keying_material(LABEL, 48, context) == server.export_keying_material(
            LABEL, 48, context
        )
    assert client.export_keying_material(LABEL, 48, None) != client.export_keying_material(
        LABEL, 48, b""
    )
    # Application data both ways, then close_notify.
    client.send_application_data(b"hello B")
    assert server.receive(client.data_to_send()) == [ApplicationDataReceived(b"hello B")]
    server.send_application_data(b"hello A" * 5000)  # spans two records
    events = client.receive(server.data_to_send())
    assert (
        b"".join(e.data for e in events if isinstance(e, ApplicationDataReceived))
        == b"hello A" * 5000
    )
    client.close()
    events = server.receive(client.data_to_send())
    assert AlertReceived("warning", "close_notify") in events and isinstance(
        events[-1], ConnectionClosed
    )
    types = [m.type for m in client.trace.messages]
    assert types[:1] == ["ClientHello"] and "Finished" in types
    assert client.trace.keylog == server.trace.keylog
    assert (
        client.trace.keylog[0]
        == f"CLIENT_RANDOM {client.client_random.hex()} {client.master_secret.hex()}"
    )  # type: ignore[union-attr]


def test_events_report_completion() -> None:
    client, server = client_and_server(0xC0A8, IDENTITY, PSK)
    client.start()
    events = run_in_memory(client, server)
    assert events.count(HandshakeComplete(0xC0A8)) == 2


def test_server_prefers_its_own_order() -> None:
    client, server = _pair(suites=[0x00AE, 0xC0A8], server_suites=[0xC0A8, 0x00AE])
    assert client.negotiated_suite == 0xC0A8


def test_ems_only_when_both_want_it() -> None:
    client, server = _pair(server_ems=False)
    assert (
        client.established
        and not client.extended_master_secret
        and not server.extended_master_secret
    )


def _assert_alert(sender: object, receiver: object, description: str) -> None:
    assert sender.alert_sent == ("fatal", description), getattr(sender, "error", None)  # type: ignore[attr-defined]
    assert receiver.alert_received == ("fatal", description)  # type: ignore[attr-defined]
    assert not sender.established and sender.closed  # type: ignore[attr-defined]


@pytest.mark.parametrize("suite", PROFILE_SUITES)
def test_wrong_key_gives_bad_record_mac(suite: int) -> None:
    client, server = _pair(suite, psk=b"\x01" * 32)
    _assert_alert(server, client, "bad_record_mac")


def test_unknown_identity_alert() -> None:
    client, server = _pair(identity=b"nobody")
    _assert_alert(server, client, "unknown_psk_identity")
    assert server.psk_identity == b"nobody" and server.identity_known is False


def test_unknown_identity_random_key_looks_like_wrong_key() -> None:
    client, server = _pair(identity=b"nobody", unknown_identity="random_key")
    _assert_alert(server, client, "bad_record_mac")


def test_corrupted_client_finished_gives_decrypt_error() -> None:
    client, server = _pair(client_faults=Faults(corrupt_finished=True))
    _assert_alert(server, client, "decrypt_error")


def test_corrupted_server_finished_gives_decrypt_error() -> None:
    client, server = _pair(0xC0A6, server_faults=Faults(corrupt_finished=True))
    _assert_alert(client, server, "decrypt_error")


def test_duplicate_server_hello_is_unexpected() -> None:
    client, server = _pair(
        server_faults=Faults(message_ops=(MessageOp("duplicate", "ServerHello"),))
    )
    _assert_alert(client, server, "unexpected_message")


def test_unoffered_suite_is_illegal_parameter() -> None:
    client, server = _pair(0x00AE, server_faults=Faults(selected_suite=0xC0A4))
    _assert_alert(client, server, "illegal_parameter")


def test_no_common_suite_is_handshake_failure() -> None:
    client, server = _pair(suites=[0x00AE], server_suites=[0xC0A8])
    _assert_alert(server, client, "handshake_failure")


def test_old_version_is_protocol_version() -> None:
    client, server = _pair(client_faults=Faults(hello_version=0x0302))
    _assert_alert(server, client, "protocol_version")


def test_unsolicited_ems_is_unsupported_extension() -> None:
    client, server = _pair(ems=False, server_faults=Faults(unsolicited_ems=True))
    _assert_alert(client, server, "unsupported_extension")


def test_dhe_psk_without_server_key_exchange_is_unexpected() -> None:
    client, server = _pair(
        0xC0A6, server_faults=Faults(message_ops=(MessageOp("drop", "ServerKeyExchange"),))
    )
    _assert_alert(client, server, "unexpected_message")


def test_finished_before_ccs_is_unexpected() -> None:
    client, server = _pair(
        client_faults=Faults(message_ops=(MessageOp("drop", "ChangeCipherSpec"),))
    )
    _assert_alert(server, client, "unexpected_message")


def test_out_of_order_client_flight_is_unexpected() -> None:
    faults = Faults(message_ops=(MessageOp("move_after", "ClientKeyExchange", target="Finished"),))
    client, server = _pair(client_faults=faults)
    _assert_alert(server, client, "unexpected_message")


def test_corrupted_record_mac_is_bad_record_mac() -> None:
    client, server = _pair(0xC0A8, client_faults=Faults(corrupt_record_mac="Finished"))
    _assert_alert(server, client, "bad_record_mac")


def test_truncated_client_key_exchange_is_decode_error() -> None:
    bad = bytes([16, 0, 0, 3, 0, 5, 0x41])  # psk_identity claims 5 octets, has 1
    faults = Faults(message_ops=(MessageOp("replace", "ClientKeyExchange", data=bad),))
    client, server = _pair(client_faults=faults)
    _assert_alert(server, client, "decode_error")


def test_application_data_before_finished_is_unexpected() -> None:
    client, server = _pair(client_faults=Faults(app_data_before_finished=b"early"))
    _assert_alert(server, client, "unexpected_message")


def test_alert_instead_of_message() -> None:
    faults = Faults(alert=AlertFault("ServerHelloDone", "instead", "fatal", "internal_error"))
    client, server = _pair(server_faults=faults)
    assert server.alert_sent == ("fatal", "internal_error")
    assert client.alert_received == ("fatal", "internal_error")
    assert client.alert_sent is None and client.closed


def test_tolerate_bad_finished_lets_the_client_decide() -> None:
    """A server with the wrong key still sends CCS + Finished; the client's record check
    fails, and the server reads the client's alert with the client's (configured) key."""
    client, server = _pair(
        0xC0A4, server_faults=Faults(psk=b"\x02" * 32, tolerate_bad_finished=True)
    )
    assert server.alert_sent is None and server.peer_finished_ok is False
    sent = [m.type for m in server.trace.messages if m.direction == "sent"]
    assert sent[-2:] == ["ChangeCipherSpec", "Finished"]
    assert client.alert_sent == ("fatal", "bad_record_mac") and not client.established
    assert server.closed and not server.established
    assert server.alert_received == ("fatal", "bad_record_mac")
    assert "peer's keys" in server.trace.messages[-1].note


@pytest.mark.parametrize("suite", [0x00AE, 0xC0A6])
def test_wrong_configured_key_with_peer_psk(suite: int) -> None:
    """The wrong key in the configuration (as a test of Entity A sets it up) plus peer_psk."""
    wrong = bytes([PSK[0] ^ 1]) + PSK[1:]
    client = ClientConnection(ClientConfig(IDENTITY, PSK, [suite]))
    faults = Faults(tolerate_bad_finished=True, peer_psk=PSK)
    server = ServerConnection(ServerConfig({IDENTITY: wrong}, [suite], faults=faults))
    client.start()
    run_in_memory(client, server)
    assert client.alert_sent == ("fatal", "bad_record_mac")
    assert server.alert_received == ("fatal", "bad_record_mac") and server.alert_sent is None


def test_without_peer_key_the_alert_stays_unreadable() -> None:
    wrong = bytes([PSK[0] ^ 1]) + PSK[1:]
    client = ClientConnection(ClientConfig(IDENTITY, PSK, [0x00AE]))
    server = ServerConnection(
        ServerConfig({IDENTITY: wrong}, [0x00AE], faults=Faults(tolerate_bad_finished=True))
    )
    client.start()
    run_in_memory(client, server)
    last = server.trace.messages[-1]
    assert server.alert_received is None and server.closed and not server.established
    assert last.type == "UndecryptableRecord" and last.layer == "alert"
    assert last.fields["content_type"] == 21


def test_alert_events() -> None:
    client, server = _pair(identity=b"nobody")
    del client
    assert server.closed
    sent = [m for m in server.trace.messages if m.type == "Alert"]
    assert sent and sent[0].fields == {"level": "fatal", "description": "unknown_psk_identity"}
    c2 = ClientConnection(ClientConfig(IDENTITY, b"x" * 16, [0x00AE]))
    s2 = ServerConnection(ServerConfig({IDENTITY: PSK}, [0x00AE]))
    c2.start()
    events = run_in_memory(c2, s2)
    assert AlertSent("fatal", "bad_record_mac", "record MAC or padding check failed") in events


def test_exporter_needs_master_secret() -> None:
    client = ClientConnection(ClientConfig(IDENTITY, PSK))
    with pytest.raises(RuntimeError):
        client.export_keying_material(LABEL, 48, None)


def test_application_data_needs_handshake() -> None:
    client = ClientConnection(ClientConfig(IDENTITY, PSK))
    client.start()
    with pytest.raises(RuntimeError):
        client.send_application_data(b"x")


# The socket layer --------------------------------------------------------------------


def test_engine_pair_over_loopback() -> None:
    import socket
    import threading

    from harness.tls.transport import run_client, run_server_once

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        server = ServerConnection(ServerConfig({IDENTITY: PSK}, [0xC0A8]))
        result: dict[str, object] = {}
        thread = threading.Thread(
            target=lambda: result.update(
                out=run_server_once(server, listener, 5.0, until="closed")
            ),
            daemon=True,
        )
        thread.start()
        client = ClientConnection(ClientConfig(IDENTITY, PSK, [0xC0A8], "b.example.com"))
        address = listener.getsockname()
        outcome = run_client(client, address, 5.0, application_data=b"hi")
        thread.join(5.0)
    assert outcome.kind == "established" and outcome.established
    server_outcome = result["out"]
    assert server_outcome.kind == "established"  # type: ignore[attr-defined]
    assert "close_notify" in server_outcome.reason  # type: ignore[attr-defined]
    assert server_outcome.application_data == b"hi"  # type: ignore[attr-defined]
    assert client.trace.local and client.trace.remote == address
    assert b"".join(c.data for c in client.trace.wire if c.direction == "sent")[:1] == b"\x16"


def test_silent_peer_times_out_and_closing_peer_is_reported() -> None:
    import socket
    import threading

    from harness.tls.transport import run_client

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(2)
        held: list[socket.socket] = []
        client = ClientConnection(ClientConfig(IDENTITY, PSK))
        outcome = run_client(
            client, listener.getsockname(), 0.3
        )  # accepted by the backlog, never answered
        assert outcome.kind == "timeout" and "wait_server_hello" in outcome.reason

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def accept_and_close() -> None:
            sock, _ = listener.accept()
            held.append(sock)
            sock.recv(4096)
            sock.close()

        thread = threading.Thread(target=accept_and_close, daemon=True)
        thread.start()
        outcome = run_client(
            ClientConnection(ClientConfig(IDENTITY, PSK)), listener.getsockname(), 5.0
        )
        thread.join(5.0)
    assert outcome.kind == "peer_closed"


def test_nobody_listening_is_not_connected() -> None:
    import socket

    from harness.tls.transport import run_client

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = probe.getsockname()
    outcome = run_client(ClientConnection(ClientConfig(IDENTITY, PSK)), address, 1.0)
    assert outcome.kind == "not_connected"


def test_renegotiation_is_declined_with_a_warning() -> None:
    client, server = _pair()
    server._send_flight([server._handshake_item(0, b"", {})])  # HelloRequest
    events = client.receive(server.data_to_send())
    assert client.alert_sent == ("warning", "no_renegotiation") and client.established
    assert AlertSent("warning", "no_renegotiation", "") in events
    events = server.receive(client.data_to_send())
    assert AlertReceived("warning", "no_renegotiation") in events and not server.closed
