"""Mutants of the reference: named, deliberately non-conformant behaviours.

A conformance suite earns trust by failing broken implementations, so the reference
can be switched into known-bad variants and every test purpose is expected to catch
at least one of them (mutation testing, as BoGo's ProtocolBugs do on the runner side).

Each mutant is a :class:`ReferenceFault` subclass; its docstring says what it does and
which requirement it breaks. It overrides only the hooks it needs; the entities call
every hook through a :class:`FaultSet`, so a new mutant (DTLS, MAF, ...) is one more
subclass with no change to the entities unless it needs a new hook.
"""

from __future__ import annotations

from typing import ClassVar

from harness.frameworks.saef_psk.reference.config import AuthorizedEntity
from harness.reference.ciphers import AES_128_CBC_SHA, MANDATORY_TLS_SUITE, NULL_SHA256
from harness.reference.libssl import TLS1_2_VERSION, TLS1_VERSION
from harness.sut.contract import Role, Status


class ReferenceFault:
    """Base class: the conformant behaviour at every hook."""

    name: ClassVar[str] = ""
    requirements: ClassVar[tuple[str, ...]] = ()

    # --- Entity A ---
    def psk_identity(self, kpsa_id: str, hint: str | None) -> str:
        """The psk_identity A sends for its configured KpsaId, given B's
        psk_identity_hint (None when B sent none)."""
        return kpsa_id

    def server_name(self, host_name: str | None) -> str | None:
        """The SNI host name A sends."""
        return host_name

    # --- both roles ---
    def kpsa_key(self, role: Role, key: bytes) -> bytes:
        """The psk the role actually uses for a configured Kpsa."""
        return key

    def suites(self, role: Role, codes: list[int]) -> list[int]:
        """The suites offered (A) or accepted (B)."""
        return codes

    def bound_identity(self, role: Role, configured: str, presented: str | None) -> str:
        """The identity the association is bound to: A's configured IdB or B's
        configured IdA; ``presented`` is the host name (A) or psk_identity (B)."""
        return configured

    def oldest_version(self, role: Role) -> int:
        """The lowest protocol version the role accepts (TLS 1.2 only when conformant)."""
        return TLS1_2_VERSION

    def send_alert_on_failure(self) -> bool:
        return True

    def reported_status(self, status: Status) -> Status:
        return status

    # --- DTLS ---
    def retransmit(self) -> bool:
        """Whether the role resends its last flight when the retransmission timer
        expires (RFC 6347 4.2.4)."""
        return True

    def tear_down_on_bad_record(self) -> bool:
        """Whether a replayed or undecryptable record ends the association (RFC 6347
        4.1.2.7: it is silently discarded)."""
        return False

    def strict_record_order(self) -> bool:
        """Whether a handshake record that arrives out of order (or twice) ends the
        handshake instead of being buffered or discarded (RFC 6347 4.1.2.6, 4.2.2)."""
        return False

    def ignore_hello_verify_request(self) -> bool:
        """Whether Entity A drops a HelloVerifyRequest instead of repeating its
        ClientHello with the cookie (RFC 6347 4.2.1)."""
        return False

    def cookie_exchange(self) -> bool:
        """Whether Entity B answers a cookieless ClientHello with a HelloVerifyRequest
        (RFC 6347 4.2.1)."""
        return True

    # --- Entity B ---
    def unknown_identity(
        self, psk_identity: bytes, authorized: tuple[AuthorizedEntity, ...]
    ) -> AuthorizedEntity | None:
        """The entry B uses for a psk_identity it has no KpsaId for (None: refuse)."""
        return None


def _one_changed_character(text: str) -> str:
    if not text:
        return "x"
    last = text[-1]
    return text[:-1] + ("0" if last != "0" else "1")


class WrongPskIdentity(ReferenceFault):
    """Entity A sends its KpsaId with one character changed as psk_identity.

    Breaks SAEF-PSK-11 (psk_identity equals KpsaId) and SAEF-PSK-03.
    """

    name = "wrong_psk_identity"
    requirements = ("SAEF-PSK-11", "SAEF-PSK-03")

    def psk_identity(self, kpsa_id: str, hint: str | None) -> str:
        return _one_changed_character(kpsa_id)


