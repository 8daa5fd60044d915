"""Steps shared by every framework with a (D)TLS-PSK association: the harness party's
suites and faults (on ``case.state["plan"]``, the plan of the leg under test) and what an
established or refused handshake looks like (on ``case.state["exchange"]``)."""

from __future__ import annotations

import re

from pytest_bdd import given, parsers, then

from harness import checks
from harness.observations import Exchange, PeerPlan, mandatory_suite
from harness.plugin import Case
from harness.sut.contract import Role, Transport
from harness.tls.suites import PROFILE_SUITES, SUITES

NON_PROFILE_SUITES = tuple(code for code, s in SUITES.items() if not s.profile)
CONNECTION_EXPORTER = ("EXPORTER-oneM2M-Connection", 48)


def plan(case: Case) -> PeerPlan:
    return case.state["plan"]


def declared_suites(case: Case) -> list[int]:
    """The profile suites the SUT declares, in its order (the default offer/acceptance)."""
    declared = [s for s in case.profile.ics.cipher_suites if s in PROFILE_SUITES]
    return declared or list(PROFILE_SUITES)


# --- cipher suites -----------------------------------------------------------------------


@given(parsers.re(r"the harness (?:offers|accepts) only the suite under test"))
def only_suite_under_test(case: Case) -> None:
    assert case.cipher_suite is not None, "scenario needs @each-declared-suite"
    plan(case).suites = [case.cipher_suite]


@given(parsers.re(r"the harness (?:offers|accepts) only the mandatory suite"))
def only_mandatory_suite(case: Case) -> None:
    plan(case).suites = [mandatory_suite(case.transport)]


@given("the harness offers only suites outside the profile")
def only_non_profile_suites(case: Case) -> None:
    plan(case).suites = list(NON_PROFILE_SUITES)


@given("the harness offers suites outside the profile ahead of the declared suites")
def non_profile_first(case: Case) -> None:
    plan(case).suites = list(NON_PROFILE_SUITES) + declared_suites(case)


@given("the harness selects a suite outside the profile regardless of the offer")
def select_unoffered(case: Case) -> None:
    plan(case).faults["selected_suite"] = NON_PROFILE_SUITES[0]


@given(
    parsers.re(
        r"the harness (?:offers only|answers with) the previous protocol version, TLS 1\.1 or DTLS 1\.0"
    )
)
def old_version(case: Case) -> None:
    plan(case).faults["previous_protocol_version"] = True


# --- faults --------------------------------------------------------------------------------


@given("the harness uses a Kpsa with one bit flipped")
def wrong_key(case: Case) -> None:
    p = plan(case)
    # The harness keeps the key the SUT really holds, only to read the SUT's encrypted
    # alert: which alert it sent is part of the verdict.
    p.faults["peer_psk"] = p.psk
    p.psk = bytes([p.psk[0] ^ 0x01]) + p.psk[1:]
    p.psk_table = {identity: bytes([k[0] ^ 0x01]) + k[1:] for identity, k in p.psk_table.items()}


@given("the harness answers even a Finished it cannot verify")
def tolerate_bad_finished(case: Case) -> None:
    plan(case).faults["tolerate_bad_peer_finished"] = True


@given("the harness corrupts the verify_data of its Finished")
def corrupt_finished(case: Case) -> None:
    plan(case).faults["corrupt_finished"] = True


@given("the harness corrupts the MAC of the record carrying its Finished")
def corrupt_finished_mac(case: Case) -> None:
    plan(case).faults["corrupt_record_mac"] = "Finished"


MISBEHAVIOURS = {
    "sends its Finished without ChangeCipherSpec": ("drop", "ChangeCipherSpec"),
    "sends its ClientKeyExchange twice": ("duplicate", "ClientKeyExchange"),
    "sends its Finished before its ClientKeyExchange": ("finished_first", "ClientKeyExchange"),
    "sends application data before its Finished": ("app_data_before", "Finished"),
    "sends its ServerHello twice": ("duplicate", "ServerHello"),
    "sends its ServerHelloDone before its ServerHello": ("done_first", "ServerHello"),
}


@given(parsers.re("the harness (?P<misbehaviour>" + "|".join(map(re.escape, MISBEHAVIOURS)) + ")$"))
def misbehave(case: Case, misbehaviour: str) -> None:
    plan(case).faults.setdefault("messages", []).append(MISBEHAVIOURS[misbehaviour])


# --- the handshake -------------------------------------------------------------------------


def exchange(case: Case) -> Exchange:
    """The leg the case's Then steps judge (for a multi-party case, its association)."""
    return case.state["exchange"]


@then("the handshake completes")
def completes(case: Case) -> None:
    case.observe(checks.expect_established(exchange(case)))


@then("the handshake completes with the suite under test")
def completes_with_suite(case: Case) -> None:
    case.observe(checks.expect_established(exchange(case), case.cipher_suite))


