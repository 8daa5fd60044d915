"""The enrolee-key SBF reference: the Enrolee, the MEF and the MAF on libssl, with mutants.

``start(request, fault_names)`` runs one role for one case in a
:class:`harness.reference.session.ReferenceSession`; server roles bind their sockets
before it returns (the MEF both its services, reported in ``endpoints``). ``FAULTS``
names every mutant (docs in faults.py). The behaviour is docs/sbf-psk.md's; modules:
enrolee, mef, maf (the roles), common (what they share, on top of the MAF-based SAEF
reference's Party), config and faults. The fetch is HTTP/1.1 from the standard library
over libssl (harness/frameworks/saef_maf/reference/http_channel.py), the harness speaks
it with h11.
"""

from __future__ import annotations

from harness.frameworks.sbf_psk.reference.enrolee import Enrolee
from harness.frameworks.sbf_psk.reference.faults import FAULT_CLASSES, FaultSet
from harness.frameworks.sbf_psk.reference.maf import Maf
from harness.frameworks.sbf_psk.reference.mef import Mef
from harness.reference.session import ReferenceSession
from harness.sut.contract import Role, SutRequest, Transport
from harness.verdict import NotApplicable

__all__ = ["FAULTS", "start"]

FAULTS: dict[str, type] = dict(FAULT_CLASSES)
"""Fault name -> mutant class (docstring: one-line description; ``requirements``)."""


def start(request: SutRequest, fault_names: tuple[str, ...]) -> ReferenceSession:
    """Run one enrolee-key SBF role for one case (raises NotApplicable for a role or
    transport the reference does not play, ValueError for an unknown fault name)."""
    if request.transport not in (Transport.TLS, Transport.DTLS):
        raise NotApplicable(f"the enrolee-key SBF reference has no transport {request.transport}")
    faults = FaultSet(tuple(fault_names))
    if request.role is Role.ENROLEE:
        return ReferenceSession(Enrolee(request, faults), None)
    if request.role is Role.MEF:
        mef = Mef(request, faults)
        address = mef.bind()
        return ReferenceSession(mef, address, dict(mef.endpoints))
    if request.role is Role.MAF:
        maf = Maf(request, faults)
        address = maf.bind()
        return ReferenceSession(maf, address, dict(maf.endpoints))
    raise NotApplicable(f"the enrolee-key SBF reference does not play role {request.role}")
