"""The verdict logic of the MAF-SAEF test purposes: pure functions over a MafCase.

Each returns the sentence it observed or raises SutFailure / Inconclusive with a reason
that names the leg and the values compared. The (D)TLS verdicts of a single leg (did it
complete, was the refusal a proper one) are harness/checks.py's; these add what only a
multi-party case shows: which identity went where, which key the SUT derived, whether
B asked the MAF in time, what the MAF released to whom.
"""

from __future__ import annotations

import datetime as dt

from harness.frameworks.saef_maf import binding
from harness.frameworks.saef_maf.parties import IssuedKc, KeyRetrieval, MafCase
from harness.observations import Exchange
from harness.onem2m_values import format_timestamp
from harness.sut.contract import Status
from harness.verdict import HarnessError, Inconclusive, SutFailure

LIFETIME_TOLERANCE = 5.0
"""Seconds an answer's expirationTime may differ from now + kcLifetime (the timestamp
has whole seconds, and the MAF's clock is read a moment before the harness's)."""


def _started(ex: Exchange) -> float:
    first = ex.trace.messages[0].time if ex.trace.messages else None
    return first if first is not None else 0.0


def _presented(ex: Exchange) -> str | None:
    seen = ex.psk_identity_received
    return None if seen is None else seen.decode(errors="replace")


# --- the SUT as Entity A -----------------------------------------------------------------


def expect_maf_handshake(ob: MafCase, kmid: str) -> str:
    """SAEF-MAF-09/10/11: A ran the MAF handshake with psk_identity = KmID and psk = Km."""
    if not ob.maf_handshakes:
        raise SutFailure("Entity A never contacted the MAF")
    first = ob.maf_handshakes[0].exchange
    seen = _presented(first)
    if seen is None:
        raise SutFailure(f"no psk_identity reached the MAF ({first.ending.describe()})")
    if seen != kmid:
        raise SutFailure(f"the MAF handshake's psk_identity {seen!r} is not the KmID {kmid!r}")
    if first.ending.kind != "established":
        raise SutFailure(f"the MAF handshake did not complete: {first.ending.describe()}")
    return f"the MAF handshake completed with psk_identity = KmID {kmid!r}"


def issued_before(ob: MafCase, ex: Exchange) -> IssuedKc | None:
    """The Kc of the last MAF handshake that completed before this association began."""
    start = _started(ex)
    latest = None
    for handshake in ob.maf_handshakes:
        if handshake.issued is not None and _started(handshake.exchange) <= start:
            latest = handshake.issued
    return latest


def expect_kc_id_presented(ob: MafCase, index: int = 0) -> str:
    """SAEF-MAF-13/15: A's association psk_identity is exactly the KcID the harness MAF
    formed (lower-case hexBinary of RelativeKcID, "@", the MAF's FQDN; I-04)."""
    if len(ob.associations) <= index:
        raise SutFailure(
            f"Entity A ran {len(ob.associations)} association(s) with Entity B; "
            f"association {index + 1} never came"
        )
    ex = ob.associations[index]
    issued = issued_before(ob, ex)
    if issued is None:
        raise SutFailure("Entity A contacted Entity B before any MAF handshake completed")
    seen = _presented(ex)
    if seen is None:
        raise SutFailure(f"no psk_identity reached Entity B ({ex.ending.describe()})")
    if seen != issued.kc_id:
        raise SutFailure(
            f"association {index + 1}'s psk_identity {seen!r} is not the KcID {issued.kc_id!r} "
            "formed from the MAF handshake (hex(RelativeKcID) in lower case, '@', MAF-FQDN)"
        )
    return f"association {index + 1} presented the KcID {issued.kc_id!r}"


def expect_every_association_uses_latest_kc(ob: MafCase) -> str:
    """Within the lifetime A may reuse Kc (SAEF-MAF-26) or renew it; whichever it does,
    each association presents the KcID of the most recent MAF handshake."""
    for index in range(len(ob.associations)):
        expect_kc_id_presented(ob, index)
    reused = len(ob.maf_handshakes) < len(ob.associations)
    how = "reusing Kc with no new MAF handshake" if reused else "with a fresh Kc each time"
    return f"{len(ob.associations)} associations, {how} (SAEF-MAF-26 allows either)"


