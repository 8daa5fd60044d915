"""The verdict logic of the enrolee-key SBF test purposes: pure functions over an SbfCase.

Each returns the sentence it observed or raises SutFailure / Inconclusive with a reason
that names the leg and the values compared. A single leg's (D)TLS verdicts (did it
complete, was a refusal proper) are harness/checks.py's; these add what only the whole
chain shows: which identifier went where, which key the SUT derived (proven by a
handshake that completes only with the key the harness derived), what the MEF released
to whom, and whether the MAF fetched when it had to and only then.
"""

from __future__ import annotations

import datetime as dt

from harness.frameworks.sbf_psk import binding
from harness.frameworks.sbf_psk.parties import CredentialFetch, HeldKe, MafContact, SbfCase
from harness.observations import Exchange
from harness.onem2m_values import format_timestamp
from harness.sut.contract import LegResult, Status
from harness.verdict import HarnessError, Inconclusive, SutFailure

LIFETIME_TOLERANCE = 5.0
"""Seconds a fetch answer's lifetime may differ from now + credentialLifetime (whole-second
timestamps, and the MEF reads its clock a moment before the harness)."""


def first_bootstrap(ob: SbfCase) -> Exchange:
    if not ob.bootstraps:
        raise SutFailure("the Enrolee never contacted the MEF (no bootstrap handshake)")
    return ob.bootstraps[0].exchange


def held_ke(ob: SbfCase) -> HeldKe:
    """The Ke and KeID of the case's bootstrap, as the harness derived them."""
    if ob.bootstraps and ob.bootstraps[0].held is not None:
        return ob.bootstraps[0].held
    if ob.maf_contacts and ob.maf_contacts[0].held is not None:
        return ob.maf_contacts[0].held
    raise SutFailure(
        "the bootstrap did not complete, so no Ke exists: "
        + (ob.bootstraps[0].exchange.ending.describe() if ob.bootstraps else "none ran")
    )


# --- the bootstrap handshake -------------------------------------------------------------


def expect_bootstrap_identity(ob: SbfCase, kpm_id: str) -> str:
    """SBF-PSK-09: the bootstrap's psk_identity is the KpmId (harness MEF's view)."""
    ex = first_bootstrap(ob)
    seen = ex.psk_identity_received
    if seen is None:
        raise SutFailure(f"no psk_identity reached the MEF ({ex.ending.describe()})")
    text = seen.decode(errors="replace")
    if text != kpm_id:
        raise SutFailure(f"the bootstrap's psk_identity {text!r} is not the KpmId {kpm_id!r}")
    return f"the bootstrap presented KpmId {kpm_id!r}"


def expect_bootstrap_completed(ob: SbfCase) -> str:
    ex = first_bootstrap(ob)
    if ex.ending.kind != "established":
        raise SutFailure(f"the bootstrap handshake did not complete: {ex.ending.describe()}")
    return "the bootstrap handshake completed"


def _sut_legs(ob: SbfCase, name: str) -> list[LegResult]:
    result = ob.sut_result
    if result is None or result.status is Status.UNKNOWN:
        return []
    return [leg for leg in result.legs if leg.name == name]


def expect_bootstrap_account(ob: SbfCase, label: str, length: int) -> str:
    """If the SUT reports its bootstrap export and KeID (observation channel), they must
    equal the harness's: the export over the same session, and the KeID formed from it."""
    ex = first_bootstrap(ob)
    held = held_ke(ob)
    legs = _sut_legs(ob, "bootstrap")
    if not legs:
        return "the SUT reports no bootstrap leg; Ke proven by the MAF handshake only"
    leg = legs[0]
    reported = leg.keys.get(label)
    sentences = []
    if reported:
        expected = ex.export(label.encode(), length, None).hex()
        if reported.lower() != expected:
            raise SutFailure(
                f"the SUT's {label} output {reported} differs from the harness's {expected}"
            )
        sentences.append(f"its {label} output equals the harness's")
    ke_id = leg.fields.get("keId")
    if ke_id is not None:
        if ke_id != held.ke_id:
            raise SutFailure(f"the SUT reports KeID {ke_id!r}, the harness formed {held.ke_id!r}")
        sentences.append(f"its KeID {ke_id!r} equals the harness's")
    if not sentences:
        return "the SUT reports neither the bootstrap export nor the KeID"
    return "the SUT's bootstrap account: " + "; ".join(sentences)


# --- the MAF handshake, the SUT as Enrolee ----------------------------------------------------


def _contact(ob: SbfCase, index: int) -> MafContact:
    if len(ob.maf_contacts) <= index:
        raise SutFailure(
            f"the Enrolee ran {len(ob.maf_contacts)} MAF handshake(s); "
            f"handshake {index + 1} never came"
        )
    return ob.maf_contacts[index]


