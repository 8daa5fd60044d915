"""The enrolee-key SBF's IXIT schema: ``[ixit.sbf-psk.enrolee|mef|maf]`` (docs/sbf-psk.md).

The seeds name no parameters for the bootstrap credential, so Kpm and KpmId are written
``kpmKey`` / ``kpmId`` after the PSK SAEF's ``kpsaKey`` / ``kpsaId``; the MAF's fields
keep the names of seed tables 9.1.x (mafIdentifier, masterCredentialIdentifier); the
fetch channel's credential (fetchIdentity, fetchKey) is the suite's binding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.sut.validation import Validator, kpsa_id_key, kpsa_id_problem

KPM_OCTETS = (16, 64)
"""Kpm: a long-term pre-shared key; RFC 4279 PSKs of 16 to 64 octets are what the profile's
suites are used with."""
FETCH_KEY_OCTETS = (16, 64)
LIFETIME_MAX = 366 * 24 * 3600.0


def enrolee(v: Validator, t: Mapping[str, Any], w: str) -> dict[str, Any]:
    names = ("kpmId", "mefIdentifier", "mafIdentifier", "enroleeIdentifier")
    v.keys(t, w, (*names, "kpmKey", "masterCredentialIdentifier"))
    out: dict[str, Any] = {key: v.string(t, key, w) for key in names}
    out["kpmId"] = _identifier(v, out["kpmId"], f"{w}.kpmId")
    out["kpmKey"] = v.hex_key(t, "kpmKey", w, KPM_OCTETS)
    for key in ("mefIdentifier", "mafIdentifier"):
        out[key] = v.host_name(out[key], f"{w}.{key}")
    kmid = v.string(t, "masterCredentialIdentifier", w, required=False)
    out["masterCredentialIdentifier"] = _identifier(v, kmid, f"{w}.masterCredentialIdentifier")
    return _present(out)


def mef(v: Validator, t: Mapping[str, Any], w: str) -> dict[str, Any]:
    v.keys(t, w, ("mefIdentifier", "credentialLifetime", "enrolees", "mafClients"))
    out: dict[str, Any] = {
        "mefIdentifier": v.host_name(v.string(t, "mefIdentifier", w), f"{w}.mefIdentifier")
    }
    lifetime = v.seconds(t, "credentialLifetime", w, 3600, LIFETIME_MAX)
    if lifetime is not None:
        out["credentialLifetime"] = lifetime
    enrolees = []
    seen: dict[str, str] = {}
    for ew, entry in v.tables(t, "enrolees", w, required=True):
        names = ("kpmId", "enroleeIdentifier", "mafIdentifier")
        v.keys(entry, ew, (*names, "kpmKey"))
        item = {key: v.string(entry, key, ew) for key in names}
        item["kpmId"] = kpm_id = _identifier(v, item["kpmId"], f"{ew}.kpmId")
        item["kpmKey"] = v.hex_key(entry, "kpmKey", ew, KPM_OCTETS)
        item["mafIdentifier"] = v.host_name(item["mafIdentifier"], f"{ew}.mafIdentifier")
        key = kpsa_id_key(kpm_id) if kpm_id is not None else None
        v.unique(seen, key, f"{ew}.kpmId", f"KpmId {kpm_id!r}")
        enrolees.append(_present(item))
    out["enrolees"] = enrolees
    out["mafClients"] = _fetch_clients(v, t, w)
    return _present(out)


def maf(v: Validator, t: Mapping[str, Any], w: str) -> dict[str, Any]:
    names = ("mafIdentifier", "mefIdentifier", "fetchIdentity")
    v.keys(t, w, (*names, "fetchKey", "provisionedEntities"))
    out: dict[str, Any] = {key: v.string(t, key, w) for key in names}
    for key in ("mafIdentifier", "mefIdentifier"):
        out[key] = v.host_name(out[key], f"{w}.{key}")
    out["fetchKey"] = v.hex_key(t, "fetchKey", w, FETCH_KEY_OCTETS)
    entities = []
    enrolee_ids: dict[str, str] = {}
    for pw, entry in v.tables(t, "provisionedEntities", w, required=False):
        v.keys(entry, pw, ("enroleeIdentifier", "masterCredentialIdentifier"))
        item = {
            "enroleeIdentifier": v.string(entry, "enroleeIdentifier", pw),
            "masterCredentialIdentifier": _identifier(
                v,
                v.string(entry, "masterCredentialIdentifier", pw),
                f"{pw}.masterCredentialIdentifier",
            ),
        }
        enrolee_id = item["enroleeIdentifier"]
        v.unique(enrolee_ids, enrolee_id, f"{pw}.enroleeIdentifier", repr(enrolee_id))
        entities.append(_present(item))
    out["provisionedEntities"] = entities
    return _present(out)


def _fetch_clients(v: Validator, t: Mapping[str, Any], w: str) -> list[dict[str, Any]]:
    clients = []
    identities: dict[str, str] = {}
    for cw, client in v.tables(t, "mafClients", w, required=True):
        v.keys(client, cw, ("fetchIdentity", "fetchKey", "mafIdentifier"))
        item = {
            "fetchIdentity": v.string(client, "fetchIdentity", cw),
            "fetchKey": v.hex_key(client, "fetchKey", cw, FETCH_KEY_OCTETS),
            "mafIdentifier": v.host_name(
                v.string(client, "mafIdentifier", cw), f"{cw}.mafIdentifier"
            ),
        }
        identity = item["fetchIdentity"]
        v.unique(identities, identity, f"{cw}.fetchIdentity", repr(identity))
        clients.append(_present(item))
    return clients


def _identifier(v: Validator, value: str | None, where: str) -> str | None:
    """KpmId and KmID have the KpsaId shape: relative "@" FQDN (TS-0003 10.5, 10.6)."""
    if value is None:
        return None
    problem = kpsa_id_problem(value)
    if problem:
        v.error(where, problem)
        return None
    return value


def _present(table: dict[str, Any]) -> dict[str, Any]:
    return {k: value for k, value in table.items() if value is not None}
