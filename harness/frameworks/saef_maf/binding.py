"""The suite's key-retrieval binding (spec-profile I-09, docs/saef-maf.md): data only.

Entity B asks the MAF for Kc over HTTP/1.1 inside TLS-PSK; the field names are those of
TS-0003 8.8.2.8 Key Retrieval. This module says what the messages hold and how a
harness party judges one it receives; the HTTP and TLS are harness/http's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from harness.onem2m_values import parse_timestamp

PATH = "/keyRetrieval"
SUID_SAEF = 32  # "MAF-distributed key for SAEF" (TS-0003 8.8.2.7)
EXTENSION_ENTITY_ID = "sourceEntityID"
"""The suite's extension field: A's CSE-ID/AE-ID, which seed 003 has the MAF pass to B
(SAEF-MAF-19) and the published answer has no field for."""


def request_body(relative_key_id: str) -> dict[str, Any]:
    return {"relativeKeyID": relative_key_id}


@dataclass(frozen=True)
class KeyAnswer:
    """A MAF's successful answer, decoded; ``problems`` lists every field that is wrong."""

    key_value: bytes | None
    expiration: dt.datetime | None
    source_maf_client_id: str | None
    suid: Any
    admin_fqdn: Any
    source_entity_id: str | None
    problems: tuple[str, ...]


def decode_answer(body: Any) -> KeyAnswer:
    """Read a 200 answer's JSON; never raises (a malformed answer is the SUT's fault)."""
    problems: list[str] = []
    if not isinstance(body, dict):
        return KeyAnswer(None, None, None, None, None, None, ("the body is not a JSON object",))
    key = None
    raw = body.get("keyValue")
    try:
        key = bytes.fromhex(raw) if isinstance(raw, str) else None
    except ValueError:
        key = None
    if key is None or len(key) != 32:
        problems.append(f"keyValue is not 32 octets of hex ({raw!r})")
        key = None
    expiration = parse_timestamp(body.get("expirationTime"))
    if expiration is None:
        problems.append(
            f"expirationTime is not a oneM2M timestamp YYYYMMDDTHHMMSS "
            f"({body.get('expirationTime')!r})"
        )
    client = body.get("sourceMafClientID")
    if not isinstance(client, str) or not client:
        problems.append(f"sourceMafClientID is missing or not a string ({client!r})")
        client = None
    entity = body.get(EXTENSION_ENTITY_ID)
    if entity is not None and not isinstance(entity, str):
        problems.append(f"{EXTENSION_ENTITY_ID} is not a string ({entity!r})")
        entity = None
    return KeyAnswer(
        key,
        expiration,
        client,
        body.get("suid"),
        body.get("adminFQDN"),
        entity,
        tuple(problems),
    )
