"""Steps of the enrolee-key SBF (seed 001 8.3.1, 8.3.2.1; docs/sbf-psk.md).

A case holds three parties: the SUT in one role, the harness in the other two. The Given
steps build the harness parties' plans (``case.state["sbf_plan"]``); the When step runs
the topology (harness.frameworks.sbf_psk.parties) and leaves the whole observation in
``case.state["sbf"]`` and, for the steps shared with the SAEFs (steps/common_steps.py),
the leg they judge in ``case.state["exchange"]``: the bootstrap, unless a Given step
moved the fault to the MAF handshake (``case.state["judged"] = "maf"``).
``case.state["plan"]`` is the plan the shared fault steps change.
"""

from __future__ import annotations

import copy
import secrets

from pytest_bdd import given, parsers, then, when

from harness import checks
from harness.frameworks.sbf_psk import checks as sbf_checks
from harness.frameworks.sbf_psk.parties import (
    EnroleePlan,
    FetchPlan,
    KeStore,
    MafSutPlan,
    MefAnswer,
    MefPlan,
    SbfCase,
    master_credential,
    run_sut_enrolee,
    run_sut_maf,
    run_sut_mef,
    sut_configuration,
)
from harness.key_export import BOOTSTRAP_LABEL, EXPORT_LENGTH, derived_kmid, key_identifier
from harness.observations import PeerPlan
from harness.plugin import Case
from harness.sut.contract import Framework, Role
from harness.verdict import HarnessError, Inconclusive, SutFailure
from steps.common_steps import declared_suites


def ixit_table(case: Case, role: Role) -> dict:
    try:
        return case.profile.configuration(role, Framework.SBF_PSK)
    except KeyError as exc:
        raise HarnessError(f"{exc} (profile validation missed it)") from exc


def _flip(key: bytes) -> bytes:
    return bytes([key[0] ^ 0x01]) + key[1:]


def _rogue(fqdn: str) -> str:
    return f"rogue-{secrets.token_hex(2)}.{fqdn.partition('.')[2] or 'example.net'}"


def observed(case: Case) -> SbfCase:
    return case.state["sbf"]


def _judge(case: Case, ob: SbfCase) -> None:
    """The leg the shared steps judge: the bootstrap, or the first MAF handshake."""
    if case.state.get("judged") == "maf" or not ob.bootstraps:
        if ob.maf_contacts:
            case.state["exchange"] = ob.maf_contacts[0].exchange
        return
    case.state["exchange"] = ob.bootstraps[0].exchange


def _ems(case: Case) -> bool:
    return case.profile.ics.extended_master_secret


# --- the SUT as Enrolee ----------------------------------------------------------------------


@given("the SUT plays the Enrolee of the enrolee-key SBF")
def sut_is_enrolee(case: Case) -> None:
    case.state["request_configuration"] = ixit_table(case, Role.ENROLEE)


@given("the harness plays the MEF holding the SUT's KpmId and Kpm, and the MAF")
def harness_is_mef_and_maf(case: Case) -> None:
    config = case.state["request_configuration"]
    kpm_id, kpm = config["kpmId"].encode(), bytes.fromhex(config["kpmKey"])
    suites = declared_suites(case)
    mef = PeerPlan(
        Role.MEF, kpm_id, kpm, suites, psk_table={kpm_id: kpm}, extended_master_secret=_ems(case)
    )
    maf = PeerPlan(Role.MAF, b"", b"", suites, extended_master_secret=_ems(case))
    assigned = case.spec.kmid_after_remote_provisioning == "assigned"
    if assigned and "masterCredentialIdentifier" not in config:
        raise Inconclusive(
            "the Enrolee's IXIT gives no masterCredentialIdentifier, which "
            f"{case.spec.describe('kmid_after_remote_provisioning')} needs"
        )
    case.state["sbf_plan"] = EnroleePlan(
        mef=mef,
        maf=maf,
        mef_fqdn=config["mefIdentifier"],
        maf_id=config["mafIdentifier"],
        enrolee_id=config["enroleeIdentifier"],
        kmid=config.get("masterCredentialIdentifier") if assigned else None,
    )
    case.state["plan"] = mef


@given(parsers.parse("the Enrolee is asked for {contacts:d} MAF handshakes"))
def contacts_for_enrolee(case: Case, contacts: int) -> None:
    case.state["sbf_plan"].contacts = contacts


