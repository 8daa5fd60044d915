"""The libssl reference over DTLS 1.2 (RFC 6347): interop, cookie exchange, DTLS mutants.

Every case runs real DTLS over UDP on loopback. Loss is made deterministic by a relay
that drops chosen datagrams (never by timing); the retransmission timer is set short
through the configuration (``retransmissionTimeout``) so recovery takes milliseconds,
and every wait is bounded by the entities' deadlines or the adapter's result(timeout).
"""

from __future__ import annotations

import os
import select
import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest

from harness.frameworks.saef_psk.reference.faults import FAULT_CLASSES
from harness.reference.datagram import (
    ALERT,
    APPLICATION_DATA,
    HANDSHAKE,
    HELLO_VERIFY_REQUEST,
    DatagramPump,
    DtlsRecord,
    pack_datagrams,
    parse_records,
)
from harness.reference.endpoint import Deadline, PumpOutcome, TlsEndpoint
from harness.reference.libssl import SslContext
from harness.sut.contract import Address, Status, SutRequest, SutResult, Transport
from harness.sut.reference_adapter import ReferenceAdapter
from tests import reference_helpers as reference
from tests.reference_helpers import (
    BOUND,
    EXPORTS,
    HOST_B,
    ID_A,
    ID_B,
    KPSA,
    KPSA_ID,
    LABEL,
    PROFILE,
    CliPeer,
    cli_keying_material,
    needs_openssl,
    openssl_client_against_b,
    run_one,
    s_client_args,
    s_server_args,
)

SHORT = 1.0  # the deadline of cases expected to stall (a bound, not an assertion)
TIMER = 0.05  # initial retransmission timer for the cases that lose a datagram


def request_b(suites: list[int], timeout: float = BOUND) -> SutRequest:
    return reference.request_b(
        Transport.DTLS, suites, timeout=timeout, exports=EXPORTS, retransmissionTimeout=TIMER
    )


def request_a(
    suites: list[int], connect: Address, kpsa_id: str = KPSA_ID, timeout: float = BOUND
) -> SutRequest:
    return reference.request_a(
        Transport.DTLS,
        suites,
        connect,
        kpsa_id,
        timeout=timeout,
        exports=EXPORTS,
        applicationData="ping",
        retransmissionTimeout=TIMER,
    )


def run_pair(
    a_faults: list[str] = [],  # noqa: B006 (never mutated)
    b_faults: list[str] = [],  # noqa: B006
    suite: int = 0xC0A8,
    kpsa_id: str = KPSA_ID,
    via: Callable[[Address], Relay] | None = None,
    timeout: float = BOUND,
) -> tuple[SutResult, SutResult]:
    """Reference A against reference B, optionally through a lossy relay."""
    return reference.run_pair(
        request_b([suite], timeout),
        lambda address: request_a([suite], address, kpsa_id, timeout),
        a_faults,
        b_faults,
        via,
    )


# --- a UDP relay that drops chosen datagrams -----------------------------------------------


class Relay:
    """Forwards datagrams between one client and ``server``, dropping B's datagrams
    whose index (0-based, B to A direction) is in ``drop_from_server``."""

    def __init__(self, server: Address, drop_from_server: set[int]) -> None:
        self.server = (server.host, server.port)
        self.drop = drop_from_server
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.client: tuple[str, int] | None = None
        self.from_server = 0
        self.dropped: list[bytes] = []
        self.forwarded: list[bytes] = []  # B's datagrams passed on to the client
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def address(self) -> Address:
        return Address("127.0.0.1", self.front.getsockname()[1])

    def _run(self) -> None:
        deadline = Deadline(BOUND * 2)
        while not self._stop.is_set() and not deadline.expired:
            ready, _, _ = select.select([self.front, self.back], [], [], 0.05)
            for sock in ready:
                data, source = sock.recvfrom(65535)
                if sock is self.front:
                    self.client = source
                    self.back.sendto(data, self.server)
                elif self.client is not None:
                    index, self.from_server = self.from_server, self.from_server + 1
                    if index in self.drop:
                        self.dropped.append(data)
                    else:
                        self.forwarded.append(data)
                        self.front.sendto(data, self.client)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(BOUND)
        self.front.close()
        self.back.close()


