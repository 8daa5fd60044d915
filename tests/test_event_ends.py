"""Waits end on events: the probe's echo, the SUT's account; a bound only for silence.

- A leg that sent the probe ends when the SUT echoes it (``until="answered"``), not
  after a quiet period; with a bad record beside the probe it ends on the echo of a
  last probe sent after it, so the SUT's reaction to the bad record is in the
  observation, not guessed from a pause.
- A DTLS case whose conformant end is a silent discard is bounded by the lab's
  ``[ixit.dtls] discardTimeout`` (the SUT's request and the harness's deadline), and
  only such a case; the lab's ``retransmissionTimeout`` reaches every DTLS request.
"""

from __future__ import annotations

import copy
import time
import tomllib
import types
from pathlib import Path
from typing import Any

import pytest

from harness.legs.tls_psk import (
    LAST_PROBE,
    PROBE,
    case_timeout,
    discard_expected,
    play_client,
    probe_records,
)
from harness.observations import PeerPlan
from harness.sut.contract import Address, Framework, Role, SutRequest, Transport
from harness.sut.profile import DtlsTiming, ProfileErrors, parse_profile, reference_profile
from harness.sut.reference_adapter import ReferenceAdapter
from harness.tls.transport import answered, application_records
from harness.topology import start_sut

PROFILES = Path(__file__).resolve().parent / "data" / "profiles"
PROFILE = reference_profile()
A = PROFILE.configuration(Role.ENTITY_A)
B = PROFILE.configuration(Role.ENTITY_B)


def plan(**faults: Any) -> PeerPlan:
    return PeerPlan(
        role=Role.ENTITY_A,
        psk_identity=A["kpsaId"].encode(),
        psk=bytes.fromhex(A["kpsaKey"]),
        suites=[0xC0A8],
        server_name=A["otherEntityHostName"],
        faults=dict(faults),
    )


# --- what ends a leg ----------------------------------------------------------------------


def test_the_last_record_sent_decides_the_answer() -> None:
    records = application_records((PROBE, LAST_PROBE))
    assert not answered(PROBE + PROBE, records), "a second echo of the probe is no answer"
    assert answered(PROBE + LAST_PROBE, records)
    assert application_records(PROBE) == (PROBE,)
    assert PROBE not in LAST_PROBE, "PROBE's echoes must still be counted alone"


def test_a_last_probe_follows_only_a_bad_record() -> None:
    assert probe_records(plan()) == (PROBE,)
    assert probe_records(plan(after_handshake="replay_application_data")) == (PROBE, LAST_PROBE)


def _reference_b(transport: Transport) -> Any:
    return ReferenceAdapter().start(
        SutRequest(
            role=Role.ENTITY_B,
            framework=Framework.SAEF_PSK,
            transport=transport,
            configuration=dict(B),
            cipher_suites=[0xC0A8],
            listen=Address("127.0.0.1", 0),
            timeout=3.0,
        )
    )


@pytest.mark.parametrize("transport", [Transport.TLS, Transport.DTLS], ids=str)
def test_the_probe_echo_ends_the_leg(transport: Transport) -> None:
    session = _reference_b(transport)
    try:
        address = session.wait_ready(3.0)
        started = time.monotonic()
        played = play_client(plan(), address, transport, 3.0)
        took = time.monotonic() - started
    finally:
        session.stop()
    assert played.outcome.kind == "established", played.outcome.reason
    assert played.outcome.reason.endswith("peer echoed the probe")
    assert played.outcome.application_data == PROBE
    assert took < 1.0, f"the leg waited {took:.2f} s after the echo"


@pytest.mark.parametrize(
    "bad", ["replay_application_data", "corrupt_application_data"], ids=["replay", "bad tag"]
)
def test_a_bad_record_is_judged_on_the_last_probe_echo(bad: str) -> None:
    session = _reference_b(Transport.DTLS)
    try:
        played = play_client(
            plan(after_handshake=bad), session.wait_ready(3.0), Transport.DTLS, 3.0
        )
    finally:
        session.stop()
    outcome = played.outcome
    assert outcome.reason.endswith("peer echoed the probe"), outcome.reason
    assert outcome.application_data.count(PROBE) == 1, "the bad record was discarded"
    assert outcome.application_data.endswith(LAST_PROBE), "and the association lives on"


