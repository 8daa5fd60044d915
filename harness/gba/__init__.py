"""GBA core: Milenage and an HSS/UICC simulator, HTTP Digest AKAv1-MD5 for Ub, the TS 33.220 KDF.

Pure modules with no I/O, so the framework folders that wire GBA into scenarios
(harness/frameworks/saef_gba, sbf_gba) and the reference implementation share one
definition of every value, and every definition is pinned by vectors in vectors/gba_*.json
(docs/gba-core.md lists the sources and the interpretations left open).
"""

from __future__ import annotations


class GbaInputError(ValueError):
    """Bad input to a GBA function; ``field`` names the parameter so a report can say which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def octets(field: str, value: object, length: int | None = None) -> bytes:
    """``value`` as bytes of ``length`` octets (any length if None), or GbaInputError naming ``field``.

    Shared by every module so a wrong-length key or a str where octets belong fails with the
    parameter's spec name instead of an AES or HMAC error deep inside.
    """
    if not isinstance(value, bytes | bytearray | memoryview):
        raise GbaInputError(field, f"expected octets, got {type(value).__name__}")
    data = bytes(value)
    if length is not None and len(data) != length:
        raise GbaInputError(field, f"expected {length} octets, got {len(data)}")
    return data
