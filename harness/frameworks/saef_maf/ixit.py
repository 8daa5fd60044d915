"""The MAF-based SAEF's IXIT schema: ``[ixit.saef-maf.entity_a|entity_b|maf]``.

Field names are the seed's (tables 9.1.x: mafIdentifier, masterCredential,
masterCredentialIdentifier, thisEntityIdentifier, otherEntityIdentifier) plus the
suite's key-retrieval binding (keyRetrievalIdentity, keyRetrievalKey; docs/saef-maf.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.sut.validation import Validator, kpsa_id_key, kpsa_id_problem

MASTER_CREDENTIAL_OCTETS = (16, 64)
"""Km: the MAF's pre-shared key with Entity A (32 octets when derived from Ke, 10.3.2)."""
KEY_RETRIEVAL_KEY_OCTETS = (16, 64)
KC_LIFETIME_MAX = 366 * 24 * 3600.0


def entity_a(v: Validator, t: Mapping[str, Any], w: str) -> dict[str, Any]:
    required = (
        "mafIdentifier",
        "masterCredentialIdentifier",
        "thisEntityIdentifier",
        "otherEntityIdentifier",
        "otherEntityHostName",
    )
    v.keys(t, w, (*required, "masterCredential"))
    out: dict[str, Any] = {key: v.string(t, key, w) for key in required}
    out["mafIdentifier"] = v.host_name(out["mafIdentifier"], f"{w}.mafIdentifier")
    out["otherEntityHostName"] = v.host_name(out["otherEntityHostName"], f"{w}.otherEntityHostName")
    out["masterCredentialIdentifier"] = _kmid(v, out["masterCredentialIdentifier"], w)
    out["masterCredential"] = v.hex_key(t, "masterCredential", w, MASTER_CREDENTIAL_OCTETS)
    return _present(out)


def entity_b(v: Validator, t: Mapping[str, Any], w: str) -> dict[str, Any]:
    required = ("thisEntityIdentifier", "hostName", "mafIdentifier", "keyRetrievalIdentity")
    v.keys(t, w, (*required, "keyRetrievalKey"))
    out: dict[str, Any] = {key: v.string(t, key, w) for key in required}
    out["hostName"] = v.host_name(out["hostName"], f"{w}.hostName")
    out["mafIdentifier"] = v.host_name(out["mafIdentifier"], f"{w}.mafIdentifier")
    out["keyRetrievalKey"] = v.hex_key(t, "keyRetrievalKey", w, KEY_RETRIEVAL_KEY_OCTETS)
    return _present(out)


def maf(v: Validator, t: Mapping[str, Any], w: str) -> dict[str, Any]:
    v.keys(t, w, ("mafIdentifier", "authorizedEntities", "keyRetrievalClients", "kcLifetime"))
    out: dict[str, Any] = {
        "mafIdentifier": v.host_name(v.string(t, "mafIdentifier", w), f"{w}.mafIdentifier")
    }
    lifetime = t.get("kcLifetime", 3600)
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float):
        v.error(f"{w}.kcLifetime", "must be a number of seconds")
    elif not 0 <= lifetime <= KC_LIFETIME_MAX:
        v.error(f"{w}.kcLifetime", f"{lifetime} out of range 0..{KC_LIFETIME_MAX:g} seconds")
    else:
        out["kcLifetime"] = lifetime
    entities = []
    seen: dict[str, str] = {}
    for ew, entity in v.tables(t, "authorizedEntities", w, required=True):
        fields = ("masterCredentialIdentifier", "otherEntityIdentifier")
        v.keys(entity, ew, (*fields, "masterCredential", "thisEntityIdentifier"))
        item = {key: v.string(entity, key, ew) for key in fields}
        item["masterCredentialIdentifier"] = kmid = _kmid(v, item["masterCredentialIdentifier"], ew)
        item["masterCredential"] = v.hex_key(
            entity, "masterCredential", ew, MASTER_CREDENTIAL_OCTETS
        )
        item["thisEntityIdentifier"] = v.string(entity, "thisEntityIdentifier", ew, required=False)
        key = kpsa_id_key(kmid) if kmid is not None else None
        v.unique(seen, key, f"{ew}.masterCredentialIdentifier", f"KmID {kmid!r}")
        entities.append(_present(item))
    out["authorizedEntities"] = entities
    clients = []
    identities: dict[str, str] = {}
    for cw, client in v.tables(t, "keyRetrievalClients", w, required=True):
        fields = ("keyRetrievalIdentity", "entityIdentifier")
        v.keys(client, cw, (*fields, "keyRetrievalKey"))
        item = {key: v.string(client, key, cw) for key in fields}
        item["keyRetrievalKey"] = v.hex_key(client, "keyRetrievalKey", cw, KEY_RETRIEVAL_KEY_OCTETS)
        identity = item["keyRetrievalIdentity"]
        v.unique(identities, identity, f"{cw}.keyRetrievalIdentity", repr(identity))
        clients.append(_present(item))
    out["keyRetrievalClients"] = clients
    return _present(out)


def _kmid(v: Validator, value: str | None, w: str) -> str | None:
    """KmID = MAF_RELATIVE_KmID "@" MAF-FQDN (TS-0003 10.6): the same shape as a KpsaId."""
    if value is None:
        return None
    problem = kpsa_id_problem(value)
    if problem:
        v.error(f"{w}.masterCredentialIdentifier", problem)
        return None
    return value


def _present(table: dict[str, Any]) -> dict[str, Any]:
    return {k: value for k, value in table.items() if value is not None}
