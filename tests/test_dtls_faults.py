"""Each datagram fault does what it says, checked on the bytes against a fault-free run
with the same seeds (the engine is deterministic given its rng and cookie secret)."""

from __future__ import annotations

import random

import pytest

from harness.tls.dtls import DtlsClientConnection, DtlsServerConnection
from harness.tls.dtls_faults import DatagramFaults
from harness.tls.dtls_framing import Fragment, parse_fragments
from harness.tls.dtls_link import SimulatedLink
from harness.tls.engine import ClientConfig, ServerConfig
from harness.tls.faults import Faults
from harness.tls.messages import SERVER_KEY_EXCHANGE

IDENTITY = b"client@m2mconf"
PSK = bytes(range(16))
DHE = 0xC0A6


def _pair(
    client: DatagramFaults | None = None,
    server: DatagramFaults | None = None,
    suite: int = 0xC0A8,
    mtu: int = 1200,
) -> tuple[DtlsClientConnection, DtlsServerConnection]:
    rng = random.Random(7)
    c = DtlsClientConnection(
        ClientConfig(
            IDENTITY,
            PSK,
            [suite],
            "b.example.com",
            faults=Faults(dtls=client or DatagramFaults()),
            rng=rng.randbytes,
        ),
        mtu=mtu,
    )
    s = DtlsServerConnection(
        ServerConfig(
            {IDENTITY: PSK},
            [suite],
            b"hint",
            faults=Faults(dtls=server or DatagramFaults()),
            rng=rng.randbytes,
        ),
        mtu=mtu,
        cookie_secret=b"s" * 32,
    )
    return c, s


def _handshake(c: DtlsClientConnection, s: DtlsServerConnection) -> SimulatedLink:
    link = SimulatedLink(c, s)
    link.start()
    assert link.run(max_time=60), (c.error, s.error)
    assert c.established and s.established
    return link


def _sent(conn: DtlsClientConnection | DtlsServerConnection) -> list[bytes]:
    return [w.data for w in conn.trace.wire if w.direction == "sent"]


def _notes(conn: DtlsClientConnection | DtlsServerConnection) -> list[str]:
    return [m.note for m in conn.trace.messages if m.layer == "datagram"]


def _records(datagram: bytes) -> list[bytes]:
    out, at = [], 0
    while at < len(datagram):
        length = int.from_bytes(datagram[at + 11 : at + 13], "big")
        out.append(datagram[at : at + 13 + length])
        at += 13 + length
    return out


def _handshake_fragments(datagrams: list[bytes]) -> list[Fragment]:
    """Plaintext (epoch 0) handshake fragments in wire order."""
    return [
        f
        for d in datagrams
        for r in _records(d)
        if r[0] == 22 and r[3:5] == b"\x00\x00"
        for f in parse_fragments(r[13:])
    ]


def _baseline_client_hello() -> bytes:
    c, _ = _pair()
    c.start(now=0.0)
    (datagram,) = c.datagrams_to_send()
    return datagram


def test_drop_nth_datagram() -> None:
    c, _ = _pair(client=DatagramFaults(drop_datagrams=(1,)))
    c.start(now=0.0)
    assert c.datagrams_to_send() == [] and c.datagrams_sent == 0
    assert _notes(c) == ["fault: datagram 1 dropped (index)"]
    c.handle_timeout(1.0)  # the retransmission is datagram 2 and goes out
    (again,) = c.datagrams_to_send()
    assert again[13:] == _baseline_client_hello()[13:]


def test_drop_first_transmission_of_a_named_flight() -> None:
    c, s = _pair(server=DatagramFaults(drop_first=("ServerHello",)))
    link = _handshake(c, s)
    assert "fault: datagram 2 dropped (first ServerHello)" in _notes(s)
    assert s.retransmissions == 1 and link.now >= 1.0
    # The ServerHello reached the wire only once: in the retransmission.
    hellos = [f for f in _handshake_fragments(_sent(s)) if f.msg_type == 2]
    assert len(hellos) == 1


def test_duplicate() -> None:
    c, _ = _pair(client=DatagramFaults(duplicate_datagrams=(1,)))
    c.start(now=0.0)
    first, second = c.datagrams_to_send()
    assert first == second == _baseline_client_hello()
    assert _notes(c) == ["fault: datagram 1 duplicated"]


def test_reorder_holds_one_back_until_the_next() -> None:
    base_c, base_s = _pair(suite=DHE, mtu=256)
    _handshake(base_c, base_s)
    c, s = _pair(server=DatagramFaults(reorder_datagrams=(2,)), suite=DHE, mtu=256)
    _handshake(c, s)
    expected = _sent(base_s)
    assert _sent(s)[:4] == [expected[0], expected[2], expected[1], expected[3]]
    assert _notes(s) == ["fault: datagram 2 held back (reorder)", "fault: datagram 2 sent after 3"]


def test_delay_by_simulated_time() -> None:
    c, _ = _pair(client=DatagramFaults(delay_datagrams=(1,), delay_seconds=0.5))
    c.start(now=10.0)
    assert c.datagrams_to_send() == []
    assert c.next_timeout() == 10.5  # before the 1 s retransmission timer
    c.handle_timeout(10.4)
    assert c.datagrams_to_send() == []
    c.handle_timeout(10.5)
    assert c.datagrams_to_send() == [_baseline_client_hello()]
    assert _notes(c) == ["fault: datagram 1 delayed 0.5s", "fault: delayed datagram 1 sent"]


