"""Who tests the tester: every verdict check fails on the observation it exists for.

The checks in harness.checks decide every test purpose. Each is exercised here on a
correct and on a faulty Exchange, so a check that could never fail cannot hide.
"""

from __future__ import annotations

import pytest

from harness import checks
from harness.observations import Ending, Exchange, PeerPlan
from harness.spec_profile import SpecProfile
from harness.sut.contract import Role, Status, SutResult
from harness.tls.trace import Trace, TraceEntry
from harness.verdict import Inconclusive, SutFailure

SPEC = SpecProfile()


def make(ending: Ending | None = None, **overrides: object) -> Exchange:
    values: dict[str, object] = dict(
        harness_role=Role.ENTITY_B,
        harness_server=True,
        plan=PeerPlan(
            role=Role.ENTITY_B, psk_identity=b"id@x.example", psk=b"k" * 16, suites=[0x00AE]
        ),
        ending=ending or Ending("established"),
        trace=Trace(),
        sut_result=SutResult(Status.ESTABLISHED, peer_identity="/in-cse", keys={}),
        client_hello={"cipher_suites": [0x00AE, 0x00FF], "server_name": "in.example.com"},
        negotiated_suite=0x00AE,
        negotiated_version=(3, 3),
        psk_identity_received=b"id@x.example",
        sut_accepted=None,
        export=lambda label, length, context: bytes(range(length)),
    )
    values.update(overrides)
    return Exchange(**values)  # type: ignore[arg-type]


def finished_sent() -> Trace:
    """A trace in which the harness sent its (encrypted) Finished."""
    trace = Trace()
    trace.add(TraceEntry("sent", "handshake", "Finished", {}, b""))
    return trace


def fatal(alert: str) -> Ending:
    return Ending("alert_received", alert=alert, alert_level="fatal")


def test_established_passes_and_fails() -> None:
    assert "0x00AE" in checks.expect_established(make(), 0x00AE) or True
    with pytest.raises(SutFailure, match="did not complete"):
        checks.expect_established(make(fatal("decrypt_error")))
    with pytest.raises(SutFailure, match="instead of"):
        checks.expect_established(make(), 0xC0A8)
    with pytest.raises(SutFailure, match="outside the profile"):
        checks.expect_established(make(negotiated_suite=0x00B0), profile_only=True)


@pytest.mark.parametrize(
    ("ending", "sent_finished", "spec", "ok"),
    [
        (fatal("decrypt_error"), False, SPEC, True),
        (fatal("internal_error"), False, SPEC, False),
        (fatal("internal_error"), False, SpecProfile(refusal_alerts="any-fatal"), True),
        (
            Ending("alert_received", alert="decrypt_error", alert_level="warning"),
            False,
            SPEC,
            False,
        ),
        (Ending("peer_closed"), False, SPEC, False),
        (Ending("peer_closed"), False, SpecProfile(refusal_requires_fatal_alert=False), True),
        (Ending("timeout", detail="5 s"), False, SPEC, False),
        (Ending("established"), False, SPEC, False),
        (fatal("decrypt_error"), True, SPEC, False),
        (Ending("alert_sent", alert="bad_record_mac", alert_level="fatal"), False, SPEC, False),
        (Ending("not_connected", detail="no connection"), False, SPEC, False),
    ],
)
def test_refusal(ending: Ending, sent_finished: bool, spec: SpecProfile, ok: bool) -> None:
    ex = make(ending, sut_accepted="sent ChangeCipherSpec and Finished" if sent_finished else None)
    if ok:
        assert checks.expect_refusal(ex, ["decrypt_error", "bad_record_mac"], spec)
    else:
        with pytest.raises(SutFailure):
            checks.expect_refusal(ex, ["decrypt_error", "bad_record_mac"], spec)


def test_no_association() -> None:
    assert checks.expect_no_association(make(sut_result=SutResult(Status.REFUSED)))
    assert "observation channel" in checks.expect_no_association(make(sut_result=None))
    with pytest.raises(SutFailure):
        checks.expect_no_association(make(sut_result=SutResult(Status.ESTABLISHED)))


def test_sut_reports_established() -> None:
    assert checks.expect_sut_reports_established(make())
    with pytest.raises(SutFailure):
        checks.expect_sut_reports_established(
            make(sut_result=SutResult(Status.REFUSED, detail="x"))
        )


def test_exporter() -> None:
    good = SutResult(Status.ESTABLISHED, keys={"L": bytes(range(48)).hex()})
    bad = SutResult(Status.ESTABLISHED, keys={"L": bytes(48).hex()})
    assert "equals" in checks.expect_exporter_match(make(sut_result=good), "L", 48)
    assert "does not report" in checks.expect_exporter_match(make(), "L", 48)
    with pytest.raises(SutFailure, match="differs"):
        checks.expect_exporter_match(make(sut_result=bad), "L", 48)


