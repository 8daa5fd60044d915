"""The key exchange of a cipher suite, as a strategy the handshake state machines call.

The TLS 1.2 handshake in ``engine.py`` is the same for every suite the harness speaks; what
differs is what ServerKeyExchange and ClientKeyExchange carry and how the premaster secret
is formed. That part lives here, one class per key exchange, so the engine never asks
"is this DHE_PSK?" and a new key exchange is a new class plus a row in ``suites.py``.

One object per connection, made when the suite is known (server: on the ClientHello;
client: on the ServerHello). The calls, in handshake order::

    server                                        client
    ske = kx.server_key_exchange(hint)
                                                  kx.process_server_key_exchange(body)
                                                  cke, body = kx.client_key_exchange(id)
    cke = kx.decode_client_key_exchange(body)
    (the engine looks up the psk for cke.psk_identity)
    kx.accept_client_key_exchange(cke)
    premaster = kx.premaster(psk)                 premaster = kx.premaster(psk)

``premaster`` may be called more than once (the engine also forms the premaster of the
key the peer holds when a fault made ours wrong, to read the peer's encrypted alert), so
the ephemeral agreement is done once, in the exchange step, and kept.

A certificate-based exchange (``uses_certificates``: ECDHE_ECDSA) gets from the engine,
before ``server_key_exchange`` / ``process_server_key_exchange``, what its signature
covers and who signs or verifies it (``EcdheEcdsa.bind``); it takes no psk
(``uses_psk`` False: the server looks none up, ``premaster`` ignores its argument).

Finite-field DH runs in OpenSSL through ``cryptography`` (:class:`DhKeyPair`); the plain
``pow()`` of ``harness.tls.dh`` stays as the reference and the fallback.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dh as openssl_dh
from cryptography.hazmat.primitives.asymmetric import ec

from harness.tls import alerts, certificates, dh, keyschedule, messages
from harness.tls.alerts import ProtocolError
from harness.tls.messages import (
    ClientKeyExchange,
    EcdheClientKeyExchange,
    EcdheServerKeyExchange,
    ServerKeyExchange,
)

if TYPE_CHECKING:
    from harness.tls.suites import CipherSuite

Rng = Callable[[int], bytes]

# Finite-field Diffie-Hellman ---------------------------------------------------------------

_DH_KEY_AGREEMENT_OID = bytes.fromhex("2a864886f70d010301")  # PKCS #3 dhKeyAgreement


def _der(tag: int, value: bytes) -> bytes:
    length = len(value)
    if length < 0x80:
        return bytes([tag, length]) + value
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + value


def _der_integer(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _dh_private_key_info(p: int, g: int, x: int) -> bytes:
    """PKCS #8 PrivateKeyInfo (RFC 5208) of a PKCS #3 DH key that holds only x.

    Loading it makes OpenSSL compute the public value g^x mod p itself: this is how a
    private value drawn from the connection's rng gets into OpenSSL (the ``cryptography``
    numbers API wants the public value as well, which is the exponentiation to avoid).
    """
    algorithm = _der(
        0x30, _der(0x06, _DH_KEY_AGREEMENT_OID) + _der(0x30, _der_integer(p) + _der_integer(g))
    )
    return _der(0x30, _der_integer(0) + algorithm + _der(0x04, _der_integer(x)))


def _dh_public_key_info(p: int, g: int, y: int) -> bytes:
    """SubjectPublicKeyInfo (RFC 5280; RFC 3279 2.3.3) of a PKCS #3 DH public value.

    How a peer's value gets into OpenSSL: building it from ``DHParameterNumbers`` makes
    OpenSSL validate the group (a primality test of p, some 30 ms for the 1024-bit group
    libssl sends for AES-128 PSK suites) on every handshake; loaded from DER it is not.
    The engine has range-checked y itself (``dh.check_public``), as RFC 4279 asks.
    """
    algorithm = _der(
        0x30, _der(0x06, _DH_KEY_AGREEMENT_OID) + _der(0x30, _der_integer(p) + _der_integer(g))
    )
    return _der(0x30, algorithm + _der(0x03, b"\x00" + _der_integer(y)))


class DhKeyPair:
    """An ephemeral DH key: private x from the connection's rng, public y = g^x mod p.

    x is drawn exactly as ``dh.generate`` draws it, so a seeded rng gives the same wire
    bytes as before; only the exponentiations move to OpenSSL (about 8x faster than
    ``pow()`` for ffdhe2048). A group OpenSSL will not load (a server may send any p and
    g), or a peer value OpenSSL's own check refuses where RFC 4279 does not, falls back
    to ``pow()``, so what the engine accepts is unchanged.
    """

    def __init__(self, p: int, g: int, rng: Rng = os.urandom) -> None:
        self.p, self.g = p, g
        self.x = int.from_bytes(rng(dh.PRIVATE_BITS // 8), "big") | (1 << (dh.PRIVATE_BITS - 1))
        self._key: openssl_dh.DHPrivateKey | None = None
        try:
            key = serialization.load_der_private_key(_dh_private_key_info(p, g, self.x), None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            key = None
        if isinstance(key, openssl_dh.DHPrivateKey):
            self._key = key
            self.y = key.public_key().public_numbers().y
        else:
            self.y = pow(g, self.x, p)

    @property
    def backend(self) -> Literal["openssl", "pow"]:
        return "openssl" if self._key is not None else "pow"

    def shared_secret(self, peer_y: int) -> bytes:
        """Z = peer_y^x mod p as len(p) octets (RFC 4279 premasters strip leading zeros).

        The caller has range-checked ``peer_y`` (``dh.check_public``).
        """
        if self._key is not None:
            try:
                peer = serialization.load_der_public_key(
                    _dh_public_key_info(self.p, self.g, peer_y)
                )
                if not isinstance(peer, openssl_dh.DHPublicKey):
                    raise TypeError("not a DH public key")
                z = self._key.exchange(peer)
            except (ValueError, TypeError, UnsupportedAlgorithm):
                pass  # e.g. a peer value outside the subgroup OpenSSL knows: use pow()
            else:
                # OpenSSL may drop leading zero octets; the fixed-length form is the contract.
                return z.rjust(dh.byte_length(self.p), b"\x00")
        return dh.shared_secret(self.p, peer_y, self.x)


# The strategy -------------------------------------------------------------------------------


class KeyExchange(ABC):
    """One connection's key exchange, for whichever side the engine plays."""

    name: ClassVar[str]  # the key exchange as CipherSuite.key_exchange names it
    # ServerKeyExchange and ClientKeyExchange in their RFC 4279 section 3 form (DH values
    # after the PSK fields): how the trace decodes received messages.
    uses_dh: ClassVar[bool] = False
    # A client must refuse a ServerHelloDone that no ServerKeyExchange preceded.
    requires_server_key_exchange: ClassVar[bool] = False
    # The premaster is formed from a psk (the server looks one up for the psk_identity).
    uses_psk: ClassVar[bool] = True
    # Certificate-authenticated (RFC 8422): the engine adds Certificate, the signed
    # ServerKeyExchange's inputs (``bind``), CertificateRequest and CertificateVerify.
    uses_certificates: ClassVar[bool] = False

    def __init__(self, rng: Rng = os.urandom, dh_group: str = "ffdhe2048") -> None:
        self.rng = rng
        self.dh_group = dh_group  # the group a server offers; a client takes the server's

    # -- server side ------------------------------------------------------------------------

    @abstractmethod
    def server_key_exchange(self, psk_identity_hint: bytes | None) -> ServerKeyExchange | None:
        """The ServerKeyExchange to send, or None to send none."""

    @abstractmethod
    def decode_client_key_exchange(self, body: bytes) -> ClientKeyExchange:
        """Parse the ClientKeyExchange (decode_error if malformed); no key agreement yet,
        so an unknown psk_identity is refused before any value in it is judged."""

    @abstractmethod
    def accept_client_key_exchange(self, cke: ClientKeyExchange) -> None:
        """Check the client's values and complete the agreement (server side)."""

    # -- client side ------------------------------------------------------------------------

    @abstractmethod
    def process_server_key_exchange(self, body: bytes) -> ServerKeyExchange:
        """Parse and check a received ServerKeyExchange; keep what the exchange needs."""

    @abstractmethod
    def client_key_exchange(self, psk_identity: bytes) -> tuple[ClientKeyExchange, bytes]:
        """(ClientKeyExchange, its encoded body), completing the agreement (client side)."""

    # -- both -------------------------------------------------------------------------------

    @abstractmethod
    def premaster(self, psk: bytes) -> bytes:
        """The premaster secret for ``psk``, once the exchange step is done."""


