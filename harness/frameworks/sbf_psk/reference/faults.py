"""Mutants of the enrolee-key SBF reference: named, deliberately non-conformant behaviours.

As for the other frameworks (harness/frameworks/saef_maf/reference/faults.py), each mutant
is an :class:`SbfFault` subclass whose docstring's first paragraph says what it does and
whose ``requirements`` name the SBF-COMMON / SBF-PSK rows of REQUIREMENTS.md it breaks.
The Enrolee, the MEF and the MAF call every hook through a :class:`FaultSet`; a mutant
overrides only the hooks it needs, and a hook of one role is never called by the others,
so one fault set serves all three. Names carry the ``sbf_`` prefix: fault names are
unique across frameworks (``m2mconf faults``), and the SAEF-MAF reference already has a
``wrong_exporter_label``.

The conformant derivations (Km, the usage-constrained key) are harness.key_export's:
they are pure functions checked against independent vectors (vectors/, OpenSSL's HMAC),
so sharing them cannot hide a wrong TLS stack. The mutants' wrong derivations are
written out here.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import ClassVar

from harness.key_export import (
    ENROLMENT_KM_LABEL,
    USAGE_CONSTRAINED_LABEL,
    derive_km,
    derive_usage_constrained_key,
    nfkc_identifier,
    suid_octets,
)

BOOTSTRAP_LABEL = "EXPORTER-oneM2M-Bootstrap"
"""TS-0003 10.3.1: the exporter label of the bootstrap handshake (Ke, RelativeKeID)."""
PROTOTYPE_LABEL = "oneM2M-Key-Export"
"""The label a public MAF prototype exports with (no "EXPORTER-" prefix, no purpose)."""
RELATIVE_ID_OCTETS = 16
SUID_REMOTE_PROVISIONED = 21  # TS-0003 8.3.2.1: the SUID of the MAF's fetch
KM_DERIVATIONS = ("km", "usage-constrained")
"""Spec-profile I-12: Km per 10.3.2 (the seed) or the usage-constrained key per 10.3.7."""


@dataclass(frozen=True)
class KnownEnrolee:
    """What the MEF's mutant hooks need of an Enrolee entry (config.EnroleeEntry)."""

    kpm_id: str
    kpm_key: bytes
    enrolee_identifier: str
    maf_identifier: str


def master_credential(ke: bytes, maf_id: str, derivation: str) -> bytes:
    """The conformant key from Ke for the MAF ``maf_id`` (spec-profile I-12)."""
    if derivation == "usage-constrained":
        return derive_usage_constrained_key(ke, SUID_REMOTE_PROVISIONED, maf_id)
    return derive_km(ke, maf_id)


