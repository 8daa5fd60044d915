"""The OpenSSL MAF-SAEF Entity A shim (examples/openssl-maf-entity-a/) through the command
adapter, against live `openssl s_server` peers playing the MAF and Entity B.

The MAF is an s_server holding Km that prints its exporter value. Entity B must hold
the Kc that MAF handshake produced, which exists only once the shim has run it, so B is
a *lazy* s_server: a relay listens at B's address and, when the shim connects, starts
an s_server with the Kc (and the expected KcID) the test derives from the MAF's own
output with the harness's oracle (harness.key_export), then relays the bytes. B
accepting the handshake proves the shim split the exporter and formed the KcID as the
MAF did; B's exporter value equal to the one the shim reports proves the association
ran with that key.
"""

from __future__ import annotations

import contextlib
import re
import selectors
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.key_export import CONNECTION_LABEL, split_export
from harness.sut.adapters import make_adapter
from harness.sut.contract import (
    Address,
    ExportRequest,
    Framework,
    LegResult,
    Role,
    Status,
    SutRequest,
    SutResult,
    Transport,
)
from harness.sut.profile import SutProfile, load_profile
from tests.peers import HOST, PeerProcess, free_port, running

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "openssl-maf-entity-a"
PROFILE = EXAMPLE / "profile.toml"
WAIT = 10.0  # bound of every wait here; a passing case takes well under a second
MATERIAL = re.compile(r"Keying material: ([0-9A-Fa-f]+)")
CIPHER = "PSK-AES128-CBC-SHA256:PSK-AES128-CCM8:@SECLEVEL=0"
WRONG_KC = "ee" * 32

KeyChoice = Callable[[int], tuple[str, str]]
"""For B's k-th connection (from 0): the psk (hex) and the psk_identity it expects."""


def s_server(port: int, psk: str, identity: str, dtls: bool, naccept: int) -> list[str]:
    return [
        "openssl", "s_server", "-accept", f"{HOST}:{port}", "-naccept", str(naccept),
        "-dtls1_2" if dtls else "-tls1_2", "-nocert", "-psk", psk, "-psk_identity", identity,
        "-cipher", CIPHER, "-keymatexport", CONNECTION_LABEL, "-keymatexportlen", "48",
    ]  # fmt: skip


