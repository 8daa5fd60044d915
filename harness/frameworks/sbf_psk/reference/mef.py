"""The MEF (M2M Enrolment Function) of the enrolee-key SBF.

Two services, served concurrently (one thread each, both bounded by the case deadline):

- ``bootstrap`` ((D)TLS per ``request.transport``; DTLS with the cookie exchange):
  ``request.legs_expected("bootstrap")`` bootstrap handshakes. psk_identity must be a
  configured Enrolee's kpmId (else unknown_psk_identity), psk = its kpmKey (SBF-PSK-09/
  10; a wrong Kpm fails the Finished). Then the export, split and KeID as the Enrolee
  forms them (SBF-PSK-12/13), and the MEF stores {KeID -> Ke, the Enrolee entry, expiry =
  now + credentialLifetime} (SBF-PSK-14).
- ``credential_fetch`` (HTTPS: HTTP/1.1 from ``http.server`` over TLS 1.2 PSK on TCP):
  ``request.legs_expected("credential_fetch")`` requests. The client is authenticated by
  its channel psk_identity against mafClients (unknown: the handshake is refused).
  ``GET /fetchCredentials/<KeID>/<SUID>`` with ``X-M2M-Origin``: 400 when malformed
  (harness.frameworks.sbf_psk.binding.read_fetch) or for a SUID other than 21; 403 when
  the originator is not the MAF-ID the client's credential authenticates; 404 for a KeID
  it does not hold or whose lifetime has passed; 403 when the client is not the MAF
  configured for that Enrolee (SBF-COMMON-16, SBF-PSK-06); else 200 {credential: the key
  derived from Ke for the Enrolee's MAF-ID (I-12), enroleeID, lifetime} (SBF-COMMON-16/
  17). Refusals carry {status: false, errorString}.

A fetch can reach the MEF a moment before the bootstrap thread has stored the Ke of the
handshake that just completed (the Enrolee's last flight and the MEF's bookkeeping race);
a fetch for an unknown KeID therefore waits, briefly and bounded, while a bootstrap that
has passed its PSK lookup is still being finished.

Legs are reported in the order they completed; the top-level fields are the last one's.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from harness.frameworks.saef_maf.reference.http_channel import TlsChannel
from harness.frameworks.sbf_psk.binding import FetchRequest, read_fetch
from harness.frameworks.sbf_psk.reference.common import (
    Party,
    host_key,
    identifier_key,
    summary,
    timestamp,
)
from harness.frameworks.sbf_psk.reference.config import EnroleeEntry, FetchClient, MefConfig
from harness.frameworks.sbf_psk.reference.enrolee import EXPORT_LENGTH
from harness.frameworks.sbf_psk.reference.faults import (
    BOOTSTRAP_LABEL,
    SUID_REMOTE_PROVISIONED,
    FaultSet,
    KnownEnrolee,
)
from harness.reference.ciphers import PROFILE_SUITES
from harness.reference.endpoint import SocketPump
from harness.sut.contract import Address, LegResult, Role, Status, SutRequest, SutResult

BOOTSTRAP_SETTLE = 2.0  # at most this long a fetch waits for a bootstrap being finished
MAX_REQUEST_BODY = 16 * 1024


@dataclass(frozen=True)
class StoredKe:
    """What the MEF holds for one KeID after a bootstrap."""

    ke_id: str
    ke: bytes
    enrolee: KnownEnrolee
    expires: float  # POSIX time


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    ke_id: str | None = None
    origin: str | None = None


def _refusal(status: int, reason: str, ke_id: str | None = None) -> Answer:
    return Answer(status, {"status": False, "errorString": reason}, ke_id)


Respond = Callable[[str, str, dict[str, str]], Answer]


class FetchHandler(BaseHTTPRequestHandler):
    """One credential-fetch request (http.server over a :class:`TlsChannel`).

    ``server`` is the answering function, given method, target and the headers (lower-case
    names); the handler keeps the :class:`Answer` it sent in :attr:`answer`.
    """

    protocol_version = "HTTP/1.1"
    server_version = "m2mconf-reference-MEF"
    answer: Answer | None = None

    def _any(self) -> None:
        respond: Respond = self.server  # type: ignore[assignment]
        headers = {name.lower(): value for name, value in self.headers.items()}
        length = headers.get("content-length", "")
        if length.isdigit() and 0 < int(length) <= MAX_REQUEST_BODY:
            self.rfile.read(int(length))  # a RETRIEVE has no body; read one so the reply is clean
        self._send(respond(self.command, self.path, headers))

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any  # http.server dispatches by name

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a bad request line, ...) in the binding's form."""
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
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: the leg carries what happened."""


class Mef(Party):
    role = Role.MEF

    def __init__(self, request: SutRequest, faults: FaultSet) -> None:
        super().__init__(request, faults)  # type: ignore[arg-type]  # Party needs .names only
        self.send_alert_on_failure = faults.send_alert_on_failure()
        self.sbf_faults = faults
        self.config: MefConfig | None = None
        self._bootstrap_listener: socket.socket | None = None
        self._fetch_listener: socket.socket | None = None
        self._stored: dict[str, StoredKe] = {}  # identifier_key(KeID) -> Ke
        self._settling = 0  # bootstraps past their PSK lookup, not yet stored or failed

    def bind(self) -> Address | None:
        """Validate the configuration and bind both services (caller's thread)."""
        self.config = self._configure(MefConfig.from_configuration)
        if self.config is None:
            return None
        self._bootstrap_listener, self._fetch_listener = self._bind_services(
            ("bootstrap", True), ("credential_fetch", False)
        )
        return self.endpoints["bootstrap"]

    # -- the case --

    def _run(self) -> SutResult:
        legs = self._run_services(self._serve_bootstraps, self._serve_fetches)
        return summary(legs, "the MEF served nothing within the timeout")

    # -- bootstrap --

    def _serve_bootstraps(self) -> None:
        assert self.config is not None and self._bootstrap_listener is not None
        config, listener = self.config, self._bootstrap_listener
        self._serve_legs("bootstrap", lambda: self._bootstrap(config, listener))

    def _bootstrap(self, config: MefConfig, listener: socket.socket) -> LegResult:
        faults = self.sbf_faults
        seen: dict[str, Any] = {}

        def on_psk(psk_identity: bytes) -> bytes | None:
            seen["psk_identity"] = psk_identity.decode("utf-8", errors="replace")
            entry = config.enrolee(psk_identity)
            if entry is None:
                entry = faults.unknown_kpm_id(psk_identity, config.enrolees)
            seen["entry"] = entry
            if entry is None:
                return None
            with self._state:
                self._settling += 1
            seen["settling"] = True
            return entry.kpm_key

        handshake = self.serve_handshake(
            listener, dtls=self.dtls, suites=self._suites(), on_psk=on_psk, datagram=config.datagram
        )
        try:
            leg = handshake.leg("bootstrap", "enrolee", psk_identity=seen.get("psk_identity"))
            entry: EnroleeEntry | None = seen.get("entry")
            if "psk_identity" in seen and entry is None:
                leg.detail = f"unknown KpmId {seen['psk_identity']!r}; {leg.detail}"
            if not handshake.established or entry is None:
                return leg
            material = handshake.export(faults.bootstrap_label(BOOTSTRAP_LABEL), EXPORT_LENGTH)
            relative_id, ke = faults.split_export(material)
            ke_id = faults.form_ke_id(
                faults.relative_text(relative_id), config.mef_identifier, entry.maf_identifier
            )
            stored = StoredKe(ke_id, ke, entry, time.time() + config.credential_lifetime)
            with self._state:
                self._stored[identifier_key(ke_id)] = stored
            leg.peer_identity = entry.enrolee_identifier
            leg.keys = {BOOTSTRAP_LABEL: material.hex()}
            leg.fields = {"keId": ke_id, "lifetime": timestamp(stored.expires)}
            return leg
        finally:
            if seen.get("settling"):
                with self._state:
                    self._settling -= 1
                    self._state.notify_all()
            self.end(handshake)

    def _lookup(self, ke_id: str) -> StoredKe | None:
        """The stored Ke for a KeID; waits (bounded) while a bootstrap is being finished."""
        key = identifier_key(ke_id)
        end = time.monotonic() + self.deadline.remaining(BOOTSTRAP_SETTLE)
        with self._state:
            while key not in self._stored and self._settling and not self._stopped:
                left = end - time.monotonic()
                if left <= 0:
                    break
                self._state.wait(left)
            return self._stored.get(key)

    # -- credential fetch --

    def _serve_fetches(self) -> None:
        assert self.config is not None and self._fetch_listener is not None
        config, listener = self.config, self._fetch_listener
        self._serve_legs("credential_fetch", lambda: self._fetch(config, listener))

    def _fetch(self, config: MefConfig, listener: socket.socket) -> LegResult:
        seen: dict[str, Any] = {}

        def on_psk(psk_identity: bytes) -> bytes | None:
            seen["identity"] = psk_identity.decode("utf-8", errors="replace")
            client = config.client(psk_identity)
            seen["client"] = client
            return None if client is None else client.fetch_key

        handshake = self.serve_handshake(
            listener, dtls=False, suites=list(PROFILE_SUITES), on_psk=on_psk
        )
        try:
            leg = handshake.leg("credential_fetch", "maf", psk_identity=seen.get("identity"))
            client: FetchClient | None = seen.get("client")
            if "identity" in seen and client is None:
                leg.detail = f"unknown fetch identity {seen['identity']!r}; {leg.detail}"
            if not handshake.established or client is None:
                return leg
            assert isinstance(handshake.pump, SocketPump)  # the fetch is always over TCP
            channel = TlsChannel(handshake.pump, self.deadline)
            try:
                handler = FetchHandler(
                    channel,  # type: ignore[arg-type]
                    ("maf-client", 0),
                    lambda method, target, headers: self._answer(  # type: ignore[arg-type]
                        config, client, method, target, headers
                    ),
                )
            except TimeoutError:
                leg.status, leg.detail = Status.TIMEOUT, "no HTTP request within the deadline"
                return leg
            except Exception as exc:  # one broken client must not end the service
                leg.status, leg.detail = Status.ERROR, f"HTTP: {type(exc).__name__}: {exc}"
                return leg
            answer = handler.answer
            if answer is None:
                leg.status, leg.detail = Status.ERROR, "the client closed without a request"
                return leg
            leg.peer_identity = answer.origin
            leg.fields = {"httpStatus": answer.status}
            if answer.ke_id is not None:
                leg.fields["keId"] = answer.ke_id
            leg.status = Status.ESTABLISHED if answer.status == 200 else Status.REFUSED
            leg.detail = f"HTTP {answer.status}: {answer.body.get('errorString', 'Km released')}"
            return leg
        finally:
            self.end(handshake)

    def _answer(
        self,
        config: MefConfig,
        client: FetchClient,
        method: str,
        target: str,
        headers: dict[str, str],
    ) -> Answer:
        """The MEF's answer to one authenticated request (docs/sbf-psk.md binding)."""
        request = read_fetch(method, target, headers)
        answer = self._decide(config, client, request)
        answer.ke_id, answer.origin = request.ke_id, request.origin
        return answer

    def _decide(self, config: MefConfig, client: FetchClient, request: FetchRequest) -> Answer:
        faults = self.sbf_faults
        ke_id, suid, origin = request.ke_id, request.suid, request.origin
        if request.problem is not None or ke_id is None:
            return _refusal(400, request.problem or "no KeID")
        if suid != SUID_REMOTE_PROVISIONED:
            return _refusal(400, f"SUID {suid} is not {SUID_REMOTE_PROVISIONED}")
        checks = faults.mef_checks_requester()
        if checks and host_key(origin or "") != host_key(client.maf_identifier):
            return _refusal(
                403, f"originator {origin!r} is not the MAF its credential authenticates"
            )
        stored = self._lookup(ke_id)
        if stored is None:
            if faults.mef_answers_unknown_ke_id() and config.enrolees:
                return self._released(os.urandom(32), config.enrolees[0], time.time() + 3600)
            return _refusal(404, f"unknown KeID {ke_id}")
        if faults.mef_checks_lifetime() and time.time() >= stored.expires:
            return _refusal(404, f"KeID {ke_id} expired at {timestamp(stored.expires)}")
        if checks and host_key(client.maf_identifier) != host_key(stored.enrolee.maf_identifier):
            return _refusal(403, f"{client.maf_identifier} is not the MAF of this Enrolee")
        maf_id = stored.enrolee.maf_identifier
        credential = faults.derive_key(stored.ke, maf_id, config.km_derivation)
        return self._released(credential, stored.enrolee, stored.expires)

    @staticmethod
    def _released(credential: bytes, enrolee: KnownEnrolee, expires: float) -> Answer:
        return Answer(
            200,
            {
                "credential": credential.hex(),
                "enroleeID": enrolee.enrolee_identifier,
                "lifetime": timestamp(expires),
            },
        )
