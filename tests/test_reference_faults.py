"""Each reference mutant changes the observable behaviour the way its docstring says.

Observers: the reference's own SutResult, a plain socket server that parses the
ClientHello minimally, and a raw libssl client (the reference's sans-IO endpoint over
a socket pump) that records every byte Entity B puts on the wire.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from harness.frameworks.saef_psk.reference.faults import FAULT_CLASSES, REFERENCE_FAULTS
from harness.reference.endpoint import Deadline, PumpOutcome, SocketPump, TlsEndpoint
from harness.reference.libssl import SslContext
from harness.sut.contract import Address, Status, SutRequest, SutResult, Transport
from harness.sut.reference_adapter import ReferenceAdapter
from tests import reference_helpers as reference
from tests.reference_helpers import (
    BOUND,
    HOST_B,
    ID_A,
    KPSA,
    KPSA_ID,
    CliPeer,
    needs_openssl,
    openssl_client_against_b,
    run_one,
)

ALERT = 21  # TLS ContentType alert


def request_b(suites: list[int]) -> SutRequest:
    return reference.request_b(Transport.TLS, suites)


def request_a(suites: list[int], connect: Address, kpsa_id: str = KPSA_ID) -> SutRequest:
    return reference.request_a(Transport.TLS, suites, connect, kpsa_id)


def run_pair(
    a_faults: list[str],
    b_faults: list[str],
    a_suites: list[int] = [0x00AE],  # noqa: B006 (never mutated)
    b_suites: list[int] = [0x00AE],  # noqa: B006
    kpsa_id: str = KPSA_ID,
) -> tuple[SutResult, SutResult]:
    return reference.run_pair(
        request_b(b_suites),
        lambda address: request_a(a_suites, address, kpsa_id),
        a_faults,
        b_faults,
    )


# --- a plain socket server that captures one ClientHello ------------------------------------


@dataclass
class ClientHello:
    cipher_suites: list[int]
    extensions: dict[int, bytes]

    @property
    def server_name(self) -> str | None:
        data = self.extensions.get(0)
        if data is None:
            return None
        # server_name_list<2> { name_type(1) = host_name(0), HostName<2> }
        assert data[2] == 0
        (length,) = struct.unpack_from("!H", data, 3)
        return data[5 : 5 + length].decode()


def parse_client_hello(record: bytes) -> ClientHello:
    assert record[0] == 22, "not a handshake record"
    body = record[5:]
    assert body[0] == 1, "not a ClientHello"
    offset = 4 + 2 + 32  # handshake header, client_version, random
    offset += 1 + body[offset]  # session_id
    (suites_length,) = struct.unpack_from("!H", body, offset)
    suites = list(struct.unpack_from(f"!{suites_length // 2}H", body, offset + 2))
    offset += 2 + suites_length
    offset += 1 + body[offset]  # compression_methods
    extensions: dict[int, bytes] = {}
    (extensions_end,) = struct.unpack_from("!H", body, offset)
    offset += 2
    end = offset + extensions_end
    while offset < end:
        kind, length = struct.unpack_from("!HH", body, offset)
        extensions[kind] = body[offset + 4 : offset + 4 + length]
        offset += 4 + length
    return ClientHello(suites, extensions)


@dataclass
class HelloCatcher:
    """Accepts one connection, reads one TLS record (bounded), then closes."""

    listener: socket.socket = field(default_factory=socket.socket)
    record: bytes = b""

    def __post_init__(self) -> None:
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.listener.settimeout(BOUND)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self) -> Address:
        return Address("127.0.0.1", self.listener.getsockname()[1])

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            connection.settimeout(BOUND)
            data = b""
            while len(data) < 5 or len(data) < 5 + struct.unpack_from("!H", data, 3)[0]:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                data += chunk
            self.record = data
        self.listener.close()

    def hello(self) -> ClientHello:
        self.thread.join(BOUND)
        assert self.record, "no ClientHello captured"
        return parse_client_hello(self.record)


def capture_hello(a_faults: list[str], suites: list[int] = [0x00AE]) -> ClientHello:  # noqa: B006
    catcher = HelloCatcher()
    result = run_one(request_a(suites, catcher.address), a_faults)
    assert result.status is Status.REFUSED  # the catcher never answers
    return catcher.hello()


# --- a raw libssl client recording Entity B's wire bytes ------------------------------------


def raw_client_against_b(
    b_faults: list[str], psk_identity: bytes
) -> tuple[PumpOutcome, bytes, SutResult]:
    b = ReferenceAdapter(b_faults).start(request_b([0x00AE]))
    try:
        address = b.wait_ready(BOUND)
        assert address is not None
        context = SslContext(server=False, cipher_list="PSK-AES128-CBC-SHA256")
        context.set_psk_client(lambda _hint: (psk_identity, bytes.fromhex(KPSA)))
        endpoint = TlsEndpoint(context, server_name=HOST_B)
        with socket.create_connection((address.host, address.port), timeout=BOUND) as sock:
            pump = SocketPump(sock, endpoint, Deadline(BOUND))
            outcome = pump.handshake()
        endpoint.free()
        context.free()
        received = b"".join(data for direction, data in pump.wire if direction == "received")
        return outcome, received, b.result(BOUND)
    finally:
        b.stop()


def record_types(stream: bytes) -> list[int]:
    types: list[int] = []
    offset = 0
    while offset + 5 <= len(stream):
        types.append(stream[offset])
        offset += 5 + struct.unpack_from("!H", stream, offset + 3)[0]
    return types


# --- the registry ---------------------------------------------------------------------------


def test_every_fault_documents_the_requirement_it_breaks() -> None:
    required = set(
        [
            "wrong_psk_identity",
            "wrong_key",
            "accept_any_identity",
            "offer_non_profile_suite",
            "no_mandatory_suite",
            "ignore_peer_identity",
            "no_sni",
            "silent_abort",
            "claims_established",
        ]
    )
    assert required <= set(REFERENCE_FAULTS)
    for name, cls in FAULT_CLASSES.items():
        assert cls.requirements, name
        assert "Breaks" in (cls.__doc__ or ""), name
        assert REFERENCE_FAULTS[name] and "\n" not in REFERENCE_FAULTS[name]


# --- one test per mutant --------------------------------------------------------------------


def test_wrong_psk_identity() -> None:
    result_a, result_b = run_pair(["wrong_psk_identity"], [])
    assert result_a.psk_identity != KPSA_ID and len(result_a.psk_identity or "") == len(KPSA_ID)
    assert result_b.psk_identity == result_a.psk_identity
    assert result_b.status is Status.REFUSED and result_b.alert == "unknown PSK identity"


@pytest.mark.parametrize("side", ["a", "b"])
def test_wrong_key(side: str) -> None:
    faults = ["wrong_key"]
    result_a, result_b = run_pair(faults if side == "a" else [], faults if side == "b" else [])
    assert result_a.status is result_b.status is Status.REFUSED
    assert {result_a.alert, result_b.alert} & {"decrypt error", "bad record mac"}
    assert result_b.psk_identity == KPSA_ID  # identity fine, key wrong


def test_accept_any_identity() -> None:
    conformant = run_pair([], [], kpsa_id="stranger")[1]
    assert conformant.status is Status.REFUSED
    result_a, result_b = run_pair([], ["accept_any_identity"], kpsa_id="stranger")
    assert result_a.status is result_b.status is Status.ESTABLISHED
    assert result_b.psk_identity == "stranger" and result_b.peer_identity == ID_A


def test_offer_non_profile_suite() -> None:
    hello = capture_hello(["offer_non_profile_suite"])
    assert {0x00AE, 0x00B0, 0x008C} <= set(hello.cipher_suites)
    assert 0x00B0 not in capture_hello([]).cipher_suites
    # B mutant: selects a non-profile suite as soon as A offers one.
    result_a, result_b = run_pair(["offer_non_profile_suite"], ["offer_non_profile_suite"])
    assert result_a.status is result_b.status is Status.ESTABLISHED
    assert result_b.cipher_suite == 0x00B0
    # A conformant B still picks the profile suite from a mutant A's offer.
    _, result_b = run_pair(["offer_non_profile_suite"], [])
    assert result_b.cipher_suite == 0x00AE


def test_no_mandatory_suite() -> None:
    assert 0x00AE not in capture_hello(["no_mandatory_suite"]).cipher_suites
    assert 0xC0A8 in capture_hello(["no_mandatory_suite"], [0x00AE, 0xC0A8]).cipher_suites
    result_a, result_b = run_pair([], ["no_mandatory_suite"])
    assert result_b.status is Status.REFUSED and result_b.alert == "handshake failure"


def test_ignore_peer_identity() -> None:
    result_a, result_b = run_pair(["ignore_peer_identity"], ["ignore_peer_identity"])
    assert result_a.status is result_b.status is Status.ESTABLISHED
    assert result_a.peer_identity == HOST_B  # not IdB
    assert result_b.peer_identity == KPSA_ID  # not IdA


def test_no_sni() -> None:
    assert capture_hello([]).server_name == HOST_B
    assert 0 not in capture_hello(["no_sni"]).extensions


@pytest.mark.parametrize("faults", [[], ["silent_abort"]], ids=["conformant", "silent_abort"])
def test_silent_abort(faults: list[str]) -> None:
    outcome, received, result_b = raw_client_against_b(faults, b"stranger")
    assert result_b.status is Status.REFUSED
    if faults:
        assert outcome is PumpOutcome.PEER_CLOSED  # a bare TCP close
        assert ALERT not in record_types(received)
        assert result_b.alert is None and "withheld" in result_b.detail
    else:
        assert outcome is PumpOutcome.FAILED
        assert record_types(received)[-1] == ALERT
        assert result_b.alert == "unknown PSK identity"


@pytest.mark.parametrize(
    "run",
    [
        lambda: run_pair([], ["claims_established"], kpsa_id="stranger")[1],
        lambda: run_pair(["claims_established", "wrong_key"], [])[0],
    ],
    ids=["entity_b", "entity_a"],
)
def test_claims_established(run: Callable[[], SutResult]) -> None:
    result = run()
    assert result.status is Status.ESTABLISHED
    assert result.cipher_suite is None  # nothing was negotiated
    assert result.alert is not None


def test_uses_hint_as_identity() -> None:
    def run(a_faults: list[str]) -> tuple[SutResult, SutResult]:
        request = request_b([0x00AE])
        request.configuration["pskIdentityHint"] = "hint@other-issuer.example.net"
        return reference.run_pair(request, lambda address: request_a([0x00AE], address), a_faults)

    result_a, result_b = run([])
    assert result_b.status is Status.ESTABLISHED and result_b.psk_identity == KPSA_ID
    assert "psk_identity_hint 'hint@other-issuer.example.net'" in result_a.detail
    result_a, result_b = run(["uses_hint_as_identity"])
    assert result_a.psk_identity == result_b.psk_identity == "hint@other-issuer.example.net"
    assert result_b.status is Status.REFUSED and result_b.alert == "unknown PSK identity"


@needs_openssl
@pytest.mark.parametrize("faults", [[], ["accept_old_version"]], ids=["conformant", "mutant"])
def test_accept_old_version_entity_b(faults: list[str]) -> None:
    result, _ = openssl_client_against_b(
        request_b([0x00AE]),
        lambda address: [
            *f"s_client -tls1_1 -psk {KPSA} -psk_identity {KPSA_ID}".split(),
            *f"-connect {address} -cipher PSK-AES128-CBC-SHA:@SECLEVEL=0".split(),
        ],
        faults,
    )
    if faults:
        assert result.status is Status.ESTABLISHED, result.detail
        assert result.detail.startswith("TLSv1.1 PSK-AES128-CBC-SHA")
    else:
        assert result.status is Status.REFUSED
        assert result.alert == "protocol version"


@needs_openssl
@pytest.mark.parametrize("faults", [[], ["accept_old_version"]], ids=["conformant", "mutant"])
def test_accept_old_version_entity_a(faults: list[str]) -> None:
    with CliPeer.start(
        [
            *f"s_server -tls1_1 -nocert -psk {KPSA} -psk_identity {KPSA_ID}".split(),
            *["-cipher", "PSK-AES128-CBC-SHA:@SECLEVEL=0"],
            *["-accept", "127.0.0.1:0", "-naccept", "1"],
        ]
    ) as peer:
        result = run_one(request_a([0x00AE], peer.accept_address()), faults)
    if faults:
        assert result.status is Status.ESTABLISHED, result.detail
        assert result.detail.startswith("TLSv1.1 PSK-AES128-CBC-SHA")
    else:
        assert result.status is Status.REFUSED
        assert result.alert in ("protocol version", "handshake failure")
