"""Shared pieces of the libssl reference tests (TLS, DTLS and the mutants).

One place for the PSK provisioning both entities are given, the SutRequest builders for
Entity A and Entity B, running reference A against reference B, and the bounded ways of
driving the OpenSSL command-line tools against a reference entity. Every wait is bounded
(BOUND, the entities' own deadlines, the adapter's result(timeout)).
"""

from __future__ import annotations

import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

import pytest

from harness.sut.contract import (
    Address,
    ExportRequest,
    Framework,
    Role,
    SutRequest,
    SutResult,
    Transport,
)
from harness.sut.reference_adapter import ReferenceAdapter

KPSA = "00112233445566778899aabbccddeeff"
KPSA_ID = "dev42@issuer.example.com"
ID_A = "/CSE-A"
ID_B = "/CSE-B"
HOST_B = "b.example.com"
LABEL = "EXPORTER-oneM2M-Connection"
EXPORTS = [ExportRequest(LABEL, 48), ExportRequest(LABEL, 48, context="0102abcd")]
PROFILE = {
    0x00AE: "PSK-AES128-CBC-SHA256",
    0xC0A4: "PSK-AES128-CCM",
    0xC0A8: "PSK-AES128-CCM8",
    0xC0A6: "DHE-PSK-AES128-CCM",
    0xC0AA: "DHE-PSK-AES128-CCM8",
}
BOUND = 5.0

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl CLI not installed")


# --- requests -------------------------------------------------------------------------------


def request_b(
    transport: Transport,
    suites: list[int],
    entities: list[tuple[str, str, str]] | None = None,
    timeout: float = BOUND,
    exports: list[ExportRequest] | None = None,
    **settings: Any,
) -> SutRequest:
    """Entity B listening on a free loopback port; ``entities`` are (KpsaId, Kpsa, IdA)
    triples (default: the one provisioned A); ``settings`` are extra configuration."""
    authorized = entities or [(KPSA_ID, KPSA, ID_A)]
    return SutRequest(
        Role.ENTITY_B,
        Framework.SAEF_PSK,
        transport,
        {
            "thisEntityIdentifier": ID_B,
            "hostName": HOST_B,
            "authorizedEntities": [
                {"kpsaId": i, "kpsaKey": k, "otherEntityIdentifier": a} for i, k, a in authorized
            ],
            **settings,
        },
        suites,
        listen=Address("127.0.0.1", 0),
        timeout=timeout,
        exports=list(exports or []),
    )


def request_a(
    transport: Transport,
    suites: list[int],
    connect: Address,
    kpsa_id: str = KPSA_ID,
    kpsa: str = KPSA,
    timeout: float = BOUND,
    exports: list[ExportRequest] | None = None,
    **settings: Any,
) -> SutRequest:
    """Entity A connecting to ``connect``; ``settings`` are extra configuration."""
    return SutRequest(
        Role.ENTITY_A,
        Framework.SAEF_PSK,
        transport,
        {
            "kpsaId": kpsa_id,
            "kpsaKey": kpsa,
            "thisEntityIdentifier": ID_A,
            "otherEntityIdentifier": ID_B,
            "otherEntityHostName": HOST_B,
            **settings,
        },
        suites,
        connect=connect,
        timeout=timeout,
        exports=list(exports or []),
    )


# --- running the reference ------------------------------------------------------------------


class Hop(Protocol):
    """Something between A and B (a relay): where A is to connect, and how to end it."""

    @property
    def address(self) -> Address: ...

    def stop(self) -> None: ...


def run_pair(
    b_request: SutRequest,
    request_of_a: Callable[[Address], SutRequest],
    a_faults: Sequence[str] = (),
    b_faults: Sequence[str] = (),
    via: Callable[[Address], Hop] | None = None,
) -> tuple[SutResult, SutResult]:
    """Reference A against reference B (optionally through ``via``): both results."""
    b = ReferenceAdapter(b_faults).start(b_request)
    hop: Hop | None = None
    try:
        address = b.wait_ready(BOUND)
        assert address is not None and address.port != 0
        if via is not None:
            hop = via(address)
            address = hop.address
        a = ReferenceAdapter(a_faults).start(request_of_a(address))
        try:
            return a.result(BOUND), b.result(BOUND)
        finally:
            a.stop()
    finally:
        b.stop()
        if hop is not None:
            hop.stop()


