"""A reproducible test PKI: roots, intermediates, leaves, self-signed certificates, bad ones.

Profile (PARAMETERS.md section 6): X.509 v3, subject key id-ecPublicKey on secp256r1,
signatures ECDSA with SHA-256, leaves with keyUsage digitalSignature, names in the
subject commonName, subjectAltName dNSName or subjectAltName URI (the RFC 6920 ``ni``
URI of I-07 for self-signed certificates).

Determinism, so that ``vectors/certificate_cases.json`` is reproducible byte for byte:

* keys: the private scalar of the key labelled ``L`` is
  ``int(SHA-256("m2mconf test PKI v1|" || L)) mod (n - 1) + 1`` (SHA-384 for P-384),
  loaded with ``ec.derive_private_key``; the same label always gives the same key.
  These keys are public test material, never credentials;
* signatures: RFC 6979 deterministic ECDSA (``ecdsa_deterministic=True``);
* serial numbers, names and validity dates are fixed by the caller (``EPOCH`` based).

Every bad variant the issue lists is a parameter of ``issue`` (key usage, basic
constraints, curve, dates, names) or a post-processing step (``corrupt_signature``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.pki import rot

KEY_DOMAIN = b"m2mconf test PKI v1|"
# The validation time of every case unless a case says otherwise, and the validity window
# of every certificate that is meant to be current.
VALIDATION_TIME = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
NOT_BEFORE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
NOT_AFTER = dt.datetime(2035, 1, 1, tzinfo=dt.UTC)

_CURVES: dict[str, tuple[type[ec.EllipticCurve], int, type[hashes.HashAlgorithm]]] = {
    # name -> (curve, group order n, hash used to derive the scalar)
    "secp256r1": (
        ec.SECP256R1,
        0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
        hashes.SHA256,
    ),
    "secp384r1": (
        ec.SECP384R1,
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973,
        hashes.SHA384,
    ),
}

# keyUsage presets: a leaf signs (TLS CertificateVerify / ServerKeyExchange); a CA signs
# certificates; "key-agreement" is the wrong key usage of the issue's list.
KEY_USAGES: dict[str, dict[str, bool]] = {
    "leaf": {"digital_signature": True},
    "ca": {"key_cert_sign": True, "crl_sign": True},
    "key-agreement": {"key_agreement": True},
}


def key(label: str, curve: str = "secp256r1") -> ec.EllipticCurvePrivateKey:
    """The fixed test key called ``label`` on ``curve`` (see the module docstring)."""
    curve_class, order, hash_class = _CURVES[curve]
    h = hashlib.new(hash_class.name, KEY_DOMAIN + label.encode("utf-8")).digest()
    scalar = int.from_bytes(h, "big") % (order - 1) + 1
    return ec.derive_private_key(scalar, curve_class())


def name(common_name: str | None = None, organizational_unit: str | None = None) -> x509.Name:
    """An X.509 Name with an optional CN and OU, under a fixed O (RFC 5280 4.1.2.4)."""
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "m2mconf test PKI")]
    if organizational_unit is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, organizational_unit))
    if common_name is not None:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _key_usage(preset: str) -> x509.KeyUsage:
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
        ),
        False,
    )
    flags.update(KEY_USAGES[preset])
    return x509.KeyUsage(**flags, encipher_only=False, decipher_only=False)


@dataclass
class Issued:
    """A generated certificate with its private key (the key only for signing further)."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey
    der: bytes = field(init=False)

    def __post_init__(self) -> None:
        self.der = self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> str:
        """PEM text of the certificate (what the case files carry)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def root_of_trust(self) -> str:
        """I-07 Root of Trust of this certificate's key, as an ni URI."""
        return rot.key_identifier(self.certificate)


def issue(
    subject_key: ec.EllipticCurvePrivateKey,
    subject: x509.Name,
    *,
    serial: int,
    issuer: Issued | None = None,
    ca: bool = False,
    path_length: int | None = None,
    key_usage: str | None = None,
    dns_names: Sequence[str] = (),
    uris: Sequence[str] = (),
    emails: Sequence[str] = (),
    not_before: dt.datetime = NOT_BEFORE,
    not_after: dt.datetime = NOT_AFTER,
    basic_constraints: bool = True,
) -> Issued:
    """Issue one certificate; ``issuer=None`` makes it self-signed (issuer = subject).

    ``key_usage`` defaults to the CA preset for ``ca`` and the leaf preset otherwise;
    ``basic_constraints=False`` omits the extension (a CA without cA=TRUE is one of the
    broken-chain variants).
    """
    signer_key = subject_key if issuer is None else issuer.private_key
    issuer_name = subject if issuer is None else issuer.certificate.subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(subject_key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if basic_constraints:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
        )
    builder = builder.add_extension(
        _key_usage(key_usage or ("ca" if ca else "leaf")), critical=True
    )
    alt_names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
    alt_names += [x509.UniformResourceIdentifier(u) for u in uris]
    alt_names += [x509.RFC822Name(e) for e in emails]
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    builder = builder.add_extension(
        x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.private_key.public_key()),
            critical=False,
        )
    certificate = builder.sign(signer_key, hashes.SHA256(), ecdsa_deterministic=True)
    return Issued(certificate, subject_key)


def self_signed(
    label: str,
    *,
    serial: int,
    common_name: str | None = None,
    name_algorithm: str | None = "sha-256",
    name_key: ec.EllipticCurvePrivateKey | None = None,
    curve: str = "secp256r1",
    **kwargs: object,
) -> Issued:
    """A self-signed end-entity certificate whose SAN URI is the ni URI of a key hash.

    The URI names ``name_key``'s hash (default: the certificate's own key, the correct
    I-07 form); ``name_algorithm=None`` leaves the hash out of the name fields.
    """
    private = key(label, curve)
    uris = list(kwargs.pop("uris", ()))  # type: ignore[call-overload]
    if name_algorithm is not None:
        named = (name_key or private).public_key()
        uris.insert(0, rot.key_identifier(named, name_algorithm))
    return issue(private, name(common_name), serial=serial, uris=uris, **kwargs)  # type: ignore[arg-type]


def corrupt_signature(der: bytes) -> bytes:
    """The same certificate with one bit of its signature flipped.

    The last octet of a certificate's DER is the last octet of the ECDSA ``s`` INTEGER
    inside the signatureValue BIT STRING, so flipping its low bit keeps the DER valid
    (every parser still reads the certificate) while the signature no longer verifies.
    """
    return der[:-1] + bytes([der[-1] ^ 0x01])


def to_pem(der: bytes) -> str:
    """PEM text of DER certificate bytes (for corrupted certificates, which are not objects)."""
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()