# --- reference A vs reference B -------------------------------------------------------------


@pytest.mark.parametrize("suite", list(PROFILE), ids=[f"0x{s:04X}" for s in PROFILE])
def test_profile_suite_interop_with_equal_exports(suite: int) -> None:
    result_a, result_b = run_pair(suite=suite)
    assert result_a.status is Status.ESTABLISHED, result_a.detail
    assert result_b.status is Status.ESTABLISHED, result_b.detail
    assert result_a.detail.startswith(f"DTLSv1.2 {PROFILE[suite]}")
    assert result_a.cipher_suite == result_b.cipher_suite == suite
    assert result_a.psk_identity == result_b.psk_identity == KPSA_ID
    assert (result_a.peer_identity, result_b.peer_identity) == (ID_B, ID_A)
    assert f"server_name '{HOST_B}'" in result_b.detail
    assert len(result_a.keys) == 2 and result_a.keys == result_b.keys
    assert len(bytes.fromhex(result_a.keys[LABEL])) == 48
    assert "echo b'ping'" in result_a.detail and "echoed 4 bytes" in result_b.detail
    assert "HelloVerifyRequests 1" in result_b.detail


def test_unknown_identity_refused_with_alert() -> None:
    result_a, result_b = run_pair(kpsa_id="stranger@issuer.example.com")
    assert result_b.status is result_a.status is Status.REFUSED
    assert result_b.alert == result_a.alert == "unknown PSK identity"
    assert result_b.psk_identity == "stranger@issuer.example.com"
    assert "sent fatal alert" in result_b.detail and "received fatal alert" in result_a.detail


def test_small_mtu_fragments_each_datagram() -> None:
    """With a 256-byte link MTU the DHE_PSK ServerKeyExchange (a 2048-bit group) must be
    fragmented; no datagram B sends exceeds the MTU and the handshake completes."""
    relays: list[Relay] = []

    def relay(address: Address) -> Relay:
        relays.append(Relay(address, set()))
        return relays[-1]

    result_a, result_b = reference.run_pair(
        _with(request_b([0xC0A6]), mtu=256),
        lambda address: _with(request_a([0xC0A6], address), mtu=256),
        via=relay,
    )
    assert result_a.status is result_b.status is Status.ESTABLISHED, result_a.detail
    assert result_a.keys == result_b.keys
    sizes = [len(data) for data in relays[0].forwarded]
    assert len(sizes) > 4 and max(sizes) <= 256


def _with(request: SutRequest, **settings: object) -> SutRequest:
    request.configuration.update(settings)
    return request


# --- datagram framing -----------------------------------------------------------------------


def test_pack_datagrams_splits_at_record_boundaries() -> None:
    records = [DtlsRecord(HANDSHAKE, 0xFEFD, 0, n, bytes([n]) * 100) for n in range(5)]
    run = b"".join(r.encoded for r in records)
    datagrams = pack_datagrams(run, 250)
    assert [len(d) for d in datagrams] == [226, 226, 113]
    assert [r.sequence_number for d in datagrams for r in parse_records(d)] == list(range(5))
    assert pack_datagrams(run, 10_000) == [run]
    assert pack_datagrams(run, 50) == [r.encoded for r in records]  # over-MTU: alone


# --- cookie exchange ------------------------------------------------------------------------


def minimal_client_hello(suite: int = 0x00AE) -> bytes:
    """A DTLS 1.2 ClientHello with no cookie, one suite and no extension."""
    body = b"\xfe\xfd" + os.urandom(32) + b"\x00" + b"\x00"  # version, random, sid, cookie
    body += struct.pack("!HH", 2, suite) + b"\x01\x00"  # cipher_suites, compression
    length = len(body).to_bytes(3, "big")
    handshake = b"\x01" + length + struct.pack("!H", 0) + b"\x00\x00\x00" + length + body
    return DtlsRecord(HANDSHAKE, 0xFEFF, 0, 0, handshake).encoded


def first_answer(b_faults: list[str]) -> tuple[int, int]:
    """(record content type, handshake type) of the first datagram B answers with."""
    session = ReferenceAdapter(b_faults).start(request_b([0x00AE], timeout=SHORT))
    try:
        address = session.wait_ready(BOUND)
        assert address is not None
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(BOUND)
            sock.sendto(minimal_client_hello(), (address.host, address.port))
            answer, _ = sock.recvfrom(65535)
    finally:
        session.stop()
    return answer[0], answer[13]  # handshake type: first octet after the record header


