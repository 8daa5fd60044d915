"""DTLS 1.2 engine client against engine server over the simulated link (virtual time).

Covers every profile suite with the cookie exchange, fragmentation at a small MTU,
loss of each flight, reordering and duplication, 30 % random loss, replay and corruption
after the handshake, the retransmission timer, and the TLS negative cases over DTLS.
"""

from __future__ import annotations

import random

import pytest

from harness.tls.dtls import (
    DtlsClientConnection,
    DtlsServerConnection,
    RetransmitConfig,
)
from harness.tls.dtls_faults import DatagramFaults
from harness.tls.dtls_framing import DtlsHandshakeFraming, Fragment, frame_whole
from harness.tls.dtls_link import LinkPolicy, SimulatedLink
from harness.tls.dtls_record import DtlsRecordLayer, ReplayWindow
from harness.tls.engine import ClientConfig, ServerConfig
from harness.tls.faults import Faults
from harness.tls.messages import CLIENT_HELLO, SERVER_HELLO_DONE, SERVER_KEY_EXCHANGE
from harness.tls.suites import PROFILE_SUITES, SUITES

IDENTITY = b"0123456789abcdef@maf.example.com"
PSK = bytes(range(16))
LABEL = b"EXPORTER-oneM2M-Connection"


def _pair(
    suite: int = 0xC0A8,
    seed: int = 1,
    client_faults: Faults | None = None,
    server_faults: Faults | None = None,
    mtu: int = 1200,
    cookie_exchange: bool = True,
    ems: bool = True,
    **kw: object,
) -> tuple[DtlsClientConnection, DtlsServerConnection]:
    rng = random.Random(seed)
    client = DtlsClientConnection(
        ClientConfig(
            kw.get("identity", IDENTITY),  # type: ignore[arg-type]
            kw.get("psk", PSK),  # type: ignore[arg-type]
            kw.get("suites", [suite]),  # type: ignore[arg-type]
            "b.example.com",
            ems,
            client_faults or Faults(),
            rng.randbytes,
        ),
        mtu=mtu,
        retransmit=kw.get("retransmit"),  # type: ignore[arg-type]
        alert_on_bad_record=bool(kw.get("client_alerts", False)),
    )
    server = DtlsServerConnection(
        ServerConfig(
            {IDENTITY: PSK},
            kw.get("server_suites", [suite]),  # type: ignore[arg-type]
            b"maf.example.com",
            ems,
            faults=server_faults or Faults(),
            rng=rng.randbytes,
        ),
        cookie_exchange=cookie_exchange,
        mtu=mtu,
        cookie_secret=b"k" * 32,
        alert_on_bad_record=bool(kw.get("server_alerts", False)),
    )
    return client, server


def _run(
    client: DtlsClientConnection,
    server: DtlsServerConnection,
    seed: int = 0,
    max_time: float = 600.0,
    **policies: LinkPolicy,
) -> SimulatedLink:
    link = SimulatedLink(client, server, seed=seed, **policies)  # type: ignore[arg-type]
    link.start()
    link.run(max_time=max_time)
    return link


def _assert_established(client: DtlsClientConnection, server: DtlsServerConnection) -> None:
    assert client.established and server.established, (client.error, server.error)
    assert client.export_keying_material(LABEL, 48) == server.export_keying_material(LABEL, 48)


# -- the matrix ----------------------------------------------------------------------------


@pytest.mark.parametrize("ems", [True, False], ids=["ems", "no-ems"])
@pytest.mark.parametrize("suite", PROFILE_SUITES, ids=[SUITES[c].name for c in PROFILE_SUITES])
def test_every_profile_suite_with_cookie_exchange(suite: int, ems: bool) -> None:
    client, server = _pair(suite, ems=ems)
    link = _run(client, server)
    _assert_established(client, server)
    assert client.negotiated_suite == server.negotiated_suite == suite
    assert client.extended_master_secret is server.extended_master_secret is ems
    assert client.hello_verify_requests_received == server.hello_verify_requests_sent == 1
    assert client.cookie == server.cookie and client.cookie_seen and server.cookie_verified
    assert client.retransmissions == server.retransmissions == 0
    assert client.records_discarded == server.records_discarded == 0
    assert client.trace.transport == server.trace.transport == "dtls"
    # The handshake hash starts at the second ClientHello (message_seq 1, with cookie).
    assert client.transcript[0] == server.transcript[0]
    assert client.transcript[0][0] == CLIENT_HELLO and client.transcript[0][4:6] == b"\x00\x01"
    assert client.client_hello is not None and client.client_hello["cookie"] == client.cookie.hex()
    link.send("client", b"ping")
    link.send("server", b"pong")
    assert link.run("quiet")
    assert link.application_data == {"client": bytearray(b"pong"), "server": bytearray(b"ping")}