class SbfFault:
    """Base class: the conformant behaviour at every hook."""

    name: ClassVar[str] = ""
    requirements: ClassVar[tuple[str, ...]] = ()

    # --- the Enrolee and the MEF: from the bootstrap handshake to Ke, KeID and Km ---
    def bootstrap_label(self, label: str) -> str:
        """The RFC 5705 label exported after the bootstrap handshake (10.3.1)."""
        return label

    def split_export(self, material: bytes) -> tuple[bytes, bytes]:
        """(RelativeKeID, Ke): the first 16 and the last 32 of the 48 octets (I-02)."""
        return material[:RELATIVE_ID_OCTETS], material[RELATIVE_ID_OCTETS:]

    def relative_text(self, relative_id: bytes) -> str:
        """hexBinary of RelativeKeID, lower case (I-04)."""
        return relative_id.hex()

    def form_ke_id(self, relative: str, mef_fqdn: str, maf_fqdn: str) -> str:
        """KeID = hexBinary(RelativeKeID) "@" MEF-FQDN (TS-0003 10.3.4)."""
        return f"{relative}@{mef_fqdn}"

    def derive_key(self, ke: bytes, maf_id: str, derivation: str) -> bytes:
        """Km from Ke and the MAF-ID (10.3.2, NFKC), or the 10.3.7 key (I-12)."""
        return master_credential(ke, maf_id, derivation)

    # --- the Enrolee ---
    def kpm_identity(self, kpm_id: str) -> str:
        """The psk_identity of the bootstrap handshake: KpmId (SBF-PSK-09)."""
        return kpm_id

    def enrolee_km(self, ke: bytes, km: bytes) -> bytes:
        """The psk the Enrolee uses in the MAF handshake: Km (SBF-COMMON-10/19)."""
        return km

    def credential_without_bootstrap(self, kpm_id: str, kpm: bytes) -> tuple[str, bytes] | None:
        """(psk_identity, psk) the Enrolee uses towards the MAF when its bootstrap failed
        (None: it holds no Ke, so it does not contact the MAF: SBF-COMMON-21)."""
        return None

    # --- the MEF ---
    def unknown_kpm_id(
        self, psk_identity: bytes, enrolees: tuple[KnownEnrolee, ...]
    ) -> KnownEnrolee | None:
        """The Enrolee entry the MEF uses for a KpmId it does not know (None: refuse)."""
        return None

    def mef_checks_requester(self) -> bool:
        """Whether the MEF releases Km only to the MAF configured for that Enrolee, whose
        originator is the MAF-ID its credential authenticates (403 otherwise)."""
        return True

    def mef_answers_unknown_ke_id(self) -> bool:
        """Whether the MEF answers a KeID it does not hold with a credential (not 404)."""
        return False

    def mef_checks_lifetime(self) -> bool:
        """Whether the MEF answers 404 for a KeID whose credentialLifetime has passed."""
        return True

    # --- the MAF ---
    def maf_refetches(self) -> bool:
        """Whether the MAF fetches again for an identifier whose Km it holds (it must
        not: SBF-COMMON-14)."""
        return False

    def maf_stores_km_id(self) -> bool:
        """Whether the MAF stores KmID -> Km after a fetch (SBF-COMMON-18/20)."""
        return True

    def trusts_mef(self, fqdn: str, trusted: str) -> bool:
        """Whether the MAF fetches for a KeID naming MEF ``fqdn`` (only its own MEF)."""
        return fqdn.lower().rstrip(".") == trusted.lower().rstrip(".")

    def send_alert_on_failure(self) -> bool:
        """Whether a failed handshake ends with libssl's fatal alert (RFC 5246 7.2.2)."""
        return True

    def maf_fetch_suid(self, suid: int) -> int:
        """The SUID the MAF puts in its fetch: 21 (TS-0003 8.3.2.1)."""
        return suid

    def maf_bound_identity(self, enrolee_id: str, ke_id: str) -> str:
        """The identity the MAF binds Km to: the Enrolee-ID the MEF gave (SBF-COMMON-17)."""
        return enrolee_id

    def refused_fetch_key(self, relative: str, maf_id: str) -> bytes | None:
        """The key the MAF uses when the MEF refused the KeID (None: refuse the Enrolee
        with unknown_psk_identity)."""
        return None


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


class WrongBootstrapLabel(SbfFault):
    """The Enrolee and the MEF export with the label "oneM2M-Key-Export" (as a public MAF
    prototype does) instead of "EXPORTER-oneM2M-Bootstrap" after the bootstrap handshake.

    Breaks SBF-PSK-12 (Ke comes from the 10.3.1 exporter) and so SBF-PSK-13 (KeID) and
    every Km derived from that Ke.
    """

    name = "sbf_wrong_bootstrap_label"
    requirements = ("SBF-PSK-12", "SBF-PSK-13")

    def bootstrap_label(self, label: str) -> str:
        return PROTOTYPE_LABEL


class SwappedKeSplit(SbfFault):
    """The Enrolee and the MEF swap the parts of the 48-octet export: Ke is the first 32
    octets and RelativeKeID the last 16.

    Breaks SBF-PSK-12 and SBF-PSK-13 (I-02: RelativeKeID is the first 16 octets, Ke the
    last 32).
    """

    name = "sbf_swapped_ke_split"
    requirements = ("SBF-PSK-12", "SBF-PSK-13")

    def split_export(self, material: bytes) -> tuple[bytes, bytes]:
        return material[-RELATIVE_ID_OCTETS:], material[: len(material) - RELATIVE_ID_OCTETS]


