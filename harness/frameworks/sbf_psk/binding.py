"""The suite's credential-fetch binding, MAF to MEF (spec profile I-10, docs/sbf-psk.md).

TS-0003 8.3.2.1 has the MAF RETRIEVE ``/fetchCredentials/<KeID>/<SUID>`` with its MAF-ID
as originator; the suite carries that as an HTTP/1.1 GET inside TLS-PSK with the
originator in ``X-M2M-Origin`` (the oneM2M HTTP binding's header) and a JSON answer.
Data only: what the messages hold and how a party judges one it receives.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from harness.key_export import SUID_RSPF_SHARED_WITH_MAF
from harness.onem2m_values import parse_timestamp

PATH_PREFIX = "/fetchCredentials/"
SUID_REMOTE_PROVISIONED = SUID_RSPF_SHARED_WITH_MAF
"""SUID 21: "symmetric key provisioned via a remote security provisioning framework,
shared with a MAF" (TS-0003 8.3.2.1)."""
ORIGIN_HEADER = "X-M2M-Origin"


def fetch_target(ke_id: str, suid: int = SUID_REMOTE_PROVISIONED) -> str:
    """The request target; the KeID percent-encoded as one path segment ('@' stays)."""
    return f"{PATH_PREFIX}{quote(ke_id, safe='@')}/{suid}"


@dataclass(frozen=True)
class FetchRequest:
    """A fetch as the MEF reads it; ``problem`` says why it is malformed (then 400)."""

    ke_id: str | None
    suid: int | None
    origin: str | None
    problem: str | None = None


def read_fetch(method: str, target: str, headers: dict[str, str]) -> FetchRequest:
    origin = headers.get(ORIGIN_HEADER.lower())
    if method != "GET":
        return FetchRequest(None, None, origin, f"method {method}, not GET (RETRIEVE)")
    if not target.startswith(PATH_PREFIX):
        return FetchRequest(None, None, origin, f"no such resource {target}")
    parts = target[len(PATH_PREFIX) :].split("/")
    if len(parts) != 2 or not parts[0] or not parts[1].isdigit():
        return FetchRequest(
            None, None, origin, f"target {target!r} is not /fetchCredentials/<KeID>/<SUID>"
        )
    if not origin:
        return FetchRequest(unquote(parts[0]), int(parts[1]), None, f"no {ORIGIN_HEADER} header")
    return FetchRequest(unquote(parts[0]), int(parts[1]), origin)


def answer(credential: bytes, enrolee_id: str, lifetime: str) -> dict[str, Any]:
    return {"credential": credential.hex(), "enroleeID": enrolee_id, "lifetime": lifetime}


@dataclass(frozen=True)
class FetchAnswer:
    """A MEF's 200 answer, decoded; ``problems`` names every field that is wrong."""

    credential: bytes | None
    enrolee_id: str | None
    lifetime: dt.datetime | None
    problems: tuple[str, ...]


def decode_answer(body: Any) -> FetchAnswer:
    """Read a 200 answer's JSON; never raises (a malformed answer is the SUT's fault)."""
    if not isinstance(body, dict):
        return FetchAnswer(None, None, None, ("the body is not a JSON object",))
    problems: list[str] = []
    raw = body.get("credential")
    try:
        credential = bytes.fromhex(raw) if isinstance(raw, str) else None
    except ValueError:
        credential = None
    if credential is None or len(credential) != 32:
        problems.append(f"credential is not 32 octets of hex ({raw!r})")
        credential = None
    enrolee = body.get("enroleeID")
    if not isinstance(enrolee, str) or not enrolee:
        problems.append(f"enroleeID is missing or not a string ({enrolee!r})")
        enrolee = None
    lifetime = parse_timestamp(body.get("lifetime"))
    if lifetime is None:
        problems.append(
            f"lifetime is not a oneM2M timestamp YYYYMMDDTHHMMSS ({body.get('lifetime')!r})"
        )
    return FetchAnswer(credential, enrolee, lifetime, tuple(problems))


def is_refusal(body: Any) -> bool:
    """The failure form {status: false, errorString} (TS-0003 8.3.2.1)."""
    return (
        isinstance(body, dict)
        and body.get("status") is False
        and isinstance(body.get("errorString"), str)
    )