class WrongKey(ReferenceFault):
    """Entity A or B uses its Kpsa with one bit flipped as the psk.

    Breaks SAEF-PSK-12 (psk equals Kpsa) and SAEF-PSK-01.
    """

    name = "wrong_key"
    requirements = ("SAEF-PSK-12", "SAEF-PSK-01")

    def kpsa_key(self, role: Role, key: bytes) -> bytes:
        return bytes([key[0] ^ 0x01]) + key[1:]


class AcceptAnyIdentity(ReferenceFault):
    """Entity B accepts an unknown or malformed psk_identity, using the first configured
    Kpsa and binding the first configured IdA.

    Breaks SAEF-PSK-05 (B accepts a handshake only for a configured KpsaId; an unknown
    one gets unknown_psk_identity).
    """

    name = "accept_any_identity"
    requirements = ("SAEF-PSK-05",)

    def unknown_identity(
        self, psk_identity: bytes, authorized: tuple[AuthorizedEntity, ...]
    ) -> AuthorizedEntity | None:
        return authorized[0] if authorized else None


class OfferNonProfileSuite(ReferenceFault):
    """Entity A also offers TLS_PSK_WITH_NULL_SHA256 and TLS_PSK_WITH_AES_128_CBC_SHA;
    Entity B also accepts them (preferring them) when offered.

    Breaks SAEF-PSK-14 (only the suites of the section 9.2 profile).
    """

    name = "offer_non_profile_suite"
    requirements = ("SAEF-PSK-14",)

    def suites(self, role: Role, codes: list[int]) -> list[int]:
        extra = [NULL_SHA256, AES_128_CBC_SHA]
        if role is Role.ENTITY_B:
            return [*extra, *codes]  # B picks a non-profile suite whenever A offers one
        return [*codes, *extra]


class NoMandatorySuite(ReferenceFault):
    """Entity A does not offer TLS_PSK_WITH_AES_128_CBC_SHA256 (0x00AE); Entity B does
    not accept it. When that leaves no suite, TLS_PSK_WITH_AES_128_CBC_SHA stands in, so
    A still sends a ClientHello (without the mandatory suite) and B still listens.

    Breaks SAEF-PSK-14 and PARAMETERS.md section 2 (0x00AE mandatory over TLS).
    """

    name = "no_mandatory_suite"
    requirements = ("SAEF-PSK-14",)

    def suites(self, role: Role, codes: list[int]) -> list[int]:
        remaining = [code for code in codes if code != MANDATORY_TLS_SUITE]
        return remaining or [AES_128_CBC_SHA]


class IgnorePeerIdentity(ReferenceFault):
    """Entity B binds the association to the received psk_identity string instead of the
    configured IdA; Entity A binds it to B's host name instead of the configured IdB.

    Breaks SAEF-PSK-07 (B attributes the association to IdA) and SAEF-PSK-06 (A
    attributes it to IdB).
    """

    name = "ignore_peer_identity"
    requirements = ("SAEF-PSK-06", "SAEF-PSK-07")

    def bound_identity(self, role: Role, configured: str, presented: str | None) -> str:
        return presented if presented is not None else configured


class NoSni(ReferenceFault):
    """Entity A sends no server_name extension in its ClientHello.

    Breaks PARAMETERS.md section 1 (TS-0003 10.2.1: all implementations support SNI,
    the ClientHello carries B's host name).
    """

    name = "no_sni"
    requirements = ("TS-0003 10.2.1 SNI",)

    def server_name(self, host_name: str | None) -> str | None:
        return None


class SilentAbort(ReferenceFault):
    """On a failed handshake, the entity drops the fatal alert libssl produced and just
    closes the TCP connection.

    Breaks SAEF-PSK-05 / SAEF-PSK-12 negative observations (RFC 4279 / RFC 5246: a
    failed handshake is ended with a fatal alert such as unknown_psk_identity,
    decrypt_error or bad_record_mac).
    """

    name = "silent_abort"
    requirements = ("SAEF-PSK-05", "SAEF-PSK-12", "SAEF-PSK-13")

    def send_alert_on_failure(self) -> bool:
        return False


