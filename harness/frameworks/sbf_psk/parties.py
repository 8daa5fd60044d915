"""The enrolee-key SBF topologies: the SUT in one role, the harness the other two parties.

- SUT Enrolee: the harness is the MEF (a (D)TLS-PSK server keyed by KpmId that exports Ke
  and forms KeID as TS-0003 10.3.1/10.3.4 say) and the MAF (a (D)TLS-PSK server that
  knows every Ke its MEF exported, since both are the harness, and derives Km from it).
- SUT MEF: the harness is the Enrolee (the bootstrap, from which it derives the Ke and
  the Km it expects) and the MAF (the credential fetch, whose answer must carry that Km).
- SUT MAF: the harness is the Enrolee (MAF handshakes presenting KeID, later KmID) and
  the MEF (the fetch service, whose answers the test controls).

Servers run in :class:`~harness.topology.PartyThread`s while the main thread plays the
client party; each serves until the SUT has reported its result (docs/sbf-psk.md).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.frameworks.sbf_psk import binding
from harness.http import HttpRequest, RequestResult, ServedRequest, https_request, serve_https_once
from harness.key_export import (
    BOOTSTRAP_LABEL,
    EXPORT_LENGTH,
    ExportedKey,
    derive_km,
    derive_usage_constrained_key,
    derived_kmid,
    parse_key_identifier,
    split_export,
)
from harness.legs.tls_psk import case_timeout, play_client, play_server
from harness.observations import Exchange, PeerPlan
from harness.onem2m_values import format_timestamp, refusal
from harness.spec_profile import SpecProfile
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

BOOTSTRAP_EXPORT = (BOOTSTRAP_LABEL, EXPORT_LENGTH)
"""What a SUT Enrolee or MEF is asked to export from the bootstrap (checked by the harness)."""


# --- the key the MAF uses: spec profile I-12 and I-05 -----------------------------------------


def master_credential(spec: SpecProfile, ke: bytes, maf_id: str) -> bytes:
    """Km as the MEF releases it and the Enrolee derives it: 10.3.2 (seed, default) or the
    published 10.3.7 usage-constrained key (I-12)."""
    if spec.mef_returned_key == "usage-constrained":
        return derive_usage_constrained_key(ke, binding.SUID_REMOTE_PROVISIONED, maf_id)
    return derive_km(ke, maf_id)


def sut_configuration(spec: SpecProfile, table: dict[str, Any]) -> dict[str, Any]:
    """The IXIT table plus the two readings the SUT must follow (docs/sbf-psk.md)."""
    return {
        **table,
        "kmIdForm": spec.kmid_after_remote_provisioning,
        "kmDerivation": spec.mef_returned_key,
    }


# --- the harness MEF's Ke table ---------------------------------------------------------------


@dataclass
class HeldKe:
    """One Ke the harness holds (as MEF, or as the Enrolee that ran the bootstrap)."""

    relative_id: bytes
    ke: bytes = field(repr=False)
    ke_id: str  # lower-case hexBinary "@" MEF-FQDN (I-04)
    kpm_id: str
    enrolee_id: str
    maf_id: str  # the MAF the Enrolee is provisioned for (SBF-COMMON-06)
    expiration: dt.datetime


class KeStore:
    """The harness MEF's table, shared by its parties (threads); I-04 lookups."""

    def __init__(self, fqdn: str) -> None:
        self.fqdn = fqdn
        self._lock = threading.Lock()
        self._held: list[HeldKe] = []

    def issue(
        self, key: ExportedKey, kpm_id: str, enrolee_id: str, maf_id: str, lifetime: float = 3600.0
    ) -> HeldKe:
        held = HeldKe(
            relative_id=key.relative_id,
            ke=key.key,
            ke_id=key.key_id(self.fqdn),
            kpm_id=kpm_id,
            enrolee_id=enrolee_id,
            maf_id=maf_id,
            expiration=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lifetime),
        )
        with self._lock:
            self._held.append(held)
        return held

    def issue_random(self, kpm_id: str, enrolee_id: str, maf_id: str) -> HeldKe:
        """A Ke as if from a bootstrap the harness's own Enrolee and MEF ran (SUT: MAF)."""
        return self.issue(
            split_export(secrets.token_bytes(EXPORT_LENGTH)), kpm_id, enrolee_id, maf_id
        )

    @property
    def held(self) -> list[HeldKe]:
        with self._lock:
            return list(self._held)

    def by_ke_id(self, text: str) -> HeldKe | None:
        parsed = parse_key_identifier(text)
        if parsed is None or not parsed.names(self.fqdn):
            return None
        with self._lock:
            return next(
                (h for h in self._held if h.relative_id.hex() == parsed.relative.lower()), None
            )


