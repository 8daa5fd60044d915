"""The MAF of the enrolee-key SBF, remotely provisioned: Km fetched from the MEF.

The MAF serves ``request.legs_expected("maf_handshake")`` MAF handshakes, one after
another, on ``services["maf_handshake"]`` (= ``listen``; (D)TLS per the transport, DTLS
with the cookie exchange). The Km is chosen inside libssl's PSK server callback, which
runs when the Enrolee's ClientKeyExchange arrives, i.e. after the CKE and before the
MAF's Finished:

- a KeID or KmID it already holds (I-04 comparison: hexBinary case-insensitive) -> that
  Km, without contacting the MEF (SBF-COMMON-13/14/20); an expired one is dropped first;
- an identifier ``hex@FQDN`` whose FQDN is its mefIdentifier and that it does not hold:
  the credential fetch (docs/sbf-psk.md, binding I-10): HTTP/1.1 over TLS 1.2 PSK 0x00AE
  to ``peers["mef"]``, psk_identity fetchIdentity, psk fetchKey, SNI mefIdentifier,
  ``GET /fetchCredentials/<KeID>/21`` with ``X-M2M-Origin: mafIdentifier``, bounded by
  the case deadline (SBF-COMMON-15). A 200 answer whose credential is 32 octets of hex,
  enroleeID a string and lifetime a future oneM2M timestamp gives Km (SBF-COMMON-16/17);
  the MAF binds enroleeID, forms KmID (``kmIdForm`` "assigned": the provisionedEntities
  entry for that enroleeID; "derived": derived_kmid(Km, mafIdentifier), I-05) and
  stores KeID -> Km and KmID -> Km until the lifetime ends (SBF-COMMON-18);
- anything else (no "@", not hex, another MEF, a refusal, a malformed answer, a failed
  channel) -> unknown identity: the handshake is refused with unknown_psk_identity.

The request and answer are built and read here, independently of the harness's binding
module, so a misreading on one side shows up as a failed interoperation.

Legs, in the order they completed: each ``credential_fetch`` {status, psk_identity
(fetchIdentity), peer_identity (the MEF's FQDN), fields {keId, httpStatus}} and then its
``maf_handshake`` {psk_identity, status, peer_identity (the enroleeID bound), fields
{kmId}, keys: the exports the request asks for}. The top-level fields are the last leg's.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from harness.frameworks.saef_maf.reference.entities import Handshake
from harness.frameworks.saef_maf.reference.http_channel import ChannelHTTPConnection, TlsChannel
from harness.frameworks.sbf_psk.reference.common import (
    Party,
    identifier_key,
    is_hex,
    parse_timestamp,
    split_identifier,
    summary,
    wire_host_name,
)
from harness.frameworks.sbf_psk.reference.config import MafConfig
from harness.frameworks.sbf_psk.reference.faults import SUID_REMOTE_PROVISIONED, FaultSet
from harness.key_export import derived_kmid
from harness.reference.account import exports
from harness.reference.ciphers import MANDATORY_TLS_SUITE
from harness.reference.endpoint import SocketPump
from harness.reference.libssl import error_queue_text
from harness.sut.contract import Address, LegResult, Role, Status, SutRequest, SutResult

FETCH_PATH = "/fetchCredentials"
ORIGIN_HEADER = "X-M2M-Origin"
MAX_ANSWER = 64 * 1024
KM_OCTETS = 32


@dataclass(frozen=True)
class HeldKm:
    """What the MAF holds after one fetch."""

    ke_id: str
    km: bytes
    km_id: str | None
    enrolee_id: str | None  # None only for the sbf_maf_accepts_refused_keid stand-in
    expires: float  # POSIX time (the MEF's lifetime)


class Maf(Party):
    role = Role.MAF

    def __init__(self, request: SutRequest, faults: FaultSet) -> None:
        super().__init__(request, faults)  # type: ignore[arg-type]  # Party needs .names only
        self.send_alert_on_failure = faults.send_alert_on_failure()
        self.sbf_faults = faults
        self._listener: socket.socket | None = None
        self.config: MafConfig | None = None
        self._held: dict[str, HeldKm] = {}  # identifier_key(KeID or KmID) -> Km

    def bind(self) -> Address | None:
        """Validate the configuration and bind the handshake socket (caller's thread)."""
        self.config = self._configure(MafConfig.from_configuration)
        if self.config is None:
            return None
        (self._listener,) = self._bind_services(("maf_handshake", True))
        return self.endpoints["maf_handshake"]

    def _run(self) -> SutResult:
        assert self.config is not None and self._listener is not None
        legs: list[LegResult] = []
        for _attempt in range(self.request.legs_expected("maf_handshake")):
            leg = self._serve(self.config, self._listener, legs)
            if self._stopped and leg.status is Status.ERROR:
                break  # ended by stop(): not a leg anyone ran
            legs.append(leg)
            if leg.status in (Status.TIMEOUT, Status.ERROR) and self.deadline.expired:
                break
        return summary(legs, "the MAF served nothing within the timeout")

    # -- the MAF handshake --

    def _serve(
        self, config: MafConfig, listener: socket.socket, legs: list[LegResult]
    ) -> LegResult:
        seen: dict[str, Any] = {}

        def on_psk(psk_identity: bytes) -> bytes | None:
            try:
                held = self._km_for(config, psk_identity, seen, legs)
            except Exception as exc:  # never let an exception reach libssl
                seen["why"] = f"{type(exc).__name__}: {exc}"
                held = None
            error_queue_text()  # the fetch's own libssl errors are not this handshake's
            seen["held"] = held
            return None if held is None else held.km

        handshake = self.serve_handshake(
            listener, dtls=self.dtls, suites=self._suites(), on_psk=on_psk, datagram=config.datagram
        )
        try:
            leg = handshake.leg("maf_handshake", "enrolee", psk_identity=seen.get("identity"))
            if "why" in seen:
                leg.detail = f"{seen['why']}; {leg.detail}"
            held: HeldKm | None = seen.get("held")
            if held is not None and held.km_id is not None:
                leg.fields["kmId"] = held.km_id
            if handshake.established and held is not None:
                leg.peer_identity = self.faults.maf_bound_identity(held.enrolee_id, held.ke_id)
                leg.keys = exports(handshake.connection, self.request.exports)
                leg.detail += f"; server_name {handshake.connection.server_name!r}"
            return leg
        finally:
            self.end(handshake)

    def _holding(self, identifier: str) -> HeldKm | None:
        """The Km held for a KeID or KmID; an expired one is forgotten (SBF-COMMON-21)."""
        key = identifier_key(identifier)
        held = self._held.get(key)
        if held is not None and held.expires <= time.time():
            self._held = {k: h for k, h in self._held.items() if h is not held}
            return None
        return held

    def _km_for(
        self, config: MafConfig, psk_identity: bytes, seen: dict[str, Any], legs: list[LegResult]
    ) -> HeldKm | None:
        """The Km for the identifier the Enrolee sent, or None (and ``seen["why"]``)."""
        faults = self.sbf_faults
        identifier = psk_identity.decode("utf-8", errors="replace")
        seen["identity"] = identifier
        held = self._holding(identifier)
        if held is not None and not faults.maf_refetches():
            return held  # SBF-COMMON-14: no fetch for a Km it holds
        ke_id = held.ke_id if held is not None else identifier
        parts = split_identifier(ke_id)
        if parts is None or not is_hex(parts[0]):
            seen["why"] = f"{identifier!r} is neither a held KmID/KeID nor a KeID (hex@FQDN)"
            return None
        relative, fqdn = parts
        if not faults.trusts_mef(fqdn, config.mef_identifier):
            seen["why"] = f"KeID names MEF {fqdn!r}, the MAF trusts {config.mef_identifier!r}"
            return None
        fetched, leg = self._fetch(config, ke_id)
        legs.append(leg)
        if fetched is None:
            stand_in = faults.refused_fetch_key(relative, config.maf_identifier)
            if stand_in is None:
                seen["why"] = f"credential fetch: {leg.detail}"
                return None
            leg.status = Status.ESTABLISHED  # the mutant treats the refusal as a success
            fetched = HeldKm(ke_id, stand_in, None, None, time.time() + 3600)
        self._held[identifier_key(ke_id)] = fetched
        if fetched.km_id is not None and faults.maf_stores_km_id():
            self._held[identifier_key(fetched.km_id)] = fetched
        return fetched

    # -- the credential fetch --

    def _fetch(self, config: MafConfig, ke_id: str) -> tuple[HeldKm | None, LegResult]:
        """One credential fetch from the MEF (TLS-PSK, HTTP/1.1), bounded."""
        fields: dict[str, Any] = {"keId": ke_id}
        leg = LegResult(
            "credential_fetch",
            "mef",
            Status.ERROR,
            psk_identity=config.fetch_identity,
            peer_identity=config.mef_identifier,
            fields=fields,
        )
        mef = self.request.peers.get("mef")
        if mef is None:
            leg.detail = "no peers.mef to fetch the credential from"
            return None, leg
        host = wire_host_name(config.mef_identifier)
        handshake = self.client_handshake(
            mef,
            dtls=False,  # the fetch channel is TLS over TCP whatever the Enrolee uses
            suites=[MANDATORY_TLS_SUITE],
            psk_identity=config.fetch_identity,
            psk=config.fetch_key,
            server_name=host,
        )
        try:
            if not handshake.established:
                leg.status, leg.alert = handshake.status, handshake.alert
                leg.detail = f"TLS with the MEF: {handshake.detail}"
                return None, leg
            leg.cipher_suite = handshake.connection.cipher_suite
            try:
                status, body = self._get(handshake, config, host or config.mef_identifier, ke_id)
            except TimeoutError as exc:
                leg.status, leg.detail = Status.TIMEOUT, f"HTTP: {exc}"
                return None, leg
            except (OSError, http.client.HTTPException, UnicodeError) as exc:
                leg.detail = f"HTTP: {type(exc).__name__}: {exc}"
                return None, leg
            fields["httpStatus"] = status
            return self._read_answer(config, ke_id, status, body, leg)
        finally:
            self.end(handshake)

    def _get(
        self, handshake: Handshake, config: MafConfig, host: str, ke_id: str
    ) -> tuple[int, bytes]:
        assert isinstance(handshake.pump, SocketPump)  # the fetch is always over TCP
        channel = TlsChannel(handshake.pump, self.deadline)
        connection = ChannelHTTPConnection(host, channel)
        suid = self.faults.maf_fetch_suid(SUID_REMOTE_PROVISIONED)
        target = f"{FETCH_PATH}/{quote(ke_id, safe='@')}/{suid}"
        headers = {
            ORIGIN_HEADER: config.maf_identifier,
            "Accept": "application/json",
            "Connection": "close",
        }
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(MAX_ANSWER)

    def _read_answer(
        self, config: MafConfig, ke_id: str, status: int, body: bytes, leg: LegResult
    ) -> tuple[HeldKm | None, LegResult]:
        """Check the MEF's answer; a 200 that lacks a field is a refusal too."""
        leg.status = Status.REFUSED
        try:
            answer = json.loads(body.decode("utf-8"))
        except ValueError:
            answer = None
        if status != 200:
            reason = answer.get("errorString") if isinstance(answer, dict) else None
            leg.detail = f"MEF answered {status}: {reason or body[:80]!r}"
            return None, leg
        if not isinstance(answer, dict):
            leg.detail = "MEF answered 200 with no JSON object"
            return None, leg
        try:
            km = bytes.fromhex(answer["credential"])
            enrolee_id = answer["enroleeID"]
            lifetime = answer["lifetime"]
            expires = parse_timestamp(lifetime)
        except (KeyError, TypeError, ValueError) as exc:
            leg.detail = f"MEF answer malformed: {type(exc).__name__}: {exc}"
            return None, leg
        if len(km) != KM_OCTETS:
            leg.detail = f"credential is {len(km)} octets, expected {KM_OCTETS}"
            return None, leg
        if not isinstance(enrolee_id, str) or not enrolee_id:
            leg.detail = f"enroleeID is not a non-empty string ({enrolee_id!r})"
            return None, leg
        if expires + 1.0 <= time.time():  # the timestamp is rounded down to the second
            leg.detail = f"the credential's lifetime {lifetime} has passed"
            return None, leg
        leg.fields["lifetime"] = lifetime
        if config.km_id_form == "derived":
            km_id: str | None = derived_kmid(km, config.maf_identifier)
        else:
            km_id = config.assigned_km_id(enrolee_id)
        leg.fields["enroleeID"] = enrolee_id
        if km_id is not None:
            leg.fields["kmId"] = km_id
        leg.status = Status.ESTABLISHED
        leg.detail = f"Km released for {enrolee_id} until {lifetime}"
        if km_id is None:
            leg.detail += f"; no masterCredentialIdentifier provisioned for {enrolee_id}"
        return HeldKm(ke_id, km, km_id, enrolee_id, expires + 1.0), leg