class UpperCaseKeId(SbfFault):
    """The Enrolee and the MEF write the hexBinary of RelativeKeID in upper case in the
    KeID they present and report.

    Breaks SBF-PSK-13 (I-04: the KeID's hexBinary is lower case; receivers compare it
    case-insensitively, so only the identifier on the wire and in reports shows it).
    """

    name = "sbf_upper_case_keid"
    requirements = ("SBF-PSK-13",)

    def relative_text(self, relative_id: bytes) -> str:
        return relative_id.hex().upper()


class KeIdWithMafFqdn(SbfFault):
    """The Enrolee and the MEF append the MAF's FQDN (the Enrolee's mafIdentifier) to the
    KeID instead of the MEF's.

    Breaks SBF-PSK-13 (KeID = hexBinary(RelativeKeID)@MEF-FQDN, 10.3.4): the MAF cannot
    tell which MEF holds Ke, and the MEF does not know the KeID the MAF asks for.
    """

    name = "sbf_keid_maf_fqdn"
    requirements = ("SBF-PSK-13", "SBF-COMMON-12")

    def form_ke_id(self, relative: str, mef_fqdn: str, maf_fqdn: str) -> str:
        return f"{relative}@{maf_fqdn}"


class KmWithoutNfkc(SbfFault):
    """The Enrolee and the MEF feed the MAF-ID to the Km derivation as plain UTF-8,
    without Unicode Normalization Form KC.

    Breaks SBF-COMMON-10 and SBF-COMMON-16 (10.3.2: MAF-ID is NFKC-normalised): it shows
    only with a MAF-ID whose NFKC form differs, e.g. one with fullwidth letters.
    """

    name = "sbf_km_without_nfkc"
    requirements = ("SBF-COMMON-10", "SBF-COMMON-16")

    def derive_key(self, ke: bytes, maf_id: str, derivation: str) -> bytes:
        raw = maf_id.encode("utf-8")
        if derivation == "usage-constrained":
            suid = suid_octets(SUID_REMOTE_PROVISIONED)
            return _hmac(ke, USAGE_CONSTRAINED_LABEL.encode("ascii") + suid + raw)
        return _hmac(ke, ENROLMENT_KM_LABEL.encode("ascii") + raw)


class KmWrongLabel(SbfFault):
    """The Enrolee and the MEF derive Km with the label spelt "oneM2M Enrollment Key to
    Master Credential derivation" (double l) instead of TS-0003 10.3.2's "Enrolment".

    Breaks SBF-COMMON-10 and SBF-COMMON-16 (Km = HMAC-SHA-256(Ke, label || MAF-ID)).
    """

    name = "sbf_km_wrong_label"
    requirements = ("SBF-COMMON-10", "SBF-COMMON-16")

    def derive_key(self, ke: bytes, maf_id: str, derivation: str) -> bytes:
        label = USAGE_CONSTRAINED_LABEL if derivation == "usage-constrained" else ENROLMENT_KM_LABEL
        wrong = label.replace("Enrolment", "Enrollment").encode("ascii")
        suid = suid_octets(SUID_REMOTE_PROVISIONED) if derivation == "usage-constrained" else b""
        return _hmac(ke, wrong + suid + nfkc_identifier(maf_id, "MAF-ID"))


class KeAsKm(SbfFault):
    """The Enrolee uses Ke itself as the psk of the MAF handshake instead of the Km
    derived from it.

    Breaks SBF-COMMON-10 and SBF-COMMON-19 (the MAF handshake uses Km derived from Ke and
    the MAF-ID).
    """

    name = "sbf_ke_as_km"
    requirements = ("SBF-COMMON-10", "SBF-COMMON-19")

    def enrolee_km(self, ke: bytes, km: bytes) -> bytes:
        return ke


class WrongKpmId(SbfFault):
    """The Enrolee sends its KpmId with the first character of its relative part changed
    as psk_identity in the bootstrap handshake (it still uses the right Kpm).

    Breaks SBF-PSK-09 (psk_identity = KpmId).
    """

    name = "sbf_wrong_kpm_id"
    requirements = ("SBF-PSK-09",)

    def kpm_identity(self, kpm_id: str) -> str:
        first = "x" if kpm_id[:1] != "x" else "y"
        return first + kpm_id[1:]