def run_one(request: SutRequest, faults: Sequence[str] = ()) -> SutResult:
    """One reference entity run to its (bounded) result, then stopped."""
    session = ReferenceAdapter(faults).start(request)
    try:
        return session.result(BOUND)
    finally:
        session.stop()


# --- the OpenSSL command-line tools ---------------------------------------------------------


def openssl_client_against_b(
    b_request: SutRequest,
    client_args: Callable[[Address], list[str]],
    b_faults: Sequence[str] = (),
) -> tuple[SutResult, str]:
    """Reference B against one bounded ``openssl <client_args(B's address)>`` run with
    stdin at EOF (s_client then closes after the handshake): B's result, the CLI output."""
    assert OPENSSL is not None
    session = ReferenceAdapter(b_faults).start(b_request)
    try:
        address = session.wait_ready(BOUND)
        assert address is not None
        completed = subprocess.run(
            [OPENSSL, *client_args(address)],
            input="",
            capture_output=True,
            text=True,
            timeout=BOUND,
        )
        result = session.result(BOUND)
    finally:
        session.stop()
    return result, completed.stdout + completed.stderr


def s_server_args(protocol: str, cipher: str) -> list[str]:
    """s_server as Entity B (``protocol``: -tls1_2 or -dtls1_2) on a port it chooses,
    for one connection, printing the LABEL exporter output."""
    return [
        *f"s_server {protocol} -nocert -psk {KPSA} -psk_identity {KPSA_ID}".split(),
        *["-cipher", cipher],
        *["-accept", "127.0.0.1:0", "-naccept", "1"],
        *f"-keymatexport {LABEL} -keymatexportlen 48".split(),
    ]


def s_client_args(protocol: str, identity: str, address: Address, cipher: str) -> list[str]:
    """s_client as Entity A (``protocol``: -tls1_2 or -dtls1_2) with psk_identity
    ``identity``, printing the LABEL exporter output."""
    return [
        *f"s_client {protocol} -psk {KPSA} -psk_identity {identity}".split(),
        *f"-connect {address} -servername {HOST_B}".split(),
        *["-cipher", cipher],
        *f"-keymatexport {LABEL} -keymatexportlen 48".split(),
    ]


def cli_keying_material(output: str) -> str:
    """The exporter output the CLI printed, as lower-case hex; fails if it printed none."""
    exported = re.search(r"Keying material: ([0-9A-F]+)", output)
    assert exported is not None, output
    return exported.group(1).lower()


@dataclass
class CliPeer:
    """An openssl CLI process whose output is read line by line with bounded waits."""

    process: subprocess.Popen[str]
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, args: list[str]) -> CliPeer:
        """``openssl <args>`` with stdin kept open (s_server quits on stdin EOF)."""
        assert OPENSSL is not None
        process = subprocess.Popen(
            [OPENSSL, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return cls(process)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def __enter__(self) -> CliPeer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.kill()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: str, timeout: float = BOUND) -> re.Match[str]:
        """The first output line matching pattern; fails (never hangs) after timeout."""
        compiled = re.compile(pattern)
        for line in self.seen:
            if match := compiled.search(line):
                return match
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"openssl printed no {pattern!r} in {timeout} s: {self.seen}")
            if line is None:
                pytest.fail(f"openssl exited without {pattern!r}: {self.seen}")
            self.seen.append(line)
            if match := compiled.search(line):
                return match

    def accept_address(self) -> Address:
        """Where s_server listens (``-accept 127.0.0.1:0`` makes it print the port)."""
        return Address("127.0.0.1", int(self.wait_for(r"ACCEPT 127\.0\.0\.1:(\d+)").group(1)))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=BOUND)
