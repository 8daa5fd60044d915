"""Entity B of the MAF-based SAEF: associations whose Kc it retrieves from the MAF.

B serves ``request.legs_expected("association")`` attempts, one after another, on
``services["association"]`` (or ``listen``). Kc is retrieved inside libssl's PSK server
callback, which runs when A's ClientKeyExchange arrives, i.e. after the CKE and before
B's Finished (SAEF-MAF-17):

- the KcID (the psk_identity) is split at its last "@"; a KcID with no FQDN, or whose
  FQDN is not the MAF B trusts (mafIdentifier, case-insensitive), is refused without
  contacting anyone;
- Key Retrieval (docs/saef-maf.md, binding I-09): HTTP/1.1 over TLS 1.2 PSK 0x00AE to
  ``peers["maf"]``, psk_identity keyRetrievalIdentity, psk keyRetrievalKey, SNI = the
  FQDN; ``POST /keyRetrieval {"relativeKeyID": ...}``, bounded by the case deadline;
- on 200 B checks that expirationTime is after now (SAEF-MAF-27), uses keyValue as the
  psk and binds the association to sourceEntityID, else to "11-" + sourceMafClientID
  (SAEF-MAF-24/25). Any refusal by the MAF fails the handshake (unknown_psk_identity).

B does not cache keys: every association with a valid KcID retrieves its Kc, so each
attempt shows its own key_retrieval leg (caching is allowed, never required).
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from typing import Any

from harness.frameworks.saef_maf.reference.config import EntityBConfig
from harness.frameworks.saef_maf.reference.entities import (
    CREDENTIAL_TYPE_KMID,
    Handshake,
    Party,
    leg_summary,
    parse_timestamp,
    split_kc_id,
)
from harness.frameworks.saef_maf.reference.faults import FaultSet, RetrievedKey
from harness.frameworks.saef_maf.reference.http_channel import ChannelHTTPConnection, TlsChannel
from harness.reference.account import exports
from harness.reference.ciphers import MANDATORY_TLS_SUITE
from harness.reference.endpoint import SocketPump
from harness.reference.libssl import error_queue_text
from harness.sut.contract import Address, LegResult, Role, Status, SutRequest, SutResult

KEY_RETRIEVAL_PATH = "/keyRetrieval"
MAX_ANSWER = 64 * 1024


class EntityB(Party):
    role = Role.ENTITY_B

    def __init__(self, request: SutRequest, faults: FaultSet) -> None:
        super().__init__(request, faults)
        self._listener: socket.socket | None = None
        self.config: EntityBConfig | None = None
        self._last: RetrievedKey | None = None  # only the b_uses_cached_key mutant reads it

    def bind(self) -> Address | None:
        """Validate the configuration and bind the association socket (caller's thread)."""
        self.config = self._configure(EntityBConfig.from_configuration)
        if self.config is None:
            return None
        (self._listener,) = self._bind_services(("association", True))
        return self.endpoints["association"]

    def _run(self) -> SutResult:
        assert self.config is not None and self._listener is not None
        legs: list[LegResult] = []
        for _attempt in range(self.request.legs_expected("association")):
            leg = self._serve(self.config, self._listener, legs)
            outcome = leg.status
            claimed = self.faults.b_reported_status(outcome)  # only a mutant changes it
            if claimed is not outcome:
                leg.status, leg.alert = claimed, None
            legs.append(leg)
            if outcome in (Status.TIMEOUT, Status.ERROR) and self.deadline.expired:
                break
        associations = [leg for leg in legs if leg.name == "association"]
        nothing = SutResult(Status.TIMEOUT, detail="no association attempt expected", legs=legs)
        return leg_summary(associations[-1] if associations else None, legs, nothing)

    def _serve(
        self, config: EntityBConfig, listener: socket.socket, legs: list[LegResult]
    ) -> LegResult:
        seen: dict[str, Any] = {}

        def on_psk(psk_identity: bytes) -> bytes | None:
            try:
                key = self._key_for(config, psk_identity, seen, legs)
            except Exception as exc:  # never let an exception reach libssl
                seen["why"] = f"{type(exc).__name__}: {exc}"
                key = None
            error_queue_text()  # the retrieval's own libssl errors are not this handshake's
            seen["key"] = key
            return None if key is None else key.kc

        handshake = self.serve_handshake(
            listener,
            dtls=self.dtls,
            suites=self._suites(),
            on_psk=on_psk,
            datagram=config.datagram,
        )
        try:
            kc_id: str | None = seen.get("kc_id")
            leg = handshake.leg("association", "entity_a", psk_identity=kc_id)
            if kc_id is not None:
                leg.fields["kcId"] = kc_id
            if "why" in seen:
                leg.detail = f"{seen['why']}; {leg.detail}"
            key: RetrievedKey | None = seen.get("key")
            if handshake.established and key is not None and kc_id is not None:
                leg.peer_identity = self.faults.bound_identity(key.bound_identity, kc_id)
                leg.keys = exports(handshake.connection, self.request.exports)
                leg.detail += f"; server_name {handshake.connection.server_name!r}"
            return leg
        finally:
            self.end(handshake)

    def _key_for(
        self,
        config: EntityBConfig,
        psk_identity: bytes,
        seen: dict[str, Any],
        legs: list[LegResult],
    ) -> RetrievedKey | None:
        """Kc for the KcID A sent, or None (and ``seen["why"]``) to refuse it."""
        kc_id = psk_identity.decode("utf-8", errors="replace")
        seen["kc_id"] = kc_id
        parts = split_kc_id(kc_id)
        if parts is None:
            seen["why"] = f"KcID {kc_id!r} has no '@' MAF-FQDN part"
            return None
        relative, fqdn = parts
        if not self.faults.trusts_maf(fqdn, config.maf_identifier):
            seen["why"] = f"KcID names MAF {fqdn!r}, B trusts {config.maf_identifier!r}"
            return None
        key = self.faults.key_without_retrieval(kc_id, self._last)
        if key is None:
            key, leg = self._retrieve(config, kc_id, relative, fqdn)
            legs.append(leg)
            if key is None:
                seen["why"] = f"key retrieval: {leg.detail}"
                return None
            self._last = key
        if self.faults.b_checks_expiry() and key.expires <= time.time():
            seen["why"] = "Kc expired (expirationTime has passed)"
            return None
        return key

    def _retrieve(
        self, config: EntityBConfig, kc_id: str, relative: str, fqdn: str
    ) -> tuple[RetrievedKey | None, LegResult]:
        """One Key Retrieval exchange with the MAF (TLS-PSK, HTTP/1.1), bounded."""
        fields: dict[str, Any] = {"relativeKeyID": relative}
        leg = LegResult(
            "key_retrieval",
            "maf",
            Status.ERROR,
            psk_identity=config.key_retrieval_identity,
            peer_identity=fqdn,
            fields=fields,
        )
        maf = self.request.peers.get("maf")
        if maf is None:
            leg.detail = "no peers.maf to retrieve Kc from"
            return None, leg
        handshake = self.client_handshake(
            maf,
            dtls=False,  # the key-retrieval channel is TLS over TCP whatever A uses
            suites=[MANDATORY_TLS_SUITE],
            psk_identity=config.key_retrieval_identity,
            psk=config.key_retrieval_key,
            server_name=fqdn,
        )
        try:
            if not handshake.established:
                leg.status, leg.alert = handshake.status, handshake.alert
                leg.detail = f"TLS with the MAF: {handshake.detail}"
                return None, leg
            leg.cipher_suite = handshake.connection.cipher_suite
            try:
                status, body = self._post(handshake, config, fqdn, relative)
            except TimeoutError as exc:
                leg.status, leg.detail = Status.TIMEOUT, f"HTTP: {exc}"
                return None, leg
            except (OSError, http.client.HTTPException) as exc:
                leg.detail = f"HTTP: {type(exc).__name__}: {exc}"
                return None, leg
            fields["httpStatus"] = status
            return self._answer(kc_id, status, body, leg)
        finally:
            self.end(handshake)

    def _post(
        self, handshake: Handshake, config: EntityBConfig, fqdn: str, relative: str
    ) -> tuple[int, bytes]:
        assert isinstance(handshake.pump, SocketPump)  # key retrieval is always over TCP
        channel = TlsChannel(handshake.pump, self.deadline)
        connection = ChannelHTTPConnection(fqdn, channel)
        headers = {"Content-Type": "application/json", "Connection": "close"}
        if config.this_entity_id:
            headers["X-M2M-Origin"] = config.this_entity_id
        body = json.dumps({"relativeKeyID": relative}).encode()
        connection.request("POST", KEY_RETRIEVAL_PATH, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read(MAX_ANSWER)
        return response.status, data

    def _answer(
        self, kc_id: str, status: int, body: bytes, leg: LegResult
    ) -> tuple[RetrievedKey | None, LegResult]:
        """Check the MAF's answer; a 200 that lacks a field is a refusal too."""
        leg.status = Status.REFUSED
        try:
            answer = json.loads(body.decode("utf-8"))
        except ValueError:
            answer = None
        if status != 200:
            reason = answer.get("errorString") if isinstance(answer, dict) else None
            leg.detail = f"MAF answered {status}: {reason or body[:80]!r}"
            return None, leg
        if not isinstance(answer, dict):
            leg.detail = "MAF answered 200 with no JSON object"
            return None, leg
        try:
            kc = bytes.fromhex(str(answer["keyValue"]))
            expiration = str(answer["expirationTime"])
            leg.fields["expirationTime"] = expiration
            expires = parse_timestamp(expiration)
            source = answer.get("sourceEntityID")
            km_id = answer.get("sourceMafClientID")
        except (KeyError, ValueError) as exc:
            leg.detail = f"MAF answer malformed: {type(exc).__name__}: {exc}"
            return None, leg
        if len(kc) != 32:
            leg.detail = f"keyValue is {len(kc)} octets, expected 32"
            return None, leg
        if isinstance(source, str) and source:
            bound = source  # SAEF-MAF-24
        elif isinstance(km_id, str) and km_id:
            bound = f"{CREDENTIAL_TYPE_KMID}-{km_id}"  # SAEF-MAF-25: Credential-ID of KmID
        else:
            leg.detail = "MAF answer has neither sourceEntityID nor sourceMafClientID"
            return None, leg
        for name in ("sourceEntityID", "sourceMafClientID"):
            if isinstance(answer.get(name), str):
                leg.fields[name] = answer[name]
        leg.status = Status.ESTABLISHED
        leg.detail = f"Kc released until {expiration}"
        return RetrievedKey(kc_id, kc, bound, expires), leg
