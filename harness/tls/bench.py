"""Benchmark helpers: how many PSK handshakes per second the engine does.

Used by a benchmark script; kept here so it always drives the current engine. Two
measures: in memory (engine cost only) and over loopback TCP (engine plus sockets, a
server thread accepting one connection per handshake). The same two for DTLS 1.2: over
the simulated link (engine cost, cookie exchange included) and over loopback UDP.

Each for a PSK suite and a DHE_PSK suite (ffdhe2048), whose cost is dominated by the four
modular exponentiations. ``python -m harness.tls.bench [-n N]`` prints the table.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from dataclasses import dataclass

from harness.tls.dtls import DtlsClientConnection, DtlsServerConnection
from harness.tls.dtls_link import SimulatedLink
from harness.tls.dtls_transport import run_dtls_client, run_dtls_server_once
from harness.tls.engine import (
    ClientConfig,
    ClientConnection,
    ServerConfig,
    ServerConnection,
    run_in_memory,
)
from harness.tls.transport import Outcome, run_client, run_server_once

IDENTITY = b"bench@m2mconf"
PSK = bytes(range(16))
TLS_PSK_SUITE = 0x00AE  # TLS_PSK_WITH_AES_128_CBC_SHA256
TLS_DHE_PSK_SUITE = 0xC0A6  # TLS_DHE_PSK_WITH_AES_128_CCM
DTLS_PSK_SUITE = 0xC0A8  # TLS_PSK_WITH_AES_128_CCM_8
DTLS_DHE_PSK_SUITE = 0xC0AA  # TLS_PSK_DHE_WITH_AES_128_CCM_8


@dataclass(frozen=True)
class BenchResult:
    mode: str  # "memory" | "loopback" | "dtls-memory" | "dtls-loopback"
    suite: int
    handshakes: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.handshakes / self.seconds if self.seconds > 0 else float("inf")

    @property
    def ms_per_handshake(self) -> float:
        return 1e3 * self.seconds / self.handshakes if self.handshakes else 0.0


def _pair(suite: int) -> tuple[ClientConnection, ServerConnection]:
    client = ClientConnection(ClientConfig(IDENTITY, PSK, [suite]))
    server = ServerConnection(ServerConfig({IDENTITY: PSK}, [suite]))
    return client, server


def _collect_failure(outcome: Outcome, failures: list[str]) -> None:
    """Keep why a handshake failed; the benchmark raises with them once all have run."""
    if outcome.kind != "established":
        failures.append(outcome.reason)


def handshakes_in_memory(n: int, suite: int = 0x00AE) -> BenchResult:
    start = time.perf_counter()
    for _ in range(n):
        client, server = _pair(suite)
        client.start()
        run_in_memory(client, server)
        if not (client.established and server.established):
            raise RuntimeError(f"benchmark handshake failed: {client.error or server.error}")
    return BenchResult("memory", suite, n, time.perf_counter() - start)


def handshakes_over_loopback(n: int, suite: int = 0x00AE, timeout: float = 5.0) -> BenchResult:
    """n client handshakes against a server thread on 127.0.0.1, one TCP connection each."""
    failures: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        address = listener.getsockname()[:2]

        def serve() -> None:
            for _ in range(n):
                _, server = _pair(suite)
                _collect_failure(run_server_once(server, listener, timeout), failures)

        thread = threading.Thread(target=serve, daemon=True)
        start = time.perf_counter()
        thread.start()
        for _ in range(n):
            client, _ = _pair(suite)
            _collect_failure(run_client(client, address, timeout), failures)
        thread.join(timeout)
        seconds = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"benchmark handshakes failed: {failures[:3]}")
    return BenchResult("loopback", suite, n, seconds)


def _dtls_pair(suite: int, mtu: int) -> tuple[DtlsClientConnection, DtlsServerConnection]:
    client = DtlsClientConnection(ClientConfig(IDENTITY, PSK, [suite]), mtu=mtu)
    server = DtlsServerConnection(ServerConfig({IDENTITY: PSK}, [suite]), mtu=mtu)
    return client, server


def dtls_handshakes_in_memory(n: int, suite: int = 0xC0A8, mtu: int = 1200) -> BenchResult:
    """n DTLS handshakes (with HelloVerifyRequest) over the simulated link."""
    start = time.perf_counter()
    for _ in range(n):
        client, server = _dtls_pair(suite, mtu)
        link = SimulatedLink(client, server)
        link.start()
        if not link.run():
            raise RuntimeError(f"benchmark DTLS handshake failed: {client.error or server.error}")
    return BenchResult("dtls-memory", suite, n, time.perf_counter() - start)


def dtls_handshakes_over_loopback(
    n: int, suite: int = 0xC0A8, timeout: float = 5.0, mtu: int = 1200
) -> BenchResult:
    """n DTLS client handshakes against a server thread on 127.0.0.1 UDP, one socket
    (one association) per handshake on the server side."""
    failures: list[str] = []
    start = time.perf_counter()
    for _ in range(n):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            address = sock.getsockname()[:2]
            client, server = _dtls_pair(suite, mtu)

            def serve(server: DtlsServerConnection = server, sock: socket.socket = sock) -> None:
                _collect_failure(run_dtls_server_once(server, sock, timeout), failures)

            thread = threading.Thread(target=serve, daemon=True)
            thread.start()
            _collect_failure(run_dtls_client(client, address, timeout), failures)
            thread.join(timeout)
    seconds = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"benchmark DTLS handshakes failed: {failures[:3]}")
    return BenchResult("dtls-loopback", suite, n, seconds)


def all_cases(n: int, timeout: float = 5.0) -> list[BenchResult]:
    """Every measure for a PSK and a DHE_PSK suite, TLS and DTLS: n handshakes each."""
    results = []
    for suite in (TLS_PSK_SUITE, TLS_DHE_PSK_SUITE):
        results.append(handshakes_in_memory(n, suite))
        results.append(handshakes_over_loopback(n, suite, timeout))
    for suite in (DTLS_PSK_SUITE, DTLS_DHE_PSK_SUITE):
        results.append(dtls_handshakes_in_memory(n, suite))
        results.append(dtls_handshakes_over_loopback(n, suite, timeout))
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="engine handshakes per second, PSK and DHE_PSK")
    parser.add_argument("-n", type=int, default=50, help="handshakes per case")
    args = parser.parse_args(argv)
    print(f"{'mode':14} {'suite':7} {'ms/handshake':>12} {'handshakes/s':>13}")
    for r in all_cases(args.n):
        print(f"{r.mode:14} 0x{r.suite:04X} {r.ms_per_handshake:12.2f} {r.per_second:13.1f}")


if __name__ == "__main__":
    main()
