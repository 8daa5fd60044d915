"""The PSK SAEF's IXIT schema: ``[ixit.entity_a]`` and ``[ixit.entity_b]``.

Names follow the seed's tables 9.1.x (kpsaId, kpsaKey, thisEntityIdentifier,
otherEntityIdentifier) plus the host names SNI needs. Each function validates one role's
table with the shared :class:`~harness.sut.validation.Validator` (so every error names
its dotted field) and returns the configuration handed to the SUT.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.sut.validation import (
    Validator,
    kpsa_id_key,
    kpsa_id_problem,
    kpsa_key_problem,
)

# Seed parameter names (tables 9.1.x) accepted as optional strings in an entity's table,
# so that a profile written for several frameworks' parameters still loads.
OPTIONAL_SEED_PARAMETERS = frozenset(
    {
        "thisEntityPrivateKey",
        "thisEntityCertificate",
        "thisEntityCertificateChain",
        "mafIdentifier",
        "masterCredential",
        "masterCredentialIdentifier",
        "masterCredentialExpiry",
        "associationConfigurationExpiry",
        "securityAssociationLifespan",
        "otherEntityCertificateName",
        "otherEntityRootOfTrust",
        "nafPrivateKey",
        "nafCertificate",
        "nafCertificateChain",
        "rootCertificateBSF",
    }
)


def entity_a(v: Validator, t: Mapping[str, Any], w: str) -> dict[str, Any]:
    required = ("thisEntityIdentifier", "otherEntityIdentifier", "otherEntityHostName")
    v.keys(t, w, (*required, "kpsaId", "kpsaKey", *sorted(OPTIONAL_SEED_PARAMETERS)))
    out = _optional_seed(v, t, w)
    for key in required:
        out[key] = v.string(t, key, w)
    out["otherEntityHostName"] = v.host_name(out["otherEntityHostName"], f"{w}.otherEntityHostName")
    out.update(_credentials(v, t, w))
    return {k: value for k, value in out.items() if value is not None}


def entity_b(v: Validator, t: Mapping[str, Any], w: str) -> dict[str, Any]:
    required = ("thisEntityIdentifier", "hostName")
    v.keys(t, w, (*required, "authorizedEntities", *sorted(OPTIONAL_SEED_PARAMETERS)))
    out = _optional_seed(v, t, w)
    for key in required:
        out[key] = v.string(t, key, w)
    out["hostName"] = v.host_name(out["hostName"], f"{w}.hostName")
    authorized = []
    seen: dict[str, int] = {}
    for ew, entity in v.tables(t, "authorizedEntities", w, required=True):
        v.keys(entity, ew, ("kpsaId", "kpsaKey", "otherEntityIdentifier"))
        item = _credentials(v, entity, ew)
        item["otherEntityIdentifier"] = v.string(entity, "otherEntityIdentifier", ew)
        kpsa_id = item.get("kpsaId")
        if kpsa_id is not None:
            key = kpsa_id_key(kpsa_id)
            if key in seen:
                v.error(f"{ew}.kpsaId", f"duplicate kpsaId {kpsa_id!r} (also in [{seen[key]}])")
            else:
                seen[key] = len(authorized)
        authorized.append({k: value for k, value in item.items() if value is not None})
    out["authorizedEntities"] = authorized
    return {k: value for k, value in out.items() if value is not None}


def _optional_seed(v: Validator, t: Mapping[str, Any], w: str) -> dict[str, Any]:
    return {k: v.string(t, k, w) for k in OPTIONAL_SEED_PARAMETERS if k in t}


def _credentials(v: Validator, t: Mapping[str, Any], w: str) -> dict[str, Any]:
    kpsa_id = v.string(t, "kpsaId", w)
    if kpsa_id is not None:
        problem = kpsa_id_problem(kpsa_id)
        if problem:
            v.error(f"{w}.kpsaId", problem)
            kpsa_id = None
    key = v.string(t, "kpsaKey", w)
    if key is not None:
        problem = kpsa_key_problem(key)
        if problem:
            v.error(f"{w}.kpsaKey", problem)
            key = None
        else:
            key = key.lower()
    return {"kpsaId": kpsa_id, "kpsaKey": key}
