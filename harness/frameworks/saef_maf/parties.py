"""The MAF-based SAEF topologies: the SUT in one role, the harness the other two parties.

- SUT Entity A: the harness is the MAF (a (D)TLS-PSK server keyed by KmID that exports
  Kc and forms KcID exactly as TS-0003 10.3.1/10.3.5 say) and Entity B (a (D)TLS-PSK
  server that knows every Kc the harness MAF issued, since both are the harness).
- SUT Entity B: the harness is Entity A (a (D)TLS-PSK client presenting a KcID) and the
  MAF (the key-retrieval service of the suite's binding, whose answers the test
  controls: expiry, refusal, the identity it passes).
- SUT MAF: the harness is Entity A (the MAF handshake, from which it derives the Kc it
  expects) and Entity B (key retrieval, whose answer must carry that Kc).

Servers run in :class:`~harness.topology.PartyThread`s while the main thread plays the
client party; each serves until the SUT has reported its result (the SUT's own "I am
done"), so no party waits out a bound unless silence is what the test observes.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.frameworks.saef_maf import binding
from harness.http import HttpRequest, RequestResult, ServedRequest, https_request, serve_https_once
from harness.key_export import (
    CONNECTION_LABEL,
    CREDENTIAL_TYPE_KMID,
    EXPORT_LENGTH,
    ExportedKey,
    credential_id,
    parse_key_identifier,
    split_export,
)
from harness.legs.tls_psk import case_timeout, play_client, play_server
from harness.observations import Exchange, PeerPlan
from harness.onem2m_values import format_timestamp, refusal
from harness.sut.contract import (
    Address,
    ExportRequest,
    Framework,
    Role,
    SutRequest,
    SutResult,
    Transport,
)
from harness.topology import (
    PartyThread,
    SutRun,
    address_of,
    left,
    open_listener,
    readable,
    record_leg,
    start_sut,
    sut_endpoint,
    sut_result,
    wait_ready,
)

if TYPE_CHECKING:
    from harness.plugin import Case

ASSOCIATION_EXPORT = (CONNECTION_LABEL, EXPORT_LENGTH)
"""What the SUT is asked to export from each association (checked against the harness)."""


# --- the harness MAF's keys ---------------------------------------------------------------


@dataclass
class IssuedKc:
    """One Kc the harness MAF holds: what it answers a key retrieval with."""

    relative_id: bytes
    kc: bytes = field(repr=False)
    kc_id: str  # as the harness formed it: lower-case hexBinary "@" MAF-FQDN (I-04)
    kmid: str
    idb: str | None  # the Entity B it may be released to (SAEF-MAF-08)
    entity_id: str | None  # A's CSE-ID/AE-ID, passed to B when known (SAEF-MAF-19)
    expiration: dt.datetime
    refused_by_b: bool = False  # a harness Entity B treated it as expired

    @property
    def relative_text(self) -> str:
        return self.relative_id.hex()


class KcStore:
    """The harness MAF's Kc table, shared by its parties (threads): lookups follow I-04,
    the relative part compared case-insensitively."""

    def __init__(self, fqdn: str) -> None:
        self.fqdn = fqdn
        self._lock = threading.Lock()
        self._issued: list[IssuedKc] = []

    def issue(
        self,
        key: ExportedKey,
        kmid: str,
        idb: str | None,
        entity_id: str | None,
        lifetime: float,
    ) -> IssuedKc:
        issued = IssuedKc(
            relative_id=key.relative_id,
            kc=key.key,
            kc_id=key.key_id(self.fqdn),
            kmid=kmid,
            idb=idb,
            entity_id=entity_id,
            expiration=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lifetime),
        )
        with self._lock:
            self._issued.append(issued)
        return issued

    def issue_random(self, kmid: str, idb: str | None, entity_id: str | None) -> IssuedKc:
        """A Kc as if from a MAF handshake the harness's own A and MAF ran (the SUT is B)."""
        material = secrets.token_bytes(EXPORT_LENGTH)
        return self.issue(split_export(material), kmid, idb, entity_id, 3600.0)

    @property
    def issued(self) -> list[IssuedKc]:
        with self._lock:
            return list(self._issued)

    def by_relative(self, relative: str) -> IssuedKc | None:
        with self._lock:
            return next((i for i in self._issued if i.relative_text == relative.lower()), None)

    def by_kc_id(self, text: str) -> IssuedKc | None:
        parsed = parse_key_identifier(text)
        if parsed is None or not parsed.names(self.fqdn):
            return None
        return self.by_relative(parsed.relative)


# --- observations of a whole case ----------------------------------------------------------


