"""The key exchange strategies (harness.tls.key_exchange) on their own and in the engine.

Premasters against RFC 4279 bytes formed by hand, the OpenSSL-backed DH against plain
pow(), the suite table's choice of strategy, and the engine driving whatever strategy
the table names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from harness.tls import alerts, dh, key_exchange, messages
from harness.tls.alerts import ProtocolError
from harness.tls.engine import client_and_server, run_in_memory
from harness.tls.key_exchange import (
    KEY_EXCHANGES,
    DhePsk,
    DhKeyPair,
    KeyExchange,
    Psk,
    key_exchange_for,
)
from harness.tls.messages import ClientKeyExchange, ServerKeyExchange
from harness.tls.suites import SUITES

P, G = dh.GROUPS["ffdhe2048"]
PSK = bytes.fromhex("0102030405060708090a0b0c0d0e0f10")
# With these rng seeds the ffdhe2048 shared secret Z starts with a zero octet (found by
# search; the test checks it), so the RFC 5246 8.1.2 stripping is exercised.
LEADING_ZERO_SEED = 253


def seeded_rng(seed: str) -> Callable[[int], bytes]:
    """A deterministic rng: SHA-256 in counter mode."""
    counter = 0

    def rng(n: int) -> bytes:
        nonlocal counter
        out = b""
        while len(out) < n:
            out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
            counter += 1
        return out[:n]

    return rng


def dhe_exchange(seed: object) -> tuple[DhePsk, DhePsk, ServerKeyExchange, ClientKeyExchange]:
    """Run both sides of a DHE_PSK exchange through the strategy API, over encoded bytes."""
    server = DhePsk(seeded_rng(f"server-{seed}"))
    ske = server.server_key_exchange(b"hint")
    client = DhePsk(seeded_rng(f"client-{seed}"))
    client.process_server_key_exchange(messages.encode_server_key_exchange(ske))
    _, body = client.client_key_exchange(b"client@m2mconf")
    cke = server.decode_client_key_exchange(body)
    server.accept_client_key_exchange(cke)
    return server, client, ske, cke


# Premaster formation (RFC 4279) ---------------------------------------------------------


def test_psk_premaster_is_rfc4279_section2_bytes() -> None:
    kx = Psk()
    kx.client_key_exchange(b"id")
    expected = bytes.fromhex("0004 00000000 0004 deadbeef")
    assert kx.premaster(bytes.fromhex("deadbeef")) == expected
    assert kx.premaster(PSK) == b"\x00\x10" + bytes(16) + b"\x00\x10" + PSK


def test_dhe_psk_premaster_is_rfc4279_section3_bytes() -> None:
    server, client, ske, cke = dhe_exchange(1)
    assert ske.dh_ys is not None and cke.dh_yc is not None
    z = pow(cke.dh_yc, server_private(server), P).to_bytes(256, "big").lstrip(b"\x00")
    expected = len(z).to_bytes(2, "big") + z + b"\x00\x10" + PSK
    assert server.premaster(PSK) == client.premaster(PSK) == expected


def test_dhe_psk_premaster_strips_leading_zeros_of_z() -> None:
    server, client, _, _ = dhe_exchange(LEADING_ZERO_SEED)
    assert client.shared_secret is not None and client.shared_secret[0] == 0, "seed went stale"
    assert len(client.shared_secret) == 256  # Z itself keeps the length of p
    z = client.shared_secret.lstrip(b"\x00")
    premaster = client.premaster(PSK)
    assert premaster[:2] == len(z).to_bytes(2, "big") and len(z) < 256
    assert premaster == len(z).to_bytes(2, "big") + z + b"\x00\x10" + PSK
    assert server.premaster(PSK) == premaster


def test_premaster_for_another_psk_reuses_the_same_agreement() -> None:
    """The engine forms the peer's premaster too (key faults): same Z, other psk."""
    server, client, _, _ = dhe_exchange(2)
    other = b"\xff" * 32
    assert client.shared_secret is not None
    z = client.shared_secret.lstrip(b"\x00")
    assert client.premaster(other) == len(z).to_bytes(2, "big") + z + b"\x00\x20" + other
    assert server.premaster(other) == client.premaster(other)


def test_dhe_psk_premaster_before_the_exchange_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        DhePsk().premaster(PSK)


# Fast DH against plain pow() --------------------------------------------------------------


def server_private(server: DhePsk) -> int:
    assert server._key is not None
    return server._key.x


