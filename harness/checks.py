"""The verdict logic of the test purposes, as plain functions over an Exchange.

Steps call these; each either returns what it observed (a sentence that goes into the
report) or raises SutFailure / Inconclusive with a reason a vendor can act on. They are
pure so that tests/ can prove each one fails on the faulty observation it exists for.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from harness.observations import Exchange
from harness.spec_profile import SpecProfile
from harness.sut.contract import LegResult, Status, SutResult
from harness.tls import alerts
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
    if ending.kind == "flooded":
        raise SutFailure(ending.describe())
    if ex.sut_accepted:
        raise SutFailure(
            f"the SUT continued the handshake (it {ex.sut_accepted}) instead of refusing; "
            f"then: {ending.describe()}"
        )
    if ending.kind == "established":
        if ex.harness_server and not ex.sut_accepted:
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
            _require_records_to_discard(ex)
            return "the SUT discarded the records and gave the handshake up (RFC 6347 4.1.2.7)"
        if spec.refusal_requires_fatal_alert:
            raise SutFailure(
                "the SUT closed the connection without a fatal alert "
                f"({spec.describe('refusal_requires_fatal_alert')})"
            )
        return "SUT closed the connection without an alert (accepted by S-01)"
    if ending.kind == "timeout":
        if silent_ok:
            _require_records_to_discard(ex)
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


def _require_records_to_discard(ex: Exchange) -> None:
    """Silence is a discard only of records the SUT got: the harness's encrypted
    Finished. A SUT silent before that (it never answered the ClientHello, say) refused
    nothing that can be observed."""
    if not any(m.direction == "sent" and m.type == "Finished" for m in ex.trace.messages):
        raise SutFailure(
            "the SUT fell silent before the harness sent its Finished, so there was no "
            f"record for it to discard: {ex.ending.describe()}"
        )


# RFC 4279 section 2: a server that does not recognise a psk_identity MAY refuse it by
# name, or hide that and go on as if the key were wrong, which ends in one of these.
WRONG_KEY_ALERTS = ("decrypt_error", "bad_record_mac")


def expect_identity_refusal(
    ex: Exchange, accepted: Collection[str], spec: SpecProfile, *, dtls: bool
) -> str:
    """Entity B refused a psk_identity it has no KpsaId for, in one of the ways RFC 4279
    section 2 permits, and the observation says which: unknown_psk_identity (refused by
    name), decrypt_error / bad_record_mac (handled as a wrong key), or, over DTLS, silence
    after the harness's Finished: a server with the wrong key cannot read that Finished
    and discards it (RFC 6347 4.1.2.7), as TP/SAEF-PSK/B/07 and B/09 accept. S-08 makes
    that silence a fail instead."""
    ending = ex.ending
    silent = ending.kind in ("timeout", "peer_closed")
    if dtls and silent and not ex.sut_accepted:
        if not spec.dtls_unknown_identity_discard:
            raise SutFailure(
                "the SUT sent no alert: it discarded the harness's Finished, as an Entity B "
                "handling the unknown psk_identity as a wrong key does over DTLS, but a "
                f"fatal alert is required ({spec.describe('dtls_unknown_identity_discard')}); "
                f"{ending.describe()}"
            )
        _require_records_to_discard(ex)
        return (
            "the SUT handled the psk_identity as a wrong key (RFC 4279 section 2): it "
            "discarded the harness's Finished in silence (RFC 6347 4.1.2.7) "
            f"({spec.describe('dtls_unknown_identity_discard')})"
        )
    seen = expect_refusal(ex, accepted, spec)
    if ex.ending.alert == "unknown_psk_identity":
        return f"{seen}; the SUT refused the psk_identity by name (RFC 4279 section 2)"
    if ex.ending.alert in WRONG_KEY_ALERTS:
        return f"{seen}; the SUT handled the psk_identity as a wrong key (RFC 4279 section 2)"
    return seen


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


def _client_hello_refused(ex: Exchange) -> str | None:
    """Why the harness (as server) aborted on a ClientHello of the SUT, or None.

    A fatal alert of the harness while a received ClientHello had no answer (ServerHello,
    or HelloVerifyRequest over DTLS) means that ClientHello (or a second one, in TLS) was
    invalid: what it offers is then no observation.
    """
    if ex.ending.kind != "alert_sent":
        return None
    answered: bool | None = None  # None: no ClientHello seen yet
    for message in ex.trace.messages:
        if message.direction == "sent" and message.fields.get("level") == "fatal":
            break
        if message.direction == "received" and message.type == "ClientHello":
            answered = False
        elif message.direction == "sent" and message.type in ("ServerHello", "HelloVerifyRequest"):
            answered = True
    if answered is not False:
        return None
    return f"the harness refused the SUT's ClientHello: {ex.ending.describe()}"


def expect_offers_only_profile(ex: Exchange, spec: SpecProfile) -> str:
    """Every offered suite is a profile suite, and there is an offer to judge: a
    ClientHello the harness had to refuse (empty vectors, a version below (D)TLS 1.2, a
    second ClientHello) or one that offers no suite at all is a fail, not a pass over an
    empty set."""
    refused = _client_hello_refused(ex)
    if refused:
        raise SutFailure(refused)
    offered = [s for s in _offered(ex) if s not in SCSV_CODES]
    if not offered:
        raise SutFailure("the ClientHello offers no cipher suite (only signalling values)")
    outside = [s for s in offered if s not in PROFILE_SUITES]
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
    if seen == host_name:
        return f"server_name is Entity B's host name {host_name!r}"
    setting = spec.describe("server_name_match")
    if spec.server_name_match == "case-insensitive" and _ascii_lower(seen) == _ascii_lower(
        host_name
    ):
        return (
            f"server_name {seen!r} is Entity B's host name {host_name!r} up to ASCII case "
            f"(RFC 4343; {setting})"
        )
    raise SutFailure(f"server_name is {seen!r}, not Entity B's host name {host_name!r} ({setting})")


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _ascii_lower(text: str) -> str:
    """DNS case-insensitivity is ASCII only (RFC 4343 3): no Unicode case folding."""
    return text.translate(_ASCII_LOWER)


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


# --- the whole leg: no flood, and the SUT's account agrees with the wire ---------------------


def expect_no_flood(ex: Exchange) -> str:
    """A SUT that sent more than any conformant exchange needs (harness.tls.transport
    flood bounds) fails whatever the purpose: the run was cut off, so nothing after the
    flood's start was observed and no other check may pass on what was."""
    if ex.ending.kind == "flooded":
        raise SutFailure(ex.ending.describe())
    return "the SUT sent no more than a conformant exchange needs"


