"""The DTLS engine over real UDP on 127.0.0.1 against OpenSSL and GnuTLS, both roles,
every profile suite. The oracle is the RFC 5705 exporter value the tool prints (or, for
gnutls-serv, which prints none, the echoed application data)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness.tls.dtls import DtlsClientConnection, DtlsServerConnection
from harness.tls.dtls_transport import run_dtls_client, run_dtls_server_once
from harness.tls.engine import ClientConfig, ServerConfig
from harness.tls.suites import PROFILE_SUITES, SUITES
from tests.peers import (
    HOST,
    free_udp_port,
    gnutls_client_args,
    gnutls_dtls,
    gnutls_server_args,
    openssl_dtls_client_args,
    openssl_dtls_server_args,
    running,
    write_psk_file,
)

LABEL = "EXPORTER-oneM2M-Connection"
PSK = bytes.fromhex("0b7e151628aed2a6abf7158809cf4f3c")
IDENTITY = "0123456789abcdef@maf.example.com"
HINT = "maf.example.com"
TIMEOUT = 5.0
IDS = [SUITES[c].name for c in PROFILE_SUITES]


def _udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))
    return sock


# OpenSSL ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", PROFILE_SUITES, ids=IDS)
def test_engine_client_vs_openssl_server(code: int) -> None:
    port = free_udp_port()
    args = openssl_dtls_server_args(port, PSK, IDENTITY, HINT, SUITES[code].openssl, LABEL)
    with running(args, ready=r"^ACCEPT") as peer:
        client = DtlsClientConnection(ClientConfig(IDENTITY.encode(), PSK, [code], "b.example.com"))
        outcome = run_dtls_client(
            client, (HOST, port), TIMEOUT, until="quiet", application_data=b"ping\n"
        )
        assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
        expected = peer.required_keying_material(TIMEOUT)
        assert client.export_keying_material(LABEL.encode(), 48, None) == expected
        assert client.hello_verify_requests_received == 1  # s_server does the cookie exchange
        assert client.psk_identity_hint == HINT.encode()
        assert peer.wait_for(r"^ping$", TIMEOUT), peer.output
    sent = [w for w in client.trace.wire if w.direction == "sent"]
    assert client.trace.transport == "dtls" and client.trace.remote == (HOST, port)
    assert sent and all(w.data[1:3] == b"\xfe\xfd" for w in sent)


@pytest.mark.parametrize("ems", [True, False], ids=["ems", "no-ems"])
@pytest.mark.parametrize("code", PROFILE_SUITES, ids=IDS)
def test_engine_server_vs_openssl_client(code: int, ems: bool) -> None:
    with _udp_socket() as sock:
        port = sock.getsockname()[1]
        args = openssl_dtls_client_args(
            port, PSK, IDENTITY, SUITES[code].openssl, LABEL, "b.example.com"
        )
        with running(args, ready=None) as peer:
            server = DtlsServerConnection(
                ServerConfig({IDENTITY.encode(): PSK}, [code], HINT.encode(), ems)
            )
            outcome = run_dtls_server_once(server, sock, TIMEOUT)
            assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
            expected = peer.required_keying_material(TIMEOUT)
            assert server.export_keying_material(LABEL.encode(), 48, None) == expected
            assert peer.wait_for(rf"Extended master secret: {'yes' if ems else 'no'}", TIMEOUT), (
                peer.output
            )
    assert server.hello_verify_requests_sent == 1 and server.cookie_verified
    assert server.server_name == "b.example.com" and server.extended_master_secret is ems


def test_fragmented_dhe_both_ways_with_openssl_at_mtu_256() -> None:
    """Small MTU both sides: the 2048-bit ServerKeyExchange crosses in fragments."""
    code = 0xC0A6
    port = free_udp_port()
    args = openssl_dtls_server_args(port, PSK, IDENTITY, HINT, SUITES[code].openssl, LABEL, mtu=256)
    with running(args, ready=r"^ACCEPT") as peer:
        client = DtlsClientConnection(ClientConfig(IDENTITY.encode(), PSK, [code]), mtu=256)
        outcome = run_dtls_client(client, (HOST, port), TIMEOUT)
        assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
        assert client.export_keying_material(LABEL.encode(), 48) == peer.keying_material(TIMEOUT)
    assert client.framing.fragments_received > 5
    assert all(len(w.data) <= 256 for w in client.trace.wire if w.direction == "sent")
    with _udp_socket() as sock:
        args = openssl_dtls_client_args(
            sock.getsockname()[1], PSK, IDENTITY, SUITES[code].openssl, LABEL, None, mtu=256
        )
        with running(args, ready=None) as peer:
            server = DtlsServerConnection(ServerConfig({IDENTITY.encode(): PSK}, [code]), mtu=256)
            outcome = run_dtls_server_once(server, sock, TIMEOUT)
            assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
            assert server.export_keying_material(LABEL.encode(), 48) == peer.keying_material(
                TIMEOUT
            )
    assert all(len(w.data) <= 256 for w in server.trace.wire if w.direction == "sent")


def test_openssl_client_unknown_identity_gets_alert() -> None:
    with _udp_socket() as sock:
        args = openssl_dtls_client_args(
            sock.getsockname()[1], PSK, "nobody", "PSK-AES128-CCM8:@SECLEVEL=0", LABEL, None
        )
        with running(args, ready=None) as peer:
            server = DtlsServerConnection(ServerConfig({IDENTITY.encode(): PSK}, [0xC0A8]))
            outcome = run_dtls_server_once(server, sock, TIMEOUT)
            assert outcome.kind == "alert_sent"
            assert server.alert_sent == ("fatal", "unknown_psk_identity")
            assert peer.wait_for(r"unknown psk identity", TIMEOUT), peer.output


def test_silent_server_is_timeout() -> None:
    """UDP has no close: a peer that never answers ends as "timeout", bounded."""
    with _udp_socket() as silent:
        client = DtlsClientConnection(ClientConfig(IDENTITY.encode(), PSK, [0xC0A8]))
        outcome = run_dtls_client(client, silent.getsockname()[:2], 1.5)
    assert outcome.kind == "timeout" and client.retransmissions == 1


# GnuTLS ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", PROFILE_SUITES, ids=IDS)
def test_engine_client_vs_gnutls_server(code: int, tmp_path: Path) -> None:
    port = free_udp_port()
    psk_file = write_psk_file(str(tmp_path), IDENTITY, PSK)
    args = gnutls_dtls(gnutls_server_args(port, psk_file, HINT, SUITES[code].gnutls))
    with running(args, ready=r"listening on IPv4") as peer:
        client = DtlsClientConnection(ClientConfig(IDENTITY.encode(), PSK, [code], "b.example.com"))
        outcome = run_dtls_client(
            client, (HOST, port), TIMEOUT, until="quiet", application_data=b"ping oneM2M\n"
        )
        assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
        assert outcome.application_data == b"ping oneM2M\n", peer.output
        assert client.hello_verify_requests_received == 1
        assert peer.wait_for(r"Sending hello verify request", TIMEOUT), peer.output


@pytest.mark.parametrize("code", PROFILE_SUITES, ids=IDS)
def test_engine_server_vs_gnutls_client(code: int) -> None:
    suite = SUITES[code]
    with _udp_socket() as sock:
        port = sock.getsockname()[1]
        args = gnutls_dtls(
            gnutls_client_args(port, PSK, IDENTITY, suite.gnutls, LABEL, "b.example.com")
        )
        with running(args, ready=None) as peer:
            server = DtlsServerConnection(ServerConfig({IDENTITY.encode(): PSK}, [code], b"hint"))
            outcome = run_dtls_server_once(server, sock, TIMEOUT)
            assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
            expected = peer.gnutls_keying_material(suite.key_exchange == "DHE_PSK", TIMEOUT)
            assert server.export_keying_material(LABEL.encode(), 48, None) == expected
