"""Steps of the MAF-based SAEF (TS-0003 8.2.2.3 as refined by seed 003; docs/saef-maf.md).

A case holds three parties: the SUT in one role, the harness in the other two. The
Given steps build the harness parties' plans (``case.state["maf_plan"]``); the When
step runs the topology (harness.frameworks.saef_maf.parties) and leaves the whole
observation in ``case.state["maf"]`` and, for the steps shared with the PSK SAEF
(steps/common_steps.py), the leg they judge in ``case.state["exchange"]``: the last
association, or the first MAF handshake where the case has no association.
``case.state["plan"]`` is the plan the shared fault steps change: the association's,
unless a step of this module moves it to the MAF handshake.
"""

from __future__ import annotations

import copy
import secrets

from pytest_bdd import given, parsers, then, when

from harness import checks
from harness.frameworks.saef_maf import checks as maf_checks
from harness.frameworks.saef_maf.parties import (
    ARound,
    EntityAPlan,
    EntityBPlan,
    KcStore,
    MafAnswer,
    MafCase,
    MafPlan,
    credential_of,
    run_sut_entity_a,
    run_sut_entity_b,
    run_sut_maf,
)
from harness.observations import PeerPlan
from harness.plugin import Case
from harness.sut.contract import Framework, Role
from harness.verdict import HarnessError, Inconclusive, SutFailure
from steps.common_steps import declared_suites

HARNESS_A_IDENTITY = "/Cae-harness-a"  # the A's identity the harness MAF passes to a SUT B


def ixit_table(case: Case, role: Role) -> dict:
    try:
        return case.profile.configuration(role, Framework.SAEF_MAF)
    except KeyError as exc:
        raise HarnessError(f"{exc} (profile validation missed it)") from exc


def _flip(key: bytes) -> bytes:
    return bytes([key[0] ^ 0x01]) + key[1:]


def _other_fqdn(fqdn: str) -> str:
    return f"rogue-{secrets.token_hex(2)}.{fqdn.partition('.')[2] or 'example.net'}"


def observed(case: Case) -> MafCase:
    return case.state["maf"]


def _judge(case: Case, ob: MafCase) -> None:
    legs = ob.associations or [h.exchange for h in ob.maf_handshakes]
    if legs:
        case.state["exchange"] = legs[-1] if ob.associations else legs[0]


# --- the SUT as Entity A ------------------------------------------------------------------


@given("the SUT plays Entity A of the MAF-based SAEF")
def sut_is_entity_a(case: Case) -> None:
    case.state["request_configuration"] = ixit_table(case, Role.ENTITY_A)


@given("the harness plays the MAF holding the SUT's KmID and Km, and Entity B")
def harness_is_maf_and_b(case: Case) -> None:
    config = case.state["request_configuration"]
    kmid, km = (
        config["masterCredentialIdentifier"].encode(),
        bytes.fromhex(config["masterCredential"]),
    )
    suites = declared_suites(case)
    ems = case.profile.ics.extended_master_secret
    maf = PeerPlan(Role.MAF, kmid, km, suites, psk_table={kmid: km}, extended_master_secret=ems)
    entity_b = PeerPlan(Role.ENTITY_B, b"", b"", suites, extended_master_secret=ems)
    case.state["maf_plan"] = EntityAPlan(
        maf=maf,
        entity_b=entity_b,
        maf_fqdn=config["mafIdentifier"],
        idb=config["otherEntityIdentifier"],
    )
    case.state["plan"] = entity_b


@given(parsers.parse("Entity A is asked for {rounds:d} associations"))
def rounds_for_a(case: Case, rounds: int) -> None:
    case.state["maf_plan"].rounds = rounds


@given(parsers.parse("the harness Entity B treats the Kc as expired at association {number:d}"))
def b_expires_kc(case: Case, number: int) -> None:
    case.state["maf_plan"].b_refuses.add(number - 1)


@given("the harness MAF holds the SUT's KmID with a Km with one bit flipped")
def maf_wrong_km(case: Case) -> None:
    plan: EntityAPlan = case.state["maf_plan"]
    maf = plan.maf
    maf.faults["peer_psk"] = maf.psk  # only to read the SUT's encrypted alert
    maf.psk = _flip(maf.psk)
    maf.psk_table = {identity: _flip(k) for identity, k in maf.psk_table.items()}
    case.state["plan"] = maf  # the shared fault steps now change the MAF handshake


