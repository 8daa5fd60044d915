"""Entity A of the MAF-based SAEF: MAF handshake for Kc, then associations with Entity B.

For each of ``request.legs_expected("association")`` rounds, one after another:

1. If A holds no Kc: the MAF handshake, a (D)TLS-PSK client handshake towards
   ``peers["maf"]`` with SNI = mafIdentifier, psk_identity = KmID, psk = Km
   (SAEF-MAF-09..11). Both ends export 48 octets with "EXPORTER-oneM2M-Connection" and
   no context: RelativeKcID = the first 16, Kc = the last 32; KcID =
   lower-hex(RelativeKcID) "@" mafIdentifier (SAEF-MAF-12/13, I-02..I-04).
2. The association: a (D)TLS-PSK client handshake towards ``request.connect`` with
   psk_identity = KcID, psk = Kc, SNI = otherEntityHostName, bound to
   otherEntityIdentifier (SAEF-MAF-15/21/23). A stored Kc is reused (SAEF-MAF-26).
3. When B refuses a handshake made with a stored Kc, A discards it, runs one fresh MAF
   handshake and retries the round once (SAEF-MAF-27). A Kc B refused is not offered
   again: the next round starts with a fresh MAF handshake.

Every leg is reported; the top-level fields are those of the last association.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.frameworks.saef_maf.reference.config import EntityAConfig
from harness.frameworks.saef_maf.reference.entities import (
    Party,
    connection_export,
    form_kc,
    leg_summary,
)
from harness.frameworks.saef_maf.reference.faults import CONNECTION_LABEL
from harness.reference.account import exports
from harness.reference.config import ConfigurationError
from harness.sut.contract import Address, LegResult, Role, Status, SutResult


@dataclass(frozen=True)
class HeldKc:
    """Kc and the KcID A formed for it, from one MAF handshake."""

    kc_id: str
    kc: bytes


class EntityA(Party):
    role = Role.ENTITY_A

    def _run(self) -> SutResult:
        config = EntityAConfig.from_configuration(self.request.configuration)
        maf = self.request.peers.get("maf")
        entity_b = self.request.connect or self.request.peers.get("entity_b")
        if maf is None or entity_b is None:
            raise ConfigurationError("Entity A needs peers.maf and connect (peers.entity_b)")
        if not self._suites():
            return SutResult(Status.UNSUPPORTED, detail="none of the requested suites is known")
        legs: list[LegResult] = []
        held: HeldKc | None = None
        for _round in range(self.request.legs_expected("association")):
            stored = held is not None
            if held is None and (held := self._maf_handshake(config, maf, legs)) is None:
                # No Kc: no association (SAEF-MAF-11); only a mutant contacts B anyway.
                credential = self.faults.credential_without_kc(
                    config.master_credential_id, config.master_credential
                )
                if credential is None:
                    break
                leg = self._handshake_b(config, entity_b, *credential)
                legs.append(leg)
                if leg.status in (Status.TIMEOUT, Status.ERROR):
                    break
                continue
            leg = self._associate(config, entity_b, held)
            legs.append(leg)
            if leg.status is Status.REFUSED and stored:
                if self.faults.renew_on_refusal():  # SAEF-MAF-27: the refusal means renew
                    held = self._maf_handshake(config, maf, legs)
                    if held is None:
                        break
                leg = self._associate(config, entity_b, held)
                legs.append(leg)
            if leg.status is Status.REFUSED and self.faults.renew_on_refusal():
                held = None  # a Kc B refused is never offered again
            if leg.status in (Status.TIMEOUT, Status.ERROR):
                break
        return _summary(legs)

    def _maf_handshake(
        self, config: EntityAConfig, maf: Address, legs: list[LegResult]
    ) -> HeldKc | None:
        km_id = self.faults.maf_psk_identity(config.master_credential_id)
        handshake = self.client_handshake(
            maf,
            dtls=self.dtls,
            suites=self._suites(),
            psk_identity=km_id,
            psk=config.master_credential,
            server_name=config.maf_identifier,
            datagram=config.datagram,
        )
        try:
            if not handshake.established:
                legs.append(handshake.leg("maf_handshake", "maf", psk_identity=km_id))
                return None
            material = connection_export(handshake, self.faults)
            _relative_id, relative, kc = form_kc(material, self.faults)
            kc_id = self.faults.form_kc_id(relative, config.maf_identifier, config.other_host_name)
            legs.append(
                handshake.leg(
                    "maf_handshake",
                    "maf",
                    psk_identity=km_id,
                    peer_identity=config.maf_identifier,
                    keys={CONNECTION_LABEL: material.hex()},
                    fields={"kcId": kc_id},
                )
            )
            return HeldKc(kc_id, kc)
        finally:
            self.end(handshake)

    def _associate(self, config: EntityAConfig, entity_b: Address, held: HeldKc) -> LegResult:
        psk_identity = self.faults.association_identity(held.kc_id, config.master_credential_id)
        return self._handshake_b(config, entity_b, psk_identity, held.kc, kc_id=held.kc_id)

    def _handshake_b(
        self,
        config: EntityAConfig,
        entity_b: Address,
        psk_identity: str,
        psk: bytes,
        *,
        kc_id: str | None = None,
    ) -> LegResult:
        """One association handshake towards B; ``kc_id`` is None only when a mutant
        associates without a Kc (the leg then carries no kcId)."""
        handshake = self.client_handshake(
            entity_b,
            dtls=self.dtls,
            suites=self._suites(),
            psk_identity=psk_identity,
            psk=psk,
            server_name=config.other_host_name,
            datagram=config.datagram,
        )
        try:
            fields = {} if kc_id is None else {"kcId": kc_id}
            leg = handshake.leg("association", "entity_b", psk_identity=psk_identity, fields=fields)
            if handshake.established:
                leg.peer_identity = self.faults.a_bound_identity(
                    config.other_entity_id, config.maf_identifier
                )
                leg.keys = exports(handshake.connection, self.request.exports)
            return leg
        finally:
            self.end(handshake)


def _summary(legs: list[LegResult]) -> SutResult:
    """The result: every leg, and the last association's fields at the top level (the
    last leg's when no association ran)."""
    associations = [leg for leg in legs if leg.name == "association"]
    main = associations[-1] if associations else (legs[-1] if legs else None)
    return leg_summary(main, legs, SutResult(Status.ERROR, detail="no leg ran"))