def test_b_sends_hello_verify_request() -> None:
    assert first_answer([]) == (HANDSHAKE, HELLO_VERIFY_REQUEST)


def test_no_cookie_exchange_answers_with_server_hello() -> None:
    assert first_answer(["no_cookie_exchange"]) == (HANDSHAKE, 2)  # ServerHello
    result_a, result_b = run_pair(b_faults=["no_cookie_exchange"])
    assert result_a.status is result_b.status is Status.ESTABLISHED
    assert "HelloVerifyRequests" not in result_b.detail


# --- retransmission -------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["a", "b"])
@pytest.mark.parametrize("faults", [[], ["no_retransmission"]], ids=["conformant", "mutant"])
def test_retransmission_after_a_lost_flight(side: str, faults: list[str]) -> None:
    """A: B's HelloVerifyRequest (B's datagram 0) is lost, only A's timer can recover.
    B: B's ServerHello flight (B's datagram 1) is lost; a conformant B resends it (on its
    timer, or libssl does when A's resent ClientHello comes after that timer ran out),
    the mutant B never does."""
    lost = {0} if side == "a" else {1}
    result_a, result_b = run_pair(
        a_faults=faults if side == "a" else [],
        b_faults=faults if side == "b" else [],
        via=lambda address: Relay(address, lost),
        timeout=SHORT if faults else BOUND,
    )
    subject = result_a if side == "a" else result_b
    if faults:
        assert subject.status is Status.TIMEOUT, subject.detail
        assert "retransmissions 0" in subject.detail
    else:
        assert result_a.status is result_b.status is Status.ESTABLISHED, subject.detail
        assert result_a.keys == result_b.keys
        assert side == "b" or "retransmissions 0" not in result_a.detail  # A resent


# --- a raw DTLS client recording Entity B's datagrams ---------------------------------------


class RawClient:
    """The reference's sans-IO endpoint behind a DatagramPump, driven by the test so it
    can put arbitrary datagrams on the wire after the handshake."""

    def __init__(self, address: Address, psk_identity: bytes) -> None:
        self.context = SslContext(server=False, cipher_list="PSK-AES128-CCM8", dtls=True)
        self.context.set_psk_client(lambda _hint: (psk_identity, bytes.fromhex(KPSA)))
        self.endpoint = TlsEndpoint(self.context, server_name=HOST_B)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect((address.host, address.port))
        self.pump = DatagramPump(
            self.sock, self.endpoint, Deadline(BOUND), peer=self.sock.getpeername()[:2]
        )

    def send_raw(self, datagram: bytes) -> None:
        self.sock.send(datagram)
        self.pump.wire.append(("sent", datagram))

    def sent_app_datagrams(self) -> list[bytes]:
        return [
            data
            for direction, data in self.pump.wire
            if direction == "sent" and parse_records(data)[0].content_type == APPLICATION_DATA
        ]

    def received_types(self) -> list[int]:
        return [
            record.content_type
            for direction, data in self.pump.wire
            if direction == "received"
            for record in parse_records(data)
        ]

    def close(self) -> None:
        self.sock.close()
        self.endpoint.free()
        self.context.free()


@pytest.fixture
def b_session() -> Iterator[Callable[[list[str]], Address]]:
    """Starts reference B; ``start.results()`` gives the results of those started."""
    sessions = []

    def start(faults: list[str]) -> Address:
        session = ReferenceAdapter(faults).start(request_b([0xC0A8]))
        sessions.append(session)
        address = session.wait_ready(BOUND)
        assert address is not None
        return address

    start.results = lambda: [s.result(BOUND) for s in sessions]  # type: ignore[attr-defined]
    yield start
    for session in sessions:
        session.stop()


def echo(client: RawClient, data: bytes) -> bytes | None:
    client.pump.send_application_data(data)
    return client.pump.receive_application_data(SHORT)