@dataclass
class MafHandshake:
    """One MAF handshake leg and the Kc the harness derived from it (None: it failed)."""

    exchange: Exchange
    issued: IssuedKc | None
    exported: ExportedKey | None = None  # the harness A's derivation (the SUT is the MAF)


@dataclass
class KeyRetrieval:
    """One key-retrieval leg: the harness as MAF (``served``) or as Entity B (``result``)."""

    served: ServedRequest | None = None
    result: RequestResult | None = None
    answered: IssuedKc | None = None  # the harness MAF released this Kc
    status: int | None = None  # the HTTP status of the answer
    at: float = 0.0  # time.time() when the request was read (served) or sent

    @property
    def trace(self) -> Any:
        observation = self.served or self.result
        return observation.trace if observation is not None else None


@dataclass
class MafCase:
    """Everything the harness saw in one MAF-SAEF case, in the order it happened."""

    sut_role: Role
    maf_handshakes: list[MafHandshake] = field(default_factory=list)
    associations: list[Exchange] = field(default_factory=list)
    key_retrievals: list[KeyRetrieval] = field(default_factory=list)
    store: KcStore | None = None
    sut_result: SutResult | None = None


# --- plans ------------------------------------------------------------------------------------


@dataclass
class EntityAPlan:
    """The SUT is Entity A: the harness MAF's and the harness Entity B's behaviour."""

    maf: PeerPlan  # psk_table: KmID -> Km
    entity_b: PeerPlan
    maf_fqdn: str
    idb: str
    rounds: int = 1  # associations the SUT is asked to run (expected_legs)
    b_refuses: set[int] = field(default_factory=set)
    """Association attempts (0-based, in arrival order) the harness B refuses as an expired
    Kc: it fails the handshake, and the Kc stays refused (a retry with it fails too)."""


@dataclass
class ARound:
    """One association the harness Entity A runs towards a SUT Entity B."""

    plan: PeerPlan  # psk_identity = the KcID presented, psk = the Kc used


@dataclass
class MafAnswer:
    """How the harness MAF answers key retrievals (the SUT is Entity B)."""

    expired: bool = False  # expirationTime in the past
    pass_entity_id: bool = True  # sourceEntityID when the harness knows A's identity
    refuse_status: int | None = None  # answer every retrieval with this refusal


@dataclass
class EntityBPlan:
    store: KcStore  # the Kc the harness MAF holds (issued before the case starts)
    rounds: list[ARound]
    answer: MafAnswer
    key_retrieval_identity: bytes
    key_retrieval_key: bytes
    maf_reachable: bool = True


@dataclass
class MafPlan:
    """The SUT is the MAF: what the harness A and B do."""

    handshake: PeerPlan  # psk_identity = KmID, psk = Km
    retrievals: list[tuple[bytes, bytes]]  # (keyRetrievalIdentity, key) of each harness B
    expected_kmid: str
    relative_key_id: Callable[[MafHandshake], str | None] = lambda h: (
        h.exported.relative_id.hex() if h.exported else None
    )


# --- running -----------------------------------------------------------------------------------


def _request(case: Case, role: Role, configuration: dict[str, Any], timeout: float) -> SutRequest:
    return SutRequest(
        role=role,
        framework=Framework.SAEF_MAF,
        transport=case.transport,
        configuration=configuration,
        cipher_suites=list(case.profile.ics.cipher_suites),
        timeout=timeout,
        exports=[ExportRequest(*ASSOCIATION_EXPORT)],
        test_case=case.info.tp,
    )


