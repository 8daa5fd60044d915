"""Benchmarks: the campaign's wall and CPU time, and the cost of one (D)TLS-PSK handshake.

Speed is measured here, never asserted in a test. Every figure is printed as the minimum
and the median over repeats, all in the same run on the same machine:

1. Handshakes in memory, no sockets: the harness engine against itself, and libssl
   (OpenSSL, through the reference's ctypes binding) against itself, per suite. DHE_PSK
   is compared like with like: libssl's own choice of group (it sends a 1024-bit group
   for AES-128 PSK suites) and ffdhe2048 (the engine server's group), each run by both
   stacks, with the engine/libssl ratio per group.
2. A handshake with a reference session over loopback, the session's start-up (thread,
   sockets, SSL_CTX: adapter ``start`` to ``wait_ready``) apart from the handshake.
3. Whole campaigns against the reference SUT (``m2mconf run`` as a lab runs it, in a
   child process): sequential (``--workers 1``) and with the default worker count, each
   with its wall time beside its CPU time (user + system, the child and its pytest-xdist
   workers included) and the part of the wall time spent outside the scenarios
   (interpreter and pytest start-up, reports).

Usage: python benchmarks/bench.py [--rounds N] [--campaign-rounds N] [--no-campaign]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.reference.ciphers import cipher_list
from harness.reference.libssl import SslConnection, SslContext, SslError
from harness.sut.contract import Address, ExportRequest, Framework, Role, SutRequest, Transport
from harness.sut.profile import reference_profile
from harness.sut.reference_adapter import ReferenceAdapter
from harness.tls import dh
from harness.tls.bench import dtls_handshakes_in_memory
from harness.tls.dtls import DtlsClientConnection
from harness.tls.dtls_transport import run_dtls_client
from harness.tls.engine import (
    ClientConfig,
    ClientConnection,
    ServerConfig,
    ServerConnection,
    run_in_memory,
)
from harness.tls.transport import run_client

ROOT = Path(__file__).resolve().parent.parent
PROFILE = reference_profile()
IDENTITY = b"bench@m2mconf"
PSK = bytes(range(16))
TLS_SUITES = {"PSK": 0x00AE, "DHE_PSK": 0xC0A6}
DTLS_SUITES = {"PSK": 0xC0A8, "DHE_PSK": 0xC0AA}
LIBSSL_GROUP = "libssl-auto"  # the engine's name for the group libssl sends, once seen


@dataclass(frozen=True)
class Sample:
    """Repeated timings of one thing, in seconds."""

    values: tuple[float, ...]

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def ms(self) -> str:
        return f"{self.min * 1e3:8.2f} {self.median * 1e3:8.2f}"


def sample(fn: Callable[[], None], rounds: int) -> Sample:
    fn()  # warm up (imports, libssl load, first-use caches)
    values = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        values.append(time.perf_counter() - start)
    return Sample(tuple(values))


# --- 1. handshakes in memory ---------------------------------------------------------------


def engine_tls(suite: int, group: str = "ffdhe2048") -> Callable[[], None]:
    def handshake() -> None:
        client = ClientConnection(ClientConfig(IDENTITY, PSK, [suite]))
        server = ServerConnection(ServerConfig({IDENTITY: PSK}, [suite], dh_group=group))
        client.start()
        run_in_memory(client, server)
        if not (client.established and server.established):
            raise RuntimeError(f"engine handshake failed: {client.error or server.error}")

    return handshake


def engine_dtls(suite: int) -> Callable[[], None]:
    return lambda: dtls_handshakes_in_memory(1, suite) and None


def _libcrypto() -> ctypes.CDLL:
    crypto = ctypes.CDLL("libcrypto.so.3")
    crypto.EVP_PKEY_CTX_new_from_name.restype = ctypes.c_void_p
    crypto.EVP_PKEY_CTX_new_from_name.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    crypto.EVP_PKEY_paramgen_init.argtypes = [ctypes.c_void_p]
    crypto.EVP_PKEY_CTX_set_group_name.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    crypto.EVP_PKEY_paramgen.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
    crypto.EVP_PKEY_CTX_free.argtypes = [ctypes.c_void_p]
    return crypto


def force_group(context: SslContext, group: str) -> None:
    """Make a libssl server send ``group`` (an RFC 7919 name) instead of its automatic
    choice: SSL_CTX_set_dh_auto(0) and SSL_CTX_set0_tmp_dh_pkey(named-group key)."""
    crypto = _libcrypto()
    ssl = ctypes.CDLL("libssl.so.3")
    ssl.SSL_CTX_set0_tmp_dh_pkey.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    ssl.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    ctx = crypto.EVP_PKEY_CTX_new_from_name(None, b"DH", None)
    pkey = ctypes.c_void_p()
    try:
        ok = (
            ctx
            and crypto.EVP_PKEY_paramgen_init(ctx) == 1
            and crypto.EVP_PKEY_CTX_set_group_name(ctx, group.encode()) == 1
            and crypto.EVP_PKEY_paramgen(ctx, ctypes.byref(pkey)) == 1
        )
    finally:
        if ctx:
            crypto.EVP_PKEY_CTX_free(ctx)
    if not ok:
        raise RuntimeError(f"libcrypto cannot make DH parameters for {group}")
    ssl.SSL_CTX_ctrl(context.ptr, 118, 0, None)  # SSL_CTRL_SET_DH_AUTO off
    if ssl.SSL_CTX_set0_tmp_dh_pkey(context.ptr, pkey) != 1:
        raise RuntimeError(f"libssl refused the {group} parameters")


def _pump(client: SslConnection, server: SslConnection) -> None:
    for _ in range(20):
        done = [c.do_handshake() for c in (client, server)]
        server.feed(client.take())
        client.feed(server.take())
        if all(d is SslError.NONE for d in done):
            return
    raise RuntimeError("libssl handshake did not complete")


def libssl_tls(suite: int, group: str | None = None) -> Callable[[], None]:
    """libssl client and server over memory BIOs, a fresh SSL_CTX pair each time (as the
    engine builds fresh connections): group None is libssl's automatic choice."""

    def handshake() -> None:
        server_ctx = SslContext(server=True, cipher_list=cipher_list([suite]))
        client_ctx = SslContext(server=False, cipher_list=cipher_list([suite]))
        try:
            if group is not None:
                force_group(server_ctx, group)
            server_ctx.set_psk_server(lambda identity: PSK if identity == IDENTITY else None)
            client_ctx.set_psk_client(lambda hint: (IDENTITY, PSK))
            server, client = SslConnection(server_ctx), SslConnection(client_ctx)
            try:
                _pump(client, server)
            finally:
                server.free()
                client.free()
        finally:
            server_ctx.free()
            client_ctx.free()

    return handshake


