"""Verdicts of a test purpose and the exceptions steps raise to reach them.

ETSI conformance method: a verdict only gets worse (pass < inconclusive < fail), and
an error of the test system is kept apart from the SUT's verdict. A step that sees
the SUT violate a requirement raises :class:`SutFailure`; a step that cannot decide
(the SUT gave no observation the purpose needs) raises :class:`Inconclusive`. Any
other exception escaping a step is a harness error, never a pass or a fail.
"""

from __future__ import annotations

import enum


class Verdict(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "not applicable"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def worst(self, other: Verdict) -> Verdict:
        return self if self.rank >= other.rank else other


_RANK = {
    Verdict.NOT_APPLICABLE: 0,
    Verdict.PASS: 1,
    Verdict.INCONCLUSIVE: 2,
    Verdict.FAIL: 3,
    Verdict.ERROR: 4,
}


class SutFailure(AssertionError):
    """The SUT violated the requirement under test: verdict fail."""


class Inconclusive(Exception):
    """The observation needed to decide is missing: verdict inconclusive."""


class HarnessError(Exception):
    """The tester itself failed (bad setup, bug, peer tool missing): verdict error."""


class NotApplicable(Exception):
    """The SUT's declared capabilities exclude this purpose: verdict not applicable.

    Normally purposes are deselected before they run; this is for the rare case
    that only shows at run time (e.g. a shim that exits with 'unsupported').
    """
