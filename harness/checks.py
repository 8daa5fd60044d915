"""The verdict logic of the test purposes, as plain functions over an Exchange.

Steps call these; each either returns what it observed (a sentence that goes into the
report) or raises SutFailure / Inconclusive with a reason a vendor can act on. They are
pure so that tests/ can prove each one fails on the faulty observation it exists for.
"""

from __future__ import annotations

from collections.abc import Collection

from harness.observations import Exchange
from harness.spec_profile import SpecProfile
from harness.sut.contract import Role, Status
from harness.tls.suites import PROFILE_SUITES, SCSV_CODES, suite_name
from harness.verdict import HarnessError, Inconclusive, SutFailure


def expect_established(
    ex: Exchange, suite: int | None = None, *, profile_only: bool = False
) -> str:
    """The handshake completed on the wire (both Finished verified by the harness)."""
    ending = ex.ending
    if ending.kind != "established":
        raise SutFailure(f"the handshake did not complete: {ending.describe()}{_sut_detail(ex)}")
    negotiated = ex.negotiated_suite
    if suite is not None and negotiated != suite:
        raise SutFailure(
            f"the handshake completed with {suite_name(negotiated or 0)} instead of {suite_name(suite)}"
        )
    if profile_only and negotiated not in PROFILE_SUITES:
        raise SutFailure(
            f"the SUT selected {suite_name(negotiated or 0)}, a suite outside the profile"
        )
    return f"handshake completed with {suite_name(negotiated or 0)}"


def expect_refusal(
    ex: Exchange, accepted: Collection[str], spec: SpecProfile, *, silent_ok: bool = False
) -> str:
    """The SUT refused: it sent a fatal alert (one the RFC names for this case, or any
    fatal alert under S-06) and showed no sign of accepting our flight. ``silent_ok``:
    silence until the bound is a refusal too (DTLS discards records that fail their MAC,
    RFC 6347 4.1.2.7)."""
    ending = ex.ending
    if ex.sut_accepted:
        raise SutFailure(
            f"the SUT continued the handshake (it {ex.sut_accepted}) instead of refusing; "
            f"then: {ending.describe()}"
        )
    if ending.kind == "established":
        if ex.harness_role is Role.ENTITY_B and not ex.sut_accepted:
            # A DTLS server is done once its Finished is out: that proves nothing about the
            # SUT client, which showed no acceptance (its own report is checked apart).
            if silent_ok:
                return (
                    "the SUT client showed no sign of accepting the bad record: it discarded it "
                    "(RFC 6347 4.1.2.7)"
                )
            if spec.refusal_requires_fatal_alert:
                raise SutFailure(
                    "the SUT client sent no fatal alert after the harness's Finished (nor any "
                    f"sign of accepting it) ({spec.describe('refusal_requires_fatal_alert')})"
                )
            return "the SUT client sent no alert and showed no acceptance (accepted by S-01)"
        if silent_ok and ex.dtls.get("retransmissions", 0) > 0:
            # DTLS: the bad record was dropped and the harness's clean retransmission of
            # the flight completed the handshake. A SUT that accepted the bad record
            # would have completed on the first transmission.
            return (
                "the SUT discarded the bad record (RFC 6347 4.1.2.7) and completed with the "
                "harness's retransmission"
            )
        raise SutFailure("the SUT completed the handshake instead of refusing it")
    if ending.kind == "alert_received":
        if ending.alert_level != "fatal":
            raise SutFailure(
                f"the SUT sent a {ending.alert_level} alert {ending.alert}, not a fatal one"
            )
        if ending.alert in accepted:
            return f"SUT refused with fatal alert {ending.alert} (accepted: {', '.join(accepted)})"
        if spec.refusal_alerts == "any-fatal":
            return (
                f"SUT refused with fatal alert {ending.alert}; the RFC names "
                f"{', '.join(accepted)} ({spec.describe('refusal_alerts')})"
            )
        raise SutFailure(
            f"the SUT refused with fatal alert {ending.alert}, but the case calls for one of "
            f"{', '.join(accepted)} ({spec.describe('refusal_alerts')})"
        )
    if ending.kind == "peer_closed":
        if silent_ok:
            return "the SUT discarded the records and gave the handshake up (RFC 6347 4.1.2.7)"
        if spec.refusal_requires_fatal_alert:
            raise SutFailure(
                "the SUT closed the connection without a fatal alert "
                f"({spec.describe('refusal_requires_fatal_alert')})"
            )
        return "SUT closed the connection without an alert (accepted by S-01)"
    if ending.kind == "timeout":
        if silent_ok:
            return "the SUT discarded the records silently, as RFC 6347 4.1.2.7 allows over DTLS"
        raise SutFailure(
            f"the SUT neither refused nor completed the handshake: {ending.describe()}"
        )
    if ending.kind == "not_connected":
        raise SutFailure(f"the SUT never connected: {ending.describe()}{_sut_detail(ex)}")
    if ending.kind == "alert_sent":
        raise SutFailure(
            "the harness had to abort because the SUT's answer was itself invalid: "
            f"{ending.describe()}"
        )
    raise HarnessError(f"unexpected ending {ending.kind!r}")


