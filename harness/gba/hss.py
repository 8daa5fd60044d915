"""An HSS and a UICC over Milenage: authentication vectors, SQN freshness, resynchronisation.

The BSF of GBA (TS 33.220 4.5.2) fetches an authentication vector (RAND, XRES, CK, IK,
AUTN) from the HSS; the UE's UICC checks AUTN and answers RES, or AUTS when SQN is not
fresh, and the HSS then resynchronises from AUTS. The harness needs both ends to play the
BSF against an SUT UE and the UE against an SUT BSF, and to build the mutants of issue 10
("a BSF that accepts a stale SQN or skips resynchronisation").

Sequence numbers follow TS 33.102 Annex C with the simplest profile it allows:
SQN = SEQ || IND with IND the low ``ind_bits`` bits (C.1.1, C.1.2; 5 bits as osmo-auc-gen
uses by default); the HSS increments SEQ per vector and cycles IND; the UICC keeps one
SEQ_MS per IND value (the array of C.2.1) and accepts SQN only if SEQ > SEQ_MS(IND) and
SEQ - max(SEQ_MS) <= delta (the optional limit of C.2.2; default 2**28, the value C.3.2
gives as an example). The time-based age limit of C.2.3 is not modelled.
"""

from __future__ import annotations

import enum
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from . import GbaInputError, octets
from .milenage import (
    AMF_OCTETS,
    RAND_OCTETS,
    SQN_OCTETS,
    Milenage,
    build_autn,
    build_auts,
    recover_sqn_ms,
    split_autn,
)

DEFAULT_IND_BITS = 5
DEFAULT_DELTA = 2**28
SQN_MAX = 2 ** (8 * SQN_OCTETS) - 1


def split_sqn(sqn: int, ind_bits: int = DEFAULT_IND_BITS) -> tuple[int, int]:
    """(SEQ, IND) of an SQN (TS 33.102 C.1.1)."""
    return sqn >> ind_bits, sqn & ((1 << ind_bits) - 1)


def join_sqn(seq: int, ind: int, ind_bits: int = DEFAULT_IND_BITS) -> int:
    """SQN = SEQ || IND; a SEQ that no longer fits the 48 bits is an error, not a wrap."""
    if not 0 <= ind < (1 << ind_bits):
        raise GbaInputError("IND", f"{ind} does not fit {ind_bits} bits")
    sqn = (seq << ind_bits) | ind
    if not 0 <= sqn <= SQN_MAX:
        raise GbaInputError("SQN", f"SEQ {seq} does not fit 48 bits with {ind_bits} IND bits")
    return sqn


def sqn_octets(sqn: int) -> bytes:
    """The 6-octet big-endian form that Milenage and AUTN carry."""
    if not 0 <= sqn <= SQN_MAX:
        raise GbaInputError("SQN", f"{sqn} is outside 0..2^48-1")
    return sqn.to_bytes(SQN_OCTETS, "big")


@dataclass(frozen=True)
class AuthenticationVector:
    """One UMTS AV as the HSS hands it to the BSF (TS 33.102 6.3.2), plus SQN/AK for reports."""

    rand: bytes
    xres: bytes
    ck: bytes
    ik: bytes
    autn: bytes
    sqn: bytes
    ak: bytes

    @property
    def ks(self) -> bytes:
        """Ks = CK || IK (TS 33.220 4.5.2 step 6)."""
        return self.ck + self.ik


@dataclass
class _Subscriber:
    milenage: Milenage
    amf: bytes
    seq_he: int
    ind: int = 0