def expect_first_contact_presents_ke_id(ob: SbfCase) -> str:
    """SBF-COMMON-12, SBF-PSK-13, I-05: on first contact the psk_identity is the KeID the
    harness MEF formed (lower-case hexBinary of RelativeKeID, "@", the MEF's FQDN)."""
    held = held_ke(ob)
    contact = _contact(ob, 0)
    if contact.presented is None:
        raise SutFailure(f"no psk_identity reached the MAF ({contact.exchange.ending.describe()})")
    if contact.presented != held.ke_id:
        raise SutFailure(
            f"the first MAF handshake's psk_identity {contact.presented!r} is not the KeID "
            f"{held.ke_id!r} formed from the bootstrap (lower-case hex(RelativeKeID) '@' MEF-FQDN)"
        )
    return f"the first MAF handshake presented KeID {held.ke_id!r}"


def expect_contact_completes(ob: SbfCase, index: int, what: str) -> str:
    """The MAF handshake completed: the SUT used the key the harness derived (proof by use)."""
    contact = _contact(ob, index)
    ex = contact.exchange
    if ex.ending.kind != "established":
        raise SutFailure(f"{what} did not complete: {ex.ending.describe()}")
    return f"{what} completed with psk_identity {contact.presented!r}"


def expect_later_contact(ob: SbfCase, index: int, kmid: str | None) -> str:
    """SBF-COMMON-11/20: a later contact names the same Km, by KmID or KeID, with no new
    bootstrap in between, and completes."""
    contact = _contact(ob, index)
    if len(ob.bootstraps) > 1:
        raise SutFailure(
            f"the Enrolee ran {len(ob.bootstraps)} bootstraps: a later MAF contact must reuse "
            "the stored Ke/Km (SBF-PSK-14)"
        )
    if contact.kind == "other":
        expected = f"the KmID {kmid!r} or " if kmid else "its KmID or "
        raise SutFailure(
            f"MAF handshake {index + 1} presented {contact.presented!r}, neither "
            f"{expected}the KeID {held_ke(ob).ke_id!r}"
        )
    sentence = expect_contact_completes(ob, index, f"MAF handshake {index + 1}")
    return f"{sentence} ({contact.kind})"


def expect_no_maf_contact(ob: SbfCase) -> str:
    """With no bootstrapped key the Enrolee has nothing to present to the MAF."""
    if ob.maf_contacts:
        raise SutFailure(
            f"the Enrolee contacted the MAF {len(ob.maf_contacts)} time(s) after its bootstrap "
            f"failed (psk_identity {ob.maf_contacts[0].presented!r})"
        )
    return "the Enrolee did not contact the MAF"


# --- the credential fetch, the SUT as MEF -----------------------------------------------------


def _fetch(ob: SbfCase, index: int) -> CredentialFetch:
    if len(ob.fetches) <= index:
        raise HarnessError(f"the harness MAF made {len(ob.fetches)} fetch(es), not {index + 1}")
    return ob.fetches[index]


def _fetch_detail(fetch: CredentialFetch) -> str:
    result = fetch.result
    if fetch.status is not None:
        return f"HTTP {fetch.status}"
    return result.detail if result is not None else "no answer"


def expect_credential_released(
    ob: SbfCase, index: int, expected_km: bytes, enrolee_id: str, lifetime: float | None
) -> str:
    """SBF-COMMON-16/17, SBF-PSK-06: the MEF answers the configured MAF with the Km the
    harness derived from the bootstrap's Ke, the Enrolee-ID and the lifetime."""
    fetch = _fetch(ob, index)
    if fetch.status != 200:
        raise SutFailure(f"the MEF did not release the credential: {_fetch_detail(fetch)}")
    answer = binding.decode_answer(fetch.body)
    if answer.problems:
        raise SutFailure("the MEF's answer is malformed: " + "; ".join(answer.problems))
    if answer.credential != expected_km:
        raise SutFailure(
            "the credential the MEF released is not the Km the harness derived from the "
            "bootstrap's Ke and the MAF-ID (TS-0003 10.3.2, NFKC MAF-ID; spec profile I-12)"
        )
    if answer.enrolee_id != enrolee_id:
        raise SutFailure(
            f"the answer's enroleeID {answer.enrolee_id!r} is not the configured {enrolee_id!r}"
        )
    if lifetime is not None and answer.lifetime is not None:
        expected = dt.datetime.fromtimestamp(fetch.at, dt.UTC) + dt.timedelta(seconds=lifetime)
        if abs((answer.lifetime - expected).total_seconds()) > LIFETIME_TOLERANCE:
            raise SutFailure(
                f"the answer's lifetime {format_timestamp(answer.lifetime)} is not now + "
                f"credentialLifetime ({format_timestamp(expected)}, +/- {LIFETIME_TOLERANCE:g} s)"
            )
    return (
        f"the MEF released the expected Km with enroleeID {enrolee_id!r}, lifetime "
        f"{format_timestamp(answer.lifetime) if answer.lifetime else '?'}"
    )


