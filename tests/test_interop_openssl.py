"""The engine against OpenSSL's s_server / s_client for every profile suite, both roles.

The independent oracle is the RFC 5705 exporter value OpenSSL prints
(``-keymatexport``): equal values mean both sides derived the same master secret and
randoms, so key exchange, PRF, EMS and the exporter all agree with OpenSSL.
"""

from __future__ import annotations

import re
import time

import pytest

from harness.tls.engine import ClientConfig, ClientConnection, ServerConfig, ServerConnection
from harness.tls.suites import PROFILE_SUITES, SUITES
from harness.tls.transport import drive, run_client
from tests.peers import (
    HOST,
    accepted,
    free_port,
    openssl_client_args,
    openssl_server_args,
    running,
    tcp_listener,
)

LABEL = "EXPORTER-oneM2M-Connection"
PSK = bytes.fromhex("0b7e151628aed2a6abf7158809cf4f3c")
IDENTITY = "0123456789abcdef0123456789abcdef@maf.example.com"
HINT = "maf.example.com"
TIMEOUT = 5.0


def _sent_extension(output: str, name: str) -> bytes | None:
    """The body of extension ``name`` from ``openssl -trace`` output, or None if absent."""
    match = re.search(
        rf"extension_type={name}\(\d+\), length=(\d+)\n((?:\s+[0-9a-f]{{4}} - .*\n)*)", output
    )
    if match is None:
        return None
    data = b""
    for line in match.group(2).splitlines():
        hexpart = line.split(" - ", 1)[1][:47]  # 16 octets; the ASCII column follows
        data += bytes.fromhex("".join(re.findall(r"[0-9a-f]{2}", hexpart)))
    return data


@pytest.mark.parametrize("ems", [True, False], ids=["ems", "no-ems"])
@pytest.mark.parametrize("code", PROFILE_SUITES, ids=[SUITES[c].name for c in PROFILE_SUITES])
def test_engine_client_vs_openssl_server(code: int, ems: bool) -> None:
    suite = SUITES[code]
    port = free_port()
    args = openssl_server_args(port, PSK, IDENTITY, HINT, suite.openssl, LABEL) + ["-trace"]
    with running(args, ready=r"^ACCEPT") as peer:
        client = ClientConnection(
            ClientConfig(IDENTITY.encode(), PSK, [code], "b.example.com", ems)
        )
        outcome = run_client(
            client, (HOST, port), TIMEOUT, until="quiet", application_data=b"ping\n"
        )
        assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
        expected = peer.required_keying_material(TIMEOUT)
        assert client.export_keying_material(LABEL.encode(), 48, None) == expected
        assert client.negotiated_suite == code
        assert client.extended_master_secret is ems
        assert client.psk_identity_hint == HINT.encode()
        assert peer.wait_for(r"^ping$", TIMEOUT), peer.output
        sni = _sent_extension(peer.output, "server_name")
        assert sni is not None and sni.endswith(b"b.example.com")


@pytest.mark.parametrize("ems", [True, False], ids=["ems", "no-ems"])
@pytest.mark.parametrize("code", PROFILE_SUITES, ids=[SUITES[c].name for c in PROFILE_SUITES])
def test_engine_server_vs_openssl_client(code: int, ems: bool) -> None:
    suite = SUITES[code]
    with tcp_listener() as listener:
        port = listener.getsockname()[1]
        args = openssl_client_args(port, PSK, IDENTITY, suite.openssl, LABEL, "b.example.com")
        with running(args, ready=None) as peer:
            server = ServerConnection(
                ServerConfig({IDENTITY.encode(): PSK}, [code], HINT.encode(), ems)
            )
            with accepted(listener, TIMEOUT) as sock:
                server.start()
                outcome = drive(server, sock, time.monotonic() + TIMEOUT)
                assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
                expected = peer.required_keying_material(TIMEOUT)
                assert server.export_keying_material(LABEL.encode(), 48, None) == expected
                assert peer.wait_for(
                    rf"Extended master secret: {'yes' if ems else 'no'}", TIMEOUT
                ), peer.output
                server.close()
                sock.sendall(server.data_to_send())
        assert server.server_name == "b.example.com"
        assert server.psk_identity == IDENTITY.encode()
        assert server.extended_master_secret is ems


EXTRA_SUITES = [code for code in SUITES if code not in PROFILE_SUITES]


@pytest.mark.parametrize("code", EXTRA_SUITES, ids=[SUITES[c].name for c in EXTRA_SUITES])
def test_extra_suites_both_roles(code: int) -> None:
    """The suites outside the profile work too, so negative tests can rely on them."""
    suite = SUITES[code]
    port = free_port()
    with running(
        openssl_server_args(port, PSK, IDENTITY, None, suite.openssl, LABEL), ready=r"^ACCEPT"
    ) as peer:
        client = ClientConnection(ClientConfig(IDENTITY.encode(), PSK, [code]))
        outcome = run_client(client, (HOST, port), TIMEOUT)
        assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
        assert client.export_keying_material(LABEL.encode(), 48, None) == peer.keying_material(
            TIMEOUT
        )
    with tcp_listener() as listener:
        args = openssl_client_args(
            listener.getsockname()[1], PSK, IDENTITY, suite.openssl, LABEL, None
        )
        with running(args, ready=None) as peer:
            server = ServerConnection(ServerConfig({IDENTITY.encode(): PSK}, [code]))
            with accepted(listener, TIMEOUT) as sock:
                server.start()
                outcome = drive(server, sock, time.monotonic() + TIMEOUT)
                assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
                assert server.export_keying_material(
                    LABEL.encode(), 48, None
                ) == peer.keying_material(TIMEOUT)


def test_openssl_client_unknown_identity_gets_alert() -> None:
    with tcp_listener() as listener:
        port = listener.getsockname()[1]
        args = openssl_client_args(port, PSK, "nobody", "PSK-AES128-CBC-SHA256", LABEL, None)
        with running(args, ready=None) as peer:
            server = ServerConnection(ServerConfig({IDENTITY.encode(): PSK}, [0x00AE]))
            with accepted(listener, TIMEOUT) as sock:
                server.start()
                outcome = drive(server, sock, time.monotonic() + TIMEOUT)
            assert outcome.kind == "alert_sent"
            assert server.alert_sent == ("fatal", "unknown_psk_identity")
            assert server.server_name is None
            assert peer.wait_for(r"alert unknown psk identity|unknown psk identity", TIMEOUT), (
                peer.output
            )


def test_openssl_server_wrong_key_fails() -> None:
    port = free_port()
    with running(
        openssl_server_args(port, PSK, IDENTITY, None, "PSK-AES128-CCM", LABEL), ready=r"^ACCEPT"
    ) as peer:
        client = ClientConnection(ClientConfig(IDENTITY.encode(), bytes(16), [0xC0A4]))
        outcome = run_client(client, (HOST, port), TIMEOUT)
        assert outcome.kind == "alert_received", f"{outcome.reason}\n{peer.output}"
        assert client.alert_received == ("fatal", "bad_record_mac")
        assert client.psk_identity_hint is None  # no -psk_hint: no ServerKeyExchange