# --- the discard bound ----------------------------------------------------------------------


def _ixit(timeout: float = 3.0, discard: float | None = 1.0) -> types.SimpleNamespace:
    return types.SimpleNamespace(timeout=timeout, dtls=DtlsTiming(0.25, discard))


def test_only_a_silent_discard_gets_the_shorter_bound() -> None:
    wrong_key = plan(peer_psk=b"the key the SUT holds")
    bad_mac = plan(corrupt_record_mac="Finished")
    assert discard_expected(wrong_key, Transport.DTLS)
    assert discard_expected(bad_mac, Transport.DTLS)
    assert not discard_expected(wrong_key, Transport.TLS), "TLS answers with an alert"
    assert not discard_expected(plan(corrupt_finished=True), Transport.DTLS), "decrypt_error"
    assert case_timeout(_ixit(), Transport.DTLS, plan(), wrong_key) == 1.0
    assert case_timeout(_ixit(), Transport.DTLS, plan()) == 3.0
    assert case_timeout(_ixit(), Transport.TLS, wrong_key) == 3.0
    assert case_timeout(_ixit(discard=None), Transport.DTLS, wrong_key) == 3.0
    assert case_timeout(_ixit(timeout=0.5), Transport.DTLS, wrong_key) == 0.5


def test_the_reference_profile_declares_its_dtls_timing() -> None:
    timing = PROFILE.ixit.dtls
    assert timing.retransmission_timeout == 0.25
    assert timing.discard_timeout is not None
    assert 2 * timing.retransmission_timeout <= timing.discard_timeout <= PROFILE.ixit.timeout


def _errors(dtls: dict[str, Any]) -> list[str]:
    data = tomllib.loads((PROFILES / "valid-both.toml").read_text())
    data = copy.deepcopy(data)
    data.setdefault("ixit", {})["dtls"] = dtls
    data["ixit"]["timeout"] = 3.0
    try:
        parse_profile(data, PROFILES)
    except ProfileErrors as exc:
        return [str(e) for e in exc.errors]
    return []


def test_dtls_timing_is_validated_by_field() -> None:
    assert _errors({"retransmissionTimeout": 0.25, "discardTimeout": 1.0}) == []
    assert _errors({"discardTimeout": 4.0}) == [
        "ixit.dtls.discardTimeout: 4 exceeds ixit.timeout 3: it shortens the bound of a case "
        "that ends in a silent discard, never lengthens it"
    ]
    (short,) = _errors({"retransmissionTimeout": 0.5, "discardTimeout": 0.6})
    assert short.startswith("ixit.dtls.discardTimeout: 0.6 leaves the SUT no time")
    (typo,) = _errors({"retransmisionTimeout": 0.25})
    assert typo.startswith("ixit.dtls.retransmisionTimeout: unknown key; did you mean")
    (kind,) = _errors({"discardTimeout": "1s"})
    assert kind == "ixit.dtls.discardTimeout: must be a number of seconds, not a string"


class _Recorder:
    """An adapter that only records the request it is asked to start."""

    name = "recorder"

    def __init__(self) -> None:
        self.requests: list[SutRequest] = []

    def start(self, request: SutRequest) -> Any:
        self.requests.append(request)
        return types.SimpleNamespace(stop=lambda: None)


@pytest.mark.parametrize("transport", [Transport.TLS, Transport.DTLS], ids=str)
def test_every_dtls_request_carries_the_lab_timer(transport: Transport) -> None:
    adapter = _Recorder()
    case = types.SimpleNamespace(profile=PROFILE, adapter=adapter, cleanups=[])
    request = SutRequest(Role.ENTITY_B, Framework.SAEF_PSK, transport, dict(B), [0xC0A8])
    start_sut(case, request)  # type: ignore[arg-type]
    given = adapter.requests[0].configuration.get("retransmissionTimeout")
    assert given == (0.25 if transport is Transport.DTLS else None)
