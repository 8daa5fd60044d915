"""The built-in SUT: the libssl reference roles of every framework, run in process,
optionally mutated.

``ReferenceAdapter(faults=...)`` satisfies :class:`harness.sut.contract.SutAdapter`.
Each :meth:`ReferenceAdapter.start` hands the request to the framework's reference
package (``harness/frameworks/<name>/reference``, found through the registry), which
runs one role in a daemon thread; server roles bind their sockets before ``start``
returns, so ``wait_ready`` gives the real ports at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.frameworks import reference_faults, reference_module
from harness.reference.session import ReferenceSession
from harness.sut.contract import SutRequest
from harness.verdict import NotApplicable

__all__ = ["ReferenceAdapter", "ReferenceSession"]


class ReferenceAdapter:
    """The reference SUT: every role the frameworks' reference packages implement."""

    name = "reference"

    def __init__(self, faults: Iterable[str] = ()) -> None:
        self.faults: tuple[str, ...] = tuple(dict.fromkeys(faults))
        known = reference_faults()
        unknown = [name for name in self.faults if name not in known]
        if unknown:
            raise ValueError(
                f"unknown reference fault(s) {', '.join(unknown)}; "
                f"valid: {', '.join(sorted(known))}"
            )
        self._framework_of = {name: known[name].framework for name in self.faults}

    def start(self, request: SutRequest) -> ReferenceSession:
        module = reference_module(request.framework)
        if module is None:
            raise NotApplicable(f"the reference does not implement framework {request.framework}")
        own = tuple(n for n in self.faults if self._framework_of[n] is request.framework)
        return module.start(request, own)