def expect_no_association(ex: Exchange) -> str:
    """Where the SUT reports its own view, it must not report an association."""
    result = ex.sut_result
    if result is None or result.status in (Status.UNKNOWN,):
        return "the SUT has no observation channel; refusal judged on the wire only"
    if result.status is Status.ESTABLISHED:
        raise SutFailure("the SUT reports an established association after refusing on the wire")
    return f"the SUT reports status {result.status}"


def expect_sut_reports_established(ex: Exchange) -> str:
    result = ex.sut_result
    if result is None or result.status is Status.UNKNOWN:
        return "the SUT has no observation channel; completion judged on the wire only"
    if result.status is not Status.ESTABLISHED:
        raise SutFailure(
            f"the handshake completed on the wire but the SUT reports {result.status}: {result.detail}"
        )
    return "the SUT reports the association as established"


def expect_exporter_match(ex: Exchange, label: str, length: int) -> str:
    """If the SUT reports the RFC 5705 exporter value, it must equal the harness's."""
    result = ex.sut_result
    reported = result.keys.get(label) if result else None
    if not reported:
        return f"the SUT does not report exporter {label}; key agreement proven by Finished only"
    expected = ex.export(label.encode(), length, None).hex()
    if reported.lower() != expected:
        raise SutFailure(
            f"the SUT's {label} output {reported} differs from the harness's {expected}"
        )
    return f"the SUT's {label} output equals the harness's"


def expect_bound_identity(ex: Exchange, expected: str, what: str) -> str:
    result = ex.sut_result
    if result is None or result.status is Status.UNKNOWN or result.peer_identity is None:
        raise Inconclusive(
            f"the SUT does not report the identity it bound; {what} cannot be observed on the wire "
            "(declare observation_channel in the ICS and report peer_identity)"
        )
    if result.peer_identity != expected:
        raise SutFailure(
            f"the SUT bound the association to {result.peer_identity!r}, not {what} {expected!r}"
        )
    return f"the SUT bound the association to {what} {expected!r}"


def expect_psk_identity(ex: Exchange, expected: bytes) -> str:
    seen = ex.psk_identity_received
    if seen is None:
        raise SutFailure(
            f"no ClientKeyExchange with a psk_identity was seen ({ex.ending.describe()})"
        )
    if seen != expected:
        raise SutFailure(f"psk_identity {seen!r} is not the configured KpsaId {expected!r}")
    return f"psk_identity is the configured KpsaId {expected.decode(errors='replace')!r}"


def _offered(ex: Exchange) -> list[int]:
    if ex.client_hello is None:
        raise SutFailure(f"no ClientHello was received ({ex.ending.describe()})")
    return list(ex.client_hello["cipher_suites"])


def expect_offers(ex: Exchange, suite: int) -> str:
    if suite not in _offered(ex):
        raise SutFailure(f"the ClientHello does not offer {suite_name(suite)}")
    return f"the ClientHello offers {suite_name(suite)}"


