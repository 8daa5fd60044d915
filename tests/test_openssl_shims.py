"""The example OpenSSL shims, driven through the command adapter against real OpenSSL
peers started here: `s_server` for the Entity A shim, `s_client` for the Entity B shim.

Each side computes the RFC 5705 exporter independently, so equal values prove both the
shim's parsing and that the two ends really shared one master_secret.
"""

from __future__ import annotations

import queue
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.sut.adapters import make_adapter
from harness.sut.contract import (
    Address,
    ExportRequest,
    Framework,
    Role,
    Status,
    SutRequest,
    SutResult,
    Transport,
)
from harness.sut.profile import SutProfile, load_profile
from harness.verdict import NotApplicable
from tests.peers import free_port

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LABEL = "EXPORTER-oneM2M-Connection"
MATERIAL = re.compile(r"Keying material: ([0-9A-F]+)")
WAIT = 10.0  # bound of every wait here; a passing run takes well under a second each


class Server:
    """`openssl s_server` in the background, its output collected line by line."""

    def __init__(self, args: list[str], dtls: bool = False) -> None:
        self.port = free_port(socket.SOCK_DGRAM if dtls else socket.SOCK_STREAM)
        self.process = subprocess.Popen(
            ["openssl", "s_server", "-accept", f"127.0.0.1:{self.port}", "-naccept", "1"]
            + ["-dtls1_2" if dtls else "-tls1_2", "-nocert", *args],
            stdin=subprocess.PIPE,  # EOF on stdin would stop it
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        while not ((line := self.lines.get(timeout=WAIT)) or "").startswith("ACCEPT"):
            assert line is not None, f"s_server failed: {self.output}"

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def finish(self) -> str:
        try:
            self.process.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(WAIT)
        while self.lines.get(timeout=WAIT) is not None:
            pass
        return "\n".join(self.output)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(WAIT)


@pytest.fixture
def profile_a() -> SutProfile:
    return load_profile(EXAMPLES / "openssl-entity-a" / "profile.toml")


@pytest.fixture
def profile_b() -> SutProfile:
    return load_profile(EXAMPLES / "openssl-entity-b" / "profile.toml")


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def request_a(profile: SutProfile, port: int, suites: list[int]) -> SutRequest:
    return SutRequest(
        role=Role.ENTITY_A,
        framework=Framework.SAEF_PSK,
        transport=Transport.TLS,
        configuration=profile.configuration(Role.ENTITY_A),
        cipher_suites=suites,
        connect=Address("127.0.0.1", port),
        timeout=WAIT,
        exports=[ExportRequest(LABEL, 48)],
        test_case="TEST/openssl-a",
    )


def request_b(profile: SutProfile, suites: list[int]) -> SutRequest:
    return SutRequest(
        role=Role.ENTITY_B,
        framework=Framework.SAEF_PSK,
        transport=Transport.TLS,
        configuration=profile.configuration(Role.ENTITY_B),
        cipher_suites=suites,
        listen=Address("127.0.0.1", 0),
        timeout=WAIT,
        exports=[ExportRequest(LABEL, 48)],
        test_case="TEST/openssl-b",
    )


def s_server_for(profile: SutProfile, key: str | None = None, cipher: str = "ALL") -> list[str]:
    ixit = profile.configuration(Role.ENTITY_A)
    return [
        "-psk", key or ixit["kpsaKey"],
        "-psk_identity", ixit["kpsaId"],
        "-cipher", f"{cipher}:@SECLEVEL=0",
        "-keymatexport", LABEL, "-keymatexportlen", "48",
    ]  # fmt: skip


def s_client(port: int, key: str, identity: str, cipher: str, dtls: bool = False) -> str:
    run = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}"]
        + ["-dtls1_2" if dtls else "-tls1_2"]
        + ["-psk", key, "-psk_identity", identity, "-servername", "in-cse.m2m.example.com"]
        + ["-cipher", f"{cipher}:@SECLEVEL=0", "-keymatexport", LABEL, "-keymatexportlen", "48"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    return run.stdout + run.stderr


def keying_material(output: str) -> str:
    """The exporter value OpenSSL printed, lower-case hex as a SutResult carries it."""
    match = MATERIAL.search(output)
    assert match, output
    return match.group(1).lower()


def result_against_server(profile_a: SutProfile, request: SutRequest) -> SutResult:
    """The Entity A shim run (bounded) against the s_server the request connects to."""
    session = make_adapter(profile_a).start(request)
    try:
        return session.result(WAIT)
    finally:
        session.stop()


def result_against_client(
    profile_b: SutProfile,
    request: SutRequest,
    cipher: str,
    key: str | None = None,
    identity: str | None = None,
) -> tuple[SutResult, str]:
    """The Entity B shim against one s_client run (default: the provisioned Entity A's
    key and identity): the shim's result and s_client's output."""
    entity = profile_b.configuration(Role.ENTITY_B)["authorizedEntities"][0]
    session = make_adapter(profile_b).start(request)
    try:
        address = session.wait_ready(WAIT)
        assert address is not None and address.host == "127.0.0.1" and address.port > 0
        output = s_client(
            address.port,
            key or entity["kpsaKey"],
            identity or entity["kpsaId"],
            cipher,
            dtls=request.transport is Transport.DTLS,
        )
        result = session.result(WAIT)
    finally:
        session.stop()
    return result, output


# --- Entity A shim ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suite", "name"), [(0x00AE, "PSK-AES128-CBC-SHA256"), (0xC0A8, "PSK-AES128-CCM8")]
)
def test_entity_a_shim_establishes(
    profile_a: SutProfile, servers: list[Server], suite: int, name: str
) -> None:
    server = Server(s_server_for(profile_a, cipher=name))
    servers.append(server)
    session = make_adapter(profile_a).start(request_a(profile_a, server.port, [0x00AE, 0xC0A8]))
    try:
        assert session.wait_ready(WAIT) is None
        result = session.result(WAIT)
    finally:
        session.stop()
    output = server.finish()
    assert result.status is Status.ESTABLISHED, result
    assert result.cipher_suite == suite
    assert result.psk_identity == "openssl-1@in-cse.m2m.example.com"
    assert result.peer_identity == "/in-cse-1"
    assert result.keys == {LABEL: keying_material(output)}


