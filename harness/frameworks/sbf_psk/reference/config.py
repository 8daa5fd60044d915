"""The enrolee-key SBF reference roles' configuration (docs/sbf-psk.md, "Configuration").

Field names are the IXIT's (harness/frameworks/sbf_psk/ixit.py: kpmId, kpmKey,
mefIdentifier, mafIdentifier, enroleeIdentifier, masterCredentialIdentifier, enrolees,
mafClients, fetchIdentity, fetchKey, provisionedEntities, credentialLifetime) plus what
the harness adds from the spec profile: ``kmIdForm`` (I-05) and ``kmDerivation`` (I-12).
Keys arrive as hex, as everywhere in the SUT contract. A missing or malformed field is a
configuration error of the case (status error, the message names the field), never a
refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from harness.frameworks.sbf_psk.reference.faults import KM_DERIVATIONS, KnownEnrolee
from harness.reference.config import ConfigurationError, DatagramSettings, _key, _number, _text

KM_ID_FORMS = ("assigned", "derived")
"""Spec-profile I-05: KmID after remote provisioning, configured or derived from Km."""
DEFAULT_CREDENTIAL_LIFETIME = 3600.0
CREDENTIAL_LIFETIME_MAX = 366 * 24 * 3600.0

T = TypeVar("T")


def _within(where: str, read: Callable[[], T]) -> T:
    """Run a field reader for one list entry, naming the entry in its error."""
    try:
        return read()
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None


def _entries(configuration: dict[str, Any], name: str, *, required: bool) -> list[dict[str, Any]]:
    raw = configuration.get(name)
    if raw is None and not required:
        return []
    if not isinstance(raw, list) or (required and not raw):
        raise ConfigurationError(f"configuration lacks {name} (a non-empty list)")
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ConfigurationError(f"{name}[{index}] is not an object")
    return raw


def _choice(configuration: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = configuration.get(name, choices[0])
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _required(configuration: dict[str, Any], name: str) -> str:
    value = _text(configuration, name)
    if not value:
        raise ConfigurationError(f"{name} is empty")
    return value


@dataclass(frozen=True)
class EnroleeConfig:
    kpm_id: str  # KpmId: psk_identity of the bootstrap (SBF-PSK-09)
    kpm_key: bytes  # Kpm: psk of the bootstrap (SBF-PSK-10)
    mef_identifier: str  # the MEF's FQDN: SNI of the bootstrap, KeID's FQDN part
    maf_identifier: str  # MAF-ID: SNI of the MAF handshake, input of the Km derivation
    enrolee_identifier: str | None  # Enrolee-ID (informational: the MAF learns it from the MEF)
    master_credential_id: str | None  # the assigned KmID (I-05 assigned)
    km_id_form: str
    km_derivation: str
    datagram: DatagramSettings = DatagramSettings()

    @classmethod
    def from_configuration(cls, configuration: dict[str, Any]) -> EnroleeConfig:
        return cls(
            kpm_id=_required(configuration, "kpmId"),
            kpm_key=_key(configuration.get("kpmKey"), "kpmKey"),
            mef_identifier=_required(configuration, "mefIdentifier"),
            maf_identifier=_required(configuration, "mafIdentifier"),
            enrolee_identifier=_text(configuration, "enroleeIdentifier", required=False),
            master_credential_id=_text(configuration, "masterCredentialIdentifier", required=False),
            km_id_form=_choice(configuration, "kmIdForm", KM_ID_FORMS),
            km_derivation=_choice(configuration, "kmDerivation", KM_DERIVATIONS),
            datagram=DatagramSettings.from_configuration(configuration),
        )


@dataclass(frozen=True)
class EnroleeEntry(KnownEnrolee):
    """One Enrolee the MEF bootstraps, and the one MAF that may fetch its Km."""


@dataclass(frozen=True)
class FetchClient:
    """One MAF that may use the credential-fetch service, and the MAF-ID it proves."""

    fetch_identity: str  # its psk_identity on the fetch channel
    fetch_key: bytes
    maf_identifier: str


@dataclass(frozen=True)
class MefConfig:
    mef_identifier: str
    credential_lifetime: float  # seconds from the bootstrap
    enrolees: tuple[EnroleeEntry, ...]
    maf_clients: tuple[FetchClient, ...]
    km_derivation: str
    datagram: DatagramSettings = DatagramSettings()

    @classmethod
    def from_configuration(cls, configuration: dict[str, Any]) -> MefConfig:
        enrolees = tuple(
            _within(
                f"enrolees[{i}]",
                lambda item=item: EnroleeEntry(
                    kpm_id=_required(item, "kpmId"),
                    kpm_key=_key(item.get("kpmKey"), "kpmKey"),
                    enrolee_identifier=_required(item, "enroleeIdentifier"),
                    maf_identifier=_required(item, "mafIdentifier"),
                ),
            )
            for i, item in enumerate(_entries(configuration, "enrolees", required=True))
        )
        clients = tuple(
            _within(
                f"mafClients[{i}]",
                lambda item=item: FetchClient(
                    fetch_identity=_required(item, "fetchIdentity"),
                    fetch_key=_key(item.get("fetchKey"), "fetchKey"),
                    maf_identifier=_required(item, "mafIdentifier"),
                ),
            )
            for i, item in enumerate(_entries(configuration, "mafClients", required=True))
        )
        return cls(
            mef_identifier=_required(configuration, "mefIdentifier"),
            credential_lifetime=_number(
                configuration,
                "credentialLifetime",
                DEFAULT_CREDENTIAL_LIFETIME,
                0.0,
                CREDENTIAL_LIFETIME_MAX,
            ),
            enrolees=enrolees,
            maf_clients=clients,
            km_derivation=_choice(configuration, "kmDerivation", KM_DERIVATIONS),
            datagram=DatagramSettings.from_configuration(configuration),
        )

    def enrolee(self, psk_identity: bytes) -> EnroleeEntry | None:
        """The entry whose KpmId equals the psk_identity byte for byte (SBF-PSK-09)."""
        return next((e for e in self.enrolees if e.kpm_id.encode() == psk_identity), None)

    def client(self, psk_identity: bytes) -> FetchClient | None:
        """The fetch client the channel's psk_identity names, byte for byte."""
        return next(
            (c for c in self.maf_clients if c.fetch_identity.encode() == psk_identity), None
        )


