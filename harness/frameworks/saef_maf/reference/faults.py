"""Mutants of the MAF-based SAEF reference: named, deliberately non-conformant behaviours.

As for the PSK SAEF (harness/frameworks/saef_psk/reference/faults.py), each mutant is a
:class:`MafFault` subclass whose docstring's first paragraph says what it does and whose
``requirements`` name the SAEF-MAF requirements it breaks. Entity A, Entity B and the MAF
call every hook through a :class:`FaultSet`; a mutant overrides only the hooks it needs.
A hook for one role is simply never called by the others, so one fault set serves all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from harness.frameworks.saef_maf.reference.config import AuthorizedEntity
from harness.sut.contract import Status

CONNECTION_LABEL = "EXPORTER-oneM2M-Connection"
BOOTSTRAP_LABEL = "EXPORTER-oneM2M-Bootstrap"
RELATIVE_ID_OCTETS = 16


@dataclass(frozen=True)
class RetrievedKey:
    """What Entity B got from the MAF for one KcID."""

    kc_id: str
    kc: bytes
    bound_identity: str  # sourceEntityID, else "11-" + sourceMafClientID
    expires: float  # expirationTime as a POSIX time


class MafFault:
    """Base class: the conformant behaviour at every hook."""

    name: ClassVar[str] = ""
    requirements: ClassVar[tuple[str, ...]] = ()

    # --- Entity A and the MAF: from the MAF handshake to Kc and KcID ---
    def exporter_label(self, label: str) -> str:
        """The RFC 5705 label exported after the MAF handshake."""
        return label

    def split_export(self, material: bytes) -> tuple[bytes, bytes]:
        """(RelativeKcID, Kc) from the 48 octets: first 16 and last 32 (I-02)."""
        return material[:RELATIVE_ID_OCTETS], material[RELATIVE_ID_OCTETS:]

    def relative_text(self, relative_id: bytes) -> str:
        """hexBinary of RelativeKcID, lower case (I-04)."""
        return relative_id.hex()

    # --- Entity A ---
    def maf_psk_identity(self, km_id: str) -> str:
        """The psk_identity A sends in the MAF handshake: its KmID (SAEF-MAF-09)."""
        return km_id

    def form_kc_id(self, relative: str, maf_fqdn: str, b_host_name: str | None) -> str:
        """KcID = hexBinary(RelativeKcID) "@" MAF-FQDN (TS-0003 10.3.5)."""
        return f"{relative}@{maf_fqdn}"

    def association_identity(self, kc_id: str, km_id: str) -> str:
        """The psk_identity A sends to B: the KcID (SAEF-MAF-15)."""
        return kc_id

    def renew_on_refusal(self) -> bool:
        """Whether A runs a fresh MAF handshake when B refuses a stored Kc (SAEF-MAF-27)."""
        return True

    def a_bound_identity(self, other_entity_id: str, maf_identifier: str) -> str:
        """The identity A binds an association to: the configured IdB (SAEF-MAF-07/23)."""
        return other_entity_id

    def credential_without_kc(self, km_id: str, km: bytes) -> tuple[str, bytes] | None:
        """(psk_identity, psk) A uses towards B when its MAF handshake failed (None: A
        holds no Kc, so it does not contact B: SAEF-MAF-11)."""
        return None

    # --- the MAF ---
    def unknown_master_credential_id(
        self, psk_identity: bytes, authorized: tuple[AuthorizedEntity, ...]
    ) -> AuthorizedEntity | None:
        """The entry the MAF uses for a KmID it does not know (None: refuse)."""
        return None

    def check_recipient(self) -> bool:
        """Whether the MAF releases Kc only to the IdB it was issued for (SAEF-MAF-08)."""
        return True

    def maf_checks_expiry(self) -> bool:
        """Whether the MAF answers 404 for an expired Kc."""
        return True

    def maf_sends_entity_id(self) -> bool:
        """Whether the MAF's answer carries sourceEntityID when it holds A's CSE-ID/AE-ID
        (SAEF-MAF-19)."""
        return True

    # --- Entity B ---
    def trusts_maf(self, fqdn: str, trusted: str) -> bool:
        """Whether B retrieves a Kc from the MAF the KcID names."""
        return fqdn.lower().rstrip(".") == trusted.lower().rstrip(".")

    def b_checks_expiry(self) -> bool:
        """Whether B refuses a Kc whose expirationTime has passed (SAEF-MAF-27)."""
        return True

    def bound_identity(self, bound: str, kc_id: str) -> str:
        """The identity B binds the association to (SAEF-MAF-24/25)."""
        return bound

    def key_without_retrieval(self, kc_id: str, last: RetrievedKey | None) -> RetrievedKey | None:
        """A key B uses for ``kc_id`` without asking the MAF (None: retrieve it)."""
        return None

    def b_reported_status(self, status: Status) -> Status:
        """The status B reports for an association leg it served: the one it had."""
        return status


class WrongExporterLabel(MafFault):
    """Entity A and the MAF export with the label "EXPORTER-oneM2M-Bootstrap" instead of
    "EXPORTER-oneM2M-Connection" after the MAF handshake.

    Breaks SAEF-MAF-12 (Kc and RelativeKcID come from the 10.3.1 exporter) and so
    SAEF-MAF-13 and SAEF-MAF-21.
    """

    name = "wrong_exporter_label"
    requirements = ("SAEF-MAF-12", "SAEF-MAF-13", "SAEF-MAF-21")

    def exporter_label(self, label: str) -> str:
        return BOOTSTRAP_LABEL


class WrongExportSplit(MafFault):
    """Entity A and the MAF take Kc from the first 32 octets of the export and
    RelativeKcID from the last 16.

    Breaks SAEF-MAF-12 (I-02: the first 16 octets are RelativeKcID, the last 32 Kc).
    """

    name = "wrong_export_split"
    requirements = ("SAEF-MAF-12", "SAEF-MAF-13", "SAEF-MAF-21")

    def split_export(self, material: bytes) -> tuple[bytes, bytes]:
        return material[-RELATIVE_ID_OCTETS:], material[: len(material) - RELATIVE_ID_OCTETS]


class UpperCaseKcId(MafFault):
    """Entity A and the MAF write the hexBinary of RelativeKcID in upper case.

    Breaks SAEF-MAF-13 (I-04: the KcID's hexBinary is written in lower case).
    """

    name = "upper_case_kcid"
    requirements = ("SAEF-MAF-13",)

    def relative_text(self, relative_id: bytes) -> str:
        return relative_id.hex().upper()


class MalformedKcId(MafFault):
    """Entity A sends the KcID without its "@" MAF-FQDN part.

    Breaks SAEF-MAF-13 and SAEF-MAF-15 (psk_identity = hexBinary(RelativeKcID)@MAF-FQDN).
    """

    name = "malformed_kcid"
    requirements = ("SAEF-MAF-13", "SAEF-MAF-15")

    def form_kc_id(self, relative: str, maf_fqdn: str, b_host_name: str | None) -> str:
        return relative


class KcIdWrongFqdn(MafFault):
    """Entity A appends Entity B's host name (otherEntityHostName) to the KcID instead of
    the MAF's FQDN.

    Breaks SAEF-MAF-13 (the KcID names the MAF that holds Kc; B finds the MAF by it).
    """

    name = "kcid_wrong_fqdn"
    requirements = ("SAEF-MAF-13", "SAEF-MAF-17")

    def form_kc_id(self, relative: str, maf_fqdn: str, b_host_name: str | None) -> str:
        return f"{relative}@{b_host_name or maf_fqdn}"


class MafReleasesToUnauthorised(MafFault):
    """The MAF releases Kc to any authenticated key-retrieval client, not only to the IdB
    the Kc was issued for.

    Breaks SAEF-MAF-08 (the MAF provides Kc only to the IdB it is authorised for).
    """

    name = "maf_releases_to_unauthorised"
    requirements = ("SAEF-MAF-08",)

    def check_recipient(self) -> bool:
        return False


class MafIgnoresExpiry(MafFault):
    """The MAF releases a Kc whose lifetime has ended (with its past expirationTime)
    instead of answering 404.

    Breaks SAEF-MAF-20 (the lifetime the MAF assigns governs the Kc) and weakens
    SAEF-MAF-27.
    """

    name = "maf_ignores_expiry"
    requirements = ("SAEF-MAF-20", "SAEF-MAF-27")

    def maf_checks_expiry(self) -> bool:
        return False


class MafAcceptsUnknownKmId(MafFault):
    """The MAF answers a MAF handshake with an unknown KmID using the first configured
    entity's Km (and issues Kc for that entity) instead of refusing it.

    Breaks SAEF-MAF-10 and SAEF-MAF-03 (unknown KmID: the MAF aborts with
    unknown_psk_identity).
    """

    name = "maf_accepts_unknown_kmid"
    requirements = ("SAEF-MAF-10", "SAEF-MAF-03")

    def unknown_master_credential_id(
        self, psk_identity: bytes, authorized: tuple[AuthorizedEntity, ...]
    ) -> AuthorizedEntity | None:
        return authorized[0] if authorized else None


class BAcceptsExpiredKc(MafFault):
    """Entity B uses a Kc whose expirationTime has passed instead of failing the
    handshake.

    Breaks SAEF-MAF-27 (once Kc Lifetime expires, B shall fail the handshake).
    """

    name = "b_accepts_expired_kc"
    requirements = ("SAEF-MAF-27",)

    def b_checks_expiry(self) -> bool:
        return False


class BBindsKcId(MafFault):
    """Entity B binds the association to the KcID instead of the sourceEntityID the MAF
    gave (or the Credential-ID "11-" + KmID).

    Breaks SAEF-MAF-24 and SAEF-MAF-25.
    """

    name = "b_binds_kcid"
    requirements = ("SAEF-MAF-24", "SAEF-MAF-25")

    def bound_identity(self, bound: str, kc_id: str) -> str:
        return kc_id


class BUsesCachedKey(MafFault):
    """For a KcID it has not retrieved, Entity B uses the last key it retrieved, without
    contacting the MAF.

    Breaks SAEF-MAF-17 (B requests Kc from the MAF for the KcID received) and SAEF-MAF-21.
    """

    name = "b_uses_cached_key"
    requirements = ("SAEF-MAF-17", "SAEF-MAF-21")

    def key_without_retrieval(self, kc_id: str, last: RetrievedKey | None) -> RetrievedKey | None:
        return last


class BTrustsAnyMaf(MafFault):
    """Entity B retrieves Kc for a KcID whatever MAF FQDN it names (from its configured
    MAF endpoint) instead of refusing a KcID of an untrusted MAF.

    Breaks SAEF-MAF-17 and SAEF-MAF-16 (B gets Kc only over its authenticated channel
    with the MAF it trusts).
    """

    name = "b_trusts_any_maf"
    requirements = ("SAEF-MAF-17", "SAEF-MAF-16")

    def trusts_maf(self, fqdn: str, trusted: str) -> bool:
        return True


class AReusesExpiredKc(MafFault):
    """When Entity B refuses a handshake made with a stored Kc, Entity A retries with the
    same KcID and Kc instead of running a fresh MAF handshake.

    Breaks SAEF-MAF-27 (B's refusal tells A that a fresh MAF handshake is needed).
    """

    name = "a_reuses_expired_kc"
    requirements = ("SAEF-MAF-27",)

    def renew_on_refusal(self) -> bool:
        return False


class ASendsKmIdToB(MafFault):
    """Entity A sends its KmID instead of the KcID as psk_identity to Entity B.

    Breaks SAEF-MAF-15 (psk_identity towards B is the KcID) and SAEF-MAF-13.
    """

    name = "a_sends_kmid_to_b"
    requirements = ("SAEF-MAF-15", "SAEF-MAF-13")

    def association_identity(self, kc_id: str, km_id: str) -> str:
        return km_id


class ABindsWrongIdentity(MafFault):
    """Entity A binds its associations to the MAF's identifier (mafIdentifier) instead of
    the configured IdB (otherEntityIdentifier), and reports that as their peer_identity.

    Breaks SAEF-MAF-07 and SAEF-MAF-23 (A binds the association to IdB).
    """

    name = "a_binds_wrong_identity"
    requirements = ("SAEF-MAF-07", "SAEF-MAF-23")

    def a_bound_identity(self, other_entity_id: str, maf_identifier: str) -> str:
        return maf_identifier


class AContactsBWithoutKc(MafFault):
    """When its MAF handshake fails, Entity A still runs that round's association with
    Entity B, presenting its KmID as psk_identity and Km as psk, instead of giving up.

    Breaks SAEF-MAF-11 (with a wrong Km there is no Kc, so there must be no association).
    """

    name = "a_contacts_b_without_kc"
    requirements = ("SAEF-MAF-11",)

    def credential_without_kc(self, km_id: str, km: bytes) -> tuple[str, bytes] | None:
        return km_id, km


class BClaimsEstablished(MafFault):
    """Entity B reports every association leg it served, and so its top-level status, as
    established, even when the handshake failed.

    Breaks SAEF-MAF-21 as observed (B claims associations that never had a common Kc):
    the observation channel lies, and only a comparison with the wire shows it.
    """

    name = "b_claims_established"
    requirements = ("SAEF-MAF-21",)

    def b_reported_status(self, status: Status) -> Status:
        return Status.ESTABLISHED


class MafOmitsEntityId(MafFault):
    """The MAF leaves the sourceEntityID field out of its key-retrieval answer even when
    it holds Entity A's CSE-ID/AE-ID (thisEntityIdentifier).

    Breaks SAEF-MAF-19 (the MAF provides A's CSE-ID/AE-ID to B when it has it).
    """

    name = "maf_omits_entity_id"
    requirements = ("SAEF-MAF-19",)

    def maf_sends_entity_id(self) -> bool:
        return False


class AWrongKmId(MafFault):
    """Entity A sends its KmID with its last character changed as psk_identity in the MAF
    handshake (it still uses the right Km).

    Breaks SAEF-MAF-09 (psk_identity = the KmID of the Km provisioned with the MAF).
    """

    name = "a_wrong_kmid"
    requirements = ("SAEF-MAF-09", "SAEF-MAF-10")

    def maf_psk_identity(self, km_id: str) -> str:
        last = "0" if km_id[-1:] != "0" else "1"
        return km_id[:-1] + last


FAULT_CLASSES: dict[str, type[MafFault]] = {
    cls.name: cls
    for cls in (
        WrongExporterLabel,
        WrongExportSplit,
        UpperCaseKcId,
        MalformedKcId,
        KcIdWrongFqdn,
        MafReleasesToUnauthorised,
        MafIgnoresExpiry,
        MafAcceptsUnknownKmId,
        BAcceptsExpiredKc,
        BBindsKcId,
        BUsesCachedKey,
        BTrustsAnyMaf,
        AReusesExpiredKc,
        ASendsKmIdToB,
        ABindsWrongIdentity,
        AContactsBWithoutKc,
        BClaimsEstablished,
        MafOmitsEntityId,
        AWrongKmId,
    )
}


class FaultSet(MafFault):
    """The active mutants, applied in the order given (no fault: the conformant path)."""

    def __init__(self, names: tuple[str, ...] | list[str] = ()) -> None:
        unknown = [name for name in names if name not in FAULT_CLASSES]
        if unknown:
            raise ValueError(
                f"unknown reference fault(s) {', '.join(unknown)}; "
                f"valid: {', '.join(sorted(FAULT_CLASSES))}"
            )
        self.names = tuple(dict.fromkeys(names))
        self._faults: list[MafFault] = [FAULT_CLASSES[name]() for name in self.names]

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def exporter_label(self, label: str) -> str:
        for fault in self._faults:
            label = fault.exporter_label(label)
        return label

    def split_export(self, material: bytes) -> tuple[bytes, bytes]:
        changed = [f for f in self._faults if type(f).split_export is not MafFault.split_export]
        return (changed[-1] if changed else MafFault()).split_export(material)

    def relative_text(self, relative_id: bytes) -> str:
        changed = [f for f in self._faults if type(f).relative_text is not MafFault.relative_text]
        return (changed[-1] if changed else MafFault()).relative_text(relative_id)

    def form_kc_id(self, relative: str, maf_fqdn: str, b_host_name: str | None) -> str:
        changed = [f for f in self._faults if type(f).form_kc_id is not MafFault.form_kc_id]
        return (changed[-1] if changed else MafFault()).form_kc_id(relative, maf_fqdn, b_host_name)

    def association_identity(self, kc_id: str, km_id: str) -> str:
        for fault in self._faults:
            kc_id = fault.association_identity(kc_id, km_id)
        return kc_id

    def renew_on_refusal(self) -> bool:
        return all(fault.renew_on_refusal() for fault in self._faults)

    def a_bound_identity(self, other_entity_id: str, maf_identifier: str) -> str:
        for fault in self._faults:
            other_entity_id = fault.a_bound_identity(other_entity_id, maf_identifier)
        return other_entity_id

    def maf_psk_identity(self, km_id: str) -> str:
        for fault in self._faults:
            km_id = fault.maf_psk_identity(km_id)
        return km_id

    def credential_without_kc(self, km_id: str, km: bytes) -> tuple[str, bytes] | None:
        for fault in self._faults:
            credential = fault.credential_without_kc(km_id, km)
            if credential is not None:
                return credential
        return None

    def unknown_master_credential_id(
        self, psk_identity: bytes, authorized: tuple[AuthorizedEntity, ...]
    ) -> AuthorizedEntity | None:
        for fault in self._faults:
            entry = fault.unknown_master_credential_id(psk_identity, authorized)
            if entry is not None:
                return entry
        return None

    def check_recipient(self) -> bool:
        return all(fault.check_recipient() for fault in self._faults)

    def maf_checks_expiry(self) -> bool:
        return all(fault.maf_checks_expiry() for fault in self._faults)

    def maf_sends_entity_id(self) -> bool:
        return all(fault.maf_sends_entity_id() for fault in self._faults)

    def trusts_maf(self, fqdn: str, trusted: str) -> bool:
        return MafFault().trusts_maf(fqdn, trusted) or any(
            fault.trusts_maf(fqdn, trusted) for fault in self._faults
        )

    def b_checks_expiry(self) -> bool:
        return all(fault.b_checks_expiry() for fault in self._faults)

    def bound_identity(self, bound: str, kc_id: str) -> str:
        for fault in self._faults:
            bound = fault.bound_identity(bound, kc_id)
        return bound

    def key_without_retrieval(self, kc_id: str, last: RetrievedKey | None) -> RetrievedKey | None:
        for fault in self._faults:
            key = fault.key_without_retrieval(kc_id, last)
            if key is not None:
                return key
        return None

    def b_reported_status(self, status: Status) -> Status:
        for fault in self._faults:
            status = fault.b_reported_status(status)
        return status
