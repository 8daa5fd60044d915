"""TP/SAEF-PSK/A/04 judges an offer, so it needs one (issue 12 item 5).

A crafted Entity A sends its ClientHello over a real loopback socket to the harness
playing Entity B (harness.legs.tls_psk.play_server, as a campaign does); the Exchange it
yields goes to the A/04 check. A ClientHello with no cipher suite, no compression method,
version 2.0, only the signalling value, or sent twice used to pass (a check over an
empty set, or over a ClientHello the harness itself refused); each must fail now, and a
well-formed ClientHello offering profile suites still passes.
"""

from __future__ import annotations

import os
import socket
import threading

import pytest

from harness import checks
from harness.legs.tls_psk import play_server
from harness.observations import Exchange, PeerPlan
from harness.spec_profile import SpecProfile
from harness.sut.contract import Role, Transport
from harness.verdict import SutFailure

IDENTITY = b"sensor-1@in-cse.m2m.example.com"
PSK = bytes(range(16))
SPEC = SpecProfile()


def client_hello(
    version: bytes = b"\x03\x03",
    suites: tuple[int, ...] = (0x00AE, 0xC0A8),
    compression: bytes = b"\x00",
) -> bytes:
    """One ClientHello handshake message (header included), built octet by octet."""
    suite_bytes = b"".join(s.to_bytes(2, "big") for s in suites)
    body = (
        version
        + os.urandom(32)
        + b"\x00"  # session_id
        + len(suite_bytes).to_bytes(2, "big")
        + suite_bytes
        + len(compression).to_bytes(1, "big")
        + compression
    )
    return b"\x01" + len(body).to_bytes(3, "big") + body


def record(payload: bytes, version: bytes = b"\x03\x01") -> bytes:
    """A handshake record; {03,01} is fine for a first ClientHello (RFC 5246 E.1)."""
    return b"\x16" + version + len(payload).to_bytes(2, "big") + payload


def play(*flights: bytes) -> Exchange:
    """The harness as Entity B against a client that sends these flights, then reads
    until the harness closes (or 2 s pass)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    plan = PeerPlan(
        role=Role.ENTITY_B,
        psk_identity=IDENTITY,
        psk=PSK,
        suites=[0x00AE, 0xC0A8],
        psk_table={IDENTITY: PSK},
    )

    def sut() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            for flight in flights:
                sock.sendall(flight)
                try:
                    sock.settimeout(0.3)
                    sock.recv(65536)
                except (TimeoutError, ConnectionError):
                    pass
            sock.settimeout(2)
            try:
                while sock.recv(65536):
                    pass
            except (TimeoutError, ConnectionError):
                pass

    thread = threading.Thread(target=sut, daemon=True)
    thread.start()
    with listener:
        played = play_server(plan, listener, Transport.TLS, timeout=2.0)
    thread.join(timeout=5)
    return played.exchange(Role.ENTITY_B, plan, None)


def test_a_well_formed_offer_passes() -> None:
    ex = play(record(client_hello()))
    assert "only suites of the profile" in checks.expect_offers_only_profile(ex, SPEC)


@pytest.mark.parametrize(
    ("flights", "reason"),
    [
        ((record(client_hello(suites=())),), "empty cipher_suites"),
        ((record(client_hello(compression=b"")),), "empty compression_methods"),
        ((record(client_hello(version=b"\x02\x00")),), "protocol_version"),
        ((record(client_hello()), record(client_hello(), b"\x03\x03")), "unexpected_message"),
    ],
    ids=["no cipher suites", "no compression method", "version 2.0", "sent twice"],
)
def test_a_refused_client_hello_is_no_pass(flights: tuple[bytes, ...], reason: str) -> None:
    ex = play(*flights)
    with pytest.raises(SutFailure, match="the harness refused the SUT's ClientHello") as err:
        checks.expect_offers_only_profile(ex, SPEC)
    assert reason in str(err.value)


def test_only_the_signalling_value_is_no_pass() -> None:
    ex = play(record(client_hello(suites=(0x00FF,))))
    with pytest.raises(SutFailure):
        checks.expect_offers_only_profile(ex, SPEC)


def test_a_second_client_hello_fails_the_handshake() -> None:
    """A ClientHello where the ClientKeyExchange belongs is refused (unexpected_message;
    its record version 3.1 would be refused from the ClientKeyExchange on, once the
    client has shown it read the ServerHello): the offer A/04 judged was valid and
    answered; the purposes needing completion fail."""
    ex = play(record(client_hello()), record(client_hello()))
    assert ex.ending.kind == "alert_sent" and ex.ending.alert == "unexpected_message"
    with pytest.raises(SutFailure, match="did not complete"):
        checks.expect_established(ex)
