"""The steps' fault vocabulary reaches the engine as the faults it names, and nothing else.

A typo in a plan fault or a datagram fault asked of TLS must be a harness error, never a
silently fault-free run that would pass a negative purpose for the wrong reason.
"""

from __future__ import annotations

import pytest

from harness.legs.tls_psk import PROBE, REORDER_FRAGMENT, engine_faults
from harness.observations import PeerPlan
from harness.sut.contract import Role, Transport
from harness.tls.faults import Faults, MessageOp
from harness.verdict import HarnessError
from steps.common_steps import BAD_RECORDS, MISBEHAVIOURS, NETWORK


def plan(**faults: object) -> PeerPlan:
    return PeerPlan(Role.ENTITY_A, b"id@x.example", b"k" * 16, [0x00AE], faults=dict(faults))


def test_no_plan_fault_is_no_engine_fault() -> None:
    assert engine_faults(plan()) == Faults()


def test_record_and_key_faults() -> None:
    faults = engine_faults(
        plan(
            peer_psk=b"p" * 16,
            corrupt_finished=True,
            corrupt_record_mac="Finished",
            selected_suite=0x00B0,
        )
    )
    assert (
        faults.peer_psk,
        faults.corrupt_finished,
        faults.corrupt_record_mac,
        faults.selected_suite,
    ) == (
        b"p" * 16,
        True,
        "Finished",
        0x00B0,
    )


@pytest.mark.parametrize(
    ("transport", "version"), [(Transport.TLS, 0x0302), (Transport.DTLS, 0xFEFF)]
)
def test_previous_version_per_transport(transport: Transport, version: int) -> None:
    assert engine_faults(plan(previous_protocol_version=True), transport).hello_version == version


def test_every_misbehaviour_of_the_features_maps_to_a_fault() -> None:
    for kind, message in MISBEHAVIOURS.values():
        faults = engine_faults(plan(messages=[(kind, message)]))
        assert faults != Faults(), (kind, message)
    assert engine_faults(plan(messages=[("drop", "ChangeCipherSpec")])).message_ops == (
        MessageOp("drop", "ChangeCipherSpec"),
    )
    assert (
        engine_faults(plan(messages=[("app_data_before", "Finished")])).app_data_before_finished
        == PROBE
    )


def test_every_network_disruption_and_bad_record_maps_to_a_datagram_fault() -> None:
    for disruption in NETWORK.values():
        assert engine_faults(plan(network=[disruption]), Transport.DTLS).dtls != Faults().dtls
    for bad in BAD_RECORDS.values():
        assert engine_faults(plan(after_handshake=bad), Transport.DTLS).dtls != Faults().dtls
    reversed_ = engine_faults(
        plan(network=[NETWORK["delivers the harness's datagrams in reverse order"]]), Transport.DTLS
    )
    assert reversed_.dtls.reverse_datagrams and reversed_.dtls.fragment_size == REORDER_FRAGMENT


def test_mistakes_are_harness_errors() -> None:
    with pytest.raises(HarnessError, match="unknown plan faults: corrupt_finshed"):
        engine_faults(plan(corrupt_finshed=True))
    with pytest.raises(HarnessError, match="message op"):
        engine_faults(plan(messages=[("explode", "Finished")]))
    with pytest.raises(HarnessError, match="need the DTLS transport"):
        engine_faults(plan(network=[("duplicate_datagrams", "")]), Transport.TLS)
