"""The MAF-based SAEF reference: Entity A, Entity B and the MAF on libssl, with mutants.

``start(request, fault_names)`` runs one role for one case in a
:class:`harness.reference.session.ReferenceSession`; server roles bind their sockets
before it returns. ``FAULTS`` names every mutant (docs in faults.py). The behaviour is
docs/saef-maf.md's; modules: entity_a, entity_b, maf (the roles), entities (what they
share), http_channel (stdlib HTTP over libssl), config and faults.
"""

from __future__ import annotations

from harness.frameworks.saef_maf.reference.entity_a import EntityA
from harness.frameworks.saef_maf.reference.entity_b import EntityB
from harness.frameworks.saef_maf.reference.faults import FAULT_CLASSES, FaultSet
from harness.frameworks.saef_maf.reference.maf import Maf
from harness.reference.session import ReferenceSession
from harness.sut.contract import Role, SutRequest, Transport
from harness.verdict import NotApplicable

__all__ = ["FAULTS", "start"]

FAULTS: dict[str, type] = dict(FAULT_CLASSES)
"""Fault name -> mutant class (docstring: one-line description; ``requirements``)."""


def start(request: SutRequest, fault_names: tuple[str, ...]) -> ReferenceSession:
    """Run one MAF-based SAEF role for one case (raises NotApplicable for a role or
    transport the reference does not play, ValueError for an unknown fault name)."""
    if request.transport not in (Transport.TLS, Transport.DTLS):
        raise NotApplicable(f"the MAF-based SAEF reference has no transport {request.transport}")
    faults = FaultSet(tuple(fault_names))
    if request.role is Role.ENTITY_A:
        return ReferenceSession(EntityA(request, faults), None)
    if request.role is Role.ENTITY_B:
        entity_b = EntityB(request, faults)
        address = entity_b.bind()
        endpoints = {} if address is None else {"association": address}
        return ReferenceSession(entity_b, address, endpoints)
    if request.role is Role.MAF:
        maf = Maf(request, faults)
        address = maf.bind()
        return ReferenceSession(maf, address, dict(maf.endpoints))
    raise NotApplicable(f"the MAF-based SAEF reference does not play role {request.role}")