class ClaimsEstablished(ReferenceFault):
    """The entity reports status established even when the handshake failed.

    Breaks the observation channel the oracle relies on for SAEF-PSK-05, -12 and -13
    (no security association may exist after a failed handshake).
    """

    name = "claims_established"
    requirements = ("SAEF-PSK-05", "SAEF-PSK-12", "SAEF-PSK-13")

    def reported_status(self, status: Status) -> Status:
        return Status.ESTABLISHED


class UsesHintAsIdentity(ReferenceFault):
    """Entity A sends the psk_identity_hint it received from B as its psk_identity
    (its KpsaId when B sends no hint).

    Breaks SAEF-PSK-11 (psk_identity equals the configured KpsaId, whatever the hint).
    """

    name = "uses_hint_as_identity"
    requirements = ("SAEF-PSK-11",)

    def psk_identity(self, kpsa_id: str, hint: str | None) -> str:
        return hint if hint else kpsa_id


class AcceptOldVersion(ReferenceFault):
    """Entity A or B accepts TLS 1.0 and 1.1, and puts TLS_PSK_WITH_AES_128_CBC_SHA (the
    one PSK suite usable below TLS 1.2) first in its offer / preference, so that an
    old-version handshake can actually complete.

    Breaks SAEF-PSK-10 and PARAMETERS.md section 1 (TLS 1.2 over TCP, TS-0003 10.2.1).
    """

    name = "accept_old_version"
    requirements = ("SAEF-PSK-10", "TS-0003 10.2.1 TLS 1.2")

    def oldest_version(self, role: Role) -> int:
        return TLS1_VERSION

    def suites(self, role: Role, codes: list[int]) -> list[int]:
        return [AES_128_CBC_SHA, *(code for code in codes if code != AES_128_CBC_SHA)]


class NoCookieExchange(ReferenceFault):
    """Entity B (DTLS) never sends a HelloVerifyRequest: it answers the first
    ClientHello at once with its ServerHello flight, whatever the sender's address.

    Breaks RFC 6347 4.2.1 (a DTLS server performs the cookie exchange, which keeps a
    spoofed source address from drawing a large flight: DoS amplification), required
    for DTLS by TS-0003 10.2.1 / PARAMETERS.md section 1.
    """

    name = "no_cookie_exchange"
    requirements = ("RFC 6347 4.2.1", "TS-0003 10.2.1 DTLS 1.2")

    def cookie_exchange(self) -> bool:
        return False


class NoRetransmission(ReferenceFault):
    """Entity A or B (DTLS) never retransmits a flight: DTLSv1_handle_timeout is never
    called and libssl's own timer is set beyond the case, so one lost datagram of a
    flight stalls the handshake until the deadline.

    Breaks RFC 6347 4.2.4 (a flight is resent when the retransmission timer expires),
    required for DTLS by TS-0003 10.2.1 / PARAMETERS.md section 1.
    """

    name = "no_retransmission"
    requirements = ("RFC 6347 4.2.4", "TS-0003 10.2.1 DTLS 1.2")

    def retransmit(self) -> bool:
        return False


class TearDownOnBadRecord(ReferenceFault):
    """Entity A or B (DTLS), once established, ends the association with an alert when
    a received application-data record fails decryption or repeats one already seen,
    instead of silently discarding that record. The alert is libssl's close_notify (its
    API cannot send another alert after the handshake); then nothing more is echoed.

    Breaks RFC 6347 4.1.2.7 (invalid records are silently discarded, the association
    is kept) and 4.1.2.6 (replayed records are discarded), so a single forged or
    replayed datagram would be a denial of service.
    """

    name = "tear_down_on_bad_record"
    requirements = ("RFC 6347 4.1.2.7", "RFC 6347 4.1.2.6")

    def tear_down_on_bad_record(self) -> bool:
        return True


class StrictRecordOrder(ReferenceFault):
    """Entity A or B (DTLS) takes any record whose (epoch, sequence_number) is not above
    all it has seen for a replay and abandons the handshake: a reordered or duplicated
    datagram, which UDP delivers routinely, kills the association attempt.

    Breaks RFC 6347 4.1.2.6 (the replay window exists so reordering is tolerated) and
    4.2.2 (out-of-order handshake messages are queued or discarded, not fatal).
    """

    name = "strict_record_order"
    requirements = ("RFC 6347 4.1.2.6", "RFC 6347 4.2.2", "TS-0003 10.2.1 DTLS 1.2")

    def strict_record_order(self) -> bool:
        return True


