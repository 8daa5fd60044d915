"""The built-in SUT: the libssl reference entities, run in process, optionally mutated.

``ReferenceAdapter(faults=...)`` satisfies :class:`harness.sut.contract.SutAdapter`.
Each :meth:`ReferenceAdapter.start` runs one entity in a daemon thread; Entity B binds
its listening TCP socket (TLS) or UDP socket (DTLS) before ``start`` returns, so
``wait_ready`` gives the real port.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from harness.reference.entity import EntityA, EntityB
from harness.reference.faults import REFERENCE_FAULTS, FaultSet
from harness.sut.contract import (
    Address,
    Framework,
    Role,
    Status,
    SutRequest,
    SutResult,
    Transport,
)
from harness.verdict import NotApplicable

__all__ = ["REFERENCE_FAULTS", "ReferenceAdapter", "ReferenceSession"]


class ReferenceSession:
    """One reference entity running one test case in a daemon thread."""

    def __init__(self, entity: EntityA | EntityB, address: Address | None) -> None:
        self.entity = entity
        self.address = address
        self._result: SutResult | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"reference-{entity.role}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        self._result = self.entity.run()

    def wait_ready(self, timeout: float) -> Address | None:
        """Ready as soon as started: B's socket is already listening."""
        return self.address

    def result(self, timeout: float) -> SutResult:
        self._thread.join(max(timeout, 0.0))
        if self._thread.is_alive() or self._result is None:
            return SutResult(
                Status.TIMEOUT, detail=f"reference {self.entity.role} gave no result in {timeout} s"
            )
        return self._result

    def stop(self) -> None:
        try:
            self.entity.stop()
            self._thread.join(2.0)  # the entity's waits are all bounded
        except Exception:
            pass


class ReferenceAdapter:
    """The reference SUT (Entity A / Entity B of the PSK SAEF over TLS 1.2 or DTLS 1.2)."""

    name = "reference"

    def __init__(self, faults: Iterable[str] = ()) -> None:
        self.faults: tuple[str, ...] = tuple(faults)
        FaultSet(self.faults)  # ValueError naming the valid ones on an unknown name

    def start(self, request: SutRequest) -> ReferenceSession:
        if request.framework is not Framework.SAEF_PSK:
            raise NotApplicable(f"the reference does not implement framework {request.framework}")
        if request.transport not in (Transport.TLS, Transport.DTLS):
            raise NotApplicable(f"the reference does not implement transport {request.transport}")
        faults = FaultSet(self.faults)
        if request.role is Role.ENTITY_A:
            return ReferenceSession(EntityA(request, faults), None)
        if request.role is Role.ENTITY_B:
            entity = EntityB(request, faults)
            return ReferenceSession(entity, entity.bind())
        raise NotApplicable(f"the reference does not implement role {request.role}")
