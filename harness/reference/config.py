"""The reference entities' configuration, read from a SutRequest's seed-named fields.

Names follow the seed's tables 9.1.x (kpsaId, kpsaKey, thisEntityIdentifier,
otherEntityIdentifier) plus the two the PSK SAEF needs for SNI (otherEntityHostName on
A, hostName on B). Over DTLS two optional transport settings apply to both roles:
``mtu`` (the link MTU, largest UDP payload; default 1200) and ``retransmissionTimeout``
(the initial retransmission timer in seconds; default 1.0, RFC 6347 4.2.4.1). A missing
or malformed field is a configuration error of the test case, reported as
SutResult(status=error), never a refusal by the SUT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ConfigurationError(ValueError):
    """The request lacks a field the role needs, or a field is malformed."""


def _text(configuration: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = configuration.get(name)
    if value is None:
        if required:
            raise ConfigurationError(f"configuration lacks {name}")
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a string, got {type(value).__name__}")
    return value


def _key(value: Any, name: str) -> bytes:
    """Kpsa is given as hex (the contract's encoding for key material)."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a hex string")
    try:
        key = bytes.fromhex(value)
    except ValueError as exc:
        raise ConfigurationError(f"{name} is not hex: {exc}") from exc
    if not key:
        raise ConfigurationError(f"{name} is empty")
    return key


MIN_MTU = 256
"""Smallest link MTU accepted: a DTLS 1.2 PSK ClientHello must fit one datagram."""


def _number(
    configuration: dict[str, Any], name: str, default: float, low: float, high: float
) -> float:
    value = configuration.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name} must be a number, got {type(value).__name__}")
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be within [{low}, {high}], got {value}")
    return float(value)


@dataclass(frozen=True)
class DatagramSettings:
    """DTLS transport settings (ignored over TLS)."""

    mtu: int = 1200
    retransmission_timeout: float = 1.0

    @classmethod
    def from_configuration(cls, configuration: dict[str, Any]) -> DatagramSettings:
        return cls(
            mtu=int(_number(configuration, "mtu", cls.mtu, MIN_MTU, 65507)),
            retransmission_timeout=_number(
                configuration, "retransmissionTimeout", cls.retransmission_timeout, 0.01, 60.0
            ),
        )


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
