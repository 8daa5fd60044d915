"""Steps of the Pre-Provisioned Symmetric Key SAEF (TS-0003 8.2.2.1).

The SUT's configuration comes from the IXIT under the seed's parameter names; the
harness peer is given the matching (or deliberately wrong) credentials.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from pytest_bdd import given, parsers, then, when

from harness import checks
from harness.frameworks.saef_psk.association import run_association
from harness.observations import PeerPlan
from harness.plugin import Case
from harness.spec_profile import SpecProfile
from harness.sut.contract import Role, Transport
from harness.verdict import HarnessError, Inconclusive
from steps.common_steps import CONNECTION_EXPORTER, declared_suites, exchange, plan


@when("Entity A and Entity B run the association security handshake")
def run_handshake(case: Case) -> None:
    exchange = run_association(case, plan(case), exports=[CONNECTION_EXPORTER])
    case.state["exchange"] = exchange
    case.observe(f"harness saw: {exchange.ending.describe()}")
    # Whatever the purpose: a flood fails it, and so does an account the wire contradicts.
    checks.expect_no_flood(exchange)
    case.observe(checks.expect_account_matches_wire(exchange))


def ixit_section(case: Case, role: Role) -> dict:
    section = getattr(case.profile.ixit, role.value, None)
    if not section:
        raise HarnessError(
            f"the IXIT has no [ixit.{role.value}] section (profile validation missed it)"
        )
    return section


def authorized_entity(case: Case, number: int) -> dict:
    entities = ixit_section(case, Role.ENTITY_B).get("authorizedEntities", [])
    if len(entities) < number:
        raise Inconclusive(
            f"this purpose needs {number} authorized entities in ixit.entity_b.authorizedEntities; "
            f"the IXIT lists {len(entities)}"
        )
    return entities[number - 1]


@given("the SUT plays Entity B of the pre-provisioned symmetric key SAEF")
def sut_is_entity_b(case: Case) -> None:
    section = ixit_section(case, Role.ENTITY_B)
    case.state["request_configuration"] = {
        "thisEntityIdentifier": section["thisEntityIdentifier"],
        "hostName": section["hostName"],
        "authorizedEntities": [dict(e) for e in section.get("authorizedEntities", [])],
    }


@given(
    parsers.parse(
        "the harness plays Entity A with the KpsaId and Kpsa of authorized entity {number:d}"
    )
)
def harness_is_entity_a(case: Case, number: int) -> None:
    entity = authorized_entity(case, number)
    case.state["plan"] = PeerPlan(
        role=Role.ENTITY_A,
        psk_identity=entity["kpsaId"].encode(),
        psk=bytes.fromhex(entity["kpsaKey"]),
        suites=declared_suites(case),
        server_name=case.state["request_configuration"]["hostName"],
        extended_master_secret=case.profile.ics.extended_master_secret,
    )


@given(parsers.parse("the SUT plays Entity A of the pre-provisioned symmetric key SAEF"))
def sut_is_entity_a(case: Case) -> None:
    section = ixit_section(case, Role.ENTITY_A)
    case.state["request_configuration"] = {
        key: section[key]
        for key in (
            "kpsaId",
            "kpsaKey",
            "thisEntityIdentifier",
            "otherEntityIdentifier",
            "otherEntityHostName",
        )
    }


@given("the harness plays Entity B holding the SUT's KpsaId and Kpsa")
def harness_is_entity_b(case: Case) -> None:
    config = case.state["request_configuration"]
    kpsa_id, kpsa = config["kpsaId"].encode(), bytes.fromhex(config["kpsaKey"])
    case.state["plan"] = PeerPlan(
        role=Role.ENTITY_B,
        psk_identity=kpsa_id,
        psk=kpsa,
        psk_table={kpsa_id: kpsa},
        suites=declared_suites(case),
        server_name=None,
        extended_master_secret=case.profile.ics.extended_master_secret,
    )


def _issuer(kpsa_id: str) -> str:
    return kpsa_id.rpartition("@")[2] or "issuer.example.com"


@given(
    parsers.parse(
        "the harness presents an unknown well-formed KpsaId with the Kpsa of authorized entity {number:d}"
    )
)
def unknown_identity(case: Case, number: int) -> None:
    entity = authorized_entity(case, number)
    p = plan(case)
    p.psk_identity = f"unknown-{secrets.token_hex(4)}@{_issuer(entity['kpsaId'])}".encode()
    p.psk = bytes.fromhex(entity["kpsaKey"])


def _upper_case(kpsa_id: bytes, spec: SpecProfile) -> bytes:
    """The KpsaId in upper case, as far as an Entity B must tell it from the KpsaId: the
    FQDN after '@' is a DNS name, which B may compare ignoring case (S-10), so by default
    only the relative part changes; with kpsaid_match='exact' the whole KpsaId does."""
    relative, at, fqdn = kpsa_id.rpartition(b"@")
    if spec.kpsaid_match == "exact" or not at:
        return kpsa_id.upper()
    return relative.upper() + at + fqdn


MALFORMED_IDENTITIES: dict[str, Callable[[bytes, SpecProfile], bytes]] = {
    "empty": lambda kpsa_id, spec: b"",
    "of authorized entity 1 followed by NUL": lambda kpsa_id, spec: kpsa_id + b"\x00",
    "of authorized entity 1 with a suffix": lambda kpsa_id, spec: kpsa_id + b"x",
    "of authorized entity 1 in upper case": _upper_case,
    "of invalid UTF-8": lambda kpsa_id, spec: b"\xff\xfe" + kpsa_id,
}


@given(
    parsers.parse(
        "the harness presents the psk_identity {identity} with the Kpsa of authorized entity {number:d}"
    )
)
def malformed_identity(case: Case, identity: str, number: int) -> None:
    entity = authorized_entity(case, number)
    kpsa_id = entity["kpsaId"].encode()
    p = plan(case)
    p.psk_identity = MALFORMED_IDENTITIES[identity](kpsa_id, case.spec)
    if p.psk_identity == kpsa_id:
        why = ""
        if identity.endswith("in upper case") and case.spec.kpsaid_match != "exact":
            why = (
                ": its relative part has no letter, and an Entity B may compare the FQDN "
                f"ignoring case ({case.spec.describe('kpsaid_match')})"
            )
        raise Inconclusive(
            f"the variant {identity!r} equals the configured KpsaId {kpsa_id!r}{why}"
        )
    p.psk = bytes.fromhex(entity["kpsaKey"])


# RFC 4279 section 2 lets Entity B handle an unknown psk_identity as a wrong key; over
# DTLS it then discards the harness's Finished in silence (S-08 decides whether that counts).
IDENTITY_DISCARD = ", or over DTLS by discarding the harness's Finished"


@then(parsers.parse("the SUT refuses the psk_identity with a fatal alert among {alerts}"))
def refuses_identity(case: Case, alerts: str) -> None:
    dtls = alerts.endswith(IDENTITY_DISCARD) and case.transport is Transport.DTLS
    accepted = [a.strip() for a in alerts.removesuffix(IDENTITY_DISCARD).split(",")]
    case.observe(checks.expect_identity_refusal(exchange(case), accepted, case.spec, dtls=dtls))


@given(parsers.parse('the harness sends the psk_identity_hint "{hint}"'))
def send_hint(case: Case, hint: str) -> None:
    plan(case).psk_identity_hint = hint.encode()


@then(parsers.parse("the SUT binds the association to the IdA of authorized entity {number:d}"))
def binds_ida(case: Case, number: int) -> None:
    ida = authorized_entity(case, number)["otherEntityIdentifier"]
    case.observe(
        checks.expect_bound_identity(exchange(case), ida, f"the IdA of authorized entity {number}")
    )


@then("the psk_identity in the ClientKeyExchange equals the configured KpsaId")
def psk_identity_is_kpsaid(case: Case) -> None:
    expected = case.state["request_configuration"]["kpsaId"].encode()
    case.observe(checks.expect_psk_identity(exchange(case), expected))