def expect_fetch_refused(ob: SbfCase, index: int, statuses: tuple[int, ...], why: str) -> str:
    """The MEF refuses with an HTTP error in ``statuses`` and the failure form, or by
    refusing the fetch channel's handshake; never with a credential."""
    fetch = _fetch(ob, index)
    result = fetch.result
    if fetch.status is None:
        if result is not None and result.ending == "handshake_failed":
            return f"the MEF refused the fetch channel's handshake ({result.detail})"
        if result is not None and result.ending == "timeout":
            raise SutFailure(f"the MEF did not answer {why}: {result.detail}")
        raise Inconclusive(f"the fetch for {why} got no HTTP answer: {_fetch_detail(fetch)}")
    if fetch.status == 200:
        raise SutFailure(f"the MEF released a credential to {why} (HTTP 200)")
    if fetch.status not in statuses:
        wanted = " or ".join(map(str, statuses))
        raise SutFailure(f"the MEF answered {why} with HTTP {fetch.status}, not {wanted}")
    if not binding.is_refusal(fetch.body):
        raise SutFailure(
            f"the MEF's refusal (HTTP {fetch.status}) lacks the failure form "
            f"{{status: false, errorString}}: {fetch.body!r}"
        )
    return f"the MEF refused {why} with HTTP {fetch.status}"


# --- the SUT as MAF -------------------------------------------------------------------------


def expect_fetched_once(ob: SbfCase, held: HeldKe, maf_id: str, mef_fqdn: str) -> str:
    """SBF-COMMON-13/15: for an unknown KeID the MAF fetched from the MEF its FQDN names,
    once, with RETRIEVE /fetchCredentials/<KeID>/21 and the MAF-ID as originator."""
    if not ob.fetches:
        raise SutFailure(f"the MAF never asked the MEF {mef_fqdn!r} for KeID {held.ke_id!r}")
    fetch = ob.fetches[0]
    request = fetch.request
    if request is None:
        detail = fetch.served.detail if fetch.served else "no request read"
        raise SutFailure(f"the MAF's fetch was not a readable request: {detail}")
    if request.problem:
        raise SutFailure(f"the MAF's fetch is malformed: {request.problem}")
    if request.ke_id != held.ke_id:
        raise SutFailure(f"the MAF fetched KeID {request.ke_id!r}, not {held.ke_id!r}")
    if request.suid != binding.SUID_REMOTE_PROVISIONED:
        raise SutFailure(
            f"the MAF fetched with SUID {request.suid}, not {binding.SUID_REMOTE_PROVISIONED}"
        )
    if request.origin != maf_id:
        raise SutFailure(f"the fetch's originator {request.origin!r} is not the MAF-ID {maf_id!r}")
    return f"the MAF fetched {binding.fetch_target(held.ke_id)} as {maf_id!r}"


def expect_fetch_before_finished(ob: SbfCase) -> str:
    """The MAF fetched while the first handshake was in progress: it needs Km to verify
    the Enrolee's Finished."""
    contact = ob.maf_contacts[0] if ob.maf_contacts else None
    if contact is None or not ob.fetches:
        raise HarnessError("no MAF handshake or no fetch to order")
    started = contact.exchange.trace.messages[0].time if contact.exchange.trace.messages else 0.0
    if ob.fetches[0].at < started:
        raise SutFailure("the MAF fetched before the Enrolee's handshake began")
    return "the fetch came during the first MAF handshake"


def expect_fetch_count(ob: SbfCase, expected: int) -> str:
    """SBF-COMMON-14: a MAF holding Km and the Enrolee-ID does not contact the MEF again."""
    if len(ob.fetches) != expected:
        raise SutFailure(
            f"the MAF fetched {len(ob.fetches)} time(s) over {len(ob.maf_contacts)} contacts; "
            f"{expected} expected (it holds Km after the first)"
        )
    return f"the MAF fetched {expected} time(s) over {len(ob.maf_contacts)} contacts"


def expect_maf_binds(ob: SbfCase, enrolee_id: str) -> str:
    """SBF-COMMON-17/18: the MAF binds the Enrolee-ID the MEF gave with Km (observation
    channel: the peer_identity of its maf_handshake leg)."""
    legs = [leg for leg in _sut_legs(ob, "maf_handshake") if leg.status is Status.ESTABLISHED]
    if not legs or legs[0].peer_identity is None:
        raise Inconclusive(
            "the SUT does not report the identity it bound in the MAF handshake (declare "
            "observation_channel in the ICS and report peer_identity in the maf_handshake leg)"
        )
    bound = legs[0].peer_identity
    if bound != enrolee_id:
        raise SutFailure(
            f"the MAF bound the Enrolee to {bound!r}, not the Enrolee-ID {enrolee_id!r} the MEF gave"
        )
    return f"the MAF bound the Enrolee-ID {enrolee_id!r}"


def expect_no_fetch(ob: SbfCase, why: str) -> str:
    if ob.fetches:
        raise SutFailure(f"the MAF asked the harness MEF although {why}")
    return f"the MAF did not fetch ({why})"