def test_without_cookie_exchange() -> None:
    client, server = _pair(cookie_exchange=False)
    _run(client, server)
    _assert_established(client, server)
    assert client.hello_verify_requests_received == server.hello_verify_requests_sent == 0
    assert client.transcript[0][4:6] == b"\x00\x00"  # message_seq 0


def test_hello_verify_request_is_stateless() -> None:
    """The HelloVerifyRequest echoes the ClientHello's message_seq and record sequence
    number; the server arms no timer and keeps listening."""
    client, server = _pair()
    client.start(now=0.0)
    (hello,) = client.datagrams_to_send()
    server.peer_address = ("127.0.0.1", 40001)
    server.receive(hello, now=0.0)
    (hvr,) = server.datagrams_to_send()
    assert hvr[0] == 22 and hvr[3:11] == hello[3:11]  # epoch 0, same record seq
    assert hvr[13] == 3 and hvr[17:19] == hello[17:19]  # HelloVerifyRequest, same msg_seq
    assert server.next_timeout() is None and server.state == "wait_client_hello"
    assert server.framing.listening and server.client_random is None
    # A cookie computed for another address does not pass.
    server.peer_address = ("127.0.0.1", 40009)
    client.receive(hvr, now=0.0)
    (second,) = client.datagrams_to_send()
    server.receive(second, now=0.0)
    assert server.hello_verify_requests_sent == 2 and not server.cookie_verified


# -- fragmentation -----------------------------------------------------------------------


@pytest.mark.parametrize("suite", [0xC0A6, 0xC0AA], ids=["DHE-CCM", "DHE-CCM8"])
def test_dhe_fragments_at_mtu_256(suite: int) -> None:
    client, server = _pair(suite, mtu=256)
    _run(client, server)
    _assert_established(client, server)
    for conn in (client, server):
        assert all(len(w.data) <= 256 for w in conn.trace.wire if w.direction == "sent")
    # The 2048-bit ServerKeyExchange arrived in several fragments and was reassembled.
    assert client.framing.fragments_received > 6
    (ske,) = client.trace.of_type("ServerKeyExchange", "received")
    assert len(ske.raw) > 512 and ske.raw[0] == SERVER_KEY_EXCHANGE


def test_reassembly_out_of_order_duplicates_and_overlaps() -> None:
    framing = DtlsHandshakeFraming()
    body = bytes(range(200))
    pieces = [
        Fragment(SERVER_KEY_EXCHANGE, 200, 0, 150, body[150:]),
        Fragment(SERVER_KEY_EXCHANGE, 200, 0, 0, body[:80]),
        Fragment(SERVER_KEY_EXCHANGE, 200, 0, 0, body[:80]),  # duplicate
        Fragment(SERVER_HELLO_DONE, 0, 1, 0, b""),  # a future message: buffered
        Fragment(SERVER_KEY_EXCHANGE, 200, 0, 60, body[60:160]),  # overlap
    ]
    out = []
    for piece in pieces:
        out += framing.feed(piece.encode())
    assert [m.msg_type for m in out] == [SERVER_KEY_EXCHANGE, SERVER_HELLO_DONE]
    assert out[0].body == body
    assert out[0].transcript_bytes == frame_whole(SERVER_KEY_EXCHANGE, 0, body)
    assert framing.next_receive_seq == 2
    assert framing.feed(Fragment(SERVER_HELLO_DONE, 0, 1, 0, b"").encode()) == []  # old


# -- loss, reordering, duplication ----------------------------------------------------------