def expect_offers_only_profile(ex: Exchange, spec: SpecProfile) -> str:
    outside = [s for s in _offered(ex) if s not in PROFILE_SUITES and s not in SCSV_CODES]
    if outside and spec.client_offers_only_profile_suites:
        names = ", ".join(suite_name(s) for s in outside)
        raise SutFailure(
            f"the ClientHello offers suites outside the profile: {names} "
            f"({spec.describe('client_offers_only_profile_suites')})"
        )
    return "the ClientHello offers only suites of the profile"


def expect_server_name(ex: Exchange, host_name: str, spec: SpecProfile, framework: str) -> str:
    _offered(ex)
    seen = ex.client_hello.get("server_name") if ex.client_hello else None
    if seen is None:
        if spec.sni_required == "gba-only" and framework != "saef-gba":
            return f"no server_name; not required ({spec.describe('sni_required')})"
        raise SutFailure(
            f"the ClientHello carries no server_name ({spec.describe('sni_required')})"
        )
    if seen != host_name:
        raise SutFailure(f"server_name is {seen!r}, not Entity B's host name {host_name!r}")
    return f"server_name is Entity B's host name {host_name!r}"


def expect_version(ex: Exchange, version: tuple[int, int]) -> str:
    if ex.negotiated_version != version:
        raise SutFailure(f"negotiated version {ex.negotiated_version} is not {version}")
    return "negotiated (D)TLS 1.2"


def _sut_detail(ex: Exchange) -> str:
    result = ex.sut_result
    if result is None or not (result.detail or result.alert):
        return ""
    parts = [p for p in (result.alert and f"alert {result.alert}", result.detail) if p]
    return f" (the SUT says: {'; '.join(parts)})"


def expect_hello_verify_request(ex: Exchange, spec: SpecProfile) -> str:
    """RFC 6347 4.2.1: a server answers a cookieless ClientHello with HelloVerifyRequest."""
    if ex.dtls.get("hello_verify_requests_received", 0) > 0:
        return "the SUT answered the cookieless ClientHello with a HelloVerifyRequest"
    if not spec.dtls_cookie_exchange_required:
        return f"the SUT skipped the cookie exchange ({spec.describe('dtls_cookie_exchange_required')})"
    raise SutFailure(
        "the SUT answered a ClientHello without a cookie with "
        f"{ex.dtls.get('first_answer') or 'nothing'} instead of a HelloVerifyRequest "
        f"({spec.describe('dtls_cookie_exchange_required')})"
    )


def expect_cookie_repeated(ex: Exchange) -> str:
    """RFC 6347 4.2.1: the client repeats its ClientHello with the server's cookie."""
    sent = [c for c in ex.dtls.get("cookies_sent", []) if c]
    cookies = ex.dtls.get("client_hello_cookies", [])
    if not sent:
        raise HarnessError("the harness sent no HelloVerifyRequest, so nothing can be checked")
    if not set(sent) & set(cookies):
        shown = ", ".join(c or "(none)" for c in cookies) or "no ClientHello"
        raise SutFailure(
            f"no ClientHello carried the harness's cookie {sent[0]}; cookies seen: {shown}"
        )
    return "the SUT repeated its ClientHello with the harness's cookie"


def expect_association_kept(ex: Exchange) -> str:
    """RFC 6347 4.1.2.7: a bad or replayed record is discarded; the association lives on."""
    after = ex.dtls.get("alerts_after_bad_record", [])
    if after:
        raise SutFailure(
            f"the SUT answered the bad record with alert(s) {', '.join(after)} instead of discarding it"
        )
    echoes = ex.dtls.get("probe_echoes", 0)  # the probe is sent once, around the bad record
    if echoes > 1:
        raise SutFailure(f"the SUT answered the probe {echoes} times: it processed the bad record")
    if echoes == 0:
        raise Inconclusive(
            "the SUT did not answer application data, so only the absence of an alert after "
            "the bad record could be observed"
        )
    return "no alert after the bad record, and the SUT answered the genuine application data once"