class ContactsMafAfterFailedBootstrap(SbfFault):
    """When its bootstrap handshake fails, the Enrolee still contacts the MAF, presenting
    its KpmId as psk_identity and Kpm as psk, instead of giving up.

    Breaks SBF-COMMON-21 (no Ke, hence no Km, without mutual authentication with the
    MEF) and SBF-PSK-10.
    """

    name = "sbf_contacts_maf_after_failed_bootstrap"
    requirements = ("SBF-COMMON-21", "SBF-PSK-10")

    def credential_without_bootstrap(self, kpm_id: str, kpm: bytes) -> tuple[str, bytes] | None:
        return kpm_id, kpm


class MefServesAnyMaf(SbfFault):
    """The MEF releases Km to any authenticated fetch client, whatever its MAF-ID and
    whatever originator it names, not only to the MAF configured for that Enrolee.

    Breaks SBF-COMMON-16 and SBF-PSK-06 (the MEF gives Km to the target MAF only).
    """

    name = "sbf_mef_serves_any_maf"
    requirements = ("SBF-COMMON-16", "SBF-PSK-06")

    def mef_checks_requester(self) -> bool:
        return False


class MefAnswersUnknownKeId(SbfFault):
    """The MEF answers a fetch for a KeID it does not hold with 200 and a random
    credential (for its first configured Enrolee) instead of 404.

    Breaks SBF-COMMON-20 (a KeID unknown to the MEF is refused) and SBF-COMMON-16.
    """

    name = "sbf_mef_answers_unknown_keid"
    requirements = ("SBF-COMMON-20", "SBF-COMMON-16")

    def mef_answers_unknown_ke_id(self) -> bool:
        return True


class MefAcceptsUnknownKpmId(SbfFault):
    """The MEF answers a bootstrap handshake with an unknown KpmId using the first
    configured Enrolee's Kpm (and stores Ke for that Enrolee) instead of refusing it.

    Breaks SBF-PSK-09 (unknown KpmId: the MEF aborts with unknown_psk_identity) and
    SBF-COMMON-21.
    """

    name = "sbf_mef_accepts_unknown_kpm_id"
    requirements = ("SBF-PSK-09", "SBF-COMMON-21")

    def unknown_kpm_id(
        self, psk_identity: bytes, enrolees: tuple[KnownEnrolee, ...]
    ) -> KnownEnrolee | None:
        return enrolees[0] if enrolees else None


class MefIgnoresLifetime(SbfFault):
    """The MEF releases Km for a KeID whose credentialLifetime has passed (with the past
    lifetime) instead of answering 404.

    Breaks SBF-COMMON-21 (an expired credential is not used).
    """

    name = "sbf_mef_ignores_lifetime"
    requirements = ("SBF-COMMON-21",)

    def mef_checks_lifetime(self) -> bool:
        return False


class MafRefetches(SbfFault):
    """The MAF fetches Km from the MEF on every contact, also for a KeID or KmID whose
    Km it already holds.

    Breaks SBF-COMMON-14 (a MAF that holds Km does not contact the MEF again).
    """

    name = "sbf_maf_refetches"
    requirements = ("SBF-COMMON-14",)

    def maf_refetches(self) -> bool:
        return True


class MafRefusesKmId(SbfFault):
    """The MAF keeps only KeID -> Km after a fetch, so a later contact presenting the
    KmID is refused (unknown_psk_identity).

    Breaks SBF-COMMON-18 and SBF-COMMON-20 (after provisioning the MAF accepts KmID and
    KeID for that Km).
    """

    name = "sbf_maf_refuses_kmid"
    requirements = ("SBF-COMMON-18", "SBF-COMMON-20")

    def maf_stores_km_id(self) -> bool:
        return False


