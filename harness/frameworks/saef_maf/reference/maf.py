"""The MAF (M2M Authentication Function) of the MAF-based SAEF.

Two services, served concurrently (one thread each, both bounded by the case deadline):

- ``maf_handshake`` ((D)TLS per ``request.transport``; DTLS with the cookie exchange):
  ``request.legs_expected("maf_handshake")`` MAF handshakes. The psk_identity must be a
  configured masterCredentialIdentifier (else unknown_psk_identity), psk = its
  masterCredential (SAEF-MAF-10/11). Then the export, split and KcID as Entity A forms
  them (SAEF-MAF-12/13), and the MAF stores {RelativeKcID -> Kc, KmID, expiry = now +
  kcLifetime, the IdB it is for, A's CSE-ID/AE-ID} (SAEF-MAF-14/20).
- ``key_retrieval`` (HTTPS: HTTP/1.1 from ``http.server`` over TLS 1.2 PSK on TCP):
  ``request.legs_expected("key_retrieval")`` requests. The client is authenticated by
  its channel psk_identity against keyRetrievalClients (SAEF-MAF-16). 400 malformed,
  404 unknown or expired, 403 when the client's entityIdentifier is not the IdB the Kc
  was issued for (SAEF-MAF-08), else 200 with the binding's fields (SAEF-MAF-18/19).

Legs are reported in the order they completed; the top-level fields are the last one's.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from harness.frameworks.saef_maf.reference.config import (
    AuthorizedEntity,
    MafConfig,
    RetrievalClient,
)
from harness.frameworks.saef_maf.reference.entities import (
    Party,
    connection_export,
    form_kc,
    summary,
    timestamp,
)
from harness.frameworks.saef_maf.reference.entity_b import KEY_RETRIEVAL_PATH
from harness.frameworks.saef_maf.reference.faults import CONNECTION_LABEL, FaultSet
from harness.frameworks.saef_maf.reference.http_channel import TlsChannel
from harness.reference.ciphers import PROFILE_SUITES
from harness.reference.endpoint import SocketPump
from harness.sut.contract import Address, LegResult, Role, Status, SutRequest, SutResult

MAX_REQUEST = 16 * 1024


@dataclass(frozen=True)
class IssuedKc:
    """What the MAF holds for one RelativeKcID."""

    kc_id: str
    kc: bytes
    km_id: str
    expires: float  # POSIX time
    recipient_id: str  # the IdB that may retrieve it (SAEF-MAF-08)
    entity_id: str | None  # A's CSE-ID/AE-ID, if configured (SAEF-MAF-19)


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    relative: str | None = None
    expiration: str | None = None


def _refusal(status: int, reason: str, relative: str | None = None) -> Answer:
    return Answer(status, {"status": False, "errorString": reason}, relative)


class KeyRetrievalHandler(BaseHTTPRequestHandler):
    """One key-retrieval request (http.server over a :class:`TlsChannel`).

    ``server`` is the answering function, given the request path and body; the handler
    keeps the :class:`Answer` it sent in :attr:`answer` for the MAF's report.
    """

    protocol_version = "HTTP/1.1"
    server_version = "m2mconf-reference-MAF"
    answer: Answer | None = None

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        respond: Callable[[str, bytes | None], Answer] = self.server  # type: ignore[assignment]
        length = self.headers.get("Content-Length")
        body: bytes | None = None
        if length is not None and length.isdigit() and int(length) <= MAX_REQUEST:
            body = self.rfile.read(int(length))
        self._send(respond(self.path, body))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, unsupported method, ...) in the
        binding's refusal form instead of its HTML page."""
        self._send(_refusal(int(code), message or explain or "malformed request"))

    def _send(self, answer: Answer) -> None:
        self.answer = answer
        payload = json.dumps(answer.body).encode()
        self.close_connection = True  # one request per connection
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: the leg carries what happened."""


class Maf(Party):
    role = Role.MAF

    def __init__(self, request: SutRequest, faults: FaultSet) -> None:
        super().__init__(request, faults)
        self.config: MafConfig | None = None
        self._handshake_listener: socket.socket | None = None
        self._retrieval_listener: socket.socket | None = None
        self._issued: dict[str, IssuedKc] = {}  # RelativeKcID, lower case -> Kc

    def bind(self) -> Address | None:
        """Validate the configuration and bind both services (caller's thread)."""
        self.config = self._configure(MafConfig.from_configuration)
        if self.config is None:
            return None
        self._handshake_listener, self._retrieval_listener = self._bind_services(
            ("maf_handshake", True), ("key_retrieval", False)
        )
        return self.endpoints["maf_handshake"]

    # -- the case --

    def _run(self) -> SutResult:
        legs = self._run_services(self._serve_handshakes, self._serve_retrievals)
        return summary(legs, "the MAF served nothing within the timeout")

    # -- MAF handshakes --

    def _serve_handshakes(self) -> None:
        assert self.config is not None and self._handshake_listener is not None
        config, listener = self.config, self._handshake_listener
        self._serve_legs("maf_handshake", lambda: self._maf_handshake(config, listener))

    def _maf_handshake(self, config: MafConfig, listener: socket.socket) -> LegResult:
        seen: dict[str, Any] = {}

        def on_psk(psk_identity: bytes) -> bytes | None:
            seen["psk_identity"] = psk_identity.decode("utf-8", errors="replace")
            entry = config.entity(psk_identity)
            if entry is None:
                entry = self.faults.unknown_master_credential_id(psk_identity, config.authorized)
            seen["entry"] = entry
            return None if entry is None else entry.master_credential

        handshake = self.serve_handshake(
            listener, dtls=self.dtls, suites=self._suites(), on_psk=on_psk, datagram=config.datagram
        )
        try:
            leg = handshake.leg("maf_handshake", "entity_a", psk_identity=seen.get("psk_identity"))
            entry: AuthorizedEntity | None = seen.get("entry")
            if not handshake.established or entry is None:
                if "psk_identity" in seen and entry is None:
                    leg.detail = f"unknown KmID {seen['psk_identity']!r}; {leg.detail}"
                return leg
            material = connection_export(handshake, self.faults)
            _relative_id, relative, kc = form_kc(material, self.faults)
            kc_id = f"{relative}@{config.maf_identifier}"
            expires = time.time() + config.kc_lifetime
            issued = IssuedKc(
                kc_id, kc, entry.master_credential_id, expires, entry.recipient_id, entry.entity_id
            )
            with self._state:
                self._issued[relative.lower()] = issued
            leg.peer_identity = entry.entity_id
            leg.keys = {CONNECTION_LABEL: material.hex()}
            leg.fields = {"kcId": kc_id, "expirationTime": timestamp(expires)}
            return leg
        finally:
            self.end(handshake)

    # -- key retrieval --

    def _serve_retrievals(self) -> None:
        assert self.config is not None and self._retrieval_listener is not None
        config, listener = self.config, self._retrieval_listener
        self._serve_legs("key_retrieval", lambda: self._key_retrieval(config, listener))

    def _key_retrieval(self, config: MafConfig, listener: socket.socket) -> LegResult:
        seen: dict[str, Any] = {}

        def on_psk(psk_identity: bytes) -> bytes | None:
            seen["identity"] = psk_identity.decode("utf-8", errors="replace")
            client = config.client(psk_identity)
            seen["client"] = client
            return None if client is None else client.key

        handshake = self.serve_handshake(
            listener, dtls=False, suites=list(PROFILE_SUITES), on_psk=on_psk
        )
        try:
            leg = handshake.leg("key_retrieval", "entity_b", psk_identity=seen.get("identity"))
            client: RetrievalClient | None = seen.get("client")
            if not handshake.established or client is None:
                return leg
            leg.peer_identity = client.entity_id
            assert isinstance(handshake.pump, SocketPump)  # key retrieval is always over TCP
            channel = TlsChannel(handshake.pump, self.deadline)
            try:
                handler = KeyRetrievalHandler(
                    channel,  # type: ignore[arg-type]
                    ("maf-client", 0),
                    lambda path, body: self._answer(config, client, path, body),  # type: ignore[arg-type]
                )
            except TimeoutError:
                leg.status, leg.detail = Status.TIMEOUT, "no HTTP request within the deadline"
                return leg
            except Exception as exc:  # one broken client must not end the service
                leg.status, leg.detail = Status.ERROR, f"HTTP: {type(exc).__name__}: {exc}"
                return leg
            answer = handler.answer
            if answer is None:
                leg.status = Status.ERROR
                leg.detail = "the client closed without a request"
                return leg
            leg.fields = {"httpStatus": answer.status}
            if answer.relative is not None:
                leg.fields["relativeKeyID"] = answer.relative
            if answer.expiration is not None:
                leg.fields["expirationTime"] = answer.expiration
            leg.status = Status.ESTABLISHED if answer.status == 200 else Status.REFUSED
            leg.detail = f"HTTP {answer.status}: {answer.body.get('errorString', 'Kc released')}"
            return leg
        finally:
            self.end(handshake)

    def _answer(
        self, config: MafConfig, client: RetrievalClient, path: str, body: bytes | None
    ) -> Answer:
        """The MAF's answer to one authenticated request (docs/saef-maf.md binding)."""
        if path.split("?")[0] != KEY_RETRIEVAL_PATH:
            return _refusal(404, f"no resource {path}")
        try:
            request = json.loads((body or b"").decode("utf-8"))
        except ValueError:
            return _refusal(400, "the body is not JSON")
        relative = request.get("relativeKeyID") if isinstance(request, dict) else None
        if not isinstance(relative, str) or not relative:
            return _refusal(400, "relativeKeyID missing or not a string")
        with self._state:
            issued = self._issued.get(relative.lower())  # I-04: case-insensitive
        if issued is None:
            return _refusal(404, "unknown key", relative)
        if self.faults.check_recipient() and client.entity_id != issued.recipient_id:
            return _refusal(403, f"Kc is not issued for {client.entity_id}", relative)
        if self.faults.maf_checks_expiry() and time.time() >= issued.expires:
            return _refusal(404, "key expired", relative)
        expiration = timestamp(issued.expires)
        answer: dict[str, Any] = {
            "keyValue": issued.kc.hex(),
            "expirationTime": expiration,
            "sourceMafClientID": issued.km_id,
            "suid": 32,
            "labels": [],
            "adminFQDN": config.maf_identifier,
        }
        if issued.entity_id and self.faults.maf_sends_entity_id():  # SAEF-MAF-19
            answer["sourceEntityID"] = issued.entity_id
        return Answer(200, answer, relative, expiration)