def libssl_auto_group(suite: int) -> tuple[int, int]:
    """(p, g) libssl sends for ``suite`` by itself: an engine client reads its
    ServerKeyExchange (the handshake's own messages, over memory BIOs)."""
    server_ctx = SslContext(server=True, cipher_list=cipher_list([suite]))
    server_ctx.set_psk_server(lambda identity: PSK)
    server = SslConnection(server_ctx)
    client = ClientConnection(ClientConfig(IDENTITY, PSK, [suite]))
    client.start()
    for _ in range(10):
        server.feed(client.data_to_send())
        server.do_handshake()
        client.receive(server.take())
        group = getattr(client._kx, "_server_group", None)  # what the client accepted
        if group is not None:
            server.free()
            server_ctx.free()
            return group
    server.free()
    server_ctx.free()
    raise RuntimeError("no ServerKeyExchange with DH values from libssl")


# --- 2. a reference session over loopback ----------------------------------------------------


def request(role: Role, transport: Transport, suite: int, address: Address) -> SutRequest:
    return SutRequest(
        role=role,
        framework=Framework.SAEF_PSK,
        transport=transport,
        configuration=PROFILE.configuration(role),
        cipher_suites=[suite],
        listen=address if role is Role.ENTITY_B else None,
        connect=address if role is Role.ENTITY_A else None,
        timeout=5.0,
        exports=[ExportRequest("EXPORTER-oneM2M-Connection", 48)],
    )


def session_and_handshake(transport: Transport, suite: int, rounds: int) -> tuple[Sample, Sample]:
    """(start-up, handshake): the reference Entity B's start to ready, then one engine
    client handshake with it (and the session stopped, not timed)."""
    a = PROFILE.configuration(Role.ENTITY_A)
    config = ClientConfig(
        a["kpsaId"].encode(), bytes.fromhex(a["kpsaKey"]), [suite], a["otherEntityHostName"]
    )
    starts, handshakes = [], []
    for index in range(rounds + 1):
        begin = time.perf_counter()
        session = ReferenceAdapter().start(
            request(Role.ENTITY_B, transport, suite, Address("127.0.0.1", 0))
        )
        address = session.wait_ready(5.0)
        ready = time.perf_counter()
        target = (address.host, address.port)
        if transport is Transport.DTLS:
            outcome = run_dtls_client(DtlsClientConnection(config), target, 5.0)
        else:
            outcome = run_client(ClientConnection(config), target, 5.0)
        done = time.perf_counter()
        session.stop()
        if not outcome.established:
            raise RuntimeError(outcome.reason)
        if index:  # the first is the warm-up
            starts.append(ready - begin)
            handshakes.append(done - ready)
    return Sample(tuple(starts)), Sample(tuple(handshakes))


# --- 3. campaigns -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignRun:
    wall: float
    cpu: float  # user + system of the m2mconf process and its waited-for children
    in_scenarios: float  # report.json "duration": the scenario run itself
    instances: int
    exit_code: int