class Hss:
    """The HSS/AuC of the subscribers the harness knows, keyed by IMPI.

    ``rand_source`` gives RAND (os.urandom by default); a test passes a fixed one so the
    vectors are reproducible. ``delta`` is the UICC's limit (C.2.2) as the HSS assumes it.
    """

    def __init__(
        self,
        *,
        ind_bits: int = DEFAULT_IND_BITS,
        delta: int = DEFAULT_DELTA,
        rand_source: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if not 0 <= ind_bits <= 16:
            raise GbaInputError("ind_bits", f"{ind_bits} is outside 0..16")
        if delta < 1:
            raise GbaInputError("delta", "must be at least 1")
        self.ind_bits = ind_bits
        self.delta = delta
        self._rand_source = rand_source
        self._subscribers: dict[str, _Subscriber] = {}

    def add_subscriber(
        self, impi: str, k: bytes, opc: bytes, *, amf: bytes = b"\x00\x00", seq_he: int = 0
    ) -> None:
        """Provision IMPI with K, OPc, the AMF its vectors carry and the starting SEQ_HE."""
        if not isinstance(impi, str) or not impi:
            raise GbaInputError("IMPI", "expected a non-empty string")
        amf = octets("AMF", amf, AMF_OCTETS)
        join_sqn(seq_he, 0, self.ind_bits)  # range check
        self._subscribers[impi] = _Subscriber(Milenage(k, opc), amf, seq_he)

    def _subscriber(self, impi: str) -> _Subscriber:
        try:
            return self._subscribers[impi]
        except KeyError:
            raise GbaInputError("IMPI", f"unknown subscriber {impi!r}") from None

    def seq_he(self, impi: str) -> int:
        """The HSS's SEQ counter for IMPI (the last SEQ used)."""
        return self._subscriber(impi).seq_he

    def generate_vector(self, impi: str, rand: bytes | None = None) -> AuthenticationVector:
        """The next AV for IMPI: SEQ_HE + 1 with the next IND, a fresh RAND unless one is given."""
        sub = self._subscriber(impi)
        if rand is None:
            rand = self._rand_source(RAND_OCTETS)
        rand = octets("RAND", rand, RAND_OCTETS)
        seq = sub.seq_he + 1
        sqn = sqn_octets(join_sqn(seq, sub.ind, self.ind_bits))
        sub.seq_he = seq
        sub.ind = (sub.ind + 1) % (1 << self.ind_bits)
        m = sub.milenage
        out = m.f2345(rand)
        autn = build_autn(sqn, out.ak, sub.amf, m.f1(rand, sqn, sub.amf))
        return AuthenticationVector(rand, out.res, out.ck, out.ik, autn, sqn, out.ak)

    def resynchronise(self, impi: str, rand: bytes, auts: bytes) -> bytes:
        """Check AUTS for the RAND the UICC rejected and resynchronise (TS 33.102 6.3.5).

        Returns SQN_MS; raises AutsError (and leaves the counter alone) when MAC-S fails.
        SEQ_HE is reset to SEQ_MS only when SEQ_HE is out of the UICC's range (6.3.5: "if
        SQN_HE is not in the correct range"): below SEQ_MS, or more than ``delta`` above
        it. A SEQ_HE already in range is kept, so a replayed AUTS never moves it back; the
        next generate_vector then carries a SEQ the UICC accepts.
        """
        sub = self._subscriber(impi)
        sqn_ms = recover_sqn_ms(sub.milenage, rand, auts)
        seq_ms, _ind = split_sqn(int.from_bytes(sqn_ms, "big"), self.ind_bits)
        if sub.seq_he < seq_ms or sub.seq_he + 1 - seq_ms > self.delta:
            sub.seq_he = seq_ms
        return sqn_ms


class AkaStatus(enum.Enum):
    """What the UICC answers to (RAND, AUTN) (TS 33.102 6.3.3)."""

    SUCCESS = "success"
    SYNC_FAILURE = "sync_failure"
    MAC_FAILURE = "mac_failure"


@dataclass(frozen=True)
class UiccAnswer:
    """RES, CK, IK on success; AUTS on a synchronisation failure; nothing on a MAC failure."""

    status: AkaStatus
    res: bytes | None = None
    ck: bytes | None = None
    ik: bytes | None = None
    auts: bytes | None = None
    reason: str = ""

    @property
    def ks(self) -> bytes:
        """Ks = CK || IK, only after a successful authentication."""
        if self.ck is None or self.ik is None:
            raise GbaInputError("Ks", f"no Ks after {self.status.value}")
        return self.ck + self.ik


@dataclass
class Uicc:
    """The USIM side: K, OPc and the SEQ_MS array of TS 33.102 C.2.1."""

    k: bytes
    opc: bytes
    ind_bits: int = DEFAULT_IND_BITS
    delta: int = DEFAULT_DELTA
    seq_ms: list[int] = field(default_factory=list)
    highest_sqn: int = 0

    def __post_init__(self) -> None:
        self._milenage = Milenage(self.k, self.opc)
        if not 0 <= self.ind_bits <= 16:
            raise GbaInputError("ind_bits", f"{self.ind_bits} is outside 0..16")
        if self.delta < 1:
            raise GbaInputError("delta", "must be at least 1")
        size = 1 << self.ind_bits
        if not self.seq_ms:
            self.seq_ms = [0] * size
        elif len(self.seq_ms) != size:
            raise GbaInputError("seq_ms", f"expected {size} entries for {self.ind_bits} IND bits")

    def _fresh(self, sqn: int) -> str:
        """'' if SQN is acceptable, else why not (the reason a report quotes)."""
        seq, ind = split_sqn(sqn, self.ind_bits)
        if seq <= self.seq_ms[ind]:
            return f"SEQ {seq} not above SEQ_MS({ind}) = {self.seq_ms[ind]}"
        max_seq = max(self.seq_ms)
        if seq - max_seq > self.delta:
            return f"SEQ {seq} more than delta {self.delta} above SEQ_MS {max_seq}"
        return ""

    def authenticate(self, rand: bytes, autn: bytes) -> UiccAnswer:
        """Verify MAC-A, then SQN freshness; answer RES/CK/IK, AUTS, or a MAC failure."""
        rand = octets("RAND", rand, RAND_OCTETS)
        fields = split_autn(autn)
        m = self._milenage
        out = m.f2345(rand)
        sqn = bytes(a ^ b for a, b in zip(fields.sqn_xor_ak, out.ak, strict=True))
        if not hmac.compare_digest(m.f1(rand, sqn, fields.amf), fields.mac_a):
            return UiccAnswer(AkaStatus.MAC_FAILURE, reason="MAC-A does not verify")
        sqn_int = int.from_bytes(sqn, "big")
        why = self._fresh(sqn_int)
        if why:
            auts = build_auts(m, rand, sqn_octets(self.highest_sqn))
            return UiccAnswer(AkaStatus.SYNC_FAILURE, auts=auts, reason=why)
        seq, ind = split_sqn(sqn_int, self.ind_bits)
        self.seq_ms[ind] = seq
        if sqn_int > self.highest_sqn:
            self.highest_sqn = sqn_int
        return UiccAnswer(AkaStatus.SUCCESS, res=out.res, ck=out.ck, ik=out.ik)