def expect_renewal_after_refusal(ob: MafCase, refused: int) -> str:
    """SAEF-MAF-27: after B refused association ``refused`` (an expired Kc), A ran a fresh
    MAF handshake and its next association presented the new KcID, and completed."""
    if len(ob.associations) <= refused:
        raise SutFailure(
            f"Entity A ran {len(ob.associations)} association(s) with Entity B; association "
            f"{refused + 1}, the one Entity B refuses for its expired Kc, never came"
        )
    refused_kc = issued_before(ob, ob.associations[refused])
    retry_index = refused + 1
    if len(ob.associations) <= retry_index:
        raise SutFailure(
            "after Entity B refused the stored Kc, Entity A did not try again with a new one"
        )
    retry = ob.associations[retry_index]
    fresh = issued_before(ob, retry)
    if fresh is None or refused_kc is None or fresh.kc_id == refused_kc.kc_id:
        raise SutFailure(
            "after Entity B refused the Kc, Entity A ran no fresh MAF handshake before retrying "
            f"(it presented {_presented(retry)!r} again)"
        )
    expect_kc_id_presented(ob, retry_index)
    if retry.ending.kind != "established":
        raise SutFailure(f"the retry with the new KcID did not complete: {retry.ending.describe()}")
    return (
        f"after the refusal Entity A ran a fresh MAF handshake and completed with the new KcID "
        f"{fresh.kc_id!r}"
    )


def expect_no_association_attempt(ob: MafCase) -> str:
    """Without Kc (the MAF handshake failed) A has nothing to present to B."""
    if ob.associations:
        seen = _presented(ob.associations[0])
        raise SutFailure(
            f"Entity A contacted Entity B although its MAF handshake failed (psk_identity {seen!r})"
        )
    return "Entity A did not contact Entity B"


# --- the SUT as Entity B -----------------------------------------------------------------


def _times(ex: Exchange) -> tuple[float | None, float | None]:
    """When the harness A sent its ClientKeyExchange and received B's Finished."""
    sent = next(
        (
            m.time
            for m in ex.trace.messages
            if m.direction == "sent" and m.type == "ClientKeyExchange"
        ),
        None,
    )
    finished = next(
        (m.time for m in ex.trace.messages if m.direction == "received" and m.type == "Finished"),
        None,
    )
    return sent, finished


def retrieval_for(ob: MafCase, kc_id: str) -> KeyRetrieval | None:
    relative = kc_id.rpartition("@")[0].lower()
    for leg in ob.key_retrievals:
        request = leg.served.request if leg.served else None
        body = request.json if request is not None and isinstance(request.json, dict) else {}
        if str(body.get("relativeKeyID", "")).lower() == relative:
            return leg
    return None


def expect_retrieval_in_handshake(ob: MafCase, index: int, maf_fqdn: str, identity: str) -> str:
    """SAEF-MAF-16/17: B asked the MAF named in the KcID for the key, over the channel the
    binding defines, after A's ClientKeyExchange and before B's Finished."""
    ex = ob.associations[index]
    kc_id = ex.plan.psk_identity.decode()
    leg = retrieval_for(ob, kc_id)
    if leg is None or leg.served is None:
        asked = [
            (leg.served.request.json if leg.served and leg.served.request else None)
            for leg in ob.key_retrievals
        ]
        raise SutFailure(
            f"Entity B did not retrieve the key of {kc_id!r} from the MAF (requests seen: {asked})"
        )
    served = leg.served
    presented = (served.psk_identity or b"").decode(errors="replace")
    if presented != identity:
        raise SutFailure(f"B authenticated to the MAF as {presented!r}, not {identity!r}")
    if (served.server_name or "").lower().rstrip(".") != maf_fqdn.lower().rstrip("."):
        raise SutFailure(
            f"B's key-retrieval channel named {served.server_name!r} (SNI), not the MAF "
            f"{maf_fqdn!r} of the KcID"
        )
    sent, finished = _times(ex)
    if sent is not None and leg.at < sent:
        raise SutFailure("B asked the MAF before the ClientKeyExchange carried the KcID")
    if finished is not None and leg.at > finished:
        raise SutFailure("B sent its Finished before it had asked the MAF for Kc")
    return f"B retrieved Kc for {kc_id!r} from the MAF during the handshake (HTTP {leg.status})"


def expect_no_retrieval(ob: MafCase) -> str:
    if ob.key_retrievals:
        raise SutFailure(
            f"Entity B asked the MAF for a key {len(ob.key_retrievals)} time(s) for a KcID "
            "that names another MAF"
        )
    return "Entity B did not ask the trusted MAF for another MAF's key"


def expect_completes(ex: Exchange, what: str) -> str:
    if ex.ending.kind != "established":
        raise SutFailure(f"{what} did not complete: {ex.ending.describe()}")
    return f"{what} completed"


# --- the SUT as MAF ----------------------------------------------------------------------


