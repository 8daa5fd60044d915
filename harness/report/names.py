"""File and anchor names for test purposes.

Purpose ids carry slashes and dimension brackets (``TP/SAEF-PSK/B/01[tls,0x00AE]``), so
they are mapped to a portable file-name alphabet; two ids that map to the same name
(possible only through that mapping) get a numeric suffix so no artifact overwrites
another.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(tp: str) -> str:
    """``TP/SAEF-PSK/B/01[tls,0x00AE]`` -> ``TP_SAEF-PSK_B_01_tls_0x00AE``."""
    name = _UNSAFE.sub("_", tp).strip("._") or "tp"
    return name[:150]


def unique_names(tps: Iterable[str]) -> list[str]:
    """One distinct safe name per purpose instance, in order."""
    seen: dict[str, int] = {}
    names: list[str] = []
    for tp in tps:
        base = safe_name(tp)
        count = seen.get(base.lower(), 0) + 1
        seen[base.lower()] = count
        names.append(base if count == 1 else f"{base}-{count}")
    return names