@when("Entity A obtains Kc from the MAF and runs the association with Entity B")
def run_a(case: Case) -> None:
    ob = run_sut_entity_a(case, dict(case.state["request_configuration"]), case.state["maf_plan"])
    case.state["maf"] = ob
    _judge(case, ob)
    case.observe(
        f"harness saw {len(ob.maf_handshakes)} MAF handshake(s), "
        f"{len(ob.associations)} association(s)"
    )


@then("the MAF handshake used the configured KmID as psk_identity and completed")
def used_kmid(case: Case) -> None:
    kmid = case.state["request_configuration"]["masterCredentialIdentifier"]
    case.observe(maf_checks.expect_maf_handshake(observed(case), kmid))


@then("the association's psk_identity is the KcID the harness MAF formed")
def presented_kc_id(case: Case) -> None:
    case.observe(maf_checks.expect_kc_id_presented(observed(case)))


@then("every association presents the KcID of the latest MAF handshake and completes")
def every_association(case: Case) -> None:
    ob = observed(case)
    wanted = case.state["maf_plan"].rounds
    if len(ob.associations) < wanted:
        raise SutFailure(f"Entity A ran {len(ob.associations)} of {wanted} associations")
    case.observe(maf_checks.expect_every_association_uses_latest_kc(ob))
    for index, ex in enumerate(ob.associations):
        case.observe(maf_checks.expect_completes(ex, f"association {index + 1}"))


@then(
    parsers.parse(
        "after the refusal of association {number:d} Entity A runs a fresh MAF handshake "
        "and completes the retry with the new KcID"
    )
)
def renewed(case: Case, number: int) -> None:
    case.observe(maf_checks.expect_renewal_after_refusal(observed(case), number - 1))


@then("Entity A does not contact Entity B")
def no_contact(case: Case) -> None:
    case.observe(maf_checks.expect_no_association_attempt(observed(case)))


# --- the SUT as Entity B ------------------------------------------------------------------


@given("the SUT plays Entity B of the MAF-based SAEF")
def sut_is_entity_b(case: Case) -> None:
    case.state["request_configuration"] = ixit_table(case, Role.ENTITY_B)


@given("the harness plays the MAF that Entity B trusts, holding a Kc issued to Entity A for B")
def harness_is_maf_for_b(case: Case) -> None:
    config = case.state["request_configuration"]
    fqdn = config["mafIdentifier"]
    store = KcStore(fqdn)
    kmid = f"harness-a-{secrets.token_hex(2)}@{fqdn}"
    issued = store.issue_random(kmid, config["thisEntityIdentifier"], HARNESS_A_IDENTITY)
    case.state["maf_plan"] = EntityBPlan(
        store=store,
        rounds=[],
        answer=MafAnswer(),
        key_retrieval_identity=config["keyRetrievalIdentity"].encode(),
        key_retrieval_key=bytes.fromhex(config["keyRetrievalKey"]),
    )
    case.state["issued"] = [issued]


@given("the harness plays Entity A presenting that KcID and Kc")
def harness_a_presents(case: Case) -> None:
    issued = case.state["issued"][0]
    plan = PeerPlan(
        Role.ENTITY_A,
        issued.kc_id.encode(),
        issued.kc,
        declared_suites(case),
        server_name=case.state["request_configuration"]["hostName"],
        extended_master_secret=case.profile.ics.extended_master_secret,
    )
    case.state["maf_plan"].rounds.append(ARound(plan))
    case.state["plan"] = plan


def _second_round(case: Case, kc_id: str, kc: bytes) -> PeerPlan:
    first: PeerPlan = case.state["maf_plan"].rounds[0].plan
    plan = copy.deepcopy(first)
    plan.psk_identity, plan.psk = kc_id.encode(), kc
    case.state["maf_plan"].rounds.append(ARound(plan))
    case.state["plan"] = plan
    return plan


@given("the harness Entity A then runs a second association with another Kc of the MAF")
def second_kc(case: Case) -> None:
    plan: EntityBPlan = case.state["maf_plan"]
    first = case.state["issued"][0]
    issued = plan.store.issue_random(first.kmid, first.idb, first.entity_id)
    case.state["issued"].append(issued)
    _second_round(case, issued.kc_id, issued.kc)


@given("the harness Entity A then presents a KcID the MAF never issued, with the same Kc")
def unknown_kc_id(case: Case) -> None:
    first = case.state["issued"][0]
    fqdn = case.state["maf_plan"].store.fqdn
    _second_round(case, f"{secrets.token_hex(16)}@{fqdn}", first.kc)


