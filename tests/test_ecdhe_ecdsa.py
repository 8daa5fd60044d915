"""ECDHE_ECDSA (RFC 8422) in the engine: both suites, both roles, TLS and DTLS, with and
without a client certificate, the signature and callback refusals, and live interop.

The oracle between two engines is the RFC 5705 exporter on both sides (and each side's
Finished check); against OpenSSL and GnuTLS it is the exporter value the tool prints, or
the data gnutls-serv echoes. Certificates are P-256 self-signed ones made here with
``cryptography``; the engine does no PKI, so the tools are run without CA checks and the
engine's verification callback is what the refusal tests drive.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness.tls import alerts, certificates
from harness.tls.alerts import ProtocolError
from harness.tls.dtls import DtlsClientConnection, DtlsServerConnection
from harness.tls.dtls_link import LinkPolicy, SimulatedLink
from harness.tls.dtls_transport import run_dtls_client, run_dtls_server_once
from harness.tls.engine import (
    ClientConfig,
    ClientConnection,
    Connection,
    ServerConfig,
    ServerConnection,
    run_in_memory,
)
from harness.tls.faults import Faults
from harness.tls.key_exchange import EcdheEcdsa, key_exchange_for
from harness.tls.messages import CERTIFICATE
from harness.tls.suites import CERTIFICATE_SUITES, ENGINE_SUITES, PROFILE_SUITES, SUITES
from harness.tls.transport import drive, run_client
from tests.peers import (
    HOST,
    _line_buffered,
    accepted,
    free_port,
    free_udp_port,
    gnutls_dtls,
    gnutls_priority,
    openssl_cipher,
    require_binary,
    running,
    tcp_listener,
    wait_port,
)

LABEL = "EXPORTER-oneM2M-Connection"
TIMEOUT = 5.0
CODES = (0xC023, 0xC0AE)
IDS = ["ECDHE-CBC-SHA256", "ECDHE-CCM8"]
SMALL_MTU = 256  # far below a certificate flight, so Certificate crosses in fragments

Cert = tuple[bytes, ec.EllipticCurvePrivateKey]


def self_signed(name: str, days: int = 30) -> Cert:
    """A P-256 self-signed certificate (subject CN and SAN dNSName = ``name``) and its key.
    A long SAN list makes it larger than a small-MTU datagram."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    alt = [x509.DNSName(name)] + [x509.DNSName(f"alt{i}.{name}") for i in range(8)]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER), key


SERVER = self_signed("b.example.com")
CLIENT = self_signed("a.example.com")


def write_pem(directory: Path, stem: str, cert: Cert) -> tuple[str, str]:
    """(certificate file, key file) in PEM, for the command-line tools."""
    der, key = cert
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    cert_path.write_bytes(pem)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def client_config(code: int, cert: Cert | None = CLIENT, **kw: object) -> ClientConfig:
    chain, key = ([cert[0]], cert[1]) if cert else ([], None)
    return ClientConfig(b"", b"", [code], certificate_chain=chain, private_key=key, **kw)  # type: ignore[arg-type]


