"""Regenerate ``vectors/certificate_cases.json`` from the test PKI generator.

Run by hand: ``PYTHONPATH=. python vectors/record_certificate_cases.py``. The output is
deterministic (fixed keys, RFC 6979 signatures, fixed serials and dates; see
harness/pki/generator.py), so re-running it must leave the file unchanged; the test
``tests/test_pki_verify.py::test_case_file_is_reproducible`` checks exactly that.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.pki.cases import build_document

OUTPUT = Path(__file__).resolve().parent / "certificate_cases.json"


def render() -> str:
    """The case file's exact text."""
    return json.dumps(build_document(), indent=2, ensure_ascii=True) + "\n"


def main() -> int:
    """Write the case file (or print it with ``-``)."""
    text = render()
    if sys.argv[1:] == ["-"]:
        sys.stdout.write(text)
    else:
        OUTPUT.write_text(text, encoding="ascii")
        print(f"wrote {OUTPUT} ({json.loads(text)['numberOfTests']} cases)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