MAX_EXPORT_COMPARED = 4096  # bytes of a reported exporter value compared (a PRF prefix)
_ALERT_TEXT = re.compile(r"\s*([A-Za-z0-9_ -]+?)\s*(?:\((sent|received)\))?\s*")


def expect_account_matches_wire(ex: Exchange, account: SutResult | LegResult | None = None) -> str:
    """Every field of the SUT's account (the adapter contract's result fields) that the
    harness also observed must agree with what it observed; one that does not is a fail
    naming both (the SUT misreports, so none of its account can be trusted).

    ``account``: the SUT's result (default ``ex.sut_result``) or, in a multi-party case,
    the leg of it that ``ex`` observed. Compared: ``cipher_suite`` with the ServerHello;
    ``psk_identity`` with the ClientKeyExchange; ``keys`` with the harness's own RFC 5705
    values once the handshake completed (prefix of the reported length; context none);
    ``alert`` (a TLS alert name, optionally "(sent)"/"(received)") with the alerts on
    the wire. ``status`` and ``peer_identity`` are judged by the purposes that need them
    (refusal, completion, binding): a malformed account is a harness *error* (the shim
    broke the contract), never a status a check could read as a refusal."""
    account = account if account is not None else ex.sut_result
    if account is None or account.status is Status.UNKNOWN:
        return "the SUT has no observation channel; nothing of its account to cross-check"
    problems = getattr(account, "problems", None)
    if problems:
        raise HarnessError(
            "the SUT's account cannot be judged: the shim's result is malformed: "
            + "; ".join(problems)
        )
    wrong: list[str] = []
    agreed: list[str] = []
    if account.cipher_suite is not None and ex.negotiated_suite is not None:
        if account.cipher_suite != ex.negotiated_suite:
            wrong.append(
                f"cipher_suite {suite_name(account.cipher_suite)}, but the ServerHello on the "
                f"wire selected {suite_name(ex.negotiated_suite)}"
            )
        else:
            agreed.append("cipher_suite")
    identity = _wire_psk_identity(ex)
    if account.psk_identity is not None and identity is not None:
        if not _same_identity(account.psk_identity, identity):
            wrong.append(
                f"psk_identity {account.psk_identity!r}, but the ClientKeyExchange on the wire "
                f"carried {identity!r}"
            )
        else:
            agreed.append("psk_identity")
    if account.keys and ex.ending.kind == "established":
        for label, value in account.keys.items():
            problem = _exporter_problem(ex, label, value)
            if problem:
                wrong.append(problem)
            elif problem is not None:
                agreed.append(f"keys.{label}")
    if account.alert:
        problem = _alert_problem(ex, account.alert)
        if problem:
            wrong.append(problem)
        elif problem is not None:
            agreed.append("alert")
    if wrong:
        raise SutFailure(
            "the SUT's own account contradicts the wire: it reports " + "; ".join(wrong)
        )
    if not agreed:
        return "nothing the SUT reports is observable on the wire here"
    return f"the SUT's account agrees with the wire ({', '.join(agreed)})"