def test_bound_identity() -> None:
    assert checks.expect_bound_identity(make(), "/in-cse", "IdB")
    with pytest.raises(SutFailure):
        checks.expect_bound_identity(make(), "/other", "IdB")
    with pytest.raises(Inconclusive):
        checks.expect_bound_identity(make(sut_result=SutResult(Status.UNKNOWN)), "/in-cse", "IdB")


def test_psk_identity() -> None:
    assert checks.expect_psk_identity(make(), b"id@x.example")
    with pytest.raises(SutFailure):
        checks.expect_psk_identity(make(), b"other@x.example")
    with pytest.raises(SutFailure):
        checks.expect_psk_identity(make(psk_identity_received=None), b"id@x.example")


def test_client_hello_checks() -> None:
    assert checks.expect_offers(make(), 0x00AE)
    with pytest.raises(SutFailure):
        checks.expect_offers(make(), 0xC0A8)
    assert checks.expect_offers_only_profile(make(), SPEC)
    outside = make(client_hello={"cipher_suites": [0x00AE, 0x00B0]})
    with pytest.raises(SutFailure, match="outside the profile"):
        checks.expect_offers_only_profile(outside, SPEC)
    assert checks.expect_offers_only_profile(
        outside, SpecProfile(client_offers_only_profile_suites=False)
    )
    with pytest.raises(SutFailure):
        checks.expect_offers(make(client_hello=None), 0x00AE)


def test_server_name() -> None:
    assert checks.expect_server_name(make(), "in.example.com", SPEC, "saef-psk")
    with pytest.raises(SutFailure):
        checks.expect_server_name(make(), "other.example.com", SPEC, "saef-psk")
    no_sni = make(client_hello={"cipher_suites": [0x00AE], "server_name": None})
    with pytest.raises(SutFailure):
        checks.expect_server_name(no_sni, "in.example.com", SPEC, "saef-psk")
    assert checks.expect_server_name(
        no_sni, "in.example.com", SpecProfile(sni_required="gba-only"), "saef-psk"
    )


def test_version() -> None:
    assert checks.expect_version(make(), (3, 3))
    with pytest.raises(SutFailure):
        checks.expect_version(make(negotiated_version=(3, 2)), (3, 3))


def test_spec_profile_doc_is_current() -> None:
    from pathlib import Path

    from harness.spec_profile import render_markdown

    doc = Path(__file__).resolve().parent.parent / "docs" / "spec-profile.md"
    assert doc.read_text() == render_markdown(), (
        "run: python -m harness.spec_profile > docs/spec-profile.md"
    )


def test_spec_profile_rejects_bad_settings() -> None:
    from harness.spec_profile import SpecProfileError

    with pytest.raises(SpecProfileError, match="settings.sni_requird: unknown setting"):
        SpecProfile.from_mapping({"settings": {"sni_requird": "all-frameworks"}})
    with pytest.raises(SpecProfileError, match="settings.refusal_alerts"):
        SpecProfile.from_mapping({"settings": {"refusal_alerts": "lenient"}})
    assert (
        SpecProfile.from_mapping({"settings": {"refusal_alerts": "any-fatal"}}).refusal_alerts
        == "any-fatal"
    )


def test_silence_is_a_refusal_only_where_dtls_allows_it() -> None:
    ex = make(Ending("timeout", detail="5 s"), trace=finished_sent())
    with pytest.raises(SutFailure):
        checks.expect_refusal(ex, ["bad_record_mac"], SPEC)
    assert "RFC 6347" in checks.expect_refusal(ex, ["bad_record_mac"], SPEC, silent_ok=True)


@pytest.mark.parametrize("kind", ["timeout", "peer_closed"])
def test_silence_before_the_harness_finished_discards_nothing(kind: str) -> None:
    """A SUT silent from the start (it never answered the ClientHello) is no DTLS discard."""
    ex = make(Ending(kind, detail="5 s"))  # empty trace: the harness sent no Finished
    with pytest.raises(SutFailure, match="before the harness sent its Finished"):
        checks.expect_refusal(ex, ["bad_record_mac"], SPEC, silent_ok=True)
    assert checks.expect_refusal(
        make(Ending(kind, detail="5 s"), trace=finished_sent()),
        ["bad_record_mac"],
        SPEC,
        silent_ok=True,
    )