@given("the harness MEF holds the SUT's KpmId with a Kpm with one bit flipped")
def mef_wrong_kpm(case: Case) -> None:
    mef = case.state["sbf_plan"].mef
    mef.faults["peer_psk"] = mef.psk  # only to read the SUT's encrypted alert
    mef.psk = _flip(mef.psk)
    mef.psk_table = {identity: _flip(k) for identity, k in mef.psk_table.items()}


@given("the harness MAF derives Km with another MAF-ID")
def maf_other_maf_id(case: Case) -> None:
    plan: EnroleePlan = case.state["sbf_plan"]
    plan.wrong_maf_id = _rogue(plan.maf_id)
    case.state["plan"] = plan.maf
    case.state["judged"] = "maf"


def fullwidth(text: str) -> str:
    """ASCII letters and digits as their fullwidth forms (U+FF10..), which NFKC maps back."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


@given("the Enrolee's MAF-ID is configured in fullwidth compatibility characters")
def fullwidth_maf_id(case: Case) -> None:
    if case.profile.adapter.kind == "endpoint":
        raise Inconclusive(
            "an endpoint SUT keeps the MAF-ID it was provisioned with; this purpose gives the "
            "Enrolee a MAF-ID in fullwidth characters through the case's configuration"
        )
    config = case.state["request_configuration"]
    config["mafIdentifier"] = fullwidth(config["mafIdentifier"])
    case.state["sbf_plan"].maf_id = config["mafIdentifier"]
    case.observe(f"MAF-ID configured as {config['mafIdentifier']!r} (NFKC: the MAF's FQDN)")


@when("the Enrolee bootstraps with the MEF and contacts the MAF")
def run_enrolee(case: Case) -> None:
    configuration = sut_configuration(case.spec, dict(case.state["request_configuration"]))
    ob = run_sut_enrolee(case, configuration, case.state["sbf_plan"])
    case.state["sbf"] = ob
    _judge(case, ob)
    case.observe(
        f"harness saw {len(ob.bootstraps)} bootstrap(s), {len(ob.maf_contacts)} MAF handshake(s)"
    )


@then(
    "the bootstrap used the configured KpmId as psk_identity and completed with a suite of "
    "the profile"
)
def bootstrap_used_kpm_id(case: Case) -> None:
    ob = observed(case)
    case.observe(
        sbf_checks.expect_bootstrap_identity(ob, case.state["request_configuration"]["kpmId"])
    )
    case.observe(checks.expect_established(ob.bootstraps[0].exchange, profile_only=True))


@then("the Enrolee sent the MEF's FQDN as server_name in the bootstrap")
def bootstrap_sni(case: Case) -> None:
    ex = sbf_checks.first_bootstrap(observed(case))
    host = case.state["request_configuration"]["mefIdentifier"]
    case.observe(checks.expect_server_name(ex, host, case.spec, str(Framework.SBF_PSK)))


@then("the first MAF handshake presents the KeID the harness MEF formed")
def presents_ke_id(case: Case) -> None:
    case.observe(sbf_checks.expect_first_contact_presents_ke_id(observed(case)))


@then("what the SUT reports of the bootstrap matches the harness's Ke and KeID")
def bootstrap_account(case: Case) -> None:
    case.observe(
        sbf_checks.expect_bootstrap_account(observed(case), BOOTSTRAP_LABEL, EXPORT_LENGTH)
    )


@then("the first MAF handshake completes with the Km the harness derived")
def first_contact_completes(case: Case) -> None:
    case.observe(sbf_checks.expect_contact_completes(observed(case), 0, "the first MAF handshake"))


@then("the Enrolee sent the MAF's FQDN as server_name in the MAF handshake")
def maf_sni(case: Case) -> None:
    ob = observed(case)
    if not ob.maf_contacts:
        raise SutFailure("the Enrolee never contacted the MAF")
    host = case.state["request_configuration"]["mafIdentifier"]
    ex = ob.maf_contacts[0].exchange
    case.observe(checks.expect_server_name(ex, host, case.spec, str(Framework.SBF_PSK)))


@then(
    parsers.parse("MAF handshake {number:d} names the provisioned Km by KmID or KeID and completes")
)
def later_contact(case: Case, number: int) -> None:
    plan = case.state["sbf_plan"]
    kmid = getattr(plan, "kmid", None)
    case.observe(sbf_checks.expect_later_contact(observed(case), number - 1, kmid))
    kinds = case.state.get("expected_kinds")
    if kinds:
        seen = observed(case).maf_contacts[number - 1].kind
        if seen != kinds[number - 1]:
            raise HarnessError(
                f"the harness Enrolee presented a {seen}, not the {kinds[number - 1]}"
            )


@then("the Enrolee does not contact the MAF")
def no_maf_contact(case: Case) -> None:
    case.observe(sbf_checks.expect_no_maf_contact(observed(case)))


# --- the SUT as MEF -----------------------------------------------------------------------------


@given("the SUT plays the MEF of the enrolee-key SBF")
def sut_is_mef(case: Case) -> None:
    case.state["request_configuration"] = ixit_table(case, Role.MEF)


def _enrolee_entry(case: Case) -> dict:
    return case.state["request_configuration"]["enrolees"][0]


def _maf_client(case: Case, authorised: bool) -> dict | None:
    """A fetch credential of the MEF's configuration: the one for the Enrolee's MAF, or
    (``authorised`` False) one for another MAF."""
    maf_id = _enrolee_entry(case)["mafIdentifier"].lower()
    for client in case.state["request_configuration"]["mafClients"]:
        if (client["mafIdentifier"].lower() == maf_id) is authorised:
            return client
    return None


@given("the harness plays the Enrolee with the KpmId and Kpm of enrolee 1, and its MAF")
def harness_is_enrolee_and_maf(case: Case) -> None:
    config = case.state["request_configuration"]
    entry = _enrolee_entry(case)
    enrolee = PeerPlan(
        Role.ENROLEE,
        entry["kpmId"].encode(),
        bytes.fromhex(entry["kpmKey"]),
        declared_suites(case),
        server_name=config["mefIdentifier"],
        extended_master_secret=_ems(case),
    )
    case.state["sbf_plan"] = MefPlan(
        enrolee=enrolee,
        mef_fqdn=config["mefIdentifier"],
        enrolee_id=entry["enroleeIdentifier"],
        maf_id=entry["mafIdentifier"],
    )
    case.state["plan"] = enrolee


@given(parsers.parse("the harness Enrolee presents a KpmId {identity}"))
def enrolee_bad_kpm_id(case: Case, identity: str) -> None:
    plan: MefPlan = case.state["sbf_plan"]
    kpm_id = plan.enrolee.psk_identity.decode()
    if identity == "the MEF does not know":
        relative, _, fqdn = kpm_id.rpartition("@")
        plan.enrolee.psk_identity = f"unknown-{secrets.token_hex(3)}@{fqdn}".encode()
    elif identity == 'of enrolee 1 without its "@" FQDN part':
        plan.enrolee.psk_identity = kpm_id.rpartition("@")[0].encode()
    else:
        raise HarnessError(f"unknown KpmId variant {identity!r}")


@given("the harness Enrolee uses a Kpm with one bit flipped")
def enrolee_wrong_kpm(case: Case) -> None:
    plan = case.state["sbf_plan"].enrolee
    plan.faults["peer_psk"] = plan.psk  # only to read the SUT's encrypted alert
    plan.psk = _flip(plan.psk)


@given("the harness MAF fetches the credential for the bootstrap's KeID")
def authorised_fetch(case: Case) -> None:
    client = _maf_client(case, True)
    if client is None:
        raise Inconclusive("the MEF's IXIT has no mafClients entry for the Enrolee's MAF")
    plan: MefPlan = case.state["sbf_plan"]
    plan.fetches.append(
        FetchPlan(client["fetchIdentity"].encode(), bytes.fromhex(client["fetchKey"]), plan.maf_id)
    )


@given(
    parsers.re(
        r"(?P<requester>another authenticated MAF claiming the configured MAF-ID|"
        r"another authenticated MAF|a requester with a wrong fetch key) fetches the "
        r"credential for the bootstrap's KeID"
    )
)
def other_requester(case: Case, requester: str) -> None:
    plan: MefPlan = case.state["sbf_plan"]
    if requester == "a requester with a wrong fetch key":
        client = _maf_client(case, True)
        if client is None:
            raise Inconclusive("the MEF's IXIT has no mafClients entry for the Enrolee's MAF")
        key = _flip(bytes.fromhex(client["fetchKey"]))
        plan.fetches.append(FetchPlan(client["fetchIdentity"].encode(), key, plan.maf_id))
        return
    other = _maf_client(case, False)
    if other is None:
        raise Inconclusive(
            "the MEF's IXIT declares no mafClients entry for another MAF than the Enrolee's: "
            "SBF-PSK-06 needs a second, authenticated MAF"
        )
    origin = plan.maf_id if "claiming" in requester else other["mafIdentifier"]
    plan.fetches.append(
        FetchPlan(other["fetchIdentity"].encode(), bytes.fromhex(other["fetchKey"]), origin)
    )


MAX_WATCHED_LIFETIME = 3.0
"""Longest credentialLifetime (s) TP/SBF-PSK/MEF/07 waits out: the MEF's clock is its own,
so the harness can only let the time pass. A longer IXIT lifetime makes it inconclusive."""
EXPIRY_MARGIN = 1.0
"""Seconds beyond the lifetime before the fetch: the lifetime is a whole-second timestamp."""


@given(
    "the harness MAF fetches the credential for the bootstrap's KeID once its configured "
    "lifetime has passed"
)
def fetch_after_lifetime(case: Case) -> None:
    lifetime = float(case.state["request_configuration"].get("credentialLifetime", 3600))
    if lifetime > MAX_WATCHED_LIFETIME:
        raise Inconclusive(
            f"credentialLifetime is {lifetime:g} s; this purpose waits out at most "
            f"{MAX_WATCHED_LIFETIME:g} s (configure a shorter lifetime in the IXIT)"
        )
    if case.profile.ixit.timeout < lifetime + EXPIRY_MARGIN + 1.0:
        raise Inconclusive(
            f"ixit.timeout {case.profile.ixit.timeout:g} s leaves no room to wait out the "
            f"{lifetime:g} s lifetime"
        )
    authorised_fetch(case)
    case.state["sbf_plan"].fetches[-1].delay = lifetime + EXPIRY_MARGIN


@given("the harness MAF fetches the credential for a KeID the MEF never issued")
def unknown_ke_id_fetch(case: Case) -> None:
    authorised_fetch(case)
    plan: MefPlan = case.state["sbf_plan"]
    plan.fetches[-1].ke_id = key_identifier(secrets.token_bytes(16), plan.mef_fqdn)


@when("the Enrolee bootstraps with the MEF and its MAF fetches the credential")
def run_mef(case: Case) -> None:
    configuration = sut_configuration(case.spec, dict(case.state["request_configuration"]))
    ob = run_sut_mef(case, configuration, case.state["sbf_plan"])
    case.state["sbf"] = ob
    _judge(case, ob)
    case.observe(f"harness saw {len(ob.bootstraps)} bootstrap(s), {len(ob.fetches)} fetch(es)")


@then("the bootstrap completes with a suite of the profile")
def bootstrap_completes(case: Case) -> None:
    ex = sbf_checks.first_bootstrap(observed(case))
    case.observe(checks.expect_established(ex, profile_only=True))


@then(
    "the MEF releases the Km the harness derived, the configured Enrolee-ID and the "
    "configured lifetime"
)
def credential_released(case: Case) -> None:
    ob = observed(case)
    plan: MefPlan = case.state["sbf_plan"]
    held = sbf_checks.held_ke(ob)
    km = master_credential(case.spec, held.ke, plan.maf_id)
    lifetime = case.state["request_configuration"].get("credentialLifetime", 3600)
    case.observe(sbf_checks.expect_credential_released(ob, 0, km, plan.enrolee_id, lifetime))


@then(parsers.parse("the MEF refuses that fetch with HTTP {statuses}"))
def fetch_refused(case: Case, statuses: str) -> None:
    ob = observed(case)
    sbf_checks.held_ke(ob)  # no bootstrap: the fetch never ran, and that is the SUT's fail
    wanted = tuple(int(s) for s in statuses.replace(",", " ").split())
    case.observe(sbf_checks.expect_fetch_refused(ob, 0, wanted, "that requester"))


# --- the SUT as MAF -----------------------------------------------------------------------------


@given("the SUT plays the MAF of the enrolee-key SBF")
def sut_is_maf(case: Case) -> None:
    case.state["request_configuration"] = ixit_table(case, Role.MAF)


@given("the harness plays the MEF holding a Ke for the SUT's provisioned entity, and that Enrolee")
def harness_is_mef_and_enrolee(case: Case) -> None:
    config = case.state["request_configuration"]
    entities = config.get("provisionedEntities") or []
    assigned = case.spec.kmid_after_remote_provisioning == "assigned"
    if assigned and not entities:
        raise Inconclusive(
            "the MAF's IXIT has no provisionedEntities entry (the KmID it assigns), which "
            f"{case.spec.describe('kmid_after_remote_provisioning')} needs"
        )
    enrolee_id = entities[0]["enroleeIdentifier"] if entities else "/Cae-harness-enrolee"
    maf_id = config["mafIdentifier"]
    store = KeStore(config["mefIdentifier"])
    held = store.issue_random(f"harness-enrolee@{config['mefIdentifier']}", enrolee_id, maf_id)
    km = master_credential(case.spec, held.ke, maf_id)
    kmid = entities[0]["masterCredentialIdentifier"] if assigned else derived_kmid(km, maf_id)
    contact = PeerPlan(
        Role.ENROLEE,
        held.ke_id.encode(),
        km,
        declared_suites(case),
        server_name=maf_id,
        extended_master_secret=_ems(case),
    )
    case.state["sbf_plan"] = MafSutPlan(
        store=store,
        held=held,
        contacts=[contact],
        answer=MefAnswer(),
        fetch_identity=config["fetchIdentity"].encode(),
        fetch_key=bytes.fromhex(config["fetchKey"]),
        kinds=["KeID"],
    )
    case.state["kmid"] = kmid
    case.state["plan"] = contact


@given(parsers.parse("the Enrolee contacts the MAF again presenting its {identifier}"))
def contact_again(case: Case, identifier: str) -> None:
    plan: MafSutPlan = case.state["sbf_plan"]
    again = copy.deepcopy(plan.contacts[0])
    if identifier == "KmID":
        again.psk_identity = case.state["kmid"].encode()
    elif identifier != "KeID":
        raise HarnessError(f"unknown identifier {identifier!r}")
    plan.contacts.append(again)
    plan.kinds.append(identifier)
    case.state["expected_kinds"] = list(plan.kinds)


@given(parsers.parse("the harness MEF answers every fetch with HTTP {status:d}"))
def mef_refuses(case: Case, status: int) -> None:
    case.state["sbf_plan"].answer.refuse_status = status


@given("the Enrolee presents a KeID naming another MEF")
def ke_id_of_other_mef(case: Case) -> None:
    plan: MafSutPlan = case.state["sbf_plan"]
    rogue = key_identifier(plan.held.relative_id, _rogue(plan.store.fqdn))
    plan.contacts[0].psk_identity = rogue.encode()
    plan.kinds[0] = "other"


@given("the harness Enrolee uses a Km with one bit flipped")
def enrolee_wrong_km(case: Case) -> None:
    contact = case.state["sbf_plan"].contacts[0]
    contact.faults["peer_psk"] = contact.psk  # only to read the SUT's encrypted alert
    contact.psk = _flip(contact.psk)


@when("the Enrolee contacts the MAF")
def run_maf(case: Case) -> None:
    configuration = sut_configuration(case.spec, dict(case.state["request_configuration"]))
    ob = run_sut_maf(case, configuration, case.state["sbf_plan"])
    case.state["sbf"] = ob
    case.state["judged"] = "maf"
    _judge(case, ob)
    case.observe(
        f"harness saw {len(ob.maf_contacts)} MAF handshake(s), {len(ob.fetches)} fetch(es)"
    )


@then("the MAF fetched the KeID from the harness MEF as its MAF-ID, during the handshake")
def maf_fetched(case: Case) -> None:
    ob = observed(case)
    config = case.state["request_configuration"]
    held = case.state["sbf_plan"].held
    case.observe(
        sbf_checks.expect_fetched_once(ob, held, config["mafIdentifier"], config["mefIdentifier"])
    )
    case.observe(sbf_checks.expect_fetch_before_finished(ob))


@then("the SUT binds the association to the Enrolee-ID the MEF gave")
def maf_binds(case: Case) -> None:
    held = case.state["sbf_plan"].held
    case.observe(sbf_checks.expect_maf_binds(observed(case), held.enrolee_id))


@then("the MAF fetched only once")
def fetched_once(case: Case) -> None:
    case.observe(sbf_checks.expect_fetch_count(observed(case), 1))


@then("the MAF did not fetch, because the KeID names an untrusted MEF")
def no_fetch(case: Case) -> None:
    case.observe(sbf_checks.expect_no_fetch(observed(case), "the KeID names an untrusted MEF"))