@given("the harness Entity A presents the KcID with the FQDN of another MAF")
def other_maf(case: Case) -> None:
    plan: PeerPlan = case.state["maf_plan"].rounds[0].plan
    relative = plan.psk_identity.decode().rpartition("@")[0]
    fqdn = case.state["maf_plan"].store.fqdn
    plan.psk_identity = f"{relative}@{_other_fqdn(fqdn)}".encode()


@given("the harness Entity A uses a Kc with one bit flipped")
def wrong_kc(case: Case) -> None:
    plan: PeerPlan = case.state["maf_plan"].rounds[0].plan
    plan.faults["peer_psk"] = plan.psk
    plan.psk = _flip(plan.psk)


@given("the harness MAF answers with an expirationTime in the past")
def expired_answer(case: Case) -> None:
    case.state["maf_plan"].answer.expired = True


@given("the harness MAF holds no identity for Entity A")
def no_entity_id(case: Case) -> None:
    case.state["maf_plan"].answer.pass_entity_id = False


@when("Entity A runs the association with Entity B, which retrieves Kc from the MAF")
def run_b(case: Case) -> None:
    ob = run_sut_entity_b(case, dict(case.state["request_configuration"]), case.state["maf_plan"])
    case.state["maf"] = ob
    _judge(case, ob)
    case.observe(
        f"harness saw {len(ob.associations)} association(s), "
        f"{len(ob.key_retrievals)} key retrieval(s)"
    )


@then("Entity B retrieved each Kc from the MAF during the handshake")
def retrieved_each(case: Case) -> None:
    config = case.state["request_configuration"]
    ob = observed(case)
    for index in range(len(ob.associations)):
        case.observe(
            maf_checks.expect_retrieval_in_handshake(
                ob, index, config["mafIdentifier"], config["keyRetrievalIdentity"]
            )
        )


@then("every association completes")
def all_complete(case: Case) -> None:
    for index, ex in enumerate(observed(case).associations):
        case.observe(maf_checks.expect_completes(ex, f"association {index + 1}"))


@then("the SUT binds the association to the identity the MAF passed for Entity A")
def binds_passed_identity(case: Case) -> None:
    case.observe(
        checks.expect_bound_identity(
            case.state["exchange"], HARNESS_A_IDENTITY, "the identity the MAF passed"
        )
    )


@then('the SUT binds the association to the Credential-ID "11-" + KmID')
def binds_credential_id(case: Case) -> None:
    expected = credential_of(case.state["issued"][0].kmid)
    case.observe(
        checks.expect_bound_identity(case.state["exchange"], expected, "the Credential-ID")
    )


@then("Entity B does not ask the MAF for another MAF's key")
def no_retrieval(case: Case) -> None:
    case.observe(maf_checks.expect_no_retrieval(observed(case)))


# --- the SUT as the MAF -------------------------------------------------------------------


def _authorized(case: Case, number: int) -> dict:
    entities = case.state["request_configuration"]["authorizedEntities"]
    if len(entities) < number:
        raise Inconclusive(
            f"this purpose needs {number} authorized entities in "
            f"ixit.saef-maf.maf.authorizedEntities; the IXIT lists {len(entities)}"
        )
    return entities[number - 1]


def _client_for(case: Case, entity: dict, authorised: bool) -> dict:
    clients = case.state["request_configuration"]["keyRetrievalClients"]
    for client in clients:
        if (client["entityIdentifier"] == entity["otherEntityIdentifier"]) is authorised:
            return client
    what = "the IdB of" if authorised else "another Entity B than the IdB of"
    raise Inconclusive(
        f"this purpose needs a key-retrieval client that is {what} authorized entity 1 in "
        "ixit.saef-maf.maf.keyRetrievalClients"
    )


@given("the SUT plays the MAF of the MAF-based SAEF")
def sut_is_maf(case: Case) -> None:
    case.state["request_configuration"] = ixit_table(case, Role.MAF)


@given(
    "the harness plays Entity A with the KmID and Km of authorized entity 1, and "
    "Entity B as the key-retrieval client authorised for it"
)
def harness_is_a_and_b(case: Case) -> None:
    entity = _authorized(case, 1)
    client = _client_for(case, entity, authorised=True)
    handshake = PeerPlan(
        Role.ENTITY_A,
        entity["masterCredentialIdentifier"].encode(),
        bytes.fromhex(entity["masterCredential"]),
        declared_suites(case),
        server_name=case.state["request_configuration"]["mafIdentifier"],
        extended_master_secret=case.profile.ics.extended_master_secret,
    )
    case.state["maf_plan"] = MafPlan(
        handshake=handshake,
        retrievals=[
            (client["keyRetrievalIdentity"].encode(), bytes.fromhex(client["keyRetrievalKey"]))
        ],
        expected_kmid=entity["masterCredentialIdentifier"],
    )
    case.state["plan"] = handshake