def run_sut_entity_a(case: Case, configuration: dict[str, Any], plan: EntityAPlan) -> MafCase:
    """The harness is the MAF and Entity B around a SUT Entity A."""
    ixit = case.profile.ixit
    timeout = case_timeout(ixit, case.transport, plan.maf, plan.entity_b)
    deadline = time.monotonic() + timeout
    store = KcStore(plan.maf_fqdn)
    observed = MafCase(Role.ENTITY_A, store=store)
    maf_listener = open_listener(case, case.transport, ixit.host)
    b_listener = open_listener(case, case.transport, ixit.host)
    request = _request(case, Role.ENTITY_A, configuration, timeout)
    request.connect = address_of(b_listener)
    request.peers = {"maf": address_of(maf_listener), "entity_b": request.connect}
    request.expected_legs = {"association": plan.rounds}
    session = start_sut(case, request)
    wait_ready(session, timeout)
    sut = SutRun(case, session, timeout)

    issued_now: list[IssuedKc] = []

    def issue_kc(conn: Any) -> None:
        """The MAF's side of 10.3.1, run before its Finished leaves: Entity A can present
        the KcID to the harness B only after that Finished, so B finds the Kc stored."""
        kmid = (conn.psk_identity or b"").decode(errors="replace")
        material = conn.export_keying_material(CONNECTION_LABEL.encode(), EXPORT_LENGTH, None)
        issued_now.append(store.issue(split_export(material), kmid, plan.idb, None, 3600.0))

    plan.maf.on_established = issue_kc

    def serve_maf() -> list[MafHandshake]:
        served: list[MafHandshake] = []
        while readable(maf_listener, sut.done, deadline):
            issued_now.clear()
            played = play_server(plan.maf, maf_listener, case.transport, left(deadline))
            exchange = played.exchange(Role.MAF, plan.maf, None)
            served.append(MafHandshake(exchange, issued_now[0] if issued_now else None))
        return served

    maf_party = PartyThread("MAF", serve_maf)
    attempt = 0

    def b_lookup(identity: bytes) -> bytes | None:
        issued = store.by_kc_id(identity.decode(errors="replace"))
        if issued is None or issued.refused_by_b:
            return None
        if attempt in plan.b_refuses:  # the harness B's clock says this Kc has expired
            issued.refused_by_b = True
            return None
        return issued.kc

    b_plan = plan.entity_b
    b_plan.psk_lookup = b_lookup
    while readable(b_listener, sut.done, deadline):
        played = play_server(b_plan, b_listener, case.transport, left(deadline))
        observed.associations.append(played.exchange(Role.ENTITY_B, b_plan, None))
        attempt += 1
    observed.maf_handshakes = maf_party.join(left(deadline) + 2.0)
    observed.sut_result = sut.result()
    _attach(observed)
    for handshake in observed.maf_handshakes:
        ex = handshake.exchange
        record_leg(case, "maf_handshake", Role.MAF, Role.ENTITY_A, ex.ending.describe(), ex.trace)
    for ex in observed.associations:
        record_leg(
            case, "association", Role.ENTITY_B, Role.ENTITY_A, ex.ending.describe(), ex.trace
        )
    return observed


def run_sut_entity_b(case: Case, configuration: dict[str, Any], plan: EntityBPlan) -> MafCase:
    """The harness is Entity A and the MAF around a SUT Entity B."""
    ixit = case.profile.ixit
    timeout = case_timeout(ixit, case.transport, *(round_.plan for round_ in plan.rounds))
    deadline = time.monotonic() + timeout
    store = plan.store
    observed = MafCase(Role.ENTITY_B, store=store)
    kr_listener = open_listener(case, Transport.TLS, ixit.host)
    kr_address = address_of(kr_listener)
    if not plan.maf_reachable:
        kr_listener.close()
    request = _request(case, Role.ENTITY_B, configuration, timeout)
    request.listen = Address(ixit.host, 0)
    request.services = {"association": request.listen}
    request.peers = {"maf": kr_address}
    request.expected_legs = {"association": len(plan.rounds)}
    session = start_sut(case, request)
    address = wait_ready(session, timeout)
    b_address = sut_endpoint(session, "association", address)
    sut = SutRun(case, session, timeout)
    clients = {plan.key_retrieval_identity: plan.key_retrieval_key}

    def serve_key_retrievals() -> list[KeyRetrieval]:
        legs: list[KeyRetrieval] = []
        while plan.maf_reachable and readable(kr_listener, sut.done, deadline):
            leg = KeyRetrieval()

            def handler(req: HttpRequest, identity: bytes, leg: KeyRetrieval = leg) -> tuple:
                leg.at = time.time()
                status, body, issued = answer_retrieval(store, plan.answer, req, identity, clients)
                leg.status, leg.answered = status, issued
                return status, body

            leg.served = serve_https_once(
                kr_listener, clients, handler, time.monotonic() + left(deadline)
            )
            legs.append(leg)
        return legs

    maf_party = PartyThread("MAF", serve_key_retrievals)
    for round_ in plan.rounds:
        played = play_client(round_.plan, b_address, case.transport, left(deadline))
        observed.associations.append(played.exchange(Role.ENTITY_A, round_.plan, None))
        if left(deadline) <= 0:
            break
    result = sut.result()
    observed.key_retrievals = maf_party.join(left(deadline) + 2.0)
    observed.sut_result = result
    _attach(observed)
    for ex in observed.associations:
        record_leg(
            case, "association", Role.ENTITY_A, Role.ENTITY_B, ex.ending.describe(), ex.trace
        )
    for leg in observed.key_retrievals:
        summary = f"HTTP {leg.status}" if leg.status else (leg.served.detail if leg.served else "")
        record_leg(case, "key_retrieval", Role.MAF, Role.ENTITY_B, summary, leg.trace)
    return observed


