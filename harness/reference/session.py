"""One reference role running one test case in a daemon thread (any framework).

An entity object has ``role``, ``run() -> SutResult`` (one whole case, every wait
bounded) and ``stop()`` (closes its sockets, waking any wait). Server roles bind their
sockets before the session starts, so ``wait_ready`` returns at once with the real
addresses.
"""

from __future__ import annotations

import threading
from typing import Protocol

from harness.sut.contract import Address, Status, SutResult


class ReferenceEntity(Protocol):
    role: str

    def run(self) -> SutResult: ...

    def stop(self) -> None: ...


class ReferenceSession:
    """One reference entity running one test case in a daemon thread."""

    def __init__(
        self,
        entity: ReferenceEntity,
        address: Address | None,
        endpoints: dict[str, Address] | None = None,
    ) -> None:
        self.entity = entity
        self.address = address
        self.endpoints: dict[str, Address] = dict(endpoints or {})
        self._result: SutResult | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"reference-{entity.role}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        self._result = self.entity.run()

    def wait_ready(self, timeout: float) -> Address | None:
        """Ready as soon as started: a server's sockets are already bound."""
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