# --- observations of a whole case -------------------------------------------------------------


@dataclass
class Bootstrap:
    """One bootstrap leg and the Ke the harness derived from it (None: it failed)."""

    exchange: Exchange
    held: HeldKe | None


@dataclass
class MafContact:
    """One MAF handshake leg. ``expected_km``: the Km the harness MAF used (SUT Enrolee)."""

    exchange: Exchange
    presented: str | None  # the psk_identity: received (harness MAF) or sent (harness Enrolee)
    kind: str  # "KeID", "KmID" or "other": what the presented identifier named
    held: HeldKe | None = None


@dataclass
class CredentialFetch:
    """One credential-fetch leg: the harness as MEF (``served``) or as MAF (``result``)."""

    served: ServedRequest | None = None
    result: RequestResult | None = None
    request: binding.FetchRequest | None = None  # as the harness MEF read it
    status: int | None = None
    body: Any = None  # the answer's JSON
    at: float = 0.0  # time.time() when it was read (served) or sent

    @property
    def trace(self) -> Any:
        observation = self.served or self.result
        return observation.trace if observation is not None else None


@dataclass
class SbfCase:
    """Everything the harness saw in one enrolee-key SBF case, in the order it happened."""

    sut_role: Role
    bootstraps: list[Bootstrap] = field(default_factory=list)
    maf_contacts: list[MafContact] = field(default_factory=list)
    fetches: list[CredentialFetch] = field(default_factory=list)
    store: KeStore | None = None
    sut_result: SutResult | None = None


# --- plans ------------------------------------------------------------------------------------


@dataclass
class EnroleePlan:
    """The SUT is the Enrolee: the harness MEF's and the harness MAF's behaviour."""

    mef: PeerPlan  # psk_table: KpmId -> Kpm
    maf: PeerPlan
    mef_fqdn: str
    maf_id: str  # the MAF-ID the harness MAF derives Km with (a test may change it)
    enrolee_id: str
    kmid: str | None  # I-05 "assigned": the KmID the MAF accepts after the first contact
    contacts: int = 1  # MAF handshakes the SUT is asked to run (expected_legs)
    wrong_maf_id: str | None = None
    """The harness MAF derives Km with this MAF-ID instead (SBF-COMMON-06 negative); it
    still reads the SUT's alert under the Km of the right MAF-ID."""


@dataclass
class FetchPlan:
    """One fetch the harness MAF sends to a SUT MEF."""

    identity: bytes  # fetch channel psk_identity
    key: bytes
    origin: str  # X-M2M-Origin
    ke_id: str | None = None  # None: the KeID of the bootstrap the harness Enrolee ran
    delay: float = 0.0  # seconds after the bootstrap before this fetch (a lifetime test)


@dataclass
class MefPlan:
    """The SUT is the MEF: the harness Enrolee's bootstrap and the harness MAF's fetches."""

    enrolee: PeerPlan  # psk_identity = KpmId, psk = Kpm, SNI = MEF-FQDN
    mef_fqdn: str
    enrolee_id: str
    maf_id: str  # the MAF-ID configured for this Enrolee: the Km derivation input
    fetches: list[FetchPlan] = field(default_factory=list)
    bootstrap_expected: bool = True  # False: the bootstrap is meant to fail


@dataclass
class MefAnswer:
    """How the harness MEF answers fetches (the SUT is the MAF)."""

    refuse_status: int | None = None  # answer every fetch with this refusal
    enrolee_id: str | None = None  # the Enrolee-ID it passes (None: the held one)


