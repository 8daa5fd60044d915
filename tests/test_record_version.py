"""The record-layer version is checked exactly (issue 12 item 4), with the RFC's reaction.

TLS (RFC 5246 6.2.1, Appendix E.1): any {03,XX} on the ClientHello record, the
negotiated version on every record after the hellos (the ServerHello record included),
else a fatal protocol_version. DTLS (RFC 6347 4.1, 4.1.2.7): DTLS 1.0 or 1.2 before the
hellos (HelloVerifyRequest, ClientHello), DTLS 1.2 exactly afterwards (a repeated
ClientHello excepted), else the record is discarded in silence.

Each case crafts one wire answer: the harness engine talks to the harness engine in
memory, and one record header of the peer's flight is rewritten on the way.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.tls import dtls_record, record
from harness.tls.dtls import DtlsClientConnection, DtlsServerConnection
from harness.tls.engine import (
    AlertInfo,
    ClientConfig,
    ClientConnection,
    Connection,
    ServerConfig,
    ServerConnection,
)
from harness.tls.faults import Faults
from harness.tls.messages import CLIENT_HELLO, SERVER_HELLO, SERVER_HELLO_DONE

IDENTITY = b"sensor-1@in-cse.m2m.example.com"
PSK = bytes(range(16))
PROTOCOL_VERSION = AlertInfo("fatal", "protocol_version")

Rewrite = Callable[[bytes], bytes]


def tls_records(data: bytes) -> list[bytes]:
    out = []
    while data:
        length = int.from_bytes(data[3:5], "big")
        out.append(data[: 5 + length])
        data = data[5 + length :]
    return out


def with_version(raw: bytes, version: tuple[int, int]) -> bytes:
    return raw[:1] + bytes(version) + raw[3:]


def rewrite_tls(content_type: int, msg_type: int | None, version: tuple[int, int]) -> Rewrite:
    """Rewrite the header version of the first record of that type (and handshake type)."""
    done = False

    def apply(data: bytes) -> bytes:
        nonlocal done
        out = []
        for raw in tls_records(data):
            hit = raw[0] == content_type and (msg_type is None or raw[5] == msg_type)
            if hit and not done:
                raw, done = with_version(raw, version), True
            out.append(raw)
        return b"".join(out)

    return apply


def run_tls(
    to_client: Rewrite = lambda d: d,
    to_server: Rewrite = lambda d: d,
    server_faults: Faults | None = None,
) -> tuple[ClientConnection, ServerConnection]:
    client = ClientConnection(ClientConfig(IDENTITY, PSK, [0x00AE]))
    server = ServerConnection(
        ServerConfig({IDENTITY: PSK}, [0x00AE], faults=server_faults or Faults())
    )
    client.start()
    for _ in range(20):
        out = client.data_to_send()
        if out:
            server.receive(to_server(out))
        back = server.data_to_send()
        if back:
            client.receive(to_client(back))
        if not out and not back:
            break
    return client, server


def test_tls_untouched_handshake_completes() -> None:
    client, server = run_tls()
    assert client.established and server.established
    assert client.records.expected_version == server.records.expected_version == (3, 3)


@pytest.mark.parametrize("version", [(3, 0), (3, 1), (3, 3)])
def test_tls_any_03xx_on_the_client_hello_record(version: tuple[int, int]) -> None:
    """RFC 5246 Appendix E.1: a server MUST accept any {03,XX} for the ClientHello."""
    client, server = run_tls(to_server=rewrite_tls(record.CT_HANDSHAKE, CLIENT_HELLO, version))
    assert client.established and server.established


def test_tls_server_hello_done_record_3_7_is_refused() -> None:
    client, server = run_tls(to_client=rewrite_tls(record.CT_HANDSHAKE, SERVER_HELLO_DONE, (3, 7)))
    assert not client.established
    assert client.alert_sent == PROTOCOL_VERSION
    assert client.error and "3.7 is not the negotiated 3.3" in client.error
    assert server.alert_received == PROTOCOL_VERSION


def test_tls_server_hello_record_must_carry_the_selected_version() -> None:
    client, _ = run_tls(to_client=rewrite_tls(record.CT_HANDSHAKE, SERVER_HELLO, (3, 1)))
    assert client.alert_sent == PROTOCOL_VERSION
    assert client.error and "ServerHello record version 3.1" in client.error


def test_tls_ccs_record_0x039a_from_entity_a_is_refused() -> None:
    client, server = run_tls(
        to_server=rewrite_tls(record.CT_CHANGE_CIPHER_SPEC, None, (0x03, 0x9A))
    )
    assert not server.established
    assert server.alert_sent == PROTOCOL_VERSION
    assert server.error and "3.154" in server.error
    assert client.alert_received == PROTOCOL_VERSION


def test_tls_client_key_exchange_record_must_carry_the_negotiated_version() -> None:
    _, server = run_tls(to_server=rewrite_tls(record.CT_HANDSHAKE, 16, (3, 1)))
    assert server.alert_sent == PROTOCOL_VERSION
    assert server.error and "ClientKeyExchange record version 3.1" in server.error


def test_tls_client_alert_before_it_read_the_server_hello_may_carry_3_1() -> None:
    """A client refusing the server's flight before it read the ServerHello (TP/SAEF-PSK/
    A/10: ServerHelloDone first) writes its alert in its pre-hello record version, as
    libssl does; the harness reads that alert instead of refusing it."""
    server = ServerConnection(ServerConfig({IDENTITY: PSK}, [0x00AE]))
    client = ClientConnection(ClientConfig(IDENTITY, PSK, [0x00AE]))
    client.start()
    server.receive(client.data_to_send())
    server.data_to_send()
    alert = bytes([21, 3, 1, 0, 2, 2, 10])  # fatal unexpected_message in a 3.1 record
    server.receive(alert)
    assert server.alert_received == AlertInfo("fatal", "unexpected_message")
    assert server.alert_sent is None


def test_tls_non_tls_major_before_the_hellos_is_refused() -> None:
    _, server = run_tls(to_server=rewrite_tls(record.CT_HANDSHAKE, CLIENT_HELLO, (2, 0)))
    assert server.alert_sent == PROTOCOL_VERSION


def test_tls_harness_under_a_version_fault_still_reads_the_refusal() -> None:
    """TP/SAEF-PSK/A/13: the harness selects TLS 1.1 on purpose; the SUT's alert, in
    whatever record version it comes, is the observation, not a harness refusal."""
    client, server = run_tls(server_faults=Faults(hello_version=0x0302))
    assert client.alert_sent == PROTOCOL_VERSION  # the client refused TLS 1.1
    assert server.alert_received == PROTOCOL_VERSION  # and the harness read it
    assert server.alert_sent is None


def test_version_problem_rules() -> None:
    assert record.version_problem((3, 1), None) is None
    assert record.version_problem((3, 3), (3, 3)) is None
    assert record.version_problem((3, 2), (3, 3))
    assert record.version_problem((254, 253), None)
    assert dtls_record.version_problem((254, 255), None) is None
    assert dtls_record.version_problem((254, 253), (254, 253)) is None
    assert dtls_record.version_problem((254, 255), (254, 253))
    assert dtls_record.version_problem((254, 255), (254, 253), client_hello=True) is None
    assert dtls_record.version_problem((254, 252), None)
    assert dtls_record.version_problem((3, 3), None)


# --- DTLS -------------------------------------------------------------------------------------


def dtls_records(datagram: bytes) -> list[bytes]:
    out = []
    while len(datagram) >= 13:
        length = int.from_bytes(datagram[11:13], "big")
        out.append(datagram[: 13 + length])
        datagram = datagram[13 + length :]
    return out


def rewrite_dtls(
    content_type: int, msg_type: int | None, version: tuple[int, int], times: int = 1
) -> Rewrite:
    left = times

    def apply(datagram: bytes) -> bytes:
        nonlocal left
        out = []
        for raw in dtls_records(datagram):
            hit = raw[0] == content_type and (msg_type is None or raw[13] == msg_type)
            if hit and left:
                raw, left = with_version(raw, version), left - 1
            out.append(raw)
        return b"".join(out)

    return apply


def run_dtls(
    to_client: Rewrite = lambda d: d, to_server: Rewrite = lambda d: d, rounds: int = 40
) -> tuple[DtlsClientConnection, DtlsServerConnection]:
    """Shuttle datagrams in memory on virtual time; timers fire when both are quiet."""
    client = DtlsClientConnection(ClientConfig(IDENTITY, PSK, [0xC0A8]))
    server = DtlsServerConnection(ServerConfig({IDENTITY: PSK}, [0xC0A8]))
    server.peer_address = ("127.0.0.1", 5684)
    now = 0.0
    client.start(now)
    for _ in range(rounds):
        moved = False
        for d in client.datagrams_to_send():
            moved = True
            server.receive(to_server(d), now)
        for d in server.datagrams_to_send():
            moved = True
            client.receive(to_client(d), now)
        if not moved:
            pending = [t for t in (client.next_timeout(), server.next_timeout()) if t is not None]
            if not pending or client.closed or (client.established and server.established):
                break
            now = min(pending)
            client.handle_timeout(now)
            server.handle_timeout(now)
    return client, server


def test_dtls_untouched_handshake_completes() -> None:
    client, server = run_dtls()
    assert client.established and server.established
    assert client.records.expected_version == server.records.expected_version == (254, 253)


def test_dtls_1_0_client_hello_record_is_accepted_before_and_after_the_hellos() -> None:
    """Every ClientHello record (the cookieless one and the one with the cookie) as DTLS 1.0."""
    client, server = run_dtls(
        to_server=rewrite_dtls(record.CT_HANDSHAKE, CLIENT_HELLO, (254, 255), times=5)
    )
    assert client.established and server.established
    assert server.records_discarded == 0


def test_dtls_server_hello_done_record_of_another_version_is_discarded() -> None:
    """Once: the discarded ServerHelloDone comes back in the server's retransmission."""
    client, server = run_dtls(
        to_client=rewrite_dtls(record.CT_HANDSHAKE, SERVER_HELLO_DONE, (254, 255))
    )
    reasons = client.records.discard_reasons
    assert any("254.255 is not the negotiated 254.253" in r for r in reasons), reasons
    assert client.alert_sent is None  # RFC 6347 4.1.2.7: silently
    assert client.established and server.established  # and the retransmission completes


