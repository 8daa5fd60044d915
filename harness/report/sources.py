"""Requirement sources as a customer cites them: the TS-0003 clause, not a seed file.

The catalogue records where each requirement was read, as ``<seed file> §<clause>
L<lines>`` (REQUIREMENTS.md 0.1), e.g. ``001_1e9122c875d0c566.txt §8.2.2.1 L210``. A
report a lab hands over names the clause of the document it stands for ("TS-0003
clause 8.2.2.1 (seed draft)"); the seed file and line stay as the secondary reference
that lets anyone find the exact sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Seed number -> (the document it is a draft of, the clause it covers when the source
# names none, what kind of text the seed is). From REQUIREMENTS.md 0.1.
SEEDS: dict[str, tuple[str, str, str]] = {
    "000": ("SAE contribution (2013)", "", "informative seed"),
    "001": ("TS-0003", "", "seed draft"),
    "002": ("TS-0001 Trust Enabling Architecture contribution", "", "informative seed"),
    "003": ("TS-0003 MAF-based SAEF change request", "8.2.2.3", "seed draft"),
    "004": ("TS-0003 earlier draft", "8.2.2.1", "seed draft"),
}
_SEED = re.compile(r"^`?(?P<seed>\d{3})(?:_[0-9a-f]+\.txt)?`?\s*(?P<rest>.*)$")
_CLAUSE = re.compile(r"§\s*(?P<clause>[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)")
_ANNEX = re.compile(r"^(?P<clause>(?:[A-Z]|\d+)(?:\.\d+)+)\b")  # Z.3, 8.2.1 (not x.x.1)


@dataclass(frozen=True)
class Citation:
    primary: str  # "TS-0003 clause 8.2.2.1 (seed draft)"
    secondary: str  # the catalogue's source as recorded: seed file, lines
    clause: str = ""  # "8.2.2.1" (where the source names one), for compact tables


def cite(source: str) -> Citation:
    """The clause citation of a catalogue ``source``; unknown shapes are kept as they are."""
    source = source.strip()
    if not source:
        return Citation("", "")
    first = source.split(";", 1)[0].strip()
    match = _SEED.match(first)
    if not match or match["seed"] not in SEEDS:
        return Citation(source, "")
    document, default_clause, kind = SEEDS[match["seed"]]
    rest = match["rest"]
    clause_match = _CLAUSE.search(rest) or _ANNEX.match(rest)
    clause = clause_match["clause"] if clause_match else default_clause
    where = f" clause {clause}" if clause else ""
    return Citation(f"{document}{where} ({kind})", f"seed {source}", clause)