@dataclass(frozen=True)
class ProvisionedEntity:
    enrolee_identifier: str
    master_credential_id: str  # the KmID the MAF assigns that Enrolee (I-05 assigned)


@dataclass(frozen=True)
class MafConfig:
    maf_identifier: str  # its MAF-ID / FQDN: the fetch's originator
    mef_identifier: str  # the one MEF it trusts
    fetch_identity: str
    fetch_key: bytes
    provisioned: tuple[ProvisionedEntity, ...]
    km_id_form: str
    datagram: DatagramSettings = DatagramSettings()

    @classmethod
    def from_configuration(cls, configuration: dict[str, Any]) -> MafConfig:
        provisioned = tuple(
            _within(
                f"provisionedEntities[{i}]",
                lambda item=item: ProvisionedEntity(
                    enrolee_identifier=_required(item, "enroleeIdentifier"),
                    master_credential_id=_required(item, "masterCredentialIdentifier"),
                ),
            )
            for i, item in enumerate(_entries(configuration, "provisionedEntities", required=False))
        )
        return cls(
            maf_identifier=_required(configuration, "mafIdentifier"),
            mef_identifier=_required(configuration, "mefIdentifier"),
            fetch_identity=_required(configuration, "fetchIdentity"),
            fetch_key=_key(configuration.get("fetchKey"), "fetchKey"),
            provisioned=provisioned,
            km_id_form=_choice(configuration, "kmIdForm", KM_ID_FORMS),
            datagram=DatagramSettings.from_configuration(configuration),
        )

    def assigned_km_id(self, enrolee_id: str) -> str | None:
        """The KmID provisioned for that Enrolee-ID (I-05 assigned), if any."""
        return next(
            (
                p.master_credential_id
                for p in self.provisioned
                if p.enrolee_identifier == enrolee_id
            ),
            None,
        )