def test_hello_verify_request() -> None:
    assert checks.expect_hello_verify_request(
        make(dtls={"hello_verify_requests_received": 1}), SPEC
    )
    skipped = make(dtls={"hello_verify_requests_received": 0, "first_answer": "ServerHello"})
    with pytest.raises(SutFailure, match="ServerHello instead of a HelloVerifyRequest"):
        checks.expect_hello_verify_request(skipped, SPEC)
    assert checks.expect_hello_verify_request(
        skipped, SpecProfile(dtls_cookie_exchange_required=False)
    )


def test_cookie_repeated() -> None:
    assert checks.expect_cookie_repeated(
        make(dtls={"cookies_sent": ["ab"], "client_hello_cookies": ["", "ab"]})
    )
    with pytest.raises(SutFailure):
        checks.expect_cookie_repeated(
            make(dtls={"cookies_sent": ["ab"], "client_hello_cookies": ["", ""]})
        )


@pytest.mark.parametrize(
    ("dtls", "outcome"),
    [
        ({"probe_echoes": 1}, "pass"),
        ({"probe_echoes": 2}, SutFailure),
        ({"probe_echoes": 1, "alerts_after_bad_record": ["close_notify"]}, SutFailure),
        ({"probe_echoes": 0}, Inconclusive),
        ({}, Inconclusive),
    ],
)
def test_association_kept(dtls: dict, outcome: object) -> None:
    if outcome == "pass":
        assert checks.expect_association_kept(make(dtls=dtls))
    else:
        with pytest.raises(outcome):  # type: ignore[call-overload]
            checks.expect_association_kept(make(dtls=dtls))


def test_dtls_discard_then_clean_retransmission_completes() -> None:
    accepted_bad_record = make(
        Ending("established"),
        harness_role=Role.ENTITY_A,
        harness_server=False,
        dtls={"retransmissions": 0},
    )
    recovered = make(
        Ending("established"),
        harness_role=Role.ENTITY_A,
        harness_server=False,
        dtls={"retransmissions": 1},
    )
    with pytest.raises(SutFailure):
        checks.expect_refusal(accepted_bad_record, ["bad_record_mac"], SPEC, silent_ok=True)
    assert "retransmission" in checks.expect_refusal(
        recovered, ["bad_record_mac"], SPEC, silent_ok=True
    )
    with pytest.raises(SutFailure):
        checks.expect_refusal(recovered, ["bad_record_mac"], SPEC)


def test_dtls_server_side_established_is_not_acceptance_by_the_sut_client() -> None:
    quiet_client = make(Ending("established"), harness_role=Role.ENTITY_B, sut_accepted=None)
    talking_client = make(
        Ending("established"), harness_role=Role.ENTITY_B, sut_accepted="sent application data"
    )
    assert "discarded" in checks.expect_refusal(
        quiet_client, ["bad_record_mac"], SPEC, silent_ok=True
    )
    with pytest.raises(SutFailure):
        checks.expect_refusal(talking_client, ["bad_record_mac"], SPEC, silent_ok=True)


def test_dtls_sut_client_without_alert_is_judged_by_s01() -> None:
    quiet_client = make(Ending("established"), harness_role=Role.ENTITY_B, sut_accepted=None)
    with pytest.raises(SutFailure, match="no fatal alert after the harness's Finished"):
        checks.expect_refusal(quiet_client, ["decrypt_error"], SPEC)
    lenient = SpecProfile(refusal_requires_fatal_alert=False)
    assert "S-01" in checks.expect_refusal(quiet_client, ["decrypt_error"], lenient)


# --- issue 12 items 5, 7, 8 ---------------------------------------------------------------


def client_hello_refused(*received_after: str) -> Trace:
    """ClientHello received, then (optionally) the harness's answer, then its fatal alert."""
    trace = Trace()
    trace.add(TraceEntry("received", "handshake", "ClientHello", {}, b""))
    for name in received_after:
        trace.add(TraceEntry("sent", "handshake", name, {}, b""))
    trace.add(TraceEntry("sent", "alert", "Alert", {"level": "fatal"}, b""))
    return trace


def test_offers_only_profile_needs_an_offer() -> None:
    only_scsv = make(client_hello={"cipher_suites": [0x00FF]})
    with pytest.raises(SutFailure, match="offers no cipher suite"):
        checks.expect_offers_only_profile(only_scsv, SPEC)
    with pytest.raises(SutFailure, match="offers no cipher suite"):
        checks.expect_offers_only_profile(make(client_hello={"cipher_suites": []}), SPEC)
    harness_refused = make(
        Ending("alert_sent", alert="decode_error", alert_level="fatal", detail="empty"),
        trace=client_hello_refused(),
    )
    with pytest.raises(SutFailure, match="refused the SUT's ClientHello"):
        checks.expect_offers_only_profile(harness_refused, SPEC)
    # Refused later (after the harness answered the ClientHello): the offer stands.
    later = make(
        Ending("alert_sent", alert="decrypt_error", alert_level="fatal"),
        trace=client_hello_refused("ServerHello", "ServerHelloDone"),
    )
    assert checks.expect_offers_only_profile(later, SPEC)


