"""What a scenario's Gherkin tags say about it: its test purpose and requirement IDs.

Tags carry the metadata (TLS-Anvil keeps it in metadata.json; here the feature file is
the single source): ``@TP/SAEF-PSK/B/05`` names the test purpose, ``@SAEF-PSK-05`` a
requirement of REQUIREMENTS.md, ``@role:entity_b`` the role the SUT plays,
``@framework:saef-psk`` the framework, ``@each-declared-suite`` asks for one run per
cipher suite the SUT declares, ``@transport:dtls`` restricts a purpose to one transport
(the others run on every transport the SUT declares).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

REQUIREMENT_TAG = re.compile(r"^(SAEF|SBF|PARAM)-[A-Z]+-\d+$")
TP_PREFIX = "TP/"
EACH_DECLARED_SUITE = "each-declared-suite"


@dataclass(frozen=True)
class TestPurposeInfo:
    tp: str
    title: str
    feature: str
    framework: str
    sut_role: str
    requirements: tuple[str, ...]
    flags: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_tags(
        cls, tags: set[str] | frozenset[str], title: str, feature: str
    ) -> TestPurposeInfo:
        tp = next((t for t in tags if t.startswith(TP_PREFIX)), "")
        framework = next((t.split(":", 1)[1] for t in tags if t.startswith("framework:")), "")
        role = next((t.split(":", 1)[1] for t in tags if t.startswith("role:")), "")
        requirements = tuple(sorted((t for t in tags if REQUIREMENT_TAG.match(t)), key=_req_key))
        flags = frozenset(t for t in tags if t == EACH_DECLARED_SUITE or t.startswith("transport:"))
        return cls(tp or f"TP/?/{title}", title, feature, framework, role, requirements, flags)

    @property
    def transports(self) -> frozenset[str] | None:
        """The transports the purpose is about (``@transport:dtls``); None: every one."""
        named = frozenset(f.split(":", 1)[1] for f in self.flags if f.startswith("transport:"))
        return named or None

    def matches(self, expressions: list[str]) -> bool:
        """--select: a TP id or glob (TP/SAEF-PSK/B/*), a requirement ID, or a word of
        the title; no expression selects everything."""
        return not expressions or any(self.matches_expression(e) for e in expressions)

    def matches_expression(self, expression: str) -> bool:
        """One --select expression, case-insensitively (``tp/saef-psk/b/05`` and
        ``saef-psk-13`` are what users type): a TP id or glob, a requirement ID, or
        (unless it starts with ``TP/``) a word of the title."""
        wanted = expression.strip().lower()
        if not wanted:
            return False
        if fnmatch.fnmatchcase(self.tp.lower(), wanted):
            return True
        if any(wanted == r.lower() for r in self.requirements):
            return True
        return not wanted.startswith(TP_PREFIX.lower()) and wanted in self.title.lower()


def _req_key(req: str) -> tuple[str, int]:
    prefix, _, number = req.rpartition("-")
    return prefix, int(number)