@dataclass
class MafSutPlan:
    """The SUT is the MAF: the harness Enrolee's contacts and the harness MEF's answers."""

    store: KeStore  # the Ke the harness MEF holds (the bootstrap ran before the case)
    held: HeldKe
    contacts: list[PeerPlan]  # psk_identity = KeID or KmID, psk = Km
    answer: MefAnswer
    fetch_identity: bytes
    fetch_key: bytes
    kinds: list[str] = field(default_factory=list)  # what each contact presents


# --- running ------------------------------------------------------------------------------------


def _request(case: Case, role: Role, configuration: dict[str, Any], timeout: float) -> SutRequest:
    exports = [ExportRequest(*BOOTSTRAP_EXPORT)] if role in (Role.ENROLEE, Role.MEF) else []
    return SutRequest(
        role=role,
        framework=Framework.SBF_PSK,
        transport=case.transport,
        configuration=configuration,
        cipher_suites=list(case.profile.ics.cipher_suites),
        timeout=timeout,
        exports=exports,
        test_case=case.info.tp,
    )


def _identity_kind(text: str | None, held: HeldKe | None, kmid: str | None) -> str:
    if text is None:
        return "other"
    if held is not None and text == held.ke_id:
        return "KeID"
    if kmid is not None and text == kmid:
        return "KmID"
    return "other"


def run_sut_enrolee(case: Case, configuration: dict[str, Any], plan: EnroleePlan) -> SbfCase:
    """The harness is the MEF and the MAF around a SUT Enrolee."""
    ixit = case.profile.ixit
    spec = case.spec
    store = KeStore(plan.mef_fqdn)
    observed = SbfCase(Role.ENROLEE, store=store)
    provisioned: dict[str, bytes] = {}  # KmID -> Km, once the first contact fetched it
    current: dict[str, Any] = {}

    def right_km(identity: bytes) -> bytes | None:
        text = identity.decode(errors="replace")
        held = store.by_ke_id(text)
        current["held"] = held
        if held is not None:
            km = master_credential(spec, held.ke, plan.maf_id)
            kmid = plan.kmid or derived_kmid(km, plan.maf_id)
            provisioned[kmid] = km
            current["kmid"] = kmid
            return km
        current["kmid"] = next(iter(provisioned), None)
        return provisioned.get(text)

    def maf_lookup(identity: bytes) -> bytes | None:
        km = right_km(identity)
        held = current.get("held")
        if plan.wrong_maf_id is None or held is None:
            return km
        return master_credential(spec, held.ke, plan.wrong_maf_id)

    plan.maf.psk_lookup = maf_lookup
    plan.maf.peer_psk_lookup = right_km if plan.wrong_maf_id is not None else None
    timeout = case_timeout(ixit, case.transport, plan.mef, plan.maf)
    deadline = time.monotonic() + timeout
    mef_listener = open_listener(case, case.transport, ixit.host)
    maf_listener = open_listener(case, case.transport, ixit.host)
    request = _request(case, Role.ENROLEE, configuration, timeout)
    request.connect = address_of(mef_listener)
    request.peers = {"mef": request.connect, "maf": address_of(maf_listener)}
    request.expected_legs = {"maf_handshake": plan.contacts}
    session = start_sut(case, request)
    wait_ready(session, timeout)
    sut = SutRun(case, session, timeout)
    exported: list[HeldKe] = []

    def export_ke(conn: Any) -> None:
        """The MEF's side of 10.3.1, before its Finished leaves (the Enrolee may contact the
        MAF as soon as it has that Finished)."""
        material = conn.export_keying_material(BOOTSTRAP_LABEL.encode(), EXPORT_LENGTH, None)
        kpm_id = (conn.psk_identity or b"").decode(errors="replace")
        exported.append(store.issue(split_export(material), kpm_id, plan.enrolee_id, plan.maf_id))

    plan.mef.on_established = export_ke

    def serve_mef() -> list[Bootstrap]:
        served: list[Bootstrap] = []
        while readable(mef_listener, sut.done, deadline):
            exported.clear()
            played = play_server(plan.mef, mef_listener, case.transport, left(deadline))
            exchange = played.exchange(Role.MEF, plan.mef, None)
            served.append(Bootstrap(exchange, exported[0] if exported else None))
        return served

    mef_party = PartyThread("MEF", serve_mef)
    while readable(maf_listener, sut.done, deadline):
        current.clear()
        played = play_server(plan.maf, maf_listener, case.transport, left(deadline))
        exchange = played.exchange(Role.MAF, plan.maf, None)
        seen = exchange.psk_identity_received
        text = None if seen is None else seen.decode(errors="replace")
        held = current.get("held") or (store.held[-1] if store.held else None)
        kind = _identity_kind(text, held, current.get("kmid"))
        observed.maf_contacts.append(MafContact(exchange, text, kind, held))
    observed.bootstraps = mef_party.join(left(deadline) + 2.0)
    observed.sut_result = sut.result()
    _attach(observed)
    for b in observed.bootstraps:
        ex = b.exchange
        record_leg(case, "bootstrap", Role.MEF, Role.ENROLEE, ex.ending.describe(), ex.trace)
    for c in observed.maf_contacts:
        ex = c.exchange
        record_leg(case, "maf_handshake", Role.MAF, Role.ENROLEE, ex.ending.describe(), ex.trace)
    return observed


