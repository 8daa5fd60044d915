"""Benchmarks: the campaign's wall time and the cost of one PSK handshake, TLS and DTLS.

Speed is measured here, never asserted in a test. For the same machine and run it prints:
- the wall time of a full campaign against the reference SUT;
- per transport and suite, the median cost of one handshake:
  engine <-> engine in memory (DTLS over the simulated link, with cookie exchange),
  engine (client) <-> OpenSSL (the reference Entity B on libssl) over loopback,
  OpenSSL <-> OpenSSL (reference Entity A and B, both libssl) over loopback, for scale.

Usage: python benchmarks/bench.py [--rounds N] [--no-campaign]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness.sut.contract import Address, ExportRequest, Framework, Role, SutRequest, Transport
from harness.sut.profile import reference_profile
from harness.sut.reference_adapter import ReferenceAdapter
from harness.tls.bench import dtls_handshakes_in_memory, handshakes_in_memory
from harness.tls.dtls import DtlsClientConnection
from harness.tls.dtls_transport import run_dtls_client
from harness.tls.engine import ClientConfig, ClientConnection
from harness.tls.transport import run_client

SUITES = (0x00AE, 0xC0A8, 0xC0A6)
PROFILE = reference_profile()


def median_seconds(fn: Callable[[], None], rounds: int) -> float:
    fn()  # warm up
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def request(role: Role, transport: Transport, suite: int, address: Address) -> SutRequest:
    section = PROFILE.configuration(role)
    return SutRequest(
        role=role,
        framework=Framework.SAEF_PSK,
        transport=transport,
        configuration=section,
        cipher_suites=[suite],
        listen=address if role is Role.ENTITY_B else None,
        connect=address if role is Role.ENTITY_A else None,
        timeout=5.0,
        exports=[ExportRequest("EXPORTER-oneM2M-Connection", 48)],
    )


def engine_in_memory(transport: Transport, suite: int) -> None:
    if transport is Transport.DTLS:
        dtls_handshakes_in_memory(1, suite)
    else:
        handshakes_in_memory(1, suite)


def engine_vs_openssl(transport: Transport, suite: int) -> None:
    a = PROFILE.configuration(Role.ENTITY_A)
    session = ReferenceAdapter().start(
        request(Role.ENTITY_B, transport, suite, Address("127.0.0.1", 0))
    )
    address = session.wait_ready(5.0)
    config = ClientConfig(
        a["kpsaId"].encode(), bytes.fromhex(a["kpsaKey"]), [suite], a["otherEntityHostName"]
    )
    target = (address.host, address.port)
    if transport is Transport.DTLS:
        outcome = run_dtls_client(DtlsClientConnection(config), target, 5.0)
    else:
        outcome = run_client(ClientConnection(config), target, 5.0)
    session.stop()
    assert outcome.established, outcome.reason


def openssl_vs_openssl(transport: Transport, suite: int) -> None:
    adapter = ReferenceAdapter()
    server = adapter.start(request(Role.ENTITY_B, transport, suite, Address("127.0.0.1", 0)))
    address = server.wait_ready(5.0)
    client = adapter.start(request(Role.ENTITY_A, transport, suite, address))
    result = client.result(5.0)
    server.stop()
    client.stop()
    assert result.status == "established", result.detail


def campaign_wall_time() -> tuple[float, int]:
    from harness.campaign import CampaignOptions, run_campaign

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = run_campaign(CampaignOptions(sut="reference", report_dir=Path(tmp), allure=False))
        return time.perf_counter() - start, len(result.results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--no-campaign", action="store_true")
    args = parser.parse_args()
    if not args.no_campaign:
        wall, count = campaign_wall_time()
        print(f"campaign vs reference: {count} test purpose instances in {wall:.2f} s")
    print("median cost of one PSK handshake (ms)")
    print(
        f"{'transport':9} {'suite':7} {'engine<->engine':>16} {'engine<->OpenSSL':>17} {'OpenSSL<->OpenSSL':>18}"
    )
    for transport in Transport:
        for suite in SUITES:
            cells = [
                median_seconds(lambda f=fn, t=transport, s=suite: f(t, s), args.rounds) * 1e3
                for fn in (engine_in_memory, engine_vs_openssl, openssl_vs_openssl)
            ]
            print(
                f"{transport!s:9} 0x{suite:04X}  {cells[0]:16.2f} {cells[1]:17.2f} {cells[2]:18.2f}"
            )


if __name__ == "__main__":
    main()