def server_config(code: int, mode: str = "none", cert: Cert = SERVER, **kw: object) -> ServerConfig:
    return ServerConfig(
        {},
        [code],
        certificate_chain=[cert[0]],
        private_key=cert[1],
        client_certificate=mode,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def pair(
    code: int, dtls: bool, client: ClientConfig, server: ServerConfig
) -> tuple[ClientConnection, ServerConnection]:
    if dtls:
        return (
            DtlsClientConnection(client, mtu=SMALL_MTU),
            DtlsServerConnection(server, mtu=SMALL_MTU, cookie_secret=b"k" * 32),
        )
    return ClientConnection(client), ServerConnection(server)


def run(client: ClientConnection, server: ServerConnection) -> None:
    if isinstance(client, DtlsClientConnection):
        link = SimulatedLink(client, server)  # type: ignore[arg-type]
        link.start()
        link.run(max_time=60.0)
    else:
        client.start()
        run_in_memory(client, server)


def exporter(conn: Connection) -> bytes:
    return conn.export_keying_material(LABEL.encode(), 48, None)


# The suite table -----------------------------------------------------------------------------


def test_certificate_suites_are_engine_suites_outside_the_psk_tables() -> None:
    assert set(CERTIFICATE_SUITES) == set(CODES)
    assert not set(CODES) & set(SUITES) and not set(CODES) & set(PROFILE_SUITES)
    for code in CODES:
        suite = ENGINE_SUITES[code]
        assert key_exchange_for(suite) is EcdheEcdsa and not suite.profile
    assert CERTIFICATE_SUITES[0xC0AE].cipher == "AES_128_CCM_8"
    assert CERTIFICATE_SUITES[0xC023].cipher == "AES_128_CBC"


# The strategy on its own ----------------------------------------------------------------------


def _strategies() -> tuple[EcdheEcdsa, EcdheEcdsa, bytes]:
    """Both sides of one exchange through the strategy API; returns the SKE body."""
    randoms = (b"c" * 32, b"s" * 32)
    server, client = EcdheEcdsa(), EcdheEcdsa()
    server.bind(*randoms, signing_key=SERVER[1])
    client.bind(*randoms, peer_key=SERVER[1].public_key())
    body = server.server_key_exchange(None).encode()
    return server, client, body


def test_strategy_premaster_is_the_shared_x_coordinate() -> None:
    server, client, body = _strategies()
    ske = client.process_server_key_exchange(body)
    cke, cke_body = client.client_key_exchange(b"")
    server.accept_client_key_exchange(server.decode_client_key_exchange(cke_body))
    assert len(client.premaster(b"ignored")) == 32
    assert client.premaster(b"") == server.premaster(b"psk is ignored")
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), cke.point)  # on the curve
    assert cke.point != ske.point and len(cke.point) == 65
    assert ske.named_curve == 23 and len(ske.point) == 65 and ske.point[0] == 4


@pytest.mark.parametrize(
    ("edit", "alert"),
    [
        (lambda b: b[:1] + b"\x00\x18" + b[3:], "illegal_parameter"),  # secp384r1
        (lambda b: b[:3] + b"\x41\x03" + b[5:], "illegal_parameter"),  # compressed form
        (lambda b: b[:-3] + bytes([b[-3] ^ 1]) + b[-2:], "decrypt_error"),  # signature
        (lambda b: b[: 4 + 65] + b"\x04\x01" + b[4 + 67 :], "illegal_parameter"),  # sha256/rsa
        (lambda b: b + b"\x00", "decode_error"),
    ],
    ids=["other-curve", "not-uncompressed", "bad-signature", "other-algorithm", "trailing"],
)
def test_strategy_refuses_a_bad_server_key_exchange(
    edit: Callable[[bytes], bytes], alert: str
) -> None:
    _, client, body = _strategies()
    with pytest.raises(ProtocolError) as refused:
        client.process_server_key_exchange(edit(body))
    assert alerts.description_name(refused.value.description) == alert


def test_strategy_refuses_a_client_point_off_the_curve() -> None:
    server, _, _ = _strategies()
    off_curve = b"\x04" + (1).to_bytes(32, "big") + (1).to_bytes(32, "big")
    with pytest.raises(ProtocolError) as refused:
        server.accept_client_key_exchange(server.decode_client_key_exchange(b"\x41" + off_curve))
    assert refused.value.description == alerts.ILLEGAL_PARAMETER


def test_leaf_key_the_engine_cannot_use_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "p384")])
    now = datetime.datetime.now(datetime.UTC)
    p384 = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    ).public_bytes(serialization.Encoding.DER)  # fmt: skip
    for chain, alert in (([p384], "unsupported_certificate"), ([b"\x30\x00"], "bad_certificate")):
        with pytest.raises(ProtocolError) as refused:
            certificates.leaf_public_key(chain, "server")
        assert alerts.description_name(refused.value.description) == alert
    assert "parse_error" in certificates.describe_certificate(b"\x30\x00")
    assert certificates.describe_certificate(p384)["public_key_curve"] == "secp384r1"