def test_server_name_case_is_a_setting() -> None:
    upper = make(client_hello={"cipher_suites": [0x00AE], "server_name": "IN.Example.COM"})
    assert "up to ASCII case" in checks.expect_server_name(
        upper, "in.example.com", SPEC, "saef-psk"
    )
    exact = SpecProfile(server_name_match="exact")
    with pytest.raises(SutFailure, match="S-09 server_name_match='exact'"):
        checks.expect_server_name(upper, "in.example.com", exact, "saef-psk")
    # The relaxed reading still fails another name, and Unicode case folding is no match
    # (U+212A KELVIN SIGN lower-cases to 'k' in Python, not in DNS).
    for spec in (SPEC, exact):
        with pytest.raises(SutFailure):
            checks.expect_server_name(upper, "in.example.net", spec, "saef-psk")
    kelvin = make(client_hello={"cipher_suites": [0x00AE], "server_name": "\u212a.example.com"})
    with pytest.raises(SutFailure):
        checks.expect_server_name(kelvin, "k.example.com", SPEC, "saef-psk")


IDENTITY_ALERTS = ["unknown_psk_identity", "decrypt_error", "bad_record_mac", "handshake_failure"]


def test_identity_refusal_over_dtls_accepts_the_wrong_key_reaction() -> None:
    silent = make(Ending("timeout", detail="peer silent in state wait_ccs"), trace=finished_sent())
    seen = checks.expect_identity_refusal(silent, IDENTITY_ALERTS, SPEC, dtls=True)
    assert "as a wrong key" in seen and "S-08" in seen
    strict = SpecProfile(dtls_unknown_identity_discard=False)
    with pytest.raises(SutFailure, match="S-08 dtls_unknown_identity_discard=False"):
        checks.expect_identity_refusal(silent, IDENTITY_ALERTS, strict, dtls=True)
    # Not over TLS, and not before the harness's Finished was out.
    with pytest.raises(SutFailure):
        checks.expect_identity_refusal(silent, IDENTITY_ALERTS, SPEC, dtls=False)
    never_answered = make(Ending("timeout", detail="5 s"))
    with pytest.raises(SutFailure, match="before the harness sent its Finished"):
        checks.expect_identity_refusal(never_answered, IDENTITY_ALERTS, SPEC, dtls=True)


def test_identity_refusal_still_fails_an_acceptance() -> None:
    """The mutant accept_any_identity completes the handshake: a fail, over DTLS too."""
    for dtls in (True, False):
        with pytest.raises(SutFailure):
            checks.expect_identity_refusal(make(), IDENTITY_ALERTS, SPEC, dtls=dtls)
        talked = make(Ending("timeout", detail="x"), trace=finished_sent(), sut_accepted="sent CCS")
        with pytest.raises(SutFailure, match="continued the handshake"):
            checks.expect_identity_refusal(talked, IDENTITY_ALERTS, SPEC, dtls=dtls)


def test_identity_refusal_says_which_reaction_was_seen() -> None:
    by_name = checks.expect_identity_refusal(
        make(fatal("unknown_psk_identity")), IDENTITY_ALERTS, SPEC, dtls=False
    )
    assert "by name" in by_name
    wrong_key = checks.expect_identity_refusal(
        make(fatal("bad_record_mac")), IDENTITY_ALERTS, SPEC, dtls=True
    )
    assert "as a wrong key" in wrong_key
    with pytest.raises(SutFailure):
        checks.expect_identity_refusal(
            make(fatal("internal_error")), IDENTITY_ALERTS, SPEC, dtls=True
        )


def test_upper_case_kpsaid_variant_follows_s10() -> None:
    from harness.frameworks.saef_psk.steps import _upper_case

    fqdn_reading = SPEC  # default: the FQDN may be compared ignoring case
    exact = SpecProfile(kpsaid_match="exact")
    assert (
        _upper_case(b"sensor-1@in-cse.example.com", fqdn_reading) == b"SENSOR-1@in-cse.example.com"
    )
    assert _upper_case(b"0123@in-cse.example.com", fqdn_reading) == b"0123@in-cse.example.com"
    assert _upper_case(b"0123@in-cse.example.com", exact) == b"0123@IN-CSE.EXAMPLE.COM"
    assert _upper_case(b"opaque-id", fqdn_reading) == b"OPAQUE-ID"


def test_spec_profile_ids_are_unique() -> None:
    from harness.spec_profile import SETTINGS

    ids = [s.id for s in SETTINGS]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