class MafAcceptsRefusedKeId(SbfFault):
    """When the MEF refuses a fetch, the MAF treats the refusal as a success: it reports
    the fetch as established and goes on with the handshake using
    Km = derive_km(the KeID's relative part as ASCII octets, MAF-ID) instead of refusing
    the Enrolee with unknown_psk_identity.

    Breaks SBF-COMMON-20 and SBF-COMMON-19 (a KeID the MEF refuses names no Km). The
    stand-in key is a function of the KeID alone, so a harness Enrolee that holds it sees
    the handshake complete; any other Enrolee sees a Finished failure where an
    unknown_psk_identity alert was due.
    """

    name = "sbf_maf_accepts_refused_keid"
    requirements = ("SBF-COMMON-20", "SBF-COMMON-19")

    def refused_fetch_key(self, relative: str, maf_id: str) -> bytes | None:
        return refused_keid_stand_in(relative, maf_id)


def refused_keid_stand_in(relative: str, maf_id: str) -> bytes:
    """The key the sbf_maf_accepts_refused_keid mutant uses: derive_km over the KeID's
    relative part (32 hex digits = 32 octets of ASCII), padded or cut to 32 octets."""
    octets = relative.lower().encode("ascii", errors="replace")[:32].ljust(32, b"0")
    return derive_km(octets, maf_id)


class MafTrustsAnyMef(SbfFault):
    """The MAF fetches Km for a KeID whatever MEF FQDN it names (from its configured MEF
    endpoint) instead of refusing a KeID of a MEF it does not trust.

    Breaks SBF-COMMON-15 (the MAF passes KeID to the MEF that issued it, over the secure
    channel it shares with that MEF) and SBF-COMMON-20.
    """

    name = "sbf_maf_trusts_any_mef"
    requirements = ("SBF-COMMON-15", "SBF-COMMON-20")

    def trusts_mef(self, fqdn: str, trusted: str) -> bool:
        return True


class SbfSilentAbort(SbfFault):
    """On a failed bootstrap or MAF handshake, the entity (Enrolee, MEF or MAF) drops the
    fatal alert libssl produced and just closes the connection.

    Breaks the refusals of SBF-PSK-09/10 and SBF-COMMON-19/20 (a failed handshake is
    ended with a fatal alert such as unknown_psk_identity, decrypt_error or bad_record_mac).
    """

    name = "sbf_silent_abort"
    requirements = ("SBF-PSK-09", "SBF-PSK-10", "SBF-COMMON-19", "SBF-COMMON-20")

    def send_alert_on_failure(self) -> bool:
        return False


class MafFetchWrongSuid(SbfFault):
    """The MAF fetches with SUID 32 (the MAF-distributed SAEF key) instead of 21.

    Breaks SBF-COMMON-15 (the fetch names the remotely provisioned credential, TS-0003
    8.3.2.1: /fetchCredentials/<KeID>/21).
    """

    name = "sbf_maf_fetch_wrong_suid"
    requirements = ("SBF-COMMON-15",)

    def maf_fetch_suid(self, suid: int) -> int:
        return 32


class MafBindsKeId(SbfFault):
    """The MAF binds the provisioned Km to the KeID instead of the Enrolee-ID the MEF gave,
    and reports that as the peer_identity of its MAF handshakes.

    Breaks SBF-COMMON-17/18 (the MAF holds Km with the Enrolee's CSE-ID/AE-ID).
    """

    name = "sbf_maf_binds_keid"
    requirements = ("SBF-COMMON-17", "SBF-COMMON-18")

    def maf_bound_identity(self, enrolee_id: str, ke_id: str) -> str:
        return ke_id


FAULT_CLASSES: dict[str, type[SbfFault]] = {
    cls.name: cls
    for cls in (
        WrongBootstrapLabel,
        SwappedKeSplit,
        UpperCaseKeId,
        KeIdWithMafFqdn,
        KmWithoutNfkc,
        KmWrongLabel,
        KeAsKm,
        WrongKpmId,
        ContactsMafAfterFailedBootstrap,
        MefServesAnyMaf,
        MefAnswersUnknownKeId,
        MefAcceptsUnknownKpmId,
        MefIgnoresLifetime,
        MafRefetches,
        MafRefusesKmId,
        MafAcceptsRefusedKeId,
        MafTrustsAnyMef,
        SbfSilentAbort,
        MafFetchWrongSuid,
        MafBindsKeId,
    )
}