def test_corrupt_signature_fault_names_its_field() -> None:
    with pytest.raises(ValueError, match="corrupt_signature"):
        Faults(corrupt_signature="Finished")
    assert Faults.from_json({"corrupt_signature": "CertificateVerify"}).any


# Engine to engine ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["none", "require"], ids=["server-auth", "mutual-auth"])
@pytest.mark.parametrize("dtls", [False, True], ids=["tls", "dtls"])
@pytest.mark.parametrize("code", CODES, ids=IDS)
def test_engine_to_engine(code: int, dtls: bool, mode: str) -> None:
    seen: dict[str, list[bytes]] = {}

    def keep(who: str) -> certificates.CertificateCheck:
        def check(chain: list[bytes]) -> None:
            seen[who] = chain

        return check

    client, server = pair(
        code,
        dtls,
        client_config(code, verify_certificate=keep("client")),
        server_config(code, mode, verify_certificate=keep("server")),
    )
    run(client, server)
    assert client.established and server.established, (client.error, server.error)
    assert client.negotiated_suite == server.negotiated_suite == code
    assert exporter(client) == exporter(server)
    assert seen["client"] == client.peer_certificate_chain == [SERVER[0]]
    assert client.certificate_verdict == "accepted"
    mutual = mode == "require"
    assert client.certificate_requested is server.certificate_requested is mutual
    if mutual:
        assert seen["server"] == server.peer_certificate_chain == [CLIENT[0]]
        assert len(server.trace.of_type("CertificateVerify", "received")) == 1
    else:
        assert "server" not in seen and server.peer_certificate_chain is None
        assert not client.trace.of_type("CertificateVerify", "sent")
    # The trace carries the chain and what a verifier reads of it.
    (entry,) = client.trace.of_type("Certificate", "received")
    (leaf,) = entry.fields["certificates"]
    assert bytes.fromhex(leaf["der"]) == SERVER[0]
    assert leaf["subject_common_names"] == ["b.example.com"]
    assert "b.example.com" in leaf["san_dns_names"] and leaf["public_key_curve"] == "secp256r1"
    spki = (
        x509.load_der_x509_certificate(SERVER[0])
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert leaf["public_key_sha256"] == hashlib.sha256(spki).hexdigest()
    json.dumps([client.trace.to_json(), server.trace.to_json()])  # reports can carry it
    (ske,) = client.trace.of_type("ServerKeyExchange", "received")
    assert ske.fields["named_curve"] == 23 and ske.fields["signature_algorithm"] == [4, 3]
    if dtls:
        for conn in (client, server):
            assert all(len(w.data) <= SMALL_MTU for w in conn.trace.wire if w.direction == "sent")
        # The certificate flight crossed in fragments and was reassembled.
        assert len(SERVER[0]) > SMALL_MTU and client.framing.fragments_received > 6
        assert entry.raw[0] == CERTIFICATE


@pytest.mark.parametrize("seed", range(3))
def test_dtls_certificate_flights_survive_loss_and_reordering(seed: int) -> None:
    """Fragments of the certificate flights lost (30 %) or reordered: retransmission
    and reassembly still bring both sides to the same keys."""
    client, server = pair(0xC0AE, True, client_config(0xC0AE), server_config(0xC0AE, "require"))
    policy = LinkPolicy(loss=0.3, reorder=frozenset({2, 3, 5}))
    link = SimulatedLink(client, server, c2s=policy, s2c=policy, seed=seed)  # type: ignore[arg-type]
    link.start()
    link.run(max_time=600.0)
    assert client.established and server.established, (client.error, server.error)
    assert exporter(client) == exporter(server)
    assert any(e.action == "lost" for e in link.log)


def test_client_without_certificate_answers_a_request_with_an_empty_one() -> None:
    client, server = pair(
        0xC0AE, False, client_config(0xC0AE, None), server_config(0xC0AE, "request")
    )
    run(client, server)
    assert client.established and server.established
    assert server.peer_certificate_chain == [] and exporter(client) == exporter(server)
    assert not client.trace.of_type("CertificateVerify", "sent")


@pytest.mark.parametrize("dtls", [False, True], ids=["tls", "dtls"])
def test_required_client_certificate_missing_is_handshake_failure(dtls: bool) -> None:
    client, server = pair(
        0xC0AE, dtls, client_config(0xC0AE, None), server_config(0xC0AE, "require")
    )
    run(client, server)
    assert not server.established
    assert server.alert_sent == ("fatal", "handshake_failure")


# Refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtls", [False, True], ids=["tls", "dtls"])
@pytest.mark.parametrize("code", CODES, ids=IDS)
def test_bad_server_key_exchange_signature_is_decrypt_error(code: int, dtls: bool) -> None:
    faults = Faults(corrupt_signature="ServerKeyExchange")
    client, server = pair(code, dtls, client_config(code), server_config(code, faults=faults))
    run(client, server)
    assert not client.established
    assert client.alert_sent == ("fatal", "decrypt_error")
    assert "ServerKeyExchange signature" in (client.error or "")
    assert server.alert_received == ("fatal", "decrypt_error")


@pytest.mark.parametrize("dtls", [False, True], ids=["tls", "dtls"])
@pytest.mark.parametrize("code", CODES, ids=IDS)
def test_bad_certificate_verify_is_decrypt_error(code: int, dtls: bool) -> None:
    faults = Faults(corrupt_signature="CertificateVerify")
    client, server = pair(
        code, dtls, client_config(code, faults=faults), server_config(code, "require")
    )
    run(client, server)
    assert not server.established
    assert server.alert_sent == ("fatal", "decrypt_error")
    assert "CertificateVerify signature" in (server.error or "")


def test_key_that_is_not_the_certificate_key_is_decrypt_error() -> None:
    """Without any fault: a server signing with a key other than its certificate's."""
    other = self_signed("b.example.com")[1]
    server_cfg = ServerConfig({}, [0xC023], certificate_chain=[SERVER[0]], private_key=other)
    client, server = pair(0xC023, False, client_config(0xC023), server_cfg)
    run(client, server)
    assert client.alert_sent == ("fatal", "decrypt_error")
    # And a client proving a key that is not its certificate's.
    client_cfg = ClientConfig(b"", b"", [0xC023], certificate_chain=[CLIENT[0]], private_key=other)
    client, server = pair(0xC023, False, client_cfg, server_config(0xC023, "require"))
    run(client, server)
    assert server.alert_sent == ("fatal", "decrypt_error")


def refuse(alert: str, reason: str) -> Callable[[list[bytes]], tuple[str, str]]:
    return lambda chain: (alert, reason)


@pytest.mark.parametrize("dtls", [False, True], ids=["tls", "dtls"])
def test_verification_callback_refusal_gives_its_alert(dtls: bool) -> None:
    client, server = pair(
        0xC0AE,
        dtls,
        client_config(0xC0AE, verify_certificate=refuse("bad_certificate", "name mismatch")),
        server_config(0xC0AE),
    )
    run(client, server)
    assert client.alert_sent == ("fatal", "bad_certificate")
    assert client.certificate_verdict == "refused: name mismatch"
    assert server.alert_received == ("fatal", "bad_certificate")
    client, server = pair(
        0xC0AE,
        dtls,
        client_config(0xC0AE),
        server_config(0xC0AE, "require", verify_certificate=refuse("unknown_ca", "no root")),
    )
    run(client, server)
    assert server.alert_sent == ("fatal", "unknown_ca") and not server.established
    assert "no root" in (server.error or "")


def test_misconfiguration_names_the_field() -> None:
    with pytest.raises(ValueError, match="ServerConfig: a certificate suite"):
        ServerConnection(ServerConfig({}, [0xC0AE]))
    with pytest.raises(ValueError, match="certificate_chain and private_key"):
        ClientConnection(ClientConfig(b"", b"", [0xC0AE], certificate_chain=[CLIENT[0]]))
    rsa_like = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(ValueError, match="ServerConfig.private_key: .* not an ECDSA P-256"):
        ServerConnection(
            ServerConfig({}, [0xC0AE], certificate_chain=[SERVER[0]], private_key=rsa_like)
        )


def test_psk_client_hello_is_unchanged() -> None:
    """The ECC extensions go only into a ClientHello that offers a certificate suite."""
    psk = ClientConnection(ClientConfig(b"id", b"k" * 16, list(PROFILE_SUITES)))
    psk.start()
    names = {e["name"] for e in psk.client_hello["extensions"]}  # type: ignore[index]
    assert not names & {"supported_groups", "ec_point_formats", "signature_algorithms"}
    ecc = ClientConnection(client_config(0xC0AE))
    ecc.start()
    names = {e["name"] for e in ecc.client_hello["extensions"]}  # type: ignore[index]
    assert {"supported_groups", "ec_point_formats", "signature_algorithms"} <= names


# Live: OpenSSL -------------------------------------------------------------------------------


def _s_server(port: int, code: int, cert: tuple[str, str], dtls: bool, verify: bool) -> list[str]:
    args = [
        require_binary("openssl"), "s_server", "-dtls1_2" if dtls else "-tls1_2",
        "-accept", f"{HOST}:{port}", "-cert", cert[0], "-key", cert[1],
        "-cipher", openssl_cipher(ENGINE_SUITES[code].openssl),
        "-keymatexport", LABEL, "-keymatexportlen", "48", "-naccept", "1",
    ]  # fmt: skip
    return args + (["-Verify", "1"] if verify else [])


def _s_client(port: int, code: int, cert: tuple[str, str] | None, dtls: bool) -> list[str]:
    args = [
        require_binary("openssl"), "s_client", "-dtls1_2" if dtls else "-tls1_2",
        "-connect", f"{HOST}:{port}", "-noservername",
        "-cipher", openssl_cipher(ENGINE_SUITES[code].openssl),
        "-keymatexport", LABEL, "-keymatexportlen", "48",
    ]  # fmt: skip
    return args + (["-cert", cert[0], "-key", cert[1]] if cert else [])


@pytest.mark.parametrize(
    ("code", "mutual"),
    [(0xC023, True), (0xC0AE, False), (0xC0AE, True)],
    ids=["CBC-SHA256-mutual", "CCM8", "CCM8-mutual"],
)
def test_engine_client_vs_openssl_server(code: int, mutual: bool, tmp_path: Path) -> None:
    port = free_port()
    server_files = write_pem(tmp_path, "server", SERVER)
    with running(_s_server(port, code, server_files, False, mutual), ready=r"^ACCEPT") as peer:
        client = ClientConnection(client_config(code))
        outcome = run_client(client, (HOST, port), TIMEOUT, until="quiet", application_data=b"hi\n")
        assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
        assert exporter(client) == peer.required_keying_material(TIMEOUT)
        assert client.peer_certificate_chain == [SERVER[0]]
        assert client.certificate_requested is mutual
        if mutual:
            assert peer.wait_for(r"subject=.*CN ?= ?a\.example\.com", TIMEOUT), peer.output


@pytest.mark.parametrize("code", CODES, ids=IDS)
def test_engine_server_vs_openssl_client(code: int, tmp_path: Path) -> None:
    client_files = write_pem(tmp_path, "client", CLIENT)
    with tcp_listener() as listener:
        args = _s_client(listener.getsockname()[1], code, client_files, False)
        with running(args, ready=None) as peer:
            server = ServerConnection(server_config(code, "require"))
            with accepted(listener, TIMEOUT) as sock:
                server.start()
                outcome = drive(server, sock, time.monotonic() + TIMEOUT)
                assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
                assert exporter(server) == peer.required_keying_material(TIMEOUT)
                server.close()
                sock.sendall(server.data_to_send())
    assert server.peer_certificate_chain == [CLIENT[0]]


def test_engine_dtls_both_roles_vs_openssl_at_small_mtu(tmp_path: Path) -> None:
    """Mutual authentication over DTLS with certificate flights fragmented both ways."""
    code = 0xC0AE
    server_files = write_pem(tmp_path, "server", SERVER)
    client_files = write_pem(tmp_path, "client", CLIENT)
    port = free_udp_port()
    args = _s_server(port, code, server_files, True, True) + ["-mtu", str(SMALL_MTU)]
    with running(args, ready=r"^ACCEPT") as peer:
        client = DtlsClientConnection(client_config(code), mtu=SMALL_MTU)
        outcome = run_dtls_client(client, (HOST, port), TIMEOUT)
        assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
        assert exporter(client) == peer.required_keying_material(TIMEOUT)
    assert client.certificate_requested and client.framing.fragments_received > 4
    assert all(len(w.data) <= SMALL_MTU for w in client.trace.wire if w.direction == "sent")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        args = _s_client(sock.getsockname()[1], code, client_files, True)
        with running(args + ["-mtu", str(SMALL_MTU)], ready=None) as peer:
            server = DtlsServerConnection(server_config(code, "require"), mtu=SMALL_MTU)
            outcome = run_dtls_server_once(server, sock, TIMEOUT)
            assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
            assert exporter(server) == peer.required_keying_material(TIMEOUT)
    assert server.peer_certificate_chain == [CLIENT[0]]
    assert server.framing.fragments_received > 4
    assert all(len(w.data) <= SMALL_MTU for w in server.trace.wire if w.direction == "sent")


# Live: GnuTLS --------------------------------------------------------------------------------


def test_engine_client_vs_gnutls_server(tmp_path: Path) -> None:
    code = 0xC0AE
    cert, key = write_pem(tmp_path, "server", SERVER)
    port = free_port()
    args = _line_buffered(require_binary("gnutls-serv")) + [
        "--echo", "-p", str(port), "--x509certfile", cert, "--x509keyfile", key,
        "--priority", gnutls_priority(ENGINE_SUITES[code].gnutls), "-a",
    ]  # fmt: skip
    with running(args, ready=r"listening") as peer:
        assert wait_port(port, TIMEOUT), peer.output
        client = ClientConnection(client_config(code))
        outcome = run_client(
            client, (HOST, port), TIMEOUT, until="quiet", application_data=b"ping oneM2M\n"
        )
        assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
        assert outcome.application_data == b"ping oneM2M\n", peer.output
        assert client.peer_certificate_chain == [SERVER[0]]


def _gnutls_cli(port: int, code: int, cert: tuple[str, str]) -> list[str]:
    """gnutls-cli with a client certificate, no CA check (the engine's is the callback)."""
    return _line_buffered(require_binary("gnutls-cli")) + [
        "-p", str(port), HOST, "--insecure", "--x509certfile", cert[0], "--x509keyfile", cert[1],
        "--priority", gnutls_priority(ENGINE_SUITES[code].gnutls),
        "--keymatexport", LABEL, "--keymatexportsize", "48",
    ]  # fmt: skip


@pytest.mark.parametrize("code", CODES, ids=IDS)
def test_engine_server_vs_gnutls_client(code: int, tmp_path: Path) -> None:
    files = write_pem(tmp_path, "client", CLIENT)
    with tcp_listener() as listener:
        args = _gnutls_cli(listener.getsockname()[1], code, files)
        with running(args, ready=None) as peer:
            server = ServerConnection(server_config(code, "require"))
            with accepted(listener, TIMEOUT) as sock:
                server.start()
                outcome = drive(server, sock, time.monotonic() + TIMEOUT)
                assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
                assert exporter(server) == peer.required_keying_material(TIMEOUT)
                server.close()
                sock.sendall(server.data_to_send())
    assert server.peer_certificate_chain == [CLIENT[0]]


def test_engine_dtls_server_vs_gnutls_client(tmp_path: Path) -> None:
    code = 0xC0AE
    files = write_pem(tmp_path, "client", CLIENT)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        args = gnutls_dtls(_gnutls_cli(sock.getsockname()[1], code, files))
        with running(args, ready=None) as peer:
            server = DtlsServerConnection(server_config(code, "require"), mtu=SMALL_MTU)
            outcome = run_dtls_server_once(server, sock, TIMEOUT)
            assert outcome.kind == "established", f"{outcome.reason}\n{peer.output}"
            assert exporter(server) == peer.required_keying_material(TIMEOUT)
    assert server.peer_certificate_chain == [CLIENT[0]]
    assert all(len(w.data) <= SMALL_MTU for w in server.trace.wire if w.direction == "sent")
