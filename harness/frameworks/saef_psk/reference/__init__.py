"""The PSK SAEF reference: Entity A and Entity B on libssl, and their mutants."""

from __future__ import annotations

from harness.frameworks.saef_psk.reference.entity import EntityA, EntityB
from harness.frameworks.saef_psk.reference.faults import FAULT_CLASSES, FaultSet
from harness.reference.session import ReferenceSession
from harness.sut.contract import Role, SutRequest, Transport
from harness.verdict import NotApplicable

FAULTS = FAULT_CLASSES


def start(request: SutRequest, fault_names: tuple[str, ...]) -> ReferenceSession:
    if request.transport not in (Transport.TLS, Transport.DTLS):
        raise NotApplicable(f"the reference does not implement transport {request.transport}")
    faults = FaultSet(fault_names)
    if request.role is Role.ENTITY_A:
        return ReferenceSession(EntityA(request, faults), None)
    if request.role is Role.ENTITY_B:
        entity = EntityB(request, faults)
        address = entity.bind()
        endpoints = {"association": address} if address is not None else {}
        return ReferenceSession(entity, address, endpoints)
    raise NotApplicable(f"the reference does not implement role {request.role} of saef-psk")