def test_dtls_ccs_record_0x039a_from_entity_a_is_discarded() -> None:
    client, server = run_dtls(
        to_server=rewrite_dtls(record.CT_CHANGE_CIPHER_SPEC, None, (0x03, 0x9A), times=99)
    )
    assert not server.established
    assert server.alert_sent is None
    assert any("3.154 is not the negotiated" in r for r in server.records.discard_reasons)


def test_dtls_unknown_dtls_version_before_the_hellos_is_discarded() -> None:
    client, server = run_dtls(
        to_server=rewrite_dtls(record.CT_HANDSHAKE, CLIENT_HELLO, (254, 252), times=99), rounds=8
    )
    assert not server.established and server.client_hello is None
    assert any("neither DTLS 1.0 nor DTLS 1.2" in r for r in server.records.discard_reasons)


def _connection_types() -> tuple[type[Connection], ...]:
    return (ClientConnection, ServerConnection, DtlsClientConnection, DtlsServerConnection)


def test_every_connection_class_starts_lenient() -> None:
    """Before the hellos no exact version is expected on any connection class."""
    for cls in _connection_types():
        config = ClientConfig(IDENTITY, PSK) if "Client" in cls.__name__ else ServerConfig({})
        assert cls(config).records.expected_version is None  # type: ignore[arg-type]