class Psk(KeyExchange):
    """RFC 4279 section 2: the psk alone; other_secret is N zero octets, N = len(psk)."""

    name = "PSK"

    def server_key_exchange(self, psk_identity_hint: bytes | None) -> ServerKeyExchange | None:
        # Section 2: sent only to carry a hint.
        return ServerKeyExchange(psk_identity_hint) if psk_identity_hint is not None else None

    def decode_client_key_exchange(self, body: bytes) -> ClientKeyExchange:
        return messages.decode_client_key_exchange(body, False)

    def accept_client_key_exchange(self, cke: ClientKeyExchange) -> None:
        pass  # nothing but the psk_identity, which the engine has looked up

    def process_server_key_exchange(self, body: bytes) -> ServerKeyExchange:
        return messages.decode_server_key_exchange(body, False)

    def client_key_exchange(self, psk_identity: bytes) -> tuple[ClientKeyExchange, bytes]:
        cke = ClientKeyExchange(psk_identity)
        return cke, messages.encode_client_key_exchange(cke)

    def premaster(self, psk: bytes) -> bytes:
        return keyschedule.psk_premaster(psk)


class DhePsk(KeyExchange):
    """RFC 4279 section 3: an unsigned ephemeral DH exchange, authenticated by the psk.

    premaster = uint16(len Z) || Z || uint16(len psk) || psk, Z with leading zero octets
    stripped (RFC 5246 section 8.1.2).
    """

    name = "DHE_PSK"
    uses_dh = True
    requires_server_key_exchange = True

    def __init__(self, rng: Rng = os.urandom, dh_group: str = "ffdhe2048") -> None:
        super().__init__(rng, dh_group)
        self._key: DhKeyPair | None = None
        self._server_group: tuple[int, int] | None = None  # client: the server's p, g
        self._peer_ys: int | None = None  # client: the server's dh_Ys
        self._z: bytes | None = None

    @property
    def shared_secret(self) -> bytes | None:
        """Z as len(p) octets, once agreed."""
        return self._z

    def server_key_exchange(self, psk_identity_hint: bytes | None) -> ServerKeyExchange:
        p, g = dh.GROUPS[self.dh_group]
        self._key = DhKeyPair(p, g, self.rng)
        return ServerKeyExchange(psk_identity_hint or b"", p, g, self._key.y)

    def decode_client_key_exchange(self, body: bytes) -> ClientKeyExchange:
        return messages.decode_client_key_exchange(body, True)

    def accept_client_key_exchange(self, cke: ClientKeyExchange) -> None:
        assert self._key is not None and cke.dh_yc is not None
        dh.check_public(self._key.p, cke.dh_yc, "dh_Yc")
        self._z = self._key.shared_secret(cke.dh_yc)

    def process_server_key_exchange(self, body: bytes) -> ServerKeyExchange:
        ske = messages.decode_server_key_exchange(body, True)
        assert ske.dh_p is not None and ske.dh_g is not None and ske.dh_ys is not None
        p = ske.dh_p
        if p.bit_length() < 1024 or p % 2 == 0:
            raise ProtocolError(alerts.INSUFFICIENT_SECURITY, f"DH prime of {p.bit_length()} bits")
        if not 1 < ske.dh_g < p - 1:
            raise ProtocolError(alerts.ILLEGAL_PARAMETER, "DH generator out of range")
        dh.check_public(p, ske.dh_ys, "dh_Ys")
        self._server_group = (p, ske.dh_g)
        self._peer_ys = ske.dh_ys
        return ske

    def client_key_exchange(self, psk_identity: bytes) -> tuple[ClientKeyExchange, bytes]:
        assert self._server_group is not None and self._peer_ys is not None
        p, g = self._server_group
        self._key = DhKeyPair(p, g, self.rng)
        cke = ClientKeyExchange(psk_identity, self._key.y)
        # dh_Yc padded to the size of p, as OpenSSL and GnuTLS send it.
        body = messages.encode_client_key_exchange(cke, dh.byte_length(p))
        self._z = self._key.shared_secret(self._peer_ys)
        return cke, body

    def premaster(self, psk: bytes) -> bytes:
        if self._z is None:
            raise RuntimeError("DHE_PSK premaster before the DH exchange")
        return keyschedule.dhe_psk_premaster(self._z, psk)


