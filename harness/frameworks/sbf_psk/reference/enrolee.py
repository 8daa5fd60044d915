"""The Enrolee of the enrolee-key SBF: one bootstrap with the MEF, then MAF handshakes.

1. The bootstrap: a (D)TLS-PSK client handshake towards ``peers["mef"]`` (=
   ``request.connect``) with psk_identity = kpmId, psk = kpmKey, SNI = mefIdentifier
   (SBF-PSK-08..10). Both ends export 48 octets with "EXPORTER-oneM2M-Bootstrap" and no
   context: RelativeKeID = the first 16, Ke = the last 32; KeID = lower-hex(RelativeKeID)
   "@" mefIdentifier (SBF-PSK-12/13, I-02..I-04). A failed bootstrap ends the case: with
   no Ke there is no Km, so the Enrolee does not contact the MAF (SBF-COMMON-21).
2. Km = derive_km(Ke, mafIdentifier) (10.3.2, NFKC; or the 10.3.7 usage-constrained key
   when ``kmDerivation`` is "usage-constrained", I-12); KmID = masterCredentialIdentifier
   (``kmIdForm`` "assigned", I-05) or derived_kmid(Km, mafIdentifier) ("derived").
3. ``request.legs_expected("maf_handshake")`` MAF handshakes towards ``peers["maf"]``,
   one after another, psk = Km, SNI = mafIdentifier. Until one has completed the MAF
   has not learnt Km, so the Enrolee presents KeID (SBF-COMMON-12, I-05 first contact);
   after that it presents KmID (SBF-COMMON-11/20).

Legs: ``bootstrap`` {psk_identity, keys {EXPORTER-oneM2M-Bootstrap: 48 octets hex},
fields {keId}}, then each ``maf_handshake`` {psk_identity, status, fields {kmId}, keys:
the exports the request asks for}; the top-level fields are the last leg's.
"""

from __future__ import annotations

from harness.frameworks.sbf_psk.reference.common import Party, summary, wire_host_name
from harness.frameworks.sbf_psk.reference.config import EnroleeConfig
from harness.frameworks.sbf_psk.reference.faults import BOOTSTRAP_LABEL, FaultSet
from harness.key_export import derived_kmid
from harness.reference.account import exports
from harness.reference.config import ConfigurationError
from harness.sut.contract import Address, LegResult, Role, Status, SutRequest, SutResult

EXPORT_LENGTH = 48  # TS-0003 10.3.1: RelativeKeID (16) || Ke (32)


class Enrolee(Party):
    role = Role.ENROLEE

    def __init__(self, request: SutRequest, faults: FaultSet) -> None:
        super().__init__(request, faults)  # type: ignore[arg-type]  # Party needs .names only
        self.send_alert_on_failure = faults.send_alert_on_failure()
        self.sbf_faults = faults

    def _run(self) -> SutResult:
        config = EnroleeConfig.from_configuration(self.request.configuration)
        mef = self.request.peers.get("mef") or self.request.connect
        maf = self.request.peers.get("maf")
        if mef is None or maf is None:
            raise ConfigurationError("the Enrolee needs peers.mef (or connect) and peers.maf")
        rounds = self.request.legs_expected("maf_handshake")
        if rounds > 1 and config.km_id_form == "assigned" and not config.master_credential_id:
            raise ConfigurationError(
                "configuration lacks masterCredentialIdentifier (kmIdForm assigned, "
                f"{rounds} MAF handshakes: the later ones present KmID)"
            )
        if not self._suites():
            return SutResult(Status.UNSUPPORTED, detail="none of the requested suites is known")
        faults = self.sbf_faults
        legs: list[LegResult] = []
        bootstrapped = self._bootstrap(config, mef, legs)
        if bootstrapped is None:
            credential = faults.credential_without_bootstrap(config.kpm_id, config.kpm_key)
            if credential is not None:  # only a mutant contacts the MAF without Ke
                legs.append(self._maf_handshake(config, maf, *credential, km_id=None))
            return summary(legs, "no leg ran")
        ke_id, ke = bootstrapped
        km = faults.enrolee_km(
            ke, faults.derive_key(ke, config.maf_identifier, config.km_derivation)
        )
        if config.km_id_form == "derived":
            km_id: str | None = derived_kmid(km, config.maf_identifier)
        else:
            km_id = config.master_credential_id
        acknowledged = False  # the MAF has completed a handshake with Km: it knows KmID
        for _round in range(rounds):
            identity = km_id if acknowledged and km_id else ke_id
            leg = self._maf_handshake(config, maf, identity, km, km_id=km_id)
            legs.append(leg)
            acknowledged = acknowledged or leg.status is Status.ESTABLISHED
            if leg.status in (Status.TIMEOUT, Status.ERROR):
                break
        return summary(legs, "no leg ran")

    def _bootstrap(
        self, config: EnroleeConfig, mef: Address, legs: list[LegResult]
    ) -> tuple[str, bytes] | None:
        """The bootstrap handshake; (KeID, Ke) once it completed, else None."""
        faults = self.sbf_faults
        kpm_id = faults.kpm_identity(config.kpm_id)
        handshake = self.client_handshake(
            mef,
            dtls=self.dtls,
            suites=self._suites(),
            psk_identity=kpm_id,
            psk=config.kpm_key,
            server_name=wire_host_name(config.mef_identifier),
            datagram=config.datagram,
        )
        try:
            leg = handshake.leg("bootstrap", "mef", psk_identity=kpm_id)
            legs.append(leg)
            if not handshake.established:
                return None
            material = handshake.export(faults.bootstrap_label(BOOTSTRAP_LABEL), EXPORT_LENGTH)
            relative_id, ke = faults.split_export(material)
            ke_id = faults.form_ke_id(
                faults.relative_text(relative_id), config.mef_identifier, config.maf_identifier
            )
            leg.peer_identity = config.mef_identifier
            leg.keys = {BOOTSTRAP_LABEL: material.hex()}
            leg.fields = {"keId": ke_id}
            return ke_id, ke
        finally:
            self.end(handshake)

    def _maf_handshake(
        self,
        config: EnroleeConfig,
        maf: Address,
        psk_identity: str,
        psk: bytes,
        *,
        km_id: str | None,
    ) -> LegResult:
        handshake = self.client_handshake(
            maf,
            dtls=self.dtls,
            suites=self._suites(),
            psk_identity=psk_identity,
            psk=psk,
            server_name=wire_host_name(config.maf_identifier),
            datagram=config.datagram,
        )
        try:
            fields = {} if km_id is None else {"kmId": km_id}
            leg = handshake.leg("maf_handshake", "maf", psk_identity=psk_identity, fields=fields)
            if handshake.established:
                leg.peer_identity = config.maf_identifier
                leg.keys = exports(handshake.connection, self.request.exports)
            return leg
        finally:
            self.end(handshake)