def test_entity_a_shim_refused_on_wrong_key(profile_a: SutProfile, servers: list[Server]) -> None:
    server = Server(s_server_for(profile_a, key="ff" * 16))
    servers.append(server)
    result = result_against_server(profile_a, request_a(profile_a, server.port, [0x00AE]))
    assert result.status is Status.REFUSED, result
    assert result.alert == "bad_record_mac (received)"
    assert result.keys == {}
    assert result.peer_identity is None


@pytest.mark.parametrize(
    ("suite", "name"), [(0xC0A8, "PSK-AES128-CCM8"), (0xC0AA, "DHE-PSK-AES128-CCM8")]
)
def test_entity_a_shim_over_dtls(
    profile_a: SutProfile, servers: list[Server], suite: int, name: str
) -> None:
    assert "dtls" in {str(t) for t in profile_a.ics.transports}
    server = Server(s_server_for(profile_a, cipher=name), dtls=True)
    servers.append(server)
    req = request_a(profile_a, server.port, [0x00AE, 0xC0A8, 0xC0AA])
    req.transport = Transport.DTLS
    result = result_against_server(profile_a, req)
    output = server.finish()
    assert result.status is Status.ESTABLISHED, (result, output)
    assert result.cipher_suite == suite
    assert result.peer_identity == "/in-cse-1"
    assert result.keys == {LABEL: keying_material(output)}


# --- Entity B shim ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suite", "name"), [(0x00AE, "PSK-AES128-CBC-SHA256"), (0xC0A6, "DHE-PSK-AES128-CCM")]
)
def test_entity_b_shim_establishes(profile_b: SutProfile, suite: int, name: str) -> None:
    request = request_b(profile_b, [0x00AE, 0xC0A4, 0xC0A6])
    result, output = result_against_client(profile_b, request, name)
    assert result.status is Status.ESTABLISHED, (result, output)
    assert result.cipher_suite == suite
    assert result.psk_identity == "sensor-1@in-cse.m2m.example.com"
    assert result.peer_identity == "/Cae-sensor-1"
    assert result.keys == {LABEL: keying_material(output)}


@pytest.mark.parametrize(
    ("suite", "name"), [(0xC0A8, "PSK-AES128-CCM8"), (0x00AE, "PSK-AES128-CBC-SHA256")]
)
def test_entity_b_shim_over_dtls(profile_b: SutProfile, suite: int, name: str) -> None:
    assert "dtls" in {str(t) for t in profile_b.ics.transports}
    req = request_b(profile_b, [0xC0A8, 0x00AE])
    req.transport = Transport.DTLS
    result, output = result_against_client(profile_b, req, name)
    assert result.status is Status.ESTABLISHED, (result, output)
    assert result.cipher_suite == suite
    assert result.psk_identity == "sensor-1@in-cse.m2m.example.com"
    assert result.peer_identity == "/Cae-sensor-1"
    assert result.keys == {LABEL: keying_material(output)}


def test_entity_b_shim_refused_on_wrong_key(profile_b: SutProfile) -> None:
    result, _ = result_against_client(
        profile_b,
        request_b(profile_b, [0x00AE]),
        "PSK-AES128-CBC-SHA256",
        key="ee" * 16,
        identity="intruder@evil.example.com",
    )
    assert result.status is Status.REFUSED, result
    assert result.alert == "bad_record_mac (sent)"
    assert result.psk_identity == "intruder@evil.example.com"
    assert result.peer_identity is None
    assert result.keys == {}


def test_entity_b_shim_two_entities_not_applicable(profile_b: SutProfile) -> None:
    req = request_b(profile_b, [0x00AE])
    extra = dict(req.configuration["authorizedEntities"][0], kpsaId="other@in-cse.m2m.example.com")
    req.configuration["authorizedEntities"].append(extra)
    session = make_adapter(profile_b).start(req)
    try:
        with pytest.raises(NotApplicable, match="exactly one PSK"):
            session.wait_ready(WAIT)
    finally:
        session.stop()
