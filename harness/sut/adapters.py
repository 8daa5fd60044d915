"""Build the adapter a SUT profile names.

The reference adapter is imported only when asked for, so a campaign against a lab's
command or endpoint SUT never loads the in-process reference implementation.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.sut.contract import SutAdapter
from harness.sut.profile import ProfileError, SutProfile


def make_adapter(profile: SutProfile, faults: Sequence[str] = ()) -> SutAdapter:
    """The adapter for ``profile``; ``faults`` name reference-SUT mutants.

    Raises ProfileError (a ValueError) when faults are given for another adapter: a
    fault injected into a lab's SUT is not something the harness can do, and silently
    ignoring it would make a "mutant" campaign pass against the real SUT.
    """
    kind = profile.adapter.kind
    if faults and kind != "reference":
        raise ProfileError("", "faults apply to the reference SUT only")
    if kind == "reference":
        from harness.sut.reference_adapter import ReferenceAdapter

        return ReferenceAdapter(faults=tuple(faults))
    if kind == "command":
        from harness.sut.command_adapter import CommandAdapter

        return CommandAdapter.from_profile(profile)
    if kind == "endpoint":
        from harness.sut.endpoint_adapter import EndpointAdapter

        return EndpointAdapter.from_profile(profile)
    raise ProfileError("sut.adapter", f"unknown adapter {kind!r}")