@then("the handshake completes with the mandatory suite")
def completes_with_mandatory(case: Case) -> None:
    case.observe(checks.expect_established(exchange(case), mandatory_suite(case.transport)))


@then("the handshake completes with a suite of the profile")
def completes_with_profile_suite(case: Case) -> None:
    case.observe(checks.expect_established(exchange(case), profile_only=True))


@then("the negotiated protocol version is (D)TLS 1.2")
def version_12(case: Case) -> None:
    expected = (254, 253) if case.transport is Transport.DTLS else (3, 3)
    case.observe(checks.expect_version(exchange(case), expected))


@then("the SUT reports the association as established")
def sut_reports_established(case: Case) -> None:
    case.observe(checks.expect_sut_reports_established(exchange(case)))


@then("the keying material the SUT exports equals the harness's")
def exporter_matches(case: Case) -> None:
    case.observe(checks.expect_exporter_match(exchange(case), *CONNECTION_EXPORTER))


DTLS_DISCARD = ", or over DTLS by discarding the records"


@then(parsers.parse("the SUT refuses the handshake with a fatal alert among {alerts}"))
def refuses(case: Case, alerts: str) -> None:
    # RFC 6347 4.1.2.7: over DTLS a record that fails its MAC is silently discarded, so
    # for record-protection failures silence until the bound is a refusal too.
    silent_ok = alerts.endswith(DTLS_DISCARD) and case.transport is Transport.DTLS
    accepted = [a.strip() for a in alerts.removesuffix(DTLS_DISCARD).split(",")]
    case.observe(checks.expect_refusal(exchange(case), accepted, case.spec, silent_ok=silent_ok))


@then("the SUT establishes no association")
def no_association(case: Case) -> None:
    case.observe(checks.expect_no_association(exchange(case)))


@then("the ClientHello offers the mandatory suite")
def offers_mandatory(case: Case) -> None:
    case.observe(checks.expect_offers(exchange(case), mandatory_suite(case.transport)))


@then("the ClientHello offers only suites of the profile")
def offers_only_profile(case: Case) -> None:
    case.observe(checks.expect_offers_only_profile(exchange(case), case.spec))


@then("the SUT binds the association to the configured IdB")
def binds_idb(case: Case) -> None:
    idb = case.state["request_configuration"]["otherEntityIdentifier"]
    case.observe(checks.expect_bound_identity(exchange(case), idb, "the configured IdB"))


@then("the ClientHello carries server_name with Entity B's host name")
def carries_sni(case: Case) -> None:
    host = case.state["request_configuration"]["otherEntityHostName"]
    case.observe(checks.expect_server_name(exchange(case), host, case.spec, case.info.framework))


def sut_role(case: Case) -> Role:
    return Role(case.info.sut_role)


# --- DTLS: the network and the record layer ---------------------------------------------

NETWORK = {
    "loses the SUT's first ServerHello flight": ("drop_received_first", "ServerHello"),
    "loses the SUT's first ClientHello": ("drop_received_first", "ClientHello"),
    "loses the harness's first ClientKeyExchange flight": ("drop_sent_first", "ClientKeyExchange"),
    "loses the harness's first ServerHello flight": ("drop_sent_first", "ServerHello"),
    "delivers the harness's datagrams in reverse order": ("reverse_flights", ""),
    "delivers every harness datagram twice": ("duplicate_datagrams", ""),
    "carries the harness's handshake in 64-byte fragments": ("fragment", "64"),
}


@given(parsers.re("the network (?P<disruption>" + "|".join(map(re.escape, NETWORK)) + ")$"))
def network(case: Case, disruption: str) -> None:
    plan(case).faults.setdefault("network", []).append(NETWORK[disruption])


BAD_RECORDS = {
    "a replay of its application data record": "replay_application_data",
    "an application data record with a wrong tag": "corrupt_application_data",
}


@given(
    parsers.re(
        "the harness, once established, sends (?P<bad>"
        + "|".join(map(re.escape, BAD_RECORDS))
        + ")$"
    )
)
def bad_record_after_handshake(case: Case, bad: str) -> None:
    plan(case).faults["after_handshake"] = BAD_RECORDS[bad]


@then("the SUT answered the first ClientHello with a HelloVerifyRequest")
def answered_with_hvr(case: Case) -> None:
    case.observe(checks.expect_hello_verify_request(exchange(case), case.spec))


@then("the SUT repeated its ClientHello with the harness's cookie")
def repeated_with_cookie(case: Case) -> None:
    case.observe(checks.expect_cookie_repeated(exchange(case)))


@then("the SUT keeps the association: no alert, and it still answers application data")
def keeps_association(case: Case) -> None:
    case.observe(checks.expect_association_kept(exchange(case)))
