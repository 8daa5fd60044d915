"""Milenage (3GPP TS 35.206) with the AUTN and AUTS formats of TS 33.102 6.3.

GBA bootstrapping (TS 33.220) runs UMTS AKA inside HTTP Digest: the BSF fetches an
authentication vector made by Milenage in the HSS and the UICC answers with RES, or with
AUTS when its sequence number check fails. The harness plays both the network and the
UICC side, so it needs the algorithm itself, checked against the published test data of
TS 35.207 and TS 35.208 (vectors/gba_milenage.json) and live against osmo-auc-gen.

The kernel is AES-128 (Rijndael with a 128-bit block, as TS 35.206 fixes it), taken from
``cryptography``; the constants c1..c5 and rotations r1..r5 are TS 35.206's defaults
(an operator may change them; the suite uses the defaults, as every published vector does).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from . import GbaInputError, octets

K_OCTETS = 16
OP_OCTETS = 16
RAND_OCTETS = 16
SQN_OCTETS = 6
AMF_OCTETS = 2
MAC_OCTETS = 8
RES_OCTETS = 8
AK_OCTETS = 6
AUTN_OCTETS = SQN_OCTETS + AMF_OCTETS + MAC_OCTETS
AUTS_OCTETS = SQN_OCTETS + MAC_OCTETS

# TS 35.206 4.1: rotations in bits and the 128-bit constants c1..c5.
R1, R2, R3, R4, R5 = 64, 0, 32, 64, 96
C1 = bytes(16)
C2 = bytes(15) + b"\x01"
C3 = bytes(15) + b"\x02"
C4 = bytes(15) + b"\x04"
C5 = bytes(15) + b"\x08"

AMF_RESYNC = bytes(AMF_OCTETS)
"""TS 33.102 6.3.3: MAC-S in AUTS is f1* over a dummy AMF of all zeros."""


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _rot(x: bytes, bits: int) -> bytes:
    """TS 35.206 rot(x, r): cyclic left rotation by r bits (all r are multiples of 8)."""
    n = bits // 8
    return x[n:] + x[:n]


def _aes(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - one block
    return encryptor.update(block) + encryptor.finalize()


def opc_from_op(k: bytes, op: bytes) -> bytes:
    """OPc = OP xor E_K(OP) (TS 35.206 4.1): the per-subscriber value a UICC stores."""
    k = octets("K", k, K_OCTETS)
    op = octets("OP", op, OP_OCTETS)
    return _xor(_aes(k, op), op)


@dataclass(frozen=True)
class F2345:
    """The outputs of f2..f5 for one RAND: RES (XRES on the network side), CK, IK, AK."""

    res: bytes
    ck: bytes
    ik: bytes
    ak: bytes


class Milenage:
    """Milenage for one subscriber (K, OPc); every function takes its TS 35.206 inputs."""

    def __init__(self, k: bytes, opc: bytes) -> None:
        self.k = octets("K", k, K_OCTETS)
        self.opc = octets("OPc", opc, OP_OCTETS)

    @classmethod
    def from_op(cls, k: bytes, op: bytes) -> Milenage:
        """The subscriber as the operator provisions it: OPc computed from OP."""
        return cls(k, opc_from_op(k, op))

    def _temp(self, rand: bytes) -> bytes:
        return _aes(self.k, _xor(octets("RAND", rand, RAND_OCTETS), self.opc))

    def _out1(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        sqn = octets("SQN", sqn, SQN_OCTETS)
        amf = octets("AMF", amf, AMF_OCTETS)
        in1 = sqn + amf + sqn + amf
        block = _xor(_xor(self._temp(rand), _rot(_xor(in1, self.opc), R1)), C1)
        return _xor(_aes(self.k, block), self.opc)

    def _out(self, rand: bytes, rotation: int, constant: bytes) -> bytes:
        block = _xor(_rot(_xor(self._temp(rand), self.opc), rotation), constant)
        return _xor(_aes(self.k, block), self.opc)

    def f1(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        """MAC-A, the network authentication code carried in AUTN."""
        return self._out1(rand, sqn, amf)[:MAC_OCTETS]

    def f1star(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        """MAC-S, the resynchronisation code carried in AUTS."""
        return self._out1(rand, sqn, amf)[MAC_OCTETS:]

    def f2(self, rand: bytes) -> bytes:
        """RES / XRES (64 bits, the TS 35.206 length)."""
        return self._out(rand, R2, C2)[8:16]

    def f3(self, rand: bytes) -> bytes:
        """CK."""
        return self._out(rand, R3, C3)

    def f4(self, rand: bytes) -> bytes:
        """IK."""
        return self._out(rand, R4, C4)

    def f5(self, rand: bytes) -> bytes:
        """AK, which conceals SQN in AUTN."""
        return self._out(rand, R2, C2)[:AK_OCTETS]

    def f5star(self, rand: bytes) -> bytes:
        """AK*, which conceals SQN_MS in AUTS."""
        return self._out(rand, R5, C5)[:AK_OCTETS]

    def f2345(self, rand: bytes) -> F2345:
        """RES, CK, IK and AK in one call, as an HSS or a UICC uses them."""
        out2 = self._out(rand, R2, C2)
        return F2345(res=out2[8:16], ck=self.f3(rand), ik=self.f4(rand), ak=out2[:AK_OCTETS])


def build_autn(sqn: bytes, ak: bytes, amf: bytes, mac_a: bytes) -> bytes:
    """AUTN = (SQN xor AK) || AMF || MAC-A (TS 33.102 6.3.2)."""
    sqn = octets("SQN", sqn, SQN_OCTETS)
    ak = octets("AK", ak, AK_OCTETS)
    amf = octets("AMF", amf, AMF_OCTETS)
    mac_a = octets("MAC-A", mac_a, MAC_OCTETS)
    return _xor(sqn, ak) + amf + mac_a


@dataclass(frozen=True)
class Autn:
    """The three fields of AUTN as received (SQN still concealed by AK)."""

    sqn_xor_ak: bytes
    amf: bytes
    mac_a: bytes


def split_autn(autn: bytes) -> Autn:
    """AUTN's fields; the length is the only thing checkable without K."""
    autn = octets("AUTN", autn, AUTN_OCTETS)
    return Autn(autn[:SQN_OCTETS], autn[SQN_OCTETS : SQN_OCTETS + AMF_OCTETS], autn[-MAC_OCTETS:])