class FaultSet(SbfFault):
    """The active mutants, applied in the order given (no fault: the conformant path)."""

    def __init__(self, names: tuple[str, ...] | list[str] = ()) -> None:
        unknown = [name for name in names if name not in FAULT_CLASSES]
        if unknown:
            raise ValueError(
                f"unknown reference fault(s) {', '.join(unknown)}; "
                f"valid: {', '.join(sorted(FAULT_CLASSES))}"
            )
        self.names = tuple(dict.fromkeys(names))
        self._faults: list[SbfFault] = [FAULT_CLASSES[name]() for name in self.names]

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def _last(self, hook: str) -> SbfFault:
        """The last active fault that overrides ``hook`` (else the conformant base)."""
        base = getattr(SbfFault, hook)
        changed = [f for f in self._faults if getattr(type(f), hook) is not base]
        return changed[-1] if changed else SbfFault()

    def bootstrap_label(self, label: str) -> str:
        for fault in self._faults:
            label = fault.bootstrap_label(label)
        return label

    def split_export(self, material: bytes) -> tuple[bytes, bytes]:
        return self._last("split_export").split_export(material)

    def relative_text(self, relative_id: bytes) -> str:
        return self._last("relative_text").relative_text(relative_id)

    def form_ke_id(self, relative: str, mef_fqdn: str, maf_fqdn: str) -> str:
        return self._last("form_ke_id").form_ke_id(relative, mef_fqdn, maf_fqdn)

    def derive_key(self, ke: bytes, maf_id: str, derivation: str) -> bytes:
        return self._last("derive_key").derive_key(ke, maf_id, derivation)

    def kpm_identity(self, kpm_id: str) -> str:
        for fault in self._faults:
            kpm_id = fault.kpm_identity(kpm_id)
        return kpm_id

    def enrolee_km(self, ke: bytes, km: bytes) -> bytes:
        for fault in self._faults:
            km = fault.enrolee_km(ke, km)
        return km

    def credential_without_bootstrap(self, kpm_id: str, kpm: bytes) -> tuple[str, bytes] | None:
        for fault in self._faults:
            credential = fault.credential_without_bootstrap(kpm_id, kpm)
            if credential is not None:
                return credential
        return None

    def unknown_kpm_id(
        self, psk_identity: bytes, enrolees: tuple[KnownEnrolee, ...]
    ) -> KnownEnrolee | None:
        for fault in self._faults:
            entry = fault.unknown_kpm_id(psk_identity, enrolees)
            if entry is not None:
                return entry
        return None

    def mef_checks_requester(self) -> bool:
        return all(fault.mef_checks_requester() for fault in self._faults)

    def mef_answers_unknown_ke_id(self) -> bool:
        return any(fault.mef_answers_unknown_ke_id() for fault in self._faults)

    def mef_checks_lifetime(self) -> bool:
        return all(fault.mef_checks_lifetime() for fault in self._faults)

    def maf_refetches(self) -> bool:
        return any(fault.maf_refetches() for fault in self._faults)

    def maf_stores_km_id(self) -> bool:
        return all(fault.maf_stores_km_id() for fault in self._faults)

    def trusts_mef(self, fqdn: str, trusted: str) -> bool:
        return SbfFault().trusts_mef(fqdn, trusted) or any(
            fault.trusts_mef(fqdn, trusted) for fault in self._faults
        )

    def refused_fetch_key(self, relative: str, maf_id: str) -> bytes | None:
        for fault in self._faults:
            key = fault.refused_fetch_key(relative, maf_id)
            if key is not None:
                return key
        return None

    def send_alert_on_failure(self) -> bool:
        return all(fault.send_alert_on_failure() for fault in self._faults)

    def maf_fetch_suid(self, suid: int) -> int:
        for fault in self._faults:
            suid = fault.maf_fetch_suid(suid)
        return suid

    def maf_bound_identity(self, enrolee_id: str, ke_id: str) -> str:
        for fault in self._faults:
            enrolee_id = fault.maf_bound_identity(enrolee_id, ke_id)
        return enrolee_id