class EcdheEcdsa(KeyExchange):
    """RFC 8422: ephemeral ECDH over secp256r1, the server's parameters signed with
    ECDSA-SHA256 under the key of its certificate; premaster = the x-coordinate of the
    shared point (section 5.10), no psk (``premaster`` ignores its argument).

    Only secp256r1 with uncompressed points and ecdsa_secp256r1_sha256 (the oneM2M
    certificate profile); ECDH and ECDSA run in OpenSSL through ``cryptography``.
    Certificates, CertificateRequest and CertificateVerify are the engine's (they are
    authentication, not key exchange); what the signed ServerKeyExchange needs the
    engine hands over with :meth:`bind`.
    """

    name = "ECDHE_ECDSA"
    uses_psk = False
    uses_certificates = True
    requires_server_key_exchange = True

    def __init__(self, rng: Rng = os.urandom, dh_group: str = "ffdhe2048") -> None:
        super().__init__(rng, dh_group)
        self._key: ec.EllipticCurvePrivateKey | None = None
        self._peer_point: bytes | None = None  # client: the server's ECPoint
        self._peer_ecdh: ec.EllipticCurvePublicKey | None = None
        self._z: bytes | None = None
        self._client_random = b""
        self._server_random = b""
        self._signing_key: ec.EllipticCurvePrivateKey | None = None  # server
        self._peer_key: ec.EllipticCurvePublicKey | None = None  # client: server's leaf key
        self._corrupt_signature = False

    def bind(
        self,
        client_random: bytes,
        server_random: bytes,
        signing_key: ec.EllipticCurvePrivateKey | None = None,
        peer_key: ec.EllipticCurvePublicKey | None = None,
        corrupt_signature: bool = False,
    ) -> None:
        """What the signature covers and who signs it (server) or verifies it (client)."""
        self._client_random, self._server_random = client_random, server_random
        self._signing_key, self._peer_key = signing_key, peer_key
        self._corrupt_signature = corrupt_signature

    @property
    def shared_secret(self) -> bytes | None:
        """The ECDH x-coordinate (32 octets), once agreed."""
        return self._z

    def _ephemeral(self) -> ec.EllipticCurvePrivateKey:
        """A private scalar from the connection's rng (a seeded rng gives seeded bytes)."""
        d = int.from_bytes(self.rng(32), "big") % (_P256_ORDER - 1) + 1
        return ec.derive_private_key(d, ec.SECP256R1())

    @staticmethod
    def _point(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    @staticmethod
    def _peer_public(point: bytes, what: str) -> ec.EllipticCurvePublicKey:
        """RFC 8422 5.1.2 / 5.4: uncompressed only, and on the curve (OpenSSL checks)."""
        if len(point) != 65 or point[0] != 0x04:
            raise ProtocolError(
                alerts.ILLEGAL_PARAMETER, f"{what} is not an uncompressed P-256 point"
            )
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        except ValueError as exc:
            raise ProtocolError(alerts.ILLEGAL_PARAMETER, f"{what} is not on P-256") from exc

    def _signed(self, params: bytes) -> bytes:
        return self._client_random + self._server_random + params

    # -- server -------------------------------------------------------------------------

    def server_key_exchange(self, psk_identity_hint: bytes | None) -> EcdheServerKeyExchange:
        if self._signing_key is None:
            raise RuntimeError("ECDHE_ECDSA ServerKeyExchange before bind()")
        self._key = self._ephemeral()
        ske = EcdheServerKeyExchange(
            certificates.NAMED_CURVE,
            certificates.SECP256R1,
            self._point(self._key),
            certificates.ECDSA_SECP256R1_SHA256,
            b"",
        )
        ske.signature = certificates.sign(
            self._signing_key, self._signed(ske.params), self._corrupt_signature
        )
        return ske

    def decode_client_key_exchange(self, body: bytes) -> EcdheClientKeyExchange:  # type: ignore[override]
        return messages.decode_ecdhe_client_key_exchange(body)

    def accept_client_key_exchange(self, cke: EcdheClientKeyExchange) -> None:  # type: ignore[override]
        assert self._key is not None
        peer = self._peer_public(cke.point, "ClientKeyExchange ECPoint")
        self._z = self._key.exchange(ec.ECDH(), peer)

    # -- client -------------------------------------------------------------------------

    def process_server_key_exchange(self, body: bytes) -> EcdheServerKeyExchange:  # type: ignore[override]
        ske = messages.decode_ecdhe_server_key_exchange(body)
        if ske.curve_type != certificates.NAMED_CURVE:
            raise ProtocolError(
                alerts.ILLEGAL_PARAMETER, f"ECParameters curve_type {ske.curve_type} (not named)"
            )
        if ske.named_curve != certificates.SECP256R1:
            raise ProtocolError(
                alerts.ILLEGAL_PARAMETER, f"server chose curve {ske.named_curve}, not offered"
            )
        if ske.signature_algorithm != certificates.ECDSA_SECP256R1_SHA256:
            raise ProtocolError(
                alerts.ILLEGAL_PARAMETER,
                f"ServerKeyExchange signed with {ske.signature_algorithm}, not offered",
            )
        peer = self._peer_public(ske.point, "ServerKeyExchange ECPoint")
        if self._peer_key is None:
            raise RuntimeError("ECDHE_ECDSA ServerKeyExchange before bind()")
        certificates.verify(
            self._peer_key, self._signed(ske.params), ske.signature, "ServerKeyExchange"
        )
        self._peer_point = ske.point
        self._peer_ecdh = peer
        return ske

    def client_key_exchange(self, psk_identity: bytes) -> tuple[EcdheClientKeyExchange, bytes]:  # type: ignore[override]
        assert self._peer_point is not None
        self._key = self._ephemeral()
        cke = EcdheClientKeyExchange(self._point(self._key))
        assert self._peer_ecdh is not None
        self._z = self._key.exchange(ec.ECDH(), self._peer_ecdh)
        return cke, cke.encode()

    def premaster(self, psk: bytes) -> bytes:
        """RFC 8422 5.10: the x-coordinate, all 32 octets (leading zeros kept)."""
        if self._z is None:
            raise RuntimeError("ECDHE_ECDSA premaster before the ECDH exchange")
        return self._z


# The order n of the P-256 base point (SEC 2 / FIPS 186-4 D.1.2.3).
_P256_ORDER = int("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16)


# Next key exchanges ---------------------------------------------------------------------------
#
# Each is a KeyExchange subclass registered below under the name its suites.py rows use;
# the engine needs no other change unless the exchange adds handshake messages
# (ECDHE_ECDSA did: Certificate, CertificateRequest, CertificateVerify, in the engine).
#
# - GBA PSK (TS-0003 GBA-based SAEF, TS 33.222 section 5.4): the RFC 4279 PSK exchange with
#   the server's psk_identity_hint "3GPP-bootstrapping" and psk_identity = B-TID; psk =
#   Ks_(ext)_NAF. Likely a Psk subclass that fixes the hint; the key derivation belongs to
#   the framework, not here.

KEY_EXCHANGES: dict[str, type[KeyExchange]] = {
    Psk.name: Psk,
    DhePsk.name: DhePsk,
    EcdheEcdsa.name: EcdheEcdsa,
    # "GBA_PSK": GbaPsk,          (TS 33.222; see above)
}


def key_exchange_for(suite: CipherSuite | None) -> type[KeyExchange]:
    """The strategy of a suite. ``None`` (a fault made the server select a suite the
    harness does not implement): behave as a PSK server; the ClientKeyExchange is then
    refused with internal_error, as before."""
    return suite.key_exchange_class if suite is not None else Psk