def materials(peer: PeerProcess, count: int, timeout: float = WAIT) -> list[str]:
    """The first ``count`` exporter values the peer printed (lower-case hex), waiting."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m.lower() for m in MATERIAL.findall(peer.output)]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, peer.output
            return found[:count]
        time.sleep(0.01)


class LazyEntityB:
    """Entity B at a fixed address whose key is chosen per connection, when it arrives:
    each connection (TCP) or new client address (DTLS) gets a fresh one-shot s_server
    with ``choose(k)``'s psk and expected identity, and the bytes are relayed to it."""

    def __init__(self, choose: KeyChoice, dtls: bool) -> None:
        self.choose = choose
        self.dtls = dtls
        kind = socket.SOCK_DGRAM if dtls else socket.SOCK_STREAM
        self.front = socket.socket(socket.AF_INET, kind)
        self.front.bind((HOST, 0))
        if not dtls:
            self.front.listen(4)
        self.port = self.front.getsockname()[1]
        self.servers: list[PeerProcess] = []
        self._stack = contextlib.ExitStack()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _backend(self) -> tuple[socket.socket, PeerProcess]:
        """A one-shot s_server with the next key, and a socket connected to it."""
        psk, identity = self.choose(len(self.servers))
        port = free_port(socket.SOCK_DGRAM if self.dtls else socket.SOCK_STREAM)
        peer = self._stack.enter_context(
            running(s_server(port, psk, identity, self.dtls, 1), "ACCEPT", WAIT)
        )
        self.servers.append(peer)
        kind = socket.SOCK_DGRAM if self.dtls else socket.SOCK_STREAM
        upstream = socket.socket(socket.AF_INET, kind)
        upstream.settimeout(WAIT)
        upstream.connect((HOST, port))
        return upstream, peer

    def _serve(self) -> None:
        with contextlib.suppress(OSError):  # the front socket closed: stop() was called
            if self.dtls:
                self._relay_datagrams()
            else:
                self._relay_streams()

    def _relay_streams(self) -> None:
        self.front.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self.front.accept()
            except TimeoutError:
                continue
            upstream, _ = self._backend()
            with client, upstream:
                self._pipe(client, upstream)

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        """Copy both ways until either side closes (or the bound passes)."""
        other = {a: b, b: a}
        with selectors.DefaultSelector() as selector:
            for sock in other:
                selector.register(sock, selectors.EVENT_READ)
            deadline = time.monotonic() + WAIT
            while not self._stop.is_set() and time.monotonic() < deadline:
                for key, _ in selector.select(0.1):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    other[key.fileobj].sendall(data)  # type: ignore[index]

    def _relay_datagrams(self) -> None:
        clients: dict[tuple[str, int], socket.socket] = {}
        owner: dict[socket.socket, tuple[str, int]] = {}
        with selectors.DefaultSelector() as selector:
            selector.register(self.front, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select(0.1):
                    sock: socket.socket = key.fileobj  # type: ignore[assignment]
                    if sock is self.front:
                        data, client = sock.recvfrom(65536)
                        if client not in clients:
                            upstream, _ = self._backend()
                            clients[client], owner[upstream] = upstream, client
                            selector.register(upstream, selectors.EVENT_READ)
                        with contextlib.suppress(OSError):  # the one-shot server has gone
                            clients[client].send(data)
                    else:
                        with contextlib.suppress(OSError):
                            self.front.sendto(sock.recv(65536), owner[sock])

    def stop(self) -> None:
        self._stop.set()
        self.front.close()
        self._thread.join(WAIT)
        self._stack.close()


@pytest.fixture
def profile() -> SutProfile:
    return load_profile(PROFILE)


@pytest.fixture
def config(profile: SutProfile) -> dict:
    return profile.configuration(Role.ENTITY_A, Framework.SAEF_MAF)


@pytest.fixture
def stack() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as stack:
        yield stack


def maf_server(stack: contextlib.ExitStack, config: dict, dtls: bool, naccept: int,
               km: str | None = None) -> tuple[PeerProcess, int]:  # fmt: skip
    port = free_port(socket.SOCK_DGRAM if dtls else socket.SOCK_STREAM)
    args = s_server(
        port, km or config["masterCredential"], config["masterCredentialIdentifier"], dtls, naccept
    )
    return stack.enter_context(running(args, "ACCEPT", WAIT)), port


def entity_b(stack: contextlib.ExitStack, choose: KeyChoice, dtls: bool) -> LazyEntityB:
    b = LazyEntityB(choose, dtls)
    stack.callback(b.stop)
    return b


def kc_of(material: str, config: dict) -> tuple[str, str]:
    """Kc and KcID by the harness's own definitions (I-02, I-04)."""
    exported = split_export(bytes.fromhex(material))
    return exported.key.hex(), exported.key_id(config["mafIdentifier"])


def run_shim(profile: SutProfile, config: dict, maf_port: int, b_port: int, rounds: int,
             transport: Transport = Transport.TLS) -> SutResult:  # fmt: skip
    b = Address(HOST, b_port)
    request = SutRequest(
        role=Role.ENTITY_A,
        framework=Framework.SAEF_MAF,
        transport=transport,
        configuration=config,
        cipher_suites=[0x00AE, 0xC0A8],
        connect=b,
        peers={"entity_b": b, "maf": Address(HOST, maf_port)},
        expected_legs={"association": rounds},
        timeout=WAIT,
        exports=[ExportRequest(CONNECTION_LABEL, 48)],
        test_case="TEST/openssl-maf-a",
    )
    session = make_adapter(profile).start(request)
    try:
        assert session.wait_ready(WAIT) is None
        return session.result(WAIT)
    finally:
        session.stop()


def names(result: SutResult) -> list[tuple[str, Status]]:
    return [(leg.name, leg.status) for leg in result.legs]


def assert_association(leg: LegResult, kc_id: str, b: PeerProcess, config: dict) -> None:
    assert leg.status is Status.ESTABLISHED, leg
    assert leg.peer == "entity_b"
    assert leg.psk_identity == kc_id
    assert leg.peer_identity == config["otherEntityIdentifier"]
    assert leg.keys == {CONNECTION_LABEL: materials(b, 1)[0]}
    assert "PSK warning" not in b.output  # B received the KcID it expected


@pytest.mark.parametrize("transport", [Transport.TLS, Transport.DTLS])
def test_maf_handshake_then_reused_kc(
    profile: SutProfile, config: dict, stack: contextlib.ExitStack, transport: Transport
) -> None:
    dtls = transport is Transport.DTLS
    maf, maf_port = maf_server(stack, config, dtls, naccept=1)
    b = entity_b(stack, lambda k: kc_of(materials(maf, 1)[0], config), dtls)
    result = run_shim(profile, config, maf_port, b.port, rounds=2, transport=transport)
    assert names(result) == [
        ("maf_handshake", Status.ESTABLISHED),
        ("association", Status.ESTABLISHED),
        ("association", Status.ESTABLISHED),  # Kc reused: no second MAF handshake
    ], result
    material = materials(maf, 1)[0]
    kc, kc_id = kc_of(material, config)
    handshake = result.legs[0]
    assert handshake.peer == "maf"
    assert handshake.psk_identity == config["masterCredentialIdentifier"]
    assert "PSK warning" not in maf.output  # the MAF received the KmID it expected
    assert handshake.keys == {CONNECTION_LABEL: material}
    assert handshake.fields["kcId"] == kc_id
    assert kc_id.split("@")[0] == kc_id.split("@")[0].lower()  # I-04
    for leg, server in zip(result.legs[1:], b.servers, strict=True):
        assert_association(leg, kc_id, server, config)
        assert leg.cipher_suite == 0x00AE
    assert [leg.fields["round"] for leg in result.legs] == [1, 1, 2]
    assert result.status is Status.ESTABLISHED
    assert result.psk_identity == kc_id and result.keys == result.legs[-1].keys


def test_refused_stored_kc_is_renewed_once(
    profile: SutProfile, config: dict, stack: contextlib.ExitStack
) -> None:
    maf, maf_port = maf_server(stack, config, dtls=False, naccept=2)

    def choose(k: int) -> tuple[str, str]:
        # Round 1 with the first Kc; round 2 B no longer knows it (refuses); the retry
        # must carry the second MAF handshake's Kc.
        if k == 1:
            return WRONG_KC, kc_of(materials(maf, 1)[0], config)[1]
        return kc_of(materials(maf, 1 if k == 0 else 2)[-1], config)

    b = entity_b(stack, choose, dtls=False)
    result = run_shim(profile, config, maf_port, b.port, rounds=2)
    assert names(result) == [
        ("maf_handshake", Status.ESTABLISHED),
        ("association", Status.ESTABLISHED),
        ("association", Status.REFUSED),
        ("maf_handshake", Status.ESTABLISHED),
        ("association", Status.ESTABLISHED),
    ], result
    first, second = (kc_of(m, config)[1] for m in materials(maf, 2))
    assert first != second
    assert result.legs[2].psk_identity == first
    assert result.legs[2].alert == "bad_record_mac (received)"
    assert result.legs[3].fields["kcId"] == second
    assert_association(result.legs[4], second, b.servers[2], config)
    assert result.status is Status.ESTABLISHED and result.psk_identity == second


def test_refused_fresh_kc_is_not_retried(
    profile: SutProfile, config: dict, stack: contextlib.ExitStack
) -> None:
    maf, maf_port = maf_server(stack, config, dtls=False, naccept=1)
    b = entity_b(stack, lambda k: (WRONG_KC, kc_of(materials(maf, 1)[0], config)[1]), False)
    result = run_shim(profile, config, maf_port, b.port, rounds=1)
    assert names(result) == [
        ("maf_handshake", Status.ESTABLISHED),
        ("association", Status.REFUSED),
    ], result
    assert result.status is Status.REFUSED
    assert result.peer_identity is None and result.keys == {}


def test_maf_refusing_km_ends_the_case(
    profile: SutProfile, config: dict, stack: contextlib.ExitStack
) -> None:
    _, maf_port = maf_server(stack, config, dtls=False, naccept=1, km="11" * 32)
    b = entity_b(stack, lambda k: (WRONG_KC, "unused"), dtls=False)
    result = run_shim(profile, config, maf_port, b.port, rounds=2)
    assert names(result) == [("maf_handshake", Status.REFUSED)], result
    assert result.legs[0].keys == {} and "kcId" not in result.legs[0].fields
    assert result.status is Status.REFUSED
    assert "0 of 2 association rounds ran" in result.detail
    assert b.servers == []  # A never contacted B without a Kc


def test_other_roles_are_unsupported(profile: SutProfile, config: dict) -> None:
    request = SutRequest(
        role=Role.ENTITY_B,
        framework=Framework.SAEF_MAF,
        transport=Transport.TLS,
        configuration=config,
        cipher_suites=[0x00AE],
        listen=Address(HOST, 0),
        timeout=WAIT,
    )
    session = make_adapter(profile).start(request)
    try:
        result = session.result(WAIT)
    finally:
        session.stop()
    assert result.status is Status.UNSUPPORTED
    assert "entity_a only" in result.detail


def test_unreachable_maf_is_bounded(
    profile: SutProfile, config: dict, stack: contextlib.ExitStack
) -> None:
    b = entity_b(stack, lambda k: (WRONG_KC, "unused"), dtls=False)
    began = time.monotonic()
    result = run_shim(profile, config, free_port(), b.port, rounds=1)
    assert time.monotonic() - began < WAIT
    assert names(result) == [("maf_handshake", Status.REFUSED)], result


def test_campaign_verdicts_for_the_shim(tmp_path: Path) -> None:
    """The whole chain: `m2mconf run` on the example profile plays the MAF and Entity B
    around the shim and passes every Entity A purpose, over TLS and DTLS; the purposes of
    the roles and framework the profile does not declare are not applicable."""
    from campaign_cli import run_campaign

    profile = Path(__file__).resolve().parent.parent / "examples/openssl-maf-entity-a/profile.toml"
    result = run_campaign(tmp_path / "report", "--sut", str(profile), timeout=240)
    verdicts = {r["tp"]: r["verdict"] for r in result.report["results"]}
    ran = {tp: v for tp, v in verdicts.items() if v != "not applicable"}
    assert ran and all(tp.startswith("TP/SAEF-MAF/A/") for tp in ran), sorted(ran)
    assert set(ran.values()) == {"pass"}, {tp: v for tp, v in ran.items() if v != "pass"}
    assert {tp.split("[")[0] for tp in ran} == {f"TP/SAEF-MAF/A/0{i}" for i in range(1, 8)}
    assert any("[dtls" in tp for tp in ran)
    assert result.exit_code == 0, result.output