def run_sut_mef(case: Case, configuration: dict[str, Any], plan: MefPlan) -> SbfCase:
    """The harness is the Enrolee and the MAF around a SUT MEF."""
    ixit = case.profile.ixit
    timeout = case_timeout(ixit, case.transport, plan.enrolee)
    deadline = time.monotonic() + timeout
    store = KeStore(plan.mef_fqdn)
    observed = SbfCase(Role.MEF, store=store)
    request = _request(case, Role.MEF, configuration, timeout)
    request.listen = Address(ixit.host, 0)
    request.services = {"bootstrap": request.listen, "credential_fetch": Address(ixit.host, 0)}
    request.expected_legs = {"bootstrap": 1, "credential_fetch": len(plan.fetches)}
    session = start_sut(case, request)
    primary = wait_ready(session, timeout)
    bootstrap_at = sut_endpoint(session, "bootstrap", primary)
    fetch_at = sut_endpoint(session, "credential_fetch", None) if plan.fetches else None
    played = play_client(plan.enrolee, bootstrap_at, case.transport, left(deadline))
    exchange = played.exchange(Role.ENROLEE, plan.enrolee, None)
    held = None
    if exchange.ending.kind == "established":
        material = exchange.export(BOOTSTRAP_LABEL.encode(), EXPORT_LENGTH, None)
        kpm_id = plan.enrolee.psk_identity.decode(errors="replace")
        held = store.issue(split_export(material), kpm_id, plan.enrolee_id, plan.maf_id)
    observed.bootstraps.append(Bootstrap(exchange, held))
    record_leg(
        case, "bootstrap", Role.ENROLEE, Role.MEF, exchange.ending.describe(), exchange.trace
    )
    for fetch in plan.fetches:
        ke_id = fetch.ke_id or (held.ke_id if held else None)
        if fetch_at is None or ke_id is None:
            break
        if fetch.delay:
            time.sleep(min(fetch.delay, left(deadline)))  # the MEF's clock: only time tells
        leg = CredentialFetch(at=time.time())
        leg.result = https_request(
            (fetch_at.host, fetch_at.port),
            fetch.identity,
            fetch.key,
            plan.mef_fqdn,
            method="GET",
            target=binding.fetch_target(ke_id),
            headers=[(binding.ORIGIN_HEADER, fetch.origin)],
            deadline=time.monotonic() + left(deadline),
        )
        response = leg.result.response
        if response is not None:
            leg.status, leg.body = response.status, response.json
        observed.fetches.append(leg)
        summary = f"HTTP {leg.status}" if leg.status else leg.result.detail
        record_leg(case, "credential_fetch", Role.MAF, Role.MEF, summary, leg.trace)
    observed.sut_result = sut_result(case, session, left(deadline) + 1.0)
    _attach(observed)
    return observed