def answer_retrieval(
    store: KcStore,
    answer: MafAnswer,
    req: HttpRequest,
    identity: bytes,
    clients: dict[bytes, bytes],
) -> tuple[int, dict[str, Any], IssuedKc | None]:
    """The harness MAF's key-retrieval service: the binding, with the test's choices."""
    if req.method != "POST" or req.target != binding.PATH:
        return 404, refusal(f"no such resource {req.method} {req.target}"), None
    body = req.json if isinstance(req.json, dict) else None
    relative = body.get("relativeKeyID") if body else None
    if not isinstance(relative, str):
        return 400, refusal("the body has no relativeKeyID string"), None
    if answer.refuse_status is not None:
        return answer.refuse_status, refusal("refused by the test"), None
    issued = store.by_relative(relative)
    if issued is None:
        return 404, refusal("unknown key"), None
    expiration = issued.expiration
    if answer.expired:
        expiration = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    reply: dict[str, Any] = {
        "keyValue": issued.kc.hex(),
        "expirationTime": format_timestamp(expiration),
        "sourceMafClientID": issued.kmid,
        "suid": binding.SUID_SAEF,
        "labels": [],
        "adminFQDN": store.fqdn,
    }
    if answer.pass_entity_id and issued.entity_id:
        reply[binding.EXTENSION_ENTITY_ID] = issued.entity_id
    return 200, reply, issued


def run_sut_maf(case: Case, configuration: dict[str, Any], plan: MafPlan) -> MafCase:
    """The harness is Entity A and Entity B around a SUT MAF."""
    ixit = case.profile.ixit
    timeout = case_timeout(ixit, case.transport, plan.handshake)
    deadline = time.monotonic() + timeout
    observed = MafCase(Role.MAF)
    request = _request(case, Role.MAF, configuration, timeout)
    request.listen = Address(ixit.host, 0)
    request.services = {"maf_handshake": request.listen, "key_retrieval": Address(ixit.host, 0)}
    request.exports = []
    retrievals = len(plan.retrievals)
    request.expected_legs = {"maf_handshake": 1, "key_retrieval": retrievals}
    session = start_sut(case, request)
    primary = wait_ready(session, timeout)
    handshake_at = sut_endpoint(session, "maf_handshake", primary)
    retrieval_at = sut_endpoint(session, "key_retrieval", None) if retrievals else None
    played = play_client(plan.handshake, handshake_at, case.transport, left(deadline))
    exchange = played.exchange(Role.ENTITY_A, plan.handshake, None)
    exported = None
    if exchange.ending.kind == "established":
        exported = split_export(exchange.export(CONNECTION_LABEL.encode(), EXPORT_LENGTH, None))
    handshake = MafHandshake(exchange, None, exported)
    observed.maf_handshakes.append(handshake)
    record_leg(
        case, "maf_handshake", Role.ENTITY_A, Role.MAF, exchange.ending.describe(), exchange.trace
    )
    relative = plan.relative_key_id(handshake)
    for identity, key in plan.retrievals:
        if retrieval_at is None or relative is None:
            break
        leg = KeyRetrieval(at=time.time())
        leg.result = https_request(
            (retrieval_at.host, retrieval_at.port),
            identity,
            key,
            _maf_fqdn(configuration),
            json_body=binding.request_body(relative),
            deadline=time.monotonic() + left(deadline),
        )
        if leg.result.response is not None:
            leg.status = leg.result.response.status
        observed.key_retrievals.append(leg)
        summary = f"HTTP {leg.status}" if leg.status else leg.result.detail
        record_leg(case, "key_retrieval", Role.ENTITY_B, Role.MAF, summary, leg.trace)
    observed.sut_result = sut_result(case, session, left(deadline) + 1.0)
    _attach(observed)
    return observed


def _maf_fqdn(configuration: dict[str, Any]) -> str:
    return str(configuration.get("mafIdentifier", ""))


def _attach(observed: MafCase) -> None:
    """Give each leg's observation the SUT's account, for the checks that compare them."""
    result = observed.sut_result
    if result is None:
        return
    for ex in observed.associations:
        ex.sut_result = result
    for handshake in observed.maf_handshakes:
        handshake.exchange.sut_result = result


def credential_of(kmid: str) -> str:
    """The Credential-ID B binds to when the MAF passes no entity ID (SAEF-MAF-25)."""
    return credential_id(CREDENTIAL_TYPE_KMID, kmid)