@pytest.mark.parametrize("direction", ["c2s", "s2c"])
@pytest.mark.parametrize("index", [1, 2, 3])
def test_loss_of_each_flight_once(direction: str, index: int) -> None:
    """c2s: ClientHello, ClientHello+cookie, ClientKeyExchange..Finished;
    s2c: HelloVerifyRequest, ServerHello..ServerHelloDone, ChangeCipherSpec+Finished."""
    client, server = _pair(0xC0A6)
    link = _run(client, server, **{direction: LinkPolicy(drop=frozenset({index}))})
    _assert_established(client, server)
    assert link.lost(direction) == [index]  # type: ignore[arg-type]
    assert client.retransmissions + server.retransmissions >= 1
    assert 1.0 <= link.now < 2.0  # one initial timeout of virtual time


def test_lost_final_flight_is_retransmitted_on_repeated_finished() -> None:
    client, server = _pair()
    link = _run(client, server, s2c=LinkPolicy(drop=frozenset({3})))
    _assert_established(client, server)
    assert server.retransmissions == 1 and server.next_timeout() is None
    kinds = [m.note for m in server.trace.of_type("Retransmission")]
    assert kinds == ["peer repeated its previous flight"]
    assert link.now < 2.0


def test_reordering_and_duplication() -> None:
    client, server = _pair(0xC0A6, mtu=256)
    c2s = LinkPolicy(reorder=frozenset({1, 3}), duplicate=frozenset({2, 3, 4}))
    s2c = LinkPolicy(reorder=frozenset({2, 3}), duplicate=frozenset({1, 2, 4, 5}))
    _run(client, server, c2s=c2s, s2c=s2c)
    _assert_established(client, server)
    assert client.records_discarded + server.records_discarded > 0  # the duplicates


@pytest.mark.parametrize("seed", range(6))
def test_thirty_percent_loss_completes_deterministically(seed: int) -> None:
    results = []
    for _ in range(2):
        client, server = _pair(0xC0A6, seed=seed, mtu=256)
        link = _run(client, server, seed=seed, c2s=LinkPolicy(loss=0.3), s2c=LinkPolicy(loss=0.3))
        _assert_established(client, server)
        results.append((link.now, [(e.direction, e.index, e.action) for e in link.log]))
    assert results[0] == results[1]


# -- timers --------------------------------------------------------------------------------


def test_retransmission_timer_doubles_up_to_the_maximum() -> None:
    client, _ = _pair(retransmit=RetransmitConfig(initial=1.0, maximum=4.0))
    client.start(now=0.0)
    first = client.datagrams_to_send()
    deadlines = [client.next_timeout()]
    for _ in range(4):
        now = deadlines[-1]
        assert now is not None
        client.handle_timeout(now - 0.001)  # not yet: nothing happens
        assert client.datagrams_to_send() == []
        client.handle_timeout(now)
        again = client.datagrams_to_send()
        assert len(again) == 1 and again[0][13:] == first[0][13:]  # same ClientHello
        assert again[0][5:11] != first[0][5:11]  # under a new record sequence number
        deadlines.append(client.next_timeout())
    assert deadlines == [1.0, 3.0, 7.0, 11.0, 15.0]
    assert client.retransmissions == 4


def test_max_retransmissions_gives_up() -> None:
    client, _ = _pair(retransmit=RetransmitConfig(max_retransmissions=2))
    client.start(now=0.0)
    now = 0.0
    while (due := client.next_timeout()) is not None and now < 1000:
        now = due
        client.handle_timeout(now)
    assert client.retransmissions == 2 and not client.established
    assert client.error and "2 retransmissions" in client.error


# -- after the handshake -------------------------------------------------------------------


def test_replayed_and_corrupted_records_are_discarded() -> None:
    client, server = _pair(
        client_faults=Faults(dtls=DatagramFaults(replay_record="ApplicationData"))
    )
    link = _run(client, server)
    _assert_established(client, server)
    link.send("client", b"once")  # the fault sends this record a second time
    assert link.run("quiet")
    assert link.application_data["server"] == b"once"
    assert server.records_discarded == 1 and "replayed" in server.records.discard_reasons[0]
    # A corrupted record: dropped, the association survives.
    client.send_application_data(b"bad", now=link.now)
    (datagram,) = client.datagrams_to_send()
    server.receive(datagram[:-1] + bytes([datagram[-1] ^ 1]), now=link.now)
    assert server.records_discarded == 2 and server.established and not server.closed
    assert server.alert_sent is None
    # Application data still flows both ways.
    link.send("client", b"still")
    link.send("server", b"here")
    assert link.run("quiet")
    assert link.application_data == {
        "client": bytearray(b"here"),
        "server": bytearray(b"oncestill"),
    }


