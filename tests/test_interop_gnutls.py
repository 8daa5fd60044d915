"""The engine against GnuTLS's gnutls-serv / gnutls-cli for every profile suite, both roles.

As engine client: gnutls-serv in echo mode; the oracle is the echoed application data
(the server cannot print exporter values) plus GnuTLS's own connection summary.
As engine server: gnutls-cli prints the RFC 5705 exporter value (``--keymatexport``),
which must equal the engine's.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.tls.engine import ClientConfig, ClientConnection, ServerConfig, ServerConnection
from harness.tls.suites import PROFILE_SUITES, SUITES
from harness.tls.transport import drive, run_client
from tests.peers import (
    HOST,
    accepted,
    free_port,
    gnutls_client_args,
    gnutls_server_args,
    running,
    tcp_listener,
    wait_port,
    write_psk_file,
)

LABEL = "EXPORTER-oneM2M-Connection"
PSK = bytes.fromhex("0b7e151628aed2a6abf7158809cf4f3c")
IDENTITY = "0123456789abcdef@maf.example.com"
TIMEOUT = 5.0


@pytest.mark.parametrize("ems", [True, False], ids=["ems", "no-ems"])
@pytest.mark.parametrize("code", PROFILE_SUITES, ids=[SUITES[c].name for c in PROFILE_SUITES])
def test_engine_client_vs_gnutls_server(code: int, ems: bool, tmp_path: Path) -> None:
    suite = SUITES[code]
    port = free_port()
    psk_file = write_psk_file(str(tmp_path), IDENTITY, PSK)
    with running(
        gnutls_server_args(port, psk_file, "maf.example.com", suite.gnutls), ready=r"listening"
    ) as peer:
        assert wait_port(port, TIMEOUT), peer.output
        client = ClientConnection(
            ClientConfig(IDENTITY.encode(), PSK, [code], "b.example.com", ems)
        )
        outcome = run_client(
            client, (HOST, port), TIMEOUT, until="quiet", application_data=b"ping oneM2M\n"
        )
        assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
        assert outcome.application_data == b"ping oneM2M\n", peer.output
        assert client.negotiated_suite == code and client.extended_master_secret is ems
        assert client.psk_identity_hint == b"maf.example.com"
        summary = peer.wait_for(r"- Options: (.*)", TIMEOUT)
        assert summary is not None, peer.output
        assert ("extended master secret" in summary.group(1)) is ems
        assert peer.wait_for(rf"PSK authentication\. Connected as '{IDENTITY}'", TIMEOUT), (
            peer.output
        )


@pytest.mark.parametrize("ems", [True, False], ids=["ems", "no-ems"])
@pytest.mark.parametrize("code", PROFILE_SUITES, ids=[SUITES[c].name for c in PROFILE_SUITES])
def test_engine_server_vs_gnutls_client(code: int, ems: bool) -> None:
    suite = SUITES[code]
    with tcp_listener() as listener:
        port = listener.getsockname()[1]
        args = gnutls_client_args(port, PSK, IDENTITY, suite.gnutls, LABEL, "b.example.com")
        with running(args, ready=None) as peer:
            server = ServerConnection(ServerConfig({IDENTITY.encode(): PSK}, [code], b"hint", ems))
            with accepted(listener, TIMEOUT) as sock:
                server.start()
                outcome = drive(server, sock, time.monotonic() + TIMEOUT)
                assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
                expected = peer.gnutls_keying_material(suite.key_exchange == "DHE_PSK", TIMEOUT)
                assert server.export_keying_material(LABEL.encode(), 48, None) == expected
                server.close()
                sock.sendall(server.data_to_send())
        assert server.server_name == "b.example.com"
        assert server.extended_master_secret is ems