def _wire_psk_identity(ex: Exchange) -> bytes | None:
    """The psk_identity of the ClientKeyExchange the harness sent (as client) or received
    (as server), None if there was none."""
    direction = "received" if ex.harness_server else "sent"
    if ex.harness_server and ex.psk_identity_received is not None:
        return ex.psk_identity_received
    for m in ex.trace.messages:
        if m.direction == direction and m.type == "ClientKeyExchange":
            with_hex = m.fields.get("psk_identity")
            if isinstance(with_hex, str):
                try:
                    return bytes.fromhex(with_hex)
                except ValueError:
                    return None
    return None


def _same_identity(reported: str, wire: bytes) -> bool:
    """The contract's psk_identity is text: the wire's octets as UTF-8, else with invalid
    octets replaced (U+FFFD) or as hex; a C implementation sees an identity cut at its
    first NUL, which counts as the same."""
    forms = {
        wire.decode("utf-8", "replace"),
        wire.decode("latin-1"),
        wire.hex(),
        wire.split(b"\0", 1)[0].decode("utf-8", "replace"),
    }
    return reported in forms or reported.lower() == wire.hex()


def _exporter_problem(ex: Exchange, label: str, value: str) -> str | None:
    """ "" when the reported exporter value equals the harness's, the contradiction when
    not, None when the harness cannot compute it."""
    length = min(len(value) // 2, MAX_EXPORT_COMPARED)
    try:
        expected = ex.export(label.encode(), length, None).hex()
    except (RuntimeError, ValueError, UnicodeEncodeError):
        return None
    if value[: 2 * length].lower() != expected:
        return f"keys.{label} = {value[:32]}..., but the harness's RFC 5705 value is {expected[:32]}..."
    return ""


def _alert_problem(ex: Exchange, text: str) -> str | None:
    """ "" when the alert the SUT reports was on the wire, the contradiction when the wire
    shows otherwise, None when it cannot tell (an unknown name; an alert the SUT sent
    while the harness received none: it may have been after the harness stopped reading,
    or lost over DTLS)."""
    match = _ALERT_TEXT.fullmatch(text)
    if match is None:
        return None
    name = re.sub(r"[ -]+", "_", match.group(1).strip().lower())
    try:
        alerts.description_code(name)
    except KeyError:  # e.g. a vendor's own wording: nothing to compare
        return None
    direction = match.group(2)
    received = [
        m.fields.get("description")
        for m in ex.trace.messages
        if m.layer == "alert" and m.direction == "received"
    ]
    sent = [
        m.fields.get("description")
        for m in ex.trace.messages
        if m.layer == "alert" and m.direction == "sent"
    ]
    if direction == "received":
        if name in sent:
            return ""
        shown = ", ".join(map(str, sent)) or "none"
        return f"alert {text!r} received, but the harness sent {shown}"
    if name in received or (direction is None and name in sent):
        return ""
    if not received:
        return None
    return f"alert {text!r}, but the harness received {', '.join(map(str, received))}"
