"""The libssl reference SUT: reference A vs reference B, and each against the OpenSSL CLI.

Every case runs real TLS 1.2 over loopback; every wait is bounded (the entities' own
deadlines, the adapter's result(timeout), and a bounded line reader for the CLI).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.frameworks import reference_faults
from harness.reference.account import export_key_name
from harness.sut.contract import Address, Framework, Role, Status, SutRequest, Transport
from harness.sut.reference_adapter import ReferenceAdapter
from harness.verdict import NotApplicable
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
    run_pair,
    s_client_args,
    s_server_args,
)

KPSA_2 = "ffeeddccbbaa99887766554433221100"
KPSA_ID_2 = "dev43@issuer.example.com"
ID_A_2 = "/CSE-A2"


def request_b(suites: list[int], entities: list[tuple[str, str, str]] | None = None) -> SutRequest:
    return reference.request_b(Transport.TLS, suites, entities, exports=EXPORTS)


def request_a(
    suites: list[int], connect: Address, kpsa_id: str = KPSA_ID, kpsa: str = KPSA
) -> SutRequest:
    return reference.request_a(Transport.TLS, suites, connect, kpsa_id, kpsa, exports=EXPORTS)


# --- reference A vs reference B ------------------------------------------------------------


@pytest.mark.parametrize("suite", list(PROFILE), ids=[f"0x{s:04X}" for s in PROFILE])
def test_profile_suite_interop_with_equal_exports(suite: int) -> None:
    result_a, result_b = run_pair(request_b([suite]), lambda addr: request_a([suite], addr))
    assert result_a.status is Status.ESTABLISHED, result_a.detail
    assert result_b.status is Status.ESTABLISHED, result_b.detail
    assert result_a.cipher_suite == result_b.cipher_suite == suite
    assert result_a.psk_identity == result_b.psk_identity == KPSA_ID
    assert result_a.peer_identity == ID_B
    assert result_b.peer_identity == ID_A
    assert f"server_name '{HOST_B}'" in result_b.detail
    no_context, with_context = (export_key_name(e) for e in EXPORTS)
    assert set(result_a.keys) == {no_context, with_context}
    assert result_a.keys == result_b.keys
    assert len(bytes.fromhex(result_a.keys[no_context])) == 48
    assert result_a.keys[no_context] != result_a.keys[with_context]


def test_unknown_identity_refused_with_alert() -> None:
    result_a, result_b = run_pair(
        request_b([0x00AE]),
        lambda addr: request_a([0x00AE], addr, kpsa_id="stranger@issuer.example.com"),
    )
    assert result_b.status is Status.REFUSED
    assert result_b.alert == "unknown PSK identity"
    assert "sent fatal alert" in result_b.detail
    assert result_b.psk_identity == "stranger@issuer.example.com"
    assert result_a.status is Status.REFUSED
    assert result_a.alert == "unknown PSK identity"
    assert "received fatal alert" in result_a.detail


def test_binding_with_two_authorized_entities() -> None:
    entities = [(KPSA_ID, KPSA, ID_A), (KPSA_ID_2, KPSA_2, ID_A_2)]
    for kpsa_id, kpsa, expected in ((KPSA_ID_2, KPSA_2, ID_A_2), (KPSA_ID, KPSA, ID_A)):
        result_a, result_b = run_pair(
            request_b([0xC0A8], entities),
            lambda addr, i=kpsa_id, k=kpsa: request_a([0xC0A8], addr, kpsa_id=i, kpsa=k),
        )
        assert result_a.status is Status.ESTABLISHED, result_a.detail
        assert result_b.status is Status.ESTABLISHED, result_b.detail
        assert result_b.psk_identity == kpsa_id
        assert result_b.peer_identity == expected


def test_application_data_echoed() -> None:
    def a_with_data(address: Address) -> SutRequest:
        request = request_a([0x00AE], address)
        request.configuration["applicationData"] = "ping"
        return request

    result_a, result_b = run_pair(request_b([0x00AE]), a_with_data)
    assert "echo b'ping'" in result_a.detail
    assert "echoed 4 bytes" in result_b.detail


def test_no_common_suite_is_handshake_failure() -> None:
    result_a, result_b = run_pair(request_b([0x00AE]), lambda addr: request_a([0xC0A4], addr))
    assert result_a.status is result_b.status is Status.REFUSED
    assert result_b.alert == "handshake failure"


# --- adapter contract ----------------------------------------------------------------------


def test_unknown_suites_only_is_unsupported() -> None:
    adapter = ReferenceAdapter()
    b = adapter.start(request_b([0x1301]))  # a TLS 1.3 suite: not a TLS 1.2 PSK suite
    assert b.wait_ready(1.0) is None
    a = adapter.start(request_a([0x1301], Address("127.0.0.1", 9)))
    assert a.result(BOUND).status is b.result(BOUND).status is Status.UNSUPPORTED


def test_missing_configuration_is_error() -> None:
    request = request_b([0x00AE])
    del request.configuration["authorizedEntities"]
    session = ReferenceAdapter().start(request)
    assert session.wait_ready(1.0) is None
    result = session.result(BOUND)
    assert result.status is Status.ERROR and "authorizedEntities" in result.detail


def test_b_without_peer_times_out_and_stop_is_idempotent() -> None:
    request = request_b([0x00AE])
    request.timeout = 0.2  # the bound on the accept, not a timing assertion
    session = ReferenceAdapter().start(request)
    assert session.result(BOUND).status is Status.TIMEOUT
    session.stop()
    session.stop()


def test_result_bound_when_thread_still_running() -> None:
    session = ReferenceAdapter().start(request_b([0x00AE]))
    try:
        result = session.result(0.0)
        assert result.status is Status.TIMEOUT and "no result" in result.detail
    finally:
        session.stop()
    assert session.result(BOUND).status in (Status.ERROR, Status.TIMEOUT)


@pytest.mark.parametrize(
    ("role", "framework", "transport"),
    [
        (Role.MAF, Framework.SAEF_PSK, Transport.TLS),
        (Role.ENTITY_A, Framework.SAEF_CERT, Transport.TLS),
        (Role.ENTITY_B, Framework.SBF_PSK, Transport.DTLS),  # the SBF has no Entity B
    ],
)
def test_not_applicable(role: Role, framework: Framework, transport: Transport) -> None:
    request = request_b([0x00AE])
    request.role, request.framework, request.transport = role, framework, transport
    with pytest.raises(NotApplicable):
        ReferenceAdapter().start(request)


def test_unknown_fault_names_valid_ones() -> None:
    with pytest.raises(ValueError, match="silent_abort"):
        ReferenceAdapter(faults=["no_such_fault"])
    assert ReferenceAdapter(faults=list(reference_faults())).name == "reference"


# --- against the OpenSSL command-line tools -------------------------------------------------


@pytest.fixture
def s_server() -> Iterator[CliPeer]:
    cipher = "PSK-AES128-CBC-SHA256:PSK-AES128-CCM8:@SECLEVEL=0"
    with CliPeer.start(s_server_args("-tls1_2", cipher)) as peer:
        yield peer


@needs_openssl
@pytest.mark.parametrize("suite", [0x00AE, 0xC0A8], ids=["0x00AE", "0xC0A8"])
def test_reference_a_vs_openssl_s_server(s_server: CliPeer, suite: int) -> None:
    result = run_one(request_a([suite], s_server.accept_address()))
    assert result.status is Status.ESTABLISHED, result.detail
    assert result.cipher_suite == suite
    assert result.peer_identity == ID_B
    assert s_server.wait_for(rf"CIPHER is {PROFILE[suite]}")
    exported = s_server.wait_for(r"Keying material: ([0-9A-F]+)").group(1)
    assert result.keys[LABEL] == exported.lower()


@needs_openssl
@pytest.mark.parametrize(
    ("identity", "established"), [(KPSA_ID, True), ("stranger", False)], ids=["known", "unknown"]
)
def test_reference_b_vs_openssl_s_client(identity: str, established: bool) -> None:
    result, output = openssl_client_against_b(
        request_b([0x00AE, 0xC0A8]),
        lambda address: s_client_args("-tls1_2", identity, address, "PSK-AES128-CBC-SHA256"),
    )
    assert result.psk_identity == identity
    if established:
        assert result.status is Status.ESTABLISHED, result.detail
        assert result.cipher_suite == 0x00AE
        assert result.peer_identity == ID_A
        assert f"server_name '{HOST_B}'" in result.detail
        assert result.keys[LABEL] == cli_keying_material(output)
    else:
        assert result.status is Status.REFUSED
        assert result.alert == "unknown PSK identity"
        assert "alert unknown psk identity" in output.lower()