def campaign(workers: int) -> CampaignRun:
    """One ``m2mconf run --sut reference --workers N`` in a child process."""
    with tempfile.TemporaryDirectory() as report:
        command = [sys.executable, "-m", "harness.cli", "run", "--quiet", "--sut", "reference"]
        command += ["--report", report, "--workers", str(workers)]
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        data = json.loads((Path(report) / "report.json").read_text())
    return CampaignRun(
        wall,
        usage.ru_utime + usage.ru_stime,
        float(data.get("duration", 0.0)),
        len(data["results"]),
        child.returncode,
    )


def print_campaigns(rounds: int) -> None:
    default = os.cpu_count() or 1
    print(f"\ncampaign against the reference SUT ({rounds} runs each; min / median)")
    print(f"{'workers':>8} {'wall s':>15} {'CPU s':>15} {'wall/CPU':>15} {'outside s':>15}")
    walls: dict[int, Sample] = {}
    for workers in dict.fromkeys((1, default)):
        runs = [campaign(workers) for _ in range(rounds)]
        wall = Sample(tuple(r.wall for r in runs))
        cpu = Sample(tuple(r.cpu for r in runs))
        ratio = Sample(tuple(r.wall / r.cpu for r in runs))
        outside = Sample(tuple(r.wall - r.in_scenarios for r in runs))
        walls[workers] = wall
        codes = sorted({r.exit_code for r in runs})
        print(
            f"{workers:>8} {wall.min:7.2f} {wall.median:7.2f} {cpu.min:7.2f} {cpu.median:7.2f} "
            f"{ratio.min:7.2f} {ratio.median:7.2f} {outside.min:7.2f} {outside.median:7.2f}"
            f"   ({runs[0].instances} instances, exit {codes})"
        )
    if default > 1:
        print(
            f"parallel/sequential wall ({default} workers): "
            f"min {walls[default].min / walls[1].min:.2f}, "
            f"median {walls[default].median / walls[1].median:.2f}"
        )


# --- the report ---------------------------------------------------------------------------------


def print_handshakes(rounds: int) -> None:
    print(f"one handshake in memory, ms (min / median over {rounds})")
    print(
        f"{'transport':9} {'exchange':8} {'suite':7} {'engine<->engine':>17} {'libssl<->libssl':>17}"
    )
    for name, suite in TLS_SUITES.items():
        engine = sample(engine_tls(suite), rounds)
        libssl = sample(libssl_tls(suite, "ffdhe2048" if name == "DHE_PSK" else None), rounds)
        group = " (ffdhe2048 both)" if name == "DHE_PSK" else ""
        print(f"{'tls':9} {name:8} 0x{suite:04X}  {engine.ms()}  {libssl.ms()}{group}")
    for name, suite in DTLS_SUITES.items():
        engine = sample(engine_dtls(suite), rounds)
        print(f"{'dtls':9} {name:8} 0x{suite:04X}  {engine.ms()}  {'-':>17} (with cookie exchange)")
    suite = TLS_SUITES["DHE_PSK"]
    p, g = libssl_auto_group(suite)
    dh.GROUPS.setdefault(LIBSSL_GROUP, (p, g))  # for the engine server, this run only
    print(f"\nDHE_PSK 0x{suite:04X}, same group on both sides, ms (min / median over {rounds})")
    print(f"{'group':24} {'engine<->engine':>17} {'libssl<->libssl':>17} {'engine/libssl':>14}")
    for label, engine_group, libssl_group in (
        (f"libssl's own ({p.bit_length()}-bit)", LIBSSL_GROUP, None),
        ("ffdhe2048", "ffdhe2048", "ffdhe2048"),
    ):
        engine = sample(engine_tls(suite, engine_group), rounds)
        libssl = sample(libssl_tls(suite, libssl_group), rounds)
        print(
            f"{label:24} {engine.ms()}  {libssl.ms()}  "
            f"{engine.min / libssl.min:5.2f} {engine.median / libssl.median:6.2f}"
        )


def print_sessions(rounds: int) -> None:
    print(
        f"\nengine client and a reference Entity B over loopback, ms (min / median over {rounds})"
    )
    print(f"{'transport':9} {'suite':7} {'session start-up':>17} {'handshake':>17}")
    for transport, suites in ((Transport.TLS, TLS_SUITES), (Transport.DTLS, DTLS_SUITES)):
        for suite in suites.values():
            start, handshake = session_and_handshake(transport, suite, rounds)
            print(f"{transport!s:9} 0x{suite:04X}  {start.ms()}  {handshake.ms()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="repeats of each handshake")
    parser.add_argument("--campaign-rounds", type=int, default=3, help="repeats of each campaign")
    parser.add_argument("--no-campaign", action="store_true")
    args = parser.parse_args()
    print_handshakes(args.rounds)
    print_sessions(max(args.rounds // 3, 3))
    if not args.no_campaign:
        print_campaigns(args.campaign_rounds)


if __name__ == "__main__":
    main()
