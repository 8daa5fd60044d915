"""Certificates and signatures of the ECDHE_ECDSA handshake (RFC 8422, RFC 5246 7.4).

The engine does no PKI: whether a peer's chain is acceptable is the configured
verification callback's decision (the seeds' rules live in the harness's verifier, not
here). What the engine itself needs is here: the key of the leaf certificate, to check
the ServerKeyExchange and CertificateVerify signatures; ECDSA-SHA256 signing and
verifying over P-256 through ``cryptography`` (OpenSSL); and the decoded fields a
verifier and a report read, for the trace.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness.tls import alerts
from harness.tls.alerts import ProtocolError

# RFC 8422 section 5.1.1 / RFC 8446 4.2.7 NamedGroup, 5.1.2 ECPointFormat, RFC 5246
# 7.4.1.4.1 SignatureAndHashAlgorithm, 7.4.4 ClientCertificateType.
SECP256R1 = 23
UNCOMPRESSED = 0
NAMED_CURVE = 3
ECDSA_SECP256R1_SHA256 = (4, 3)  # hash sha256 (4), signature ecdsa (3)
ECDSA_SIGN = 64

# What the verification callback returns to refuse a chain: an alert (name or code, as
# fault files give either) and a reason for the report. None accepts.
CertificateRefusal = tuple[str | int, str]
CertificateCheck = Callable[[list[bytes]], CertificateRefusal | None]

PrivateKeyInput = ec.EllipticCurvePrivateKey | bytes


def load_private_key(value: PrivateKeyInput | None, what: str) -> ec.EllipticCurvePrivateKey:
    """The configured signing key, from a key object or PKCS #8 / SEC 1 DER or PEM bytes.

    Only a P-256 key signs ecdsa_secp256r1_sha256; anything else is a configuration
    error named by ``what`` (a harness error, not a verdict).
    """
    if value is None:
        raise ValueError(f"{what}: no private key configured for ECDHE_ECDSA")
    key: Any = value
    if isinstance(value, bytes):
        try:
            if value.lstrip().startswith(b"-----"):
                key = serialization.load_pem_private_key(value, None)
            else:
                key = serialization.load_der_private_key(value, None)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{what}: private key does not load: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"{what}: private key is not an ECDSA P-256 key")
    return key


def leaf_public_key(chain: list[bytes], who: str) -> ec.EllipticCurvePublicKey:
    """The P-256 key of the first certificate, which the peer's signatures must verify
    under. A leaf that does not parse is bad_certificate; another key type or curve is
    unsupported_certificate (RFC 5246 7.2.2): the engine cannot check its signatures."""
    if not chain:
        raise ProtocolError(alerts.HANDSHAKE_FAILURE, f"{who} sent no certificate")
    try:
        key = x509.load_der_x509_certificate(chain[0]).public_key()
    except ValueError as exc:
        raise ProtocolError(
            alerts.BAD_CERTIFICATE, f"{who} certificate does not parse: {exc}"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ProtocolError(
            alerts.UNSUPPORTED_CERTIFICATE, f"{who} certificate key is not ECDSA P-256"
        )
    return key


def sign(key: ec.EllipticCurvePrivateKey, data: bytes, corrupt: bool = False) -> bytes:
    """ECDSA-SHA256 over ``data``, DER-encoded (RFC 8422 section 5.4). ``corrupt`` (a
    fault) signs data with one bit flipped: a well-formed signature that must not verify."""
    if corrupt:
        data = data[:-1] + bytes([data[-1] ^ 0x01])
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def verify(key: ec.EllipticCurvePublicKey, data: bytes, signature: bytes, what: str) -> None:
    """decrypt_error if ``signature`` is not ECDSA-SHA256 over ``data`` (RFC 5246 7.2.2:
    "a handshake cryptographic operation failed, including being unable to correctly
    verify a signature")."""
    try:
        key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise ProtocolError(alerts.DECRYPT_ERROR, f"{what} signature does not verify") from exc


def spki_sha256(cert: x509.Certificate) -> bytes:
    """SHA-256 of the DER SubjectPublicKeyInfo: the RFC 6920 public key identifier's
    digest (TS-0003 10.1.2 Root of Trust; the truncated forms are its prefixes)."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()


def _names(cert: x509.Certificate) -> tuple[list[str], list[str], list[str]]:
    """(subject commonName values, SAN dNSName values, SAN URI values)."""
    cns = [str(a.value) for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return cns, [], []
    return (
        cns,
        san.get_values_for_type(x509.DNSName),
        san.get_values_for_type(x509.UniformResourceIdentifier),
    )


def _key_usage(cert: x509.Certificate) -> list[str] | None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    names = (
        "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
        "key_agreement", "key_cert_sign", "crl_sign",
    )  # fmt: skip
    out = [n for n in names if getattr(usage, n)]
    if usage.key_agreement:
        out += [n for n in ("encipher_only", "decipher_only") if getattr(usage, n)]
    return out


def _basic_constraints(cert: x509.Certificate) -> dict[str, Any] | None:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None
    return {"ca": bc.ca, "path_length": bc.path_length}


def describe_certificate(der: bytes) -> dict[str, Any]:
    """The fields the seeds' certificate rules read, decoded for the trace; never raises
    (a certificate that does not parse is described by its error and its bytes)."""
    out: dict[str, Any] = {"der": der.hex(), "length": len(der)}
    try:
        cert = x509.load_der_x509_certificate(der)
        cns, dns, uris = _names(cert)
        key = cert.public_key()
        out.update(
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            self_issued=cert.subject == cert.issuer,
            serial_number=format(cert.serial_number, "x"),
            not_before=cert.not_valid_before_utc.isoformat(),
            not_after=cert.not_valid_after_utc.isoformat(),
            subject_common_names=cns,
            san_dns_names=dns,
            san_uris=uris,
            public_key_type=type(key).__name__.lstrip("_"),
            public_key_curve=key.curve.name if isinstance(key, ec.EllipticCurvePublicKey) else None,
            public_key_sha256=spki_sha256(cert).hex(),
            signature_algorithm_oid=cert.signature_algorithm_oid.dotted_string,
            key_usage=_key_usage(cert),
            basic_constraints=_basic_constraints(cert),
        )
    except Exception as exc:  # noqa: BLE001 - a hostile peer's bytes: describe, never raise
        out["parse_error"] = f"{type(exc).__name__}: {exc}"
    return out