def answer_fetch(
    store: KeStore,
    answer: MefAnswer,
    req: HttpRequest,
    maf_id: str,
    lifetime: float,
    spec: SpecProfile,
) -> tuple[int, dict[str, Any], binding.FetchRequest]:
    """The harness MEF's fetch service: the binding, with the test's choices."""
    headers = {name.lower(): value for name, value in req.headers}
    fetch = binding.read_fetch(req.method, req.target, headers)
    if fetch.problem is not None:
        return 400, refusal(fetch.problem), fetch
    if answer.refuse_status is not None:
        return answer.refuse_status, refusal("refused by the test"), fetch
    held = store.by_ke_id(fetch.ke_id or "")
    if held is None:
        return 404, refusal("unknown KeID"), fetch
    if fetch.origin != held.maf_id or fetch.origin != maf_id:
        return 403, refusal(f"{fetch.origin!r} is not the MAF of this Enrolee"), fetch
    km = master_credential(spec, held.ke, held.maf_id)
    expiry = format_timestamp(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lifetime))
    return 200, binding.answer(km, answer.enrolee_id or held.enrolee_id, expiry), fetch


def run_sut_maf(case: Case, configuration: dict[str, Any], plan: MafSutPlan) -> SbfCase:
    """The harness is the Enrolee and the MEF around a SUT MAF."""
    ixit = case.profile.ixit
    timeout = case_timeout(ixit, case.transport, *plan.contacts)
    deadline = time.monotonic() + timeout
    observed = SbfCase(Role.MAF, store=plan.store)
    mef_listener = open_listener(case, Transport.TLS, ixit.host)
    request = _request(case, Role.MAF, configuration, timeout)
    request.listen = Address(ixit.host, 0)
    request.services = {"maf_handshake": request.listen}
    request.peers = {"mef": address_of(mef_listener)}
    request.expected_legs = {"maf_handshake": len(plan.contacts)}
    session = start_sut(case, request)
    primary = wait_ready(session, timeout)
    maf_at = sut_endpoint(session, "maf_handshake", primary)
    sut = SutRun(case, session, timeout)
    clients = {plan.fetch_identity: plan.fetch_key}
    maf_id = str(configuration.get("mafIdentifier", ""))

    def serve_fetches() -> list[CredentialFetch]:
        legs: list[CredentialFetch] = []
        while readable(mef_listener, sut.done, deadline):
            leg = CredentialFetch()

            def handler(req: HttpRequest, identity: bytes, leg: CredentialFetch = leg) -> tuple:
                leg.at = time.time()
                status, body, fetch = answer_fetch(
                    plan.store, plan.answer, req, maf_id, 3600.0, case.spec
                )
                leg.status, leg.body, leg.request = status, body, fetch
                return status, body

            leg.served = serve_https_once(
                mef_listener, clients, handler, time.monotonic() + left(deadline)
            )
            legs.append(leg)
        return legs

    mef_party = PartyThread("MEF", serve_fetches)
    for contact, kind in zip(plan.contacts, plan.kinds, strict=True):
        played = play_client(contact, maf_at, case.transport, left(deadline))
        exchange = played.exchange(Role.ENROLEE, contact, None)
        presented = contact.psk_identity.decode(errors="replace")
        observed.maf_contacts.append(MafContact(exchange, presented, kind, plan.held))
        if left(deadline) <= 0.05:
            break
    result = sut.result()
    observed.fetches = mef_party.join(left(deadline) + 2.0)
    observed.sut_result = result
    _attach(observed)
    for c in observed.maf_contacts:
        ex = c.exchange
        record_leg(case, "maf_handshake", Role.ENROLEE, Role.MAF, ex.ending.describe(), ex.trace)
    for leg in observed.fetches:
        summary = f"HTTP {leg.status}" if leg.status else (leg.served.detail if leg.served else "")
        record_leg(case, "credential_fetch", Role.MEF, Role.MAF, summary, leg.trace)
    return observed


def _attach(observed: SbfCase) -> None:
    """Give each leg's observation the SUT's account, for the checks that compare them."""
    result = observed.sut_result
    if result is None:
        return
    for b in observed.bootstraps:
        b.exchange.sut_result = result
    for c in observed.maf_contacts:
        c.exchange.sut_result = result