@pytest.mark.parametrize("offset", [20, -1])
def test_corrupt_one_octet(offset: int) -> None:
    c, _ = _pair(client=DatagramFaults(corrupt_datagrams=(1,), corrupt_offset=offset))
    c.start(now=0.0)
    (datagram,) = c.datagrams_to_send()
    base = _baseline_client_hello()
    diff = [i for i in range(len(base)) if base[i] != datagram[i]]
    assert diff == [offset % len(base)] and datagram[diff[0]] == base[diff[0]] ^ 0xFF
    assert _notes(c) == [f"fault: datagram 1 octet {offset % len(base)} corrupted"]


def test_replay_finished_record_after_handshake() -> None:
    c, s = _pair(client=DatagramFaults(replay_record="Finished"))
    link = _handshake(c, s)
    finished = next(
        r for d in _sent(c) for r in _records(d) if r[0] == 22 and r[3:5] == b"\x00\x01"
    )
    link.send("client", b"data")
    assert link.run("quiet")
    assert _sent(c)[-1] == finished  # the same bytes, again
    assert s.records_discarded == 1 and "replayed" in s.records.discard_reasons[0]
    assert link.application_data["server"] == b"data" and s.established
    assert _notes(c) == ["fault: replayed the Finished record after the handshake"]


def test_fragment_size_for_one_message() -> None:
    c, s = _pair(
        server=DatagramFaults(fragment_size=50, fragment_messages=("ServerKeyExchange",)),
        suite=DHE,
    )
    _handshake(c, s)
    fragments = _handshake_fragments(_sent(s))
    ske = [f for f in fragments if f.msg_type == SERVER_KEY_EXCHANGE]
    others = [f for f in fragments if f.msg_type != SERVER_KEY_EXCHANGE]
    assert len(ske) == -(-ske[0].length // 50) and all(len(f.body) <= 50 for f in ske)
    assert [f.fragment_offset for f in ske] == list(range(0, ske[0].length, 50))
    assert all(len(f.body) == f.length for f in others)  # the rest whole


def test_fragments_in_reverse_order() -> None:
    c, s = _pair(server=DatagramFaults(fragment_size=100, reverse_fragments=True), suite=DHE)
    _handshake(c, s)
    ske = [f for f in _handshake_fragments(_sent(s)) if f.msg_type == SERVER_KEY_EXCHANGE]
    offsets = [f.fragment_offset for f in ske]
    assert len(offsets) > 2 and offsets == sorted(offsets, reverse=True)


def test_json_round_trip() -> None:
    faults = Faults(
        corrupt_finished=True,
        dtls=DatagramFaults(
            drop_datagrams=(2,),
            drop_first=("Finished",),
            delay_datagrams=(3,),
            delay_seconds=0.25,
            replay_record="ApplicationData",
            fragment_size=64,
            reverse_fragments=True,
        ),
    )
    data = faults.to_json()
    assert data["dtls"]["drop_first"] == ["Finished"]
    assert Faults.from_json(data) == faults
    assert "dtls" not in Faults().to_json()
    with pytest.raises(ValueError, match="unknown datagram fault"):
        DatagramFaults.from_json({"drop_everything": True})


def test_drop_received_first_acts_as_incoming_loss() -> None:
    c, s = _pair(server=DatagramFaults(drop_received_first=("ClientHello",)))
    link = _handshake(c, s)
    assert c.retransmissions == 1 and link.now >= 1.0  # the SUT-side had to retransmit
    assert s.hello_verify_requests_sent == 1  # the first ClientHello was never processed
    notes = [m.note for m in s.trace.messages if m.layer == "datagram"]
    assert notes == ["fault: received datagram with first ClientHello ignored (lost)"]


def test_duplicate_all_and_reverse_datagrams() -> None:
    base_c, base_s = _pair(suite=DHE, mtu=256)
    _handshake(base_c, base_s)
    c, s = _pair(
        server=DatagramFaults(duplicate_all=True, reverse_datagrams=True), suite=DHE, mtu=256
    )
    _handshake(c, s)
    base, sent = _sent(base_s), _sent(s)
    assert sent[:2] == [base[0], base[0]]  # HelloVerifyRequest, twice
    flight = base[1:5]  # ServerHello .. ServerHelloDone in four datagrams at MTU 256
    assert sent[2:10] == [d for d in reversed(flight) for _ in range(2)]
    assert c.records_discarded > 0  # the copies


def test_corrupted_copy_before_the_genuine_record() -> None:
    c, s = _pair(client=DatagramFaults(corrupted_copy="ApplicationData"))
    link = _handshake(c, s)
    link.send("client", b"data")
    assert link.run("quiet")
    bad, good = _sent(c)[-2:]
    assert bad[:13] == good[:13] and bad[:-1] == good[:-1] and bad[-1] == good[-1] ^ 1
    assert link.application_data["server"] == b"data" and s.records_discarded == 1
    assert s.established and s.alert_sent is None
