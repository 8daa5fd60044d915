"""The PSK SAEF reference entities' configuration (TS-0003 8.2.2.1).

Names follow the seed's tables 9.1.x (kpsaId, kpsaKey, thisEntityIdentifier,
otherEntityIdentifier) plus the two the PSK SAEF needs for SNI (otherEntityHostName on
A, hostName on B).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.reference.config import ConfigurationError, DatagramSettings, _key, _text


@dataclass(frozen=True)
class AuthorizedEntity:
    """One Entity A that B accepts: its KpsaId, Kpsa and identity IdA (SAEF-PSK-05)."""

    kpsa_id: str
    kpsa_key: bytes
    entity_id: str  # otherEntityIdentifier: IdA, the identity B binds the association to


@dataclass(frozen=True)
class EntityAConfig:
    kpsa_id: str
    kpsa_key: bytes
    this_entity_id: str | None  # IdA
    other_entity_id: str  # IdB: the identity A binds the association to (SAEF-PSK-06)
    other_host_name: str | None  # B's host name, sent as SNI
    application_data: bytes | None  # optional: sent once established, echo awaited
    datagram: DatagramSettings = DatagramSettings()

    @classmethod
    def from_configuration(cls, configuration: dict[str, Any]) -> EntityAConfig:
        data = configuration.get("applicationData")
        return cls(
            kpsa_id=_text(configuration, "kpsaId") or "",
            kpsa_key=_key(configuration.get("kpsaKey"), "kpsaKey"),
            this_entity_id=_text(configuration, "thisEntityIdentifier", required=False),
            other_entity_id=_text(configuration, "otherEntityIdentifier") or "",
            other_host_name=_text(configuration, "otherEntityHostName", required=False),
            application_data=data.encode() if isinstance(data, str) else None,
            datagram=DatagramSettings.from_configuration(configuration),
        )


@dataclass(frozen=True)
class EntityBConfig:
    this_entity_id: str | None  # IdB
    host_name: str | None
    authorized: tuple[AuthorizedEntity, ...]
    psk_identity_hint: str | None  # optional; RFC 4279 lets a server send none
    datagram: DatagramSettings = DatagramSettings()

    @classmethod
    def from_configuration(cls, configuration: dict[str, Any]) -> EntityBConfig:
        raw = configuration.get("authorizedEntities")
        if not isinstance(raw, list) or not raw:
            raise ConfigurationError("configuration lacks authorizedEntities (a non-empty list)")
        entries: list[AuthorizedEntity] = []
        for index, item in enumerate(raw):
            if not isinstance(item, dict):
                raise ConfigurationError(f"authorizedEntities[{index}] is not an object")
            entries.append(
                AuthorizedEntity(
                    kpsa_id=_text(item, "kpsaId") or "",
                    kpsa_key=_key(item.get("kpsaKey"), f"authorizedEntities[{index}].kpsaKey"),
                    entity_id=_text(item, "otherEntityIdentifier") or "",
                )
            )
        return cls(
            this_entity_id=_text(configuration, "thisEntityIdentifier", required=False),
            host_name=_text(configuration, "hostName", required=False),
            authorized=tuple(entries),
            psk_identity_hint=_text(configuration, "pskIdentityHint", required=False),
            datagram=DatagramSettings.from_configuration(configuration),
        )

    def lookup(self, psk_identity: bytes) -> AuthorizedEntity | None:
        """The entry whose KpsaId equals psk_identity byte for byte (SAEF-PSK-05/11)."""
        for entry in self.authorized:
            if entry.kpsa_id.encode() == psk_identity:
                return entry
        return None
