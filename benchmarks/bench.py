"""Benchmarks: the campaign's wall time and the cost of one PSK handshake.

Speed is measured here, never asserted in a test. Prints, for the same machine and run:
- the wall time of a full campaign against the reference SUT;
- the harness engine's cost per PSK handshake (client and server in memory, and over
  loopback TCP against the reference);
- OpenSSL's own cost per PSK handshake (reference Entity A against reference Entity B,
  both libssl, over loopback TCP), for scale.

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
from harness.tls.engine import client_and_server, run_in_memory
from harness.tls.transport import run_client

SUITES = (0x00AE, 0xC0A8, 0xC0A6)
KPSA_ID = "sensor-1@in-cse.m2m.example.com"


def per_call(fn: Callable[[], None], rounds: int) -> float:
    fn()  # warm up
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def engine_in_memory(suite: int) -> None:
    client, server = client_and_server(suite, KPSA_ID.encode(), bytes(range(16)))
    client.start()
    server.start()
    run_in_memory(client, server)
    assert client.established and server.established


def b_request(suite: int, transport: Transport = Transport.TLS) -> SutRequest:
    b = reference_profile().ixit.entity_b
    return SutRequest(
        role=Role.ENTITY_B,
        framework=Framework.SAEF_PSK,
        transport=transport,
        configuration={k: b[k] for k in ("thisEntityIdentifier", "hostName", "authorizedEntities")},
        cipher_suites=[suite],
        listen=Address("127.0.0.1", 0),
        timeout=5.0,
    )


def a_request(suite: int, address: Address, transport: Transport = Transport.TLS) -> SutRequest:
    a = reference_profile().ixit.entity_a
    return SutRequest(
        role=Role.ENTITY_A,
        framework=Framework.SAEF_PSK,
        transport=transport,
        configuration={
            k: a[k]
            for k in (
                "kpsaId",
                "kpsaKey",
                "thisEntityIdentifier",
                "otherEntityIdentifier",
                "otherEntityHostName",
            )
        },
        cipher_suites=[suite],
        connect=address,
        timeout=5.0,
        exports=[ExportRequest("EXPORTER-oneM2M-Connection", 48)],
    )


def engine_vs_reference(suite: int) -> None:
    from harness.tls.engine import ClientConfig, ClientConnection

    session = ReferenceAdapter().start(b_request(suite))
    address = session.wait_ready(5.0)
    key = bytes.fromhex(reference_profile().ixit.entity_a["kpsaKey"])
    conn = ClientConnection(ClientConfig(KPSA_ID.encode(), key, [suite], "in-cse.m2m.example.com"))
    outcome = run_client(conn, (address.host, address.port), 5.0)
    session.stop()
    assert outcome.established, outcome.reason


def openssl_vs_openssl(suite: int) -> None:
    adapter = ReferenceAdapter()
    server = adapter.start(b_request(suite))
    address = server.wait_ready(5.0)
    client = adapter.start(a_request(suite, address))
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
    print(
        f"{'suite':8} {'engine in memory':>18} {'engine vs OpenSSL':>18} {'OpenSSL vs OpenSSL':>19}   (median per handshake)"
    )
    for suite in SUITES:
        mem = per_call(lambda s=suite: engine_in_memory(s), args.rounds)
        mixed = per_call(lambda s=suite: engine_vs_reference(s), args.rounds)
        native = per_call(lambda s=suite: openssl_vs_openssl(s), args.rounds)
        print(
            f"0x{suite:04X}   {mem * 1e3:15.2f} ms {mixed * 1e3:15.2f} ms {native * 1e3:16.2f} ms"
        )


if __name__ == "__main__":
    main()
