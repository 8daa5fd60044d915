"""Regenerate harness/data/requirements.json from REQUIREMENTS.md.

Run after the reference catalogue changes:
``python tools/extract_requirements.py [--source PATH] [--output PATH] [--check]``.
``--check`` exits 1 if the committed JSON differs from what the source gives, so CI can
catch a stale catalogue.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.requirements_catalog import (  # noqa: E402
    DATA_FILE,
    dump_catalog,
    parse_counts,
    parse_requirements_md,
)

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "REQUIREMENTS.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DATA_FILE)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)

    text = args.source.read_text(encoding="utf-8")
    entries = parse_requirements_md(text)
    expected = parse_counts(text)
    found: dict[str, int] = {}
    for entry in entries.values():
        found[entry.subgroup] = found.get(entry.subgroup, 0) + 1
    if found != expected:
        print(f"count mismatch: section 11 says {expected}, tables give {found}", file=sys.stderr)
        return 1
    output = dump_catalog(entries)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != output:
            print(f"{args.output} is stale; rerun without --check", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date ({len(entries)} requirements)")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(output, encoding="utf-8")
    print(f"wrote {len(entries)} requirements to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