class IgnoresHelloVerifyRequest(ReferenceFault):
    """Entity A (DTLS) does not implement the cookie exchange: it drops a
    HelloVerifyRequest and keeps resending its cookieless ClientHello, so it can never
    associate with a server that protects itself against amplification.

    Breaks RFC 6347 4.2.1 (the client MUST repeat its ClientHello with the cookie).
    """

    name = "ignores_hello_verify_request"
    requirements = ("RFC 6347 4.2.1", "TS-0003 10.2.1 DTLS 1.2")

    def ignore_hello_verify_request(self) -> bool:
        return True


FAULT_CLASSES: dict[str, type[ReferenceFault]] = {
    cls.name: cls
    for cls in (
        WrongPskIdentity,
        WrongKey,
        AcceptAnyIdentity,
        OfferNonProfileSuite,
        NoMandatorySuite,
        IgnorePeerIdentity,
        NoSni,
        SilentAbort,
        ClaimsEstablished,
        UsesHintAsIdentity,
        AcceptOldVersion,
        NoCookieExchange,
        NoRetransmission,
        TearDownOnBadRecord,
        StrictRecordOrder,
        IgnoresHelloVerifyRequest,
    )
}

REFERENCE_FAULTS: dict[str, str] = {
    name: " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
    for name, cls in FAULT_CLASSES.items()
}
"""Fault name -> its one-line description (for the CLI and the report)."""


class FaultSet(ReferenceFault):
    """The active mutants, applied in the order given (no fault: the conformant path)."""

    def __init__(self, names: tuple[str, ...] | list[str] = ()) -> None:
        unknown = [name for name in names if name not in FAULT_CLASSES]
        if unknown:
            raise ValueError(
                f"unknown reference fault(s) {', '.join(unknown)}; "
                f"valid: {', '.join(sorted(FAULT_CLASSES))}"
            )
        self.names = tuple(dict.fromkeys(names))
        self._faults = [FAULT_CLASSES[name]() for name in self.names]

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def psk_identity(self, kpsa_id: str, hint: str | None) -> str:
        for fault in self._faults:
            kpsa_id = fault.psk_identity(kpsa_id, hint)
        return kpsa_id

    def oldest_version(self, role: Role) -> int:
        return min((f.oldest_version(role) for f in self._faults), default=TLS1_2_VERSION)

    def server_name(self, host_name: str | None) -> str | None:
        for fault in self._faults:
            host_name = fault.server_name(host_name)
        return host_name

    def kpsa_key(self, role: Role, key: bytes) -> bytes:
        for fault in self._faults:
            key = fault.kpsa_key(role, key)
        return key

    def suites(self, role: Role, codes: list[int]) -> list[int]:
        for fault in self._faults:
            codes = fault.suites(role, codes)
        return codes

    def bound_identity(self, role: Role, configured: str, presented: str | None) -> str:
        for fault in self._faults:
            configured = fault.bound_identity(role, configured, presented)
        return configured

    def send_alert_on_failure(self) -> bool:
        return all(fault.send_alert_on_failure() for fault in self._faults)

    def retransmit(self) -> bool:
        return all(fault.retransmit() for fault in self._faults)

    def tear_down_on_bad_record(self) -> bool:
        return any(fault.tear_down_on_bad_record() for fault in self._faults)

    def cookie_exchange(self) -> bool:
        return all(fault.cookie_exchange() for fault in self._faults)

    def strict_record_order(self) -> bool:
        return any(fault.strict_record_order() for fault in self._faults)

    def ignore_hello_verify_request(self) -> bool:
        return any(fault.ignore_hello_verify_request() for fault in self._faults)

    def reported_status(self, status: Status) -> Status:
        for fault in self._faults:
            status = fault.reported_status(status)
        return status

    def unknown_identity(
        self, psk_identity: bytes, authorized: tuple[AuthorizedEntity, ...]
    ) -> AuthorizedEntity | None:
        for fault in self._faults:
            entry = fault.unknown_identity(psk_identity, authorized)
            if entry is not None:
                return entry
        return None