def test_alert_on_bad_record_switch() -> None:
    client, server = _pair(server_alerts=True)
    link = _run(client, server)
    client.send_application_data(b"bad", now=link.now)
    (datagram,) = client.datagrams_to_send()
    server.receive(datagram[:-1] + bytes([datagram[-1] ^ 1]), now=link.now)
    assert server.alert_sent == ("fatal", "bad_record_mac") and server.closed


def test_record_layer_epoch_sequence_and_ccm_nonce() -> None:
    client, server = _pair(0xC0A8)
    _run(client, server)
    client.send_application_data(b"x")
    (datagram,) = client.datagrams_to_send()
    assert datagram[1:3] == b"\xfe\xfd" and datagram[3:5] == b"\x00\x01"  # epoch 1
    seq = int.from_bytes(datagram[5:11], "big")
    assert seq == 1  # Finished was 0
    assert datagram[13:21] == datagram[3:11]  # RFC 6655: explicit nonce = epoch || seq


def test_replay_window() -> None:
    window = ReplayWindow(size=64)
    for seq in (5, 3, 70):
        assert not window.seen(seq)
        window.accept(seq)
    assert window.seen(70) and window.seen(5) is True  # 5 is left of 70 - 63
    assert not window.seen(69) and window.seen(3)
    assert not window.seen(200)


def test_record_layer_drops_malformed_and_foreign_epoch() -> None:
    layer = DtlsRecordLayer()
    good = layer.encode(22, b"hello")
    layer.feed(b"\x17\x03\x03" + good[3:])  # TLS version: not DTLS
    assert layer.next_record() is None
    layer.feed(good[:3] + b"\x00\x05" + good[5:])  # epoch 5
    assert layer.next_record() is None
    layer.feed(good + good[:-1])  # second record truncated
    record = layer.next_record()
    assert record is not None and record.fragment == b"hello"
    assert layer.next_record() is None
    assert layer.records_discarded == 3


# -- negative handshakes: alerts as in TLS -------------------------------------------------


@pytest.mark.parametrize(
    "client_faults,server_faults,who,alert",
    [
        (Faults(corrupt_finished=True), Faults(), "server", "decrypt_error"),
        (Faults(), Faults(corrupt_finished=True), "client", "decrypt_error"),
        (Faults(psk_identity=b"nobody"), Faults(), "server", "unknown_psk_identity"),
        (Faults(), Faults(selected_suite=0xC0A4), "client", "illegal_parameter"),
        (Faults(hello_version=0xFEFF), Faults(), "server", "protocol_version"),
        (Faults(), Faults(hello_version=0xFEFF), "client", "protocol_version"),
        (Faults(), Faults(unsolicited_ems=True), "client", "unsupported_extension"),
    ],
    ids=[
        "client-bad-finished",
        "server-bad-finished",
        "unknown-identity",
        "suite-not-offered",
        "client-dtls10",
        "server-dtls10",
        "unsolicited-ems",
    ],
)
def test_negative_handshakes_alert(
    client_faults: Faults, server_faults: Faults, who: str, alert: str
) -> None:
    client, server = _pair(
        0xC0A8, client_faults=client_faults, server_faults=server_faults, ems=False
    )
    _run(client, server, max_time=10)
    sender, receiver = (server, client) if who == "server" else (client, server)
    assert sender.alert_sent == ("fatal", alert), sender.error
    assert receiver.alert_received == ("fatal", alert)
    assert not (client.established and server.established)


def test_wrong_key_is_silent_in_dtls() -> None:
    """A wrong PSK makes the peer's Finished undecryptable: DTLS drops it and the server
    retransmits, where TLS would send bad_record_mac."""
    client, server = _pair(0xC0A8, psk=bytes(16))
    _run(client, server, max_time=5)
    assert not server.established and server.alert_sent is None
    assert server.records_discarded >= 1


def test_message_ops_still_work() -> None:
    from harness.tls.faults import MessageOp

    client, server = _pair(
        server_faults=Faults(message_ops=(MessageOp("drop", "ServerHelloDone"),))
    )
    _run(client, server, max_time=5)
    assert not client.established and client.state == "wait_shd"
    assert server.trace.of_type("ServerHelloDone", "sent")[0].note.startswith("fault:")