def test_dh_shared_secret_equals_plain_pow() -> None:
    for seed in range(5):
        server, client, ske, cke = dhe_exchange(f"pow-{seed}")
        assert server._key is not None and client._key is not None
        xs, xc = server._key.x, client._key.x
        assert ske.dh_ys == pow(G, xs, P) and cke.dh_yc == pow(G, xc, P)
        z = pow(cke.dh_yc, xs, P).to_bytes(256, "big")
        assert server.shared_secret == client.shared_secret == z
        assert dh.shared_secret(P, ske.dh_ys, xc) == z
        assert server._key.backend == client._key.backend == "openssl"


def test_dh_public_value_is_the_one_dh_generate_gives_for_the_same_rng() -> None:
    """Same rng, same private value, same dh_Ys / dh_Yc on the wire as before."""
    key = DhKeyPair(P, G, seeded_rng("wire"))
    x, y = dh.generate(P, G, seeded_rng("wire"))
    assert (key.x, key.y) == (x, y)


def test_dh_falls_back_to_pow_when_openssl_refuses_the_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> object:
        raise ValueError("refused")

    monkeypatch.setattr(key_exchange.serialization, "load_der_private_key", refuse)
    key = DhKeyPair(P, G, seeded_rng("fallback"))
    assert key.backend == "pow"
    peer_x, peer_y = dh.generate(P, G, seeded_rng("peer"))
    assert key.y == pow(G, key.x, P)
    assert key.shared_secret(peer_y) == pow(peer_y, key.x, P).to_bytes(256, "big")
    assert key.shared_secret(peer_y) == dh.shared_secret(P, key.y, peer_x)


def test_dh_falls_back_to_pow_when_openssl_refuses_the_peer_value() -> None:
    class Refusing:
        def exchange(self, peer: object) -> bytes:
            raise ValueError("Error computing shared key.")

    key = DhKeyPair(P, G, seeded_rng("refusing"))
    key._key = Refusing()  # type: ignore[assignment]
    peer = pow(G, 0xC0FFEE, P)
    assert key.shared_secret(peer) == pow(peer, key.x, P).to_bytes(256, "big")


@pytest.mark.parametrize(
    "p, g",
    [
        (2**1024 - 1, 5),  # odd, composite: a server may send any p
        (P, 5),  # a generator other than ffdhe's 2
    ],
)
def test_dh_agrees_with_pow_for_groups_a_server_may_send(p: int, g: int) -> None:
    key = DhKeyPair(p, g, seeded_rng("odd"))
    assert key.y == pow(g, key.x, p)
    peer = pow(g, 0x1234567890ABCDEF, p)
    assert key.shared_secret(peer) == pow(peer, key.x, p).to_bytes(dh.byte_length(p), "big")


def test_dh_agrees_with_pow_for_a_peer_value_outside_the_subgroup() -> None:
    """p - 2 is a quadratic non-residue mod the safe prime p: OpenSSL may refuse it, but
    RFC 4279 only asks for 1 < Y < p-1, so the result must still be the pow() value."""
    key = DhKeyPair(P, G, seeded_rng("subgroup"))
    assert key.shared_secret(P - 2) == pow(P - 2, key.x, P).to_bytes(256, "big")


# Checks the strategies make --------------------------------------------------------------


def _ske_body(p: int, g: int, ys: int) -> bytes:
    return messages.encode_server_key_exchange(ServerKeyExchange(b"", p, g, ys))


@pytest.mark.parametrize(
    "body, alert",
    [
        (_ske_body(2**1023 + 1, 2, 5), None),  # 1024 bits, odd: accepted
        (_ske_body(2**1022 + 1, 2, 5), alerts.INSUFFICIENT_SECURITY),
        (_ske_body(P + 1, 2, 5), alerts.INSUFFICIENT_SECURITY),  # even
        (_ske_body(P, 1, 5), alerts.ILLEGAL_PARAMETER),
        (_ske_body(P, P - 1, 5), alerts.ILLEGAL_PARAMETER),
        (_ske_body(P, 2, 1), alerts.ILLEGAL_PARAMETER),
        (_ske_body(P, 2, P - 1), alerts.ILLEGAL_PARAMETER),
        (b"\x00\x00", alerts.DECODE_ERROR),  # the PSK form under a DHE_PSK suite
    ],
)
def test_dhe_psk_client_checks_the_server_key_exchange(body: bytes, alert: int | None) -> None:
    kx = DhePsk()
    if alert is None:
        assert kx.process_server_key_exchange(body).dh_ys == 5
        return
    with pytest.raises(ProtocolError) as info:
        kx.process_server_key_exchange(body)
    assert info.value.description == alert


