"""HTTP/1.1 over the harness TLS engine (harness.http): the MAF key-retrieval binding.

Independent oracles: the stdlib's HTTP parsers (http.client) for the octets the harness
builds, and OpenSSL's s_server / s_client for TLS + HTTP on the wire. Every wait is
bounded: deadlines in the harness, timeouts on threads and subprocesses.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import h11
import pytest

from harness.http import (
    KEY_RETRIEVAL_SUITE,
    HttpBodyTooLarge,
    HttpClientExchange,
    HttpIncomplete,
    HttpProtocolError,
    HttpRequest,
    HttpServerExchange,
    HttpTimeout,
    https_request,
    serve_https_once,
)
from harness.tls.engine import ClientConfig, ClientConnection, ServerConfig, ServerConnection
from harness.tls.faults import Faults
from harness.tls.transport import run_client, run_server_once
from tests.peers import HOST, free_port, openssl_server_args, require_binary, running, tcp_listener

KR_IDENTITY = b"entityB-key-retrieval"
KR_KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
MAF = "maf.example.com"
ID_B = "CSE-B"
KC = "ab" * 32
ANSWER = {
    "keyValue": KC,
    "expirationTime": "20261203T215959",
    "sourceMafClientID": "KmID-A",
    "suid": 32,
    "labels": [],
    "adminFQDN": MAF,
    "sourceEntityID": "CSE-A",
}
RELATIVE = "0123456789abcdef0123456789abcdef"
BOUND = 10.0  # the most any test waits for a thread or a process


# Helpers --------------------------------------------------------------------------------


class _FakeSocket:
    """Just enough socket for http.client.HTTPResponse: makefile over fixed bytes."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self._data))  # type: ignore[arg-type]


def stdlib_response(data: bytes) -> tuple[http.client.HTTPResponse, bytes]:
    """Parse response octets with the stdlib, independently of h11."""
    response = http.client.HTTPResponse(_FakeSocket(data))  # type: ignore[arg-type]
    response.begin()
    return response, response.read()


def stdlib_request(data: bytes) -> tuple[str, http.client.HTTPMessage, bytes]:
    """Request line, headers and body of request octets, parsed with the stdlib."""
    stream = io.BytesIO(data)
    line = stream.readline().decode("ascii").rstrip("\r\n")
    headers = http.client.parse_headers(stream)
    body = stream.read(int(headers.get("Content-Length", "0")))
    return line, headers, body