def expect_key_released(
    ob: MafCase,
    kmid: str,
    lifetime: float,
    index: int = 0,
) -> str:
    """SAEF-MAF-12/14/18/20: the MAF released, for the RelativeKcID of the MAF handshake,
    exactly the Kc the harness derived from it, with KmID and an expiration time."""
    handshake = ob.maf_handshakes[0] if ob.maf_handshakes else None
    if handshake is None or handshake.exported is None:
        raise SutFailure("the MAF handshake did not complete, so no Kc exists to retrieve")
    if len(ob.key_retrievals) <= index:
        raise HarnessError("the harness Entity B made no key retrieval")
    leg = ob.key_retrievals[index]
    result = leg.result
    if result is None or result.response is None:
        raise SutFailure(f"the MAF gave no key-retrieval answer: {result.detail if result else ''}")
    if result.response.status != 200:
        raise SutFailure(
            f"the MAF refused the authorised Entity B: HTTP {result.response.status} "
            f"{result.response.body[:200]!r}"
        )
    answer = binding.decode_answer(result.response.json)
    if answer.problems:
        raise SutFailure("the MAF's answer is malformed: " + "; ".join(answer.problems))
    if answer.key_value != handshake.exported.key:
        raise SutFailure(
            "the Kc the MAF released differs from the one derived from the MAF handshake "
            "(EXPORTER-oneM2M-Connection, 48 octets, no context, the last 32 octets)"
        )
    if answer.source_maf_client_id != kmid:
        raise SutFailure(
            f"sourceMafClientID {answer.source_maf_client_id!r} is not the KmID {kmid!r}"
        )
    expected = dt.datetime.fromtimestamp(leg.at, dt.UTC) + dt.timedelta(seconds=lifetime)
    assert answer.expiration is not None
    drift = abs((answer.expiration - expected).total_seconds())
    if drift > LIFETIME_TOLERANCE + 1.0:
        raise SutFailure(
            f"expirationTime {format_timestamp(answer.expiration)} is not the "
            f"configured Kc lifetime ({lifetime:g} s) after the MAF handshake"
        )
    return (
        "the MAF released the Kc derived from the handshake, with KmID "
        f"{kmid!r} and expirationTime {format_timestamp(answer.expiration)}"
    )


def expect_entity_id_passed(ob: MafCase, entity_id: str) -> str:
    """SAEF-MAF-19: the MAF passes A's CSE-ID/AE-ID to B (the suite's extension field)."""
    leg = ob.key_retrievals[0] if ob.key_retrievals else None
    if leg is None or leg.result is None or leg.result.response is None:
        raise SutFailure("no key-retrieval answer to carry A's identity")
    answer = binding.decode_answer(leg.result.response.json)
    if answer.source_entity_id != entity_id:
        raise SutFailure(
            f"the answer's {binding.EXTENSION_ENTITY_ID} is {answer.source_entity_id!r}, not "
            f"A's configured identity {entity_id!r}"
        )
    return f"the MAF passed A's identity {entity_id!r} to Entity B"


def expect_no_key_released(ob: MafCase, index: int = 0) -> str:
    """The MAF released no Kc to this requester (an HTTP refusal or a failed channel)."""
    if len(ob.key_retrievals) <= index:
        raise HarnessError("the harness Entity B made no key retrieval")
    result = ob.key_retrievals[index].result
    assert result is not None
    response = result.response
    if response is None:
        return f"no key released: {result.ending} ({result.detail})"
    body = response.json if isinstance(response.json, dict) else {}
    if response.status == 200 or "keyValue" in body:
        raise SutFailure(f"the MAF released a key (HTTP {response.status}) it must withhold")
    return f"the MAF refused with HTTP {response.status} {body.get('errorString', '')!r}".rstrip()


def expect_sut_kc_id(ob: MafCase, maf_fqdn: str) -> str:
    """Where the SUT MAF reports the KcID it formed, it equals the harness's."""
    handshake = ob.maf_handshakes[0] if ob.maf_handshakes else None
    if handshake is None or handshake.exported is None:
        raise SutFailure("the MAF handshake did not complete")
    expected = handshake.exported.key_id(maf_fqdn)
    result = ob.sut_result
    legs = result.legs_named("maf_handshake") if result else []
    reported = next((leg.fields.get("kcId") for leg in legs if leg.fields.get("kcId")), None)
    if result is None or result.status is Status.UNKNOWN or reported is None:
        raise Inconclusive(
            "the SUT does not report the KcID it formed (legs[maf_handshake].fields.kcId); "
            "only the Kc it released is checked"
        )
    if reported != expected:
        raise SutFailure(f"the MAF formed the KcID {reported!r}, not {expected!r}")
    return f"the MAF formed the KcID {expected!r}"