def build_auts(milenage: Milenage, rand: bytes, sqn_ms: bytes) -> bytes:
    """AUTS = (SQN_MS xor AK*) || MAC-S, MAC-S = f1*(SQN_MS, RAND, AMF = 0000) (TS 33.102 6.3.3)."""
    sqn_ms = octets("SQN_MS", sqn_ms, SQN_OCTETS)
    ak_star = milenage.f5star(rand)
    return _xor(sqn_ms, ak_star) + milenage.f1star(rand, sqn_ms, AMF_RESYNC)


class AutsError(GbaInputError):
    """AUTS whose MAC-S does not verify: the network must not resynchronise on it."""


def recover_sqn_ms(milenage: Milenage, rand: bytes, auts: bytes) -> bytes:
    """SQN_MS from AUTS after checking MAC-S (TS 33.102 6.3.5), or AutsError.

    The HSS calls this with the RAND of the vector the UICC rejected; a wrong RAND, a
    wrong K or a forged AUTS all fail the MAC-S check, never yield an SQN.
    """
    auts = octets("AUTS", auts, AUTS_OCTETS)
    sqn_ms = _xor(auts[:SQN_OCTETS], milenage.f5star(rand))
    expected = milenage.f1star(rand, sqn_ms, AMF_RESYNC)
    if not hmac.compare_digest(expected, auts[SQN_OCTETS:]):
        raise AutsError("AUTS", "MAC-S does not verify (wrong K, OPc or RAND, or a forged AUTS)")
    return sqn_ms