@pytest.mark.parametrize("yc", [0, 1, P - 1, P, P + 1])
def test_dhe_psk_server_refuses_a_degenerate_dh_yc(yc: int) -> None:
    server = DhePsk()
    server.server_key_exchange(None)
    with pytest.raises(ProtocolError) as info:
        server.accept_client_key_exchange(ClientKeyExchange(b"id", yc))
    assert info.value.description == alerts.ILLEGAL_PARAMETER


def test_psk_server_key_exchange_only_carries_a_hint() -> None:
    assert Psk().server_key_exchange(None) is None
    ske = Psk().server_key_exchange(b"hint")
    assert ske is not None and ske.psk_identity_hint == b"hint" and ske.dh_p is None
    assert DhePsk().server_key_exchange(None).psk_identity_hint == b""


def test_client_key_exchange_wire_forms() -> None:
    cke, body = Psk().client_key_exchange(b"abc")
    assert body == b"\x00\x03abc" and cke.dh_yc is None
    client = DhePsk(seeded_rng("wire-form"))
    client.process_server_key_exchange(_ske_body(P, G, pow(G, 3, P)))
    cke, body = client.client_key_exchange(b"abc")
    assert cke.dh_yc is not None
    # dh_Yc padded to len(p) = 256 octets, as OpenSSL and GnuTLS send it.
    assert body == b"\x00\x03abc" + b"\x01\x00" + cke.dh_yc.to_bytes(256, "big")


# The suite table ----------------------------------------------------------------------------


EXPECTED = {
    0x00AE: Psk,
    0xC0A4: Psk,
    0xC0A8: Psk,
    0xC0A6: DhePsk,
    0xC0AA: DhePsk,
    0x00B0: Psk,
    0x008C: Psk,
    0x00A8: Psk,
    0x00B2: DhePsk,
}


def test_suite_table_maps_each_suite_to_its_key_exchange() -> None:
    assert set(EXPECTED) == set(SUITES)
    for code, suite in SUITES.items():
        assert suite.key_exchange_class is EXPECTED[code], suite.name
        assert suite.key_exchange_class.name == suite.key_exchange
        assert key_exchange_for(suite) is EXPECTED[code]
        assert ("DHE" in suite.name) == suite.key_exchange_class.uses_dh


def test_every_registered_key_exchange_is_a_strategy() -> None:
    for name, cls in KEY_EXCHANGES.items():
        assert issubclass(cls, KeyExchange) and cls.name == name
    assert key_exchange_for(None) is Psk  # a faulted selection of an unknown suite


# The engine runs the strategy the table names ------------------------------------------------


@pytest.mark.parametrize("suite", [0x00AE, 0xC0A6])
def test_engine_calls_the_strategy_of_the_suite(
    suite: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    base = EXPECTED[suite]

    class Spy(base):  # type: ignore[valid-type, misc]
        def server_key_exchange(self, hint: bytes | None) -> ServerKeyExchange | None:
            calls.append("server_key_exchange")
            return super().server_key_exchange(hint)

        def process_server_key_exchange(self, body: bytes) -> ServerKeyExchange:
            calls.append("process_server_key_exchange")
            return super().process_server_key_exchange(body)

        def client_key_exchange(self, psk_identity: bytes) -> tuple[ClientKeyExchange, bytes]:
            calls.append("client_key_exchange")
            return super().client_key_exchange(psk_identity)

        def accept_client_key_exchange(self, cke: ClientKeyExchange) -> None:
            calls.append("accept_client_key_exchange")
            super().accept_client_key_exchange(cke)

        def premaster(self, psk: bytes) -> bytes:
            calls.append("premaster")
            return super().premaster(psk)

    monkeypatch.setitem(KEY_EXCHANGES, base.name, Spy)
    client, server = client_and_server(suite, b"id", PSK)
    client.start()
    run_in_memory(client, server)
    assert client.established and server.established
    sent_ske = base is DhePsk
    assert calls.count("server_key_exchange") == 1
    assert calls.count("process_server_key_exchange") == int(sent_ske)
    assert calls.count("client_key_exchange") == 1
    assert calls.count("accept_client_key_exchange") == 1
    assert calls.count("premaster") == 4  # own and peer's premaster, on each side
    assert client.export_keying_material(b"EXPORTER-test", 32) == (
        server.export_keying_material(b"EXPORTER-test", 32)
    )