class Background:
    """Run ``fn`` in a daemon thread; ``result()`` joins with a bound."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self._value = fn()
        except BaseException as exc:  # surfaced in result()
            self._error = exc

    def result(self, timeout: float = BOUND) -> Any:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "background party did not finish in time"
        if self._error is not None:
            raise self._error
        return self._value


def maf_handler(request: HttpRequest, identity: bytes) -> tuple[int, Any]:
    """A minimal MAF: releases Kc for RELATIVE to KR_IDENTITY only (SAEF-MAF-08)."""
    if request.method != "POST" or request.target != "/keyRetrieval" or request.json is None:
        return 400, {"status": False, "errorString": "malformed request"}
    if identity != KR_IDENTITY:
        return 403, {"status": False, "errorString": "not the IdB the Kc was issued for"}
    if str(request.json.get("relativeKeyID", "")).lower() != RELATIVE:
        return 404, {"status": False, "errorString": "unknown key"}
    return 200, ANSWER


def key_request_headers() -> list[tuple[str, str]]:
    return [("X-M2M-Origin", ID_B)]


def deadline(seconds: float = 5.0) -> float:
    return time.monotonic() + seconds


# Sans-IO ------------------------------------------------------------------------------


def test_request_octets_are_the_binding_and_parse_with_the_stdlib() -> None:
    client = HttpClientExchange(MAF)
    data = client.request(
        "POST", "/keyRetrieval", key_request_headers(), {"relativeKeyID": RELATIVE}
    )
    line, headers, body = stdlib_request(data)
    assert line == "POST /keyRetrieval HTTP/1.1"
    assert headers["Host"] == MAF
    assert headers["Content-Type"] == "application/json"
    assert headers["X-M2M-Origin"] == ID_B
    assert headers["Connection"] == "close"
    assert body == b'{"relativeKeyID":"%s"}' % RELATIVE.encode()


def test_server_parses_a_request_fed_one_octet_at_a_time() -> None:
    data = HttpClientExchange(MAF).request("POST", "/keyRetrieval", (), {"relativeKeyID": "AB"})
    server = HttpServerExchange()
    results = [server.receive(data[i : i + 1]) for i in range(len(data))]
    assert all(r is None for r in results[:-1])
    request = results[-1]
    assert request is not None and request.method == "POST" and request.target == "/keyRetrieval"
    assert request.json == {"relativeKeyID": "AB"} and request.header("HOST") == MAF


def test_response_octets_parse_with_the_stdlib_and_round_trip() -> None:
    server = HttpServerExchange()
    server.receive(HttpClientExchange(MAF).request("POST", "/keyRetrieval", (), {}))
    data = server.respond(200, json_body=ANSWER)
    response, body = stdlib_response(data)
    assert (response.status, response.reason) == (200, "OK")
    assert response.getheader("Content-Type") == "application/json"
    assert response.getheader("Connection") == "close"
    client = HttpClientExchange(MAF)
    client.request("POST", "/keyRetrieval", (), {})
    parsed = client.receive(data)
    assert parsed is not None and parsed.status == 200 and parsed.json == ANSWER
    assert parsed.body == body


def test_close_delimited_response_completes_at_eof() -> None:
    client = HttpClientExchange(MAF)
    client.request("GET", "/", (), None)
    assert client.receive(b"HTTP/1.0 200 ok\r\nContent-Type: text/plain\r\n\r\nnot json") is None
    response = client.receive_eof()
    assert response.body == b"not json" and response.json is None
    assert response.json_error is not None


@pytest.mark.parametrize(
    "data",
    [
        b"GARBAGE\r\n\r\n",
        b"POST /k HTTP/1.1\r\nNo colon here\r\n\r\n",
        b"\x16\x03\x01\x00\x05hello",
    ],
    ids=["request-line", "header", "binary"],
)
def test_malformed_request_is_a_typed_error_and_gets_a_400(data: bytes) -> None:
    server = HttpServerExchange()
    with pytest.raises(HttpProtocolError) as info:
        server.receive(data)
    assert isinstance(info.value.__cause__, h11.RemoteProtocolError)
    response, body = stdlib_response(server.respond_error(info.value))
    assert response.status == 400 and b'"status":false' in body


def test_oversize_body_is_refused_from_its_content_length() -> None:
    server = HttpServerExchange(max_body=1024)
    head = b"POST /keyRetrieval HTTP/1.1\r\nHost: m\r\nContent-Length: 1025\r\n\r\n"
    with pytest.raises(HttpBodyTooLarge):
        server.receive(head)  # before any body octet
    assert stdlib_response(server.respond_error(HttpBodyTooLarge("x")))[0].status == 413


def test_oversize_chunked_body_is_refused_while_it_arrives() -> None:
    server = HttpServerExchange(max_body=1024)
    server.receive(b"POST /k HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\n")
    with pytest.raises(HttpBodyTooLarge):
        for _ in range(10):
            server.receive(b"200\r\n" + b"x" * 0x200 + b"\r\n")


def test_header_flood_is_bounded() -> None:
    server = HttpServerExchange()
    with pytest.raises(HttpProtocolError) as info:
        server.receive(b"POST /k HTTP/1.1\r\n" + b"X-A: " + b"a" * 20000)
    assert info.value.status_hint == 431


def test_malformed_and_truncated_responses_are_typed_errors() -> None:
    client = HttpClientExchange(MAF)
    client.request("POST", "/keyRetrieval", (), {})
    with pytest.raises(HttpProtocolError):
        client.receive(b"HTTP/1.1 two hundred\r\n\r\n")
    client = HttpClientExchange(MAF)
    client.request("POST", "/keyRetrieval", (), {})
    assert client.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}") is None
    with pytest.raises(HttpProtocolError):
        client.receive_eof()
    with pytest.raises(HttpIncomplete):
        HttpServerExchange().receive_eof()


# (a) harness client <-> harness server over loopback -------------------------------------


def serve_in_background(listener: socket.socket, **kwargs: Any) -> Background:
    table = kwargs.pop("table", {KR_IDENTITY: KR_KEY})
    return Background(lambda: serve_https_once(listener, table, maf_handler, deadline(), **kwargs))


def test_key_retrieval_between_harness_client_and_server() -> None:
    with tcp_listener() as listener:
        served = serve_in_background(listener)
        result = https_request(
            listener.getsockname(), KR_IDENTITY, KR_KEY, MAF, "POST", "/keyRetrieval",
            key_request_headers(), {"relativeKeyID": RELATIVE.upper()}, deadline=deadline(),
        )  # fmt: skip
        record = served.result()
    assert result.ending == "complete", result.detail
    assert result.response is not None and result.response.status == 200
    assert result.response.json == ANSWER
    assert result.cipher_suite == KEY_RETRIEVAL_SUITE == 0x00AE
    assert record.ending == "complete", record.detail
    assert record.psk_identity == KR_IDENTITY and record.server_name == MAF
    assert record.cipher_suite == 0x00AE and record.status_sent == 200
    assert record.request is not None and record.request.header("x-m2m-origin") == ID_B
    assert record.request.json == {"relativeKeyID": RELATIVE.upper()}


def test_handler_sees_the_authenticated_identity() -> None:
    other = b"entityB-other"
    with tcp_listener() as listener:
        served = serve_in_background(listener, table={other: KR_KEY})
        result = https_request(
            listener.getsockname(), other, KR_KEY, MAF, "POST", "/keyRetrieval",
            key_request_headers(), {"relativeKeyID": RELATIVE}, deadline=deadline(),
        )  # fmt: skip
        record = served.result()
    assert result.response is not None and result.response.status == 403
    assert result.response.json["status"] is False
    assert record.status_sent == 403 and record.psk_identity == other


def test_wrong_psk_fault_makes_the_channel_fail_on_both_sides() -> None:
    with tcp_listener() as listener:
        served = serve_in_background(listener)
        result = https_request(
            listener.getsockname(), KR_IDENTITY, KR_KEY, MAF, json_body={},
            deadline=deadline(), faults=Faults(psk=bytes(16)),
        )  # fmt: skip
        record = served.result()
    assert result.ending == "handshake_failed" and result.response is None
    assert record.ending == "handshake_failed" and record.request is None
    assert record.alert is not None and record.alert.level == "fatal"
    assert record.psk_identity == KR_IDENTITY and record.status_sent is None


def test_unknown_identity_is_refused_with_an_alert() -> None:
    with tcp_listener() as listener:
        served = serve_in_background(listener)
        result = https_request(
            listener.getsockname(), b"stranger", KR_KEY, MAF, json_body={}, deadline=deadline()
        )
        record = served.result()
    assert result.ending == "handshake_failed"
    assert result.alert == ("fatal", "unknown_psk_identity")
    assert record.alert == ("fatal", "unknown_psk_identity")
    assert record.psk_identity == b"stranger"


# (b) harness client -> openssl s_server ---------------------------------------------------


def openssl_maf_args(port: int, extra: list[str]) -> list[str]:
    return (
        openssl_server_args(
            port, KR_KEY, KR_IDENTITY.decode(), None, "PSK-AES128-CBC-SHA256", "EXPORTER-x"
        )
        + extra
    )


def test_harness_client_posts_to_openssl_s_server() -> None:
    """s_server (no -www) prints the decrypted request and sends what it reads on stdin:
    OpenSSL decrypts exactly our request octets, and our client parses its answer."""
    port = free_port()
    with running(openssl_maf_args(port, []), ready=r"^ACCEPT") as peer:
        call = Background(
            lambda: https_request(
                (HOST, port),
                KR_IDENTITY,
                KR_KEY,
                MAF,
                "POST",
                "/keyRetrieval",
                key_request_headers(),
                {"relativeKeyID": RELATIVE},
                deadline=deadline(8),
            )  # fmt: skip
        )
        assert peer.wait_for(r"^X-M2M-Origin: CSE-B", BOUND), peer.output
        answer = HttpServerExchange()
        answer.receive(b"POST / HTTP/1.1\r\nHost: m\r\n\r\n")
        peer.send(answer.respond(200, json_body=ANSWER))
        result = call.result()
        assert result.ending == "complete", result.detail
        assert result.response is not None and result.response.json == ANSWER
        assert result.cipher_suite == 0x00AE
        peer.stop()
        assert result.request_sent is not None
        printed = peer.output.replace("\r", "")
        assert result.request_sent.decode().replace("\r", "") in printed


def test_harness_client_gets_a_response_from_openssl_http_mode(tmp_path: Any) -> None:
    """s_server -HTTP answers GET /<file> with the file's octets as the whole response
    (it does not answer POST: -WWW/-HTTP serve GET only)."""
    body = b'{"keyValue":"%s"}' % KC.encode()
    (tmp_path / "kr.http").write_bytes(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
    )
    port = free_port()
    # s_server -HTTP serves files from its working directory: start it in tmp_path.
    args = [require_binary("env"), "-C", str(tmp_path), *openssl_maf_args(port, ["-HTTP"])]
    with running(args, ready=r"^ACCEPT") as peer:
        result = https_request(
            (HOST, port), KR_IDENTITY, KR_KEY, MAF, "GET", "/kr.http", deadline=deadline(8)
        )
        assert result.ending == "complete", f"{result.detail}\n{peer.output}"
        assert result.response is not None and result.response.status == 200
        assert result.response.json == {"keyValue": KC}


# (c) openssl s_client -> harness server ------------------------------------------------


def test_openssl_s_client_request_gets_a_stdlib_parseable_answer() -> None:
    request = (
        b"POST /keyRetrieval HTTP/1.1\r\nHost: maf.example.com\r\n"
        b"Content-Type: application/json\r\nX-M2M-Origin: CSE-B\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n%s"
    )
    body = b'{"relativeKeyID": "%s"}' % RELATIVE.encode()
    with tcp_listener() as listener:
        port = listener.getsockname()[1]
        served = serve_in_background(listener)
        args = [
            require_binary("openssl"), "s_client", "-tls1_2", "-connect", f"{HOST}:{port}",
            "-psk", KR_KEY.hex(), "-psk_identity", KR_IDENTITY.decode(),
            "-cipher", "PSK-AES128-CBC-SHA256", "-servername", MAF, "-quiet",
        ]  # fmt: skip
        done = subprocess.run(
            args, input=request % (len(body), body), capture_output=True, timeout=BOUND
        )
        record = served.result()
    assert record.ending == "complete", record.detail
    assert record.psk_identity == KR_IDENTITY and record.server_name == MAF
    assert record.cipher_suite == 0x00AE and record.status_sent == 200
    response, answer = stdlib_response(done.stdout)
    assert response.status == 200, done.stderr
    assert response.getheader("Content-Type") == "application/json"
    assert json.loads(answer) == ANSWER


# (d) malformed peers, oversize bodies and silent peers over TLS -----------------------------


def raw_client(listener: socket.socket, data: bytes) -> Background:
    """An engine TLS client that sends ``data`` as application data and reads the answer."""

    def run() -> bytes:
        conn = ClientConnection(ClientConfig(KR_IDENTITY, KR_KEY, [0x00AE], MAF))
        outcome = run_client(
            conn, listener.getsockname(), 5.0, until="closed", application_data=data
        )
        return outcome.application_data

    return Background(run)


@pytest.mark.parametrize(
    ("data", "error", "status"),
    [
        (b"NOT HTTP AT ALL\r\n\r\n", HttpProtocolError, 400),
        (b"POST /keyRetrieval HTTP/1.1\r\nHost: m\r\nContent-Length: 70000\r\n\r\n{",
         HttpBodyTooLarge, 413),
    ],
    ids=["malformed", "oversize"],
)  # fmt: skip
def test_server_answers_bad_http_from_the_peer(data: bytes, error: type, status: int) -> None:
    with tcp_listener() as listener:
        client = raw_client(listener, data)
        record = serve_https_once(listener, {KR_IDENTITY: KR_KEY}, maf_handler, deadline())
        answer = client.result()
    assert record.ending == "http_error" and isinstance(record.http_error, error)
    assert record.status_sent == status and record.request is None
    assert stdlib_response(answer)[0].status == status


def engine_server(listener: socket.socket, data: bytes | None, seconds: float) -> Background:
    """An engine TLS server that sends ``data`` (or nothing) once established."""
    conn = ServerConnection(ServerConfig({KR_IDENTITY: KR_KEY}))
    return Background(
        lambda: run_server_once(conn, listener, seconds, until="closed", application_data=data)
    )


def test_client_reports_a_malformed_response() -> None:
    with tcp_listener() as listener:
        server = engine_server(listener, b"HTTP/1.1 OK fine\r\n\r\n", 5.0)
        result = https_request(
            listener.getsockname(), KR_IDENTITY, KR_KEY, MAF, json_body={}, deadline=deadline()
        )
        server.result()
    assert result.ending == "http_error" and isinstance(result.http_error, HttpProtocolError)
    assert result.tls_established and result.response is None


def test_silent_server_times_out_within_the_deadline() -> None:
    with tcp_listener() as listener:
        server = engine_server(listener, None, 3.0)
        start = time.monotonic()
        result = https_request(
            listener.getsockname(), KR_IDENTITY, KR_KEY, MAF, json_body={}, deadline=deadline(1)
        )
        elapsed = time.monotonic() - start
        server.result()
    assert result.ending == "timeout" and isinstance(result.http_error, HttpTimeout)
    assert result.tls_established and elapsed < 2.0


def test_silent_tcp_peer_times_out_in_the_handshake() -> None:
    with tcp_listener() as listener:
        start = time.monotonic()
        result = https_request(
            listener.getsockname(), KR_IDENTITY, KR_KEY, MAF, json_body={}, deadline=deadline(1)
        )  # the listener's backlog accepts the connection; nobody speaks TLS
    assert result.ending == "timeout" and not result.tls_established
    assert time.monotonic() - start < 2.0


def test_silent_client_times_out_after_the_handshake() -> None:
    with tcp_listener() as listener:

        def quiet_client() -> None:
            conn = ClientConnection(ClientConfig(KR_IDENTITY, KR_KEY, [0x00AE], MAF))
            run_client(conn, listener.getsockname(), 3.0, until="closed")

        client = Background(quiet_client)
        start = time.monotonic()
        record = serve_https_once(listener, {KR_IDENTITY: KR_KEY}, maf_handler, deadline(1))
        elapsed = time.monotonic() - start
        client.result()
    assert record.ending == "timeout" and isinstance(record.http_error, HttpTimeout)
    assert record.tls_established and record.status_sent is None and elapsed < 2.0


def test_no_client_times_out() -> None:
    with tcp_listener() as listener:
        record = serve_https_once(listener, {}, maf_handler, deadline(0.3))
    assert record.ending == "timeout" and record.handshake is None


def test_nothing_listening_is_not_connected() -> None:
    result = https_request(
        (HOST, free_port()), KR_IDENTITY, KR_KEY, MAF, json_body={}, deadline=deadline(1)
    )
    assert result.ending == "not_connected"