@pytest.mark.parametrize("bad", ["replayed", "undecryptable"])
@pytest.mark.parametrize("faults", [[], ["tear_down_on_bad_record"]], ids=["conformant", "mutant"])
def test_tear_down_on_bad_record(
    b_session: Callable[[list[str]], Address], bad: str, faults: list[str]
) -> None:
    client = RawClient(b_session(faults), KPSA_ID.encode())
    try:
        assert client.pump.handshake() is PumpOutcome.DONE
        assert echo(client, b"ping") == b"ping"
        if bad == "replayed":
            client.send_raw(client.sent_app_datagrams()[-1])
        else:
            last = parse_records(client.sent_app_datagrams()[-1])[0]
            forged = DtlsRecord(
                APPLICATION_DATA, last.version, last.epoch, last.sequence_number + 7, os.urandom(29)
            )
            client.send_raw(forged.encoded)
        answer = echo(client, b"pong")
    finally:
        client.close()
    (result_b,) = b_session.results()  # type: ignore[attr-defined]
    if faults:
        assert answer is None  # B closed the association
        why = "replayed record" if bad == "replayed" else "record failing decryption"
        assert f"torn down on {why}" in result_b.detail
    else:
        assert answer == b"pong"  # the bad record was dropped, the association kept
        assert ALERT not in client.received_types()
        client_closed = "echoed 8 bytes" in result_b.detail  # ping and pong
        assert client_closed and "torn down" not in result_b.detail


@pytest.mark.parametrize("faults", [[], ["silent_abort"]], ids=["conformant", "silent_abort"])
def test_silent_abort_drops_the_alert_datagram(
    b_session: Callable[[list[str]], Address], faults: list[str]
) -> None:
    client = RawClient(b_session(faults), b"stranger")
    client.pump.deadline = Deadline(SHORT / 2)
    try:
        outcome = client.pump.handshake()
    finally:
        client.close()
    if faults:
        assert outcome is PumpOutcome.TIMEOUT  # nothing tells A the handshake is over
        assert ALERT not in client.received_types()
    else:
        assert outcome is PumpOutcome.FAILED
        assert client.received_types()[-1] == ALERT


def test_dtls_mutants_document_the_requirement_they_break() -> None:
    for name in ("no_cookie_exchange", "no_retransmission", "tear_down_on_bad_record"):
        assert "Breaks" in (FAULT_CLASSES[name].__doc__ or ""), name
        assert any("6347" in r for r in FAULT_CLASSES[name].requirements)


# --- against the OpenSSL command-line tools -------------------------------------------------


@needs_openssl
@pytest.mark.parametrize("suite", [0x00AE, 0xC0A8, 0xC0AA], ids=["0x00AE", "0xC0A8", "0xC0AA"])
def test_reference_a_vs_openssl_s_server(suite: int) -> None:
    with CliPeer.start(s_server_args("-dtls1_2", f"{PROFILE[suite]}:@SECLEVEL=0")) as peer:
        request = request_a([suite], peer.accept_address())
        del request.configuration["applicationData"]
        result = run_one(request)
        assert result.status is Status.ESTABLISHED, result.detail
        assert result.cipher_suite == suite
        assert peer.wait_for(rf"CIPHER is {PROFILE[suite]}")
        exported = peer.wait_for(r"Keying material: ([0-9A-F]+)").group(1)
    assert result.keys[LABEL] == exported.lower()


@needs_openssl
@pytest.mark.parametrize(
    ("identity", "established"), [(KPSA_ID, True), ("stranger", False)], ids=["known", "unknown"]
)
def test_reference_b_vs_openssl_s_client(identity: str, established: bool) -> None:
    result, output = openssl_client_against_b(
        request_b([0xC0A8, 0x00AE]),
        lambda address: s_client_args("-dtls1_2", identity, address, "PSK-AES128-CCM8:@SECLEVEL=0"),
    )
    assert result.psk_identity == identity
    if established:
        assert result.status is Status.ESTABLISHED, result.detail
        assert result.cipher_suite == 0xC0A8
        assert result.peer_identity == ID_A
        assert "HelloVerifyRequests 1" in result.detail
        assert result.keys[LABEL] == cli_keying_material(output)
    else:
        assert result.status is Status.REFUSED
        assert result.alert == "unknown PSK identity"
        assert "alert unknown psk identity" in output.lower()