MAF_HANDSHAKE_VARIANTS = (
    "an unknown KmID with the Km of authorized entity 1",
    "its KmID with a Km with one bit flipped",
)


@given(parsers.parse("the harness Entity A presents to the MAF {variant}"))
def a_variant(case: Case, variant: str) -> None:
    plan: MafPlan = case.state["maf_plan"]
    handshake = plan.handshake
    if variant == MAF_HANDSHAKE_VARIANTS[0]:
        fqdn = case.state["request_configuration"]["mafIdentifier"]
        handshake.psk_identity = f"unknown-{secrets.token_hex(4)}@{fqdn}".encode()
    elif variant == MAF_HANDSHAKE_VARIANTS[1]:
        handshake.faults["peer_psk"] = handshake.psk
        handshake.psk = _flip(handshake.psk)
    else:
        raise HarnessError(f"unknown Entity A variant {variant!r}")
    plan.retrievals = []  # no Kc can exist: Entity B has nothing to ask for


REQUESTERS = (
    "another Entity B than the authorised one",
    "a requester with a wrong key-retrieval key",
)


@given(parsers.parse("the key retrieval comes from {requester}"))
def requester(case: Case, requester: str) -> None:
    plan: MafPlan = case.state["maf_plan"]
    entity = _authorized(case, 1)
    if requester == REQUESTERS[0]:
        client = _client_for(case, entity, authorised=False)
        plan.retrievals = [
            (client["keyRetrievalIdentity"].encode(), bytes.fromhex(client["keyRetrievalKey"]))
        ]
    elif requester == REQUESTERS[1]:
        identity, key = plan.retrievals[0]
        plan.retrievals = [(identity, _flip(key))]
    else:
        raise HarnessError(f"unknown requester {requester!r}")


UNAVAILABLE = ("a Kc whose lifetime has passed", "a RelativeKcID the MAF never issued")


@given(parsers.parse("Entity B asks for {key}"))
def asks_for(case: Case, key: str) -> None:
    plan: MafPlan = case.state["maf_plan"]
    if key == UNAVAILABLE[0]:
        case.state["request_configuration"]["kcLifetime"] = 0
    elif key == UNAVAILABLE[1]:
        plan.relative_key_id = lambda handshake: secrets.token_hex(16)
    else:
        raise HarnessError(f"unknown key {key!r}")


@when("Entity A runs the MAF handshake and Entity B retrieves Kc from the MAF")
def run_maf(case: Case) -> None:
    ob = run_sut_maf(case, dict(case.state["request_configuration"]), case.state["maf_plan"])
    case.state["maf"] = ob
    _judge(case, ob)
    case.observe(
        f"harness saw {len(ob.maf_handshakes)} MAF handshake(s), "
        f"{len(ob.key_retrievals)} key retrieval(s)"
    )


@then("the MAF releases the Kc derived from the MAF handshake, with the KmID and its lifetime")
def releases(case: Case) -> None:
    config = case.state["request_configuration"]
    case.observe(
        maf_checks.expect_key_released(
            observed(case),
            case.state["maf_plan"].expected_kmid,
            float(config.get("kcLifetime", 3600)),
        )
    )


@then("the KcID the SUT formed equals the harness's")
def kc_id_formed(case: Case) -> None:
    fqdn = case.state["request_configuration"]["mafIdentifier"]
    case.observe(maf_checks.expect_sut_kc_id(observed(case), fqdn))


@then("the MAF passes Entity A's configured identity to Entity B")
def passes_identity(case: Case) -> None:
    entity = _authorized(case, 1)
    if not entity.get("thisEntityIdentifier"):
        raise Inconclusive(
            "authorized entity 1 has no thisEntityIdentifier: the MAF has no identity to pass"
        )
    case.observe(maf_checks.expect_entity_id_passed(observed(case), entity["thisEntityIdentifier"]))


@then("the MAF releases no Kc")
def no_kc(case: Case) -> None:
    case.observe(maf_checks.expect_no_key_released(observed(case)))
