"""The MAF-based SAEF reference roles' configuration (docs/saef-maf.md, "Configuration").

Field names are the seed's (tables 9.1.x: mafIdentifier, masterCredential,
masterCredentialIdentifier, thisEntityIdentifier, otherEntityIdentifier) plus the
suite's key-retrieval binding (keyRetrievalIdentity, keyRetrievalKey, keyRetrievalClients)
and kcLifetime. Keys arrive as hex, as everywhere in the SUT contract. A missing or
malformed field is a configuration error of the case (status error), never a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.reference.config import ConfigurationError, DatagramSettings, _key, _number, _text

DEFAULT_KC_LIFETIME = 3600.0
"""Seconds; the Kc lifetime a MAF assigns unless configured (SAEF-MAF-20)."""
KC_LIFETIME_MAX = 366 * 24 * 3600.0


def _entries(configuration: dict[str, Any], name: str) -> list[dict[str, Any]]:
    raw = configuration.get(name)
    if not isinstance(raw, list) or not raw:
        raise ConfigurationError(f"configuration lacks {name} (a non-empty list)")
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ConfigurationError(f"{name}[{index}] is not an object")
    return raw


@dataclass(frozen=True)
class EntityAConfig:
    maf_identifier: str  # MAF-ID: the MAF's FQDN, SNI of the MAF handshake, KcID suffix
    master_credential: bytes  # Km: psk of the MAF handshake
    master_credential_id: str  # KmID: psk_identity of the MAF handshake
    this_entity_id: str | None  # IdA
    other_entity_id: str  # IdB: the identity the association is bound to (SAEF-MAF-23)
    other_host_name: str | None  # B's host name, SNI of the association
    datagram: DatagramSettings = DatagramSettings()

    @classmethod
    def from_configuration(cls, configuration: dict[str, Any]) -> EntityAConfig:
        return cls(
            maf_identifier=_text(configuration, "mafIdentifier") or "",
            master_credential=_key(configuration.get("masterCredential"), "masterCredential"),
            master_credential_id=_text(configuration, "masterCredentialIdentifier") or "",
            this_entity_id=_text(configuration, "thisEntityIdentifier", required=False),
            other_entity_id=_text(configuration, "otherEntityIdentifier") or "",
            other_host_name=_text(configuration, "otherEntityHostName", required=False),
            datagram=DatagramSettings.from_configuration(configuration),
        )


@dataclass(frozen=True)
class EntityBConfig:
    this_entity_id: str | None  # IdB (sent as X-M2M-Origin; informational)
    host_name: str | None  # the SNI B expects
    maf_identifier: str  # the FQDN of the one MAF B trusts
    key_retrieval_identity: str  # psk_identity towards the MAF's key-retrieval service
    key_retrieval_key: bytes  # psk of that channel
    datagram: DatagramSettings = DatagramSettings()

    @classmethod
    def from_configuration(cls, configuration: dict[str, Any]) -> EntityBConfig:
        return cls(
            this_entity_id=_text(configuration, "thisEntityIdentifier", required=False),
            host_name=_text(configuration, "hostName", required=False),
            maf_identifier=_text(configuration, "mafIdentifier") or "",
            key_retrieval_identity=_text(configuration, "keyRetrievalIdentity") or "",
            key_retrieval_key=_key(configuration.get("keyRetrievalKey"), "keyRetrievalKey"),
            datagram=DatagramSettings.from_configuration(configuration),
        )


@dataclass(frozen=True)
class AuthorizedEntity:
    """One Entity A the MAF runs MAF handshakes with, and the B its Kc is for."""

    master_credential_id: str  # KmID
    master_credential: bytes  # Km
    entity_id: str | None  # A's CSE-ID/AE-ID, passed to B when known (SAEF-MAF-19)
    recipient_id: str  # otherEntityIdentifier: the IdB allowed to retrieve Kc (SAEF-MAF-08)


@dataclass(frozen=True)
class RetrievalClient:
    """One Entity B that may use the key-retrieval service, and the IdB it proves."""

    identity: str  # keyRetrievalIdentity: its psk_identity on the channel
    key: bytes  # keyRetrievalKey
    entity_id: str  # entityIdentifier: the IdB it authenticates as


@dataclass(frozen=True)
class MafConfig:
    maf_identifier: str
    authorized: tuple[AuthorizedEntity, ...]
    retrieval_clients: tuple[RetrievalClient, ...]
    kc_lifetime: float
    datagram: DatagramSettings = DatagramSettings()

    @classmethod
    def from_configuration(cls, configuration: dict[str, Any]) -> MafConfig:
        authorized = tuple(
            AuthorizedEntity(
                master_credential_id=_text(item, "masterCredentialIdentifier") or "",
                master_credential=_key(
                    item.get("masterCredential"), f"authorizedEntities[{i}].masterCredential"
                ),
                entity_id=_text(item, "thisEntityIdentifier", required=False),
                recipient_id=_text(item, "otherEntityIdentifier") or "",
            )
            for i, item in enumerate(_entries(configuration, "authorizedEntities"))
        )
        clients = tuple(
            RetrievalClient(
                identity=_text(item, "keyRetrievalIdentity") or "",
                key=_key(item.get("keyRetrievalKey"), f"keyRetrievalClients[{i}].keyRetrievalKey"),
                entity_id=_text(item, "entityIdentifier") or "",
            )
            for i, item in enumerate(_entries(configuration, "keyRetrievalClients"))
        )
        return cls(
            maf_identifier=_text(configuration, "mafIdentifier") or "",
            authorized=authorized,
            retrieval_clients=clients,
            kc_lifetime=_number(
                configuration, "kcLifetime", DEFAULT_KC_LIFETIME, 0.0, KC_LIFETIME_MAX
            ),
            datagram=DatagramSettings.from_configuration(configuration),
        )

    def entity(self, psk_identity: bytes) -> AuthorizedEntity | None:
        """The entry whose KmID equals the psk_identity byte for byte (SAEF-MAF-10)."""
        return next(
            (e for e in self.authorized if e.master_credential_id.encode() == psk_identity), None
        )

    def client(self, psk_identity: bytes) -> RetrievalClient | None:
        """The key-retrieval client the channel's psk_identity names, byte for byte."""
        return next(
            (c for c in self.retrieval_clients if c.identity.encode() == psk_identity), None
        )
