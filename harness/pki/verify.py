"""The seeds' certificate verification rules as the harness's own verifier.

Seed 001 clause 8.1.1.2.2, with spec-profile I-07 (Root of Trust = SHA-256 over the DER
SubjectPublicKeyInfo, an RFC 6920 ni URI), I-08 (a Certificate Name is the subject
commonName, a subjectAltName dNSName or a subjectAltName URI, compared exactly, no
wildcards) and I-13 (sha-256, sha-256-120 and sha-256-128 identifiers, matched with the
trusted identifier's algorithm). This is deliberately not a generic PKI check: there is no
trust store, no hostname matching and no purpose check, only the association
configuration's otherEntityCertificateName and otherEntityRootOfTrust (PARAM-ACF-06/07,
PARAM-ACI-06/07) against the chain received in the handshake (SAEF-CERT-05).

Rules, in the order they are checked (the verdict names the first that fails):

self-signed (one certificate whose issuer equals its subject):
  name-equals-root-of-trust  SAEF-CERT-06  configured Name and RoT are identical strings
  name-present               SAEF-CERT-07  the Name is in an allowed name field
  key-hash-equals-root-of-trust SAEF-CERT-08  the certificate's key hash matches the RoT
  certificate-profile        PARAMETERS.md 6  P-256 key, ECDSA-SHA256, keyUsage
  self-signature-valid       SAEF-CERT-04/11  its own signature verifies, within validity

chained (anything else):
  name-present               SAEF-CERT-09  the Name is in an allowed field of the leaf
  certificate-profile        PARAMETERS.md 6  on every certificate up to the anchor
  chain-to-root-of-trust     SAEF-CERT-10  some certificate above the leaf has the RoT key
  chain-valid                SAEF-CERT-10  leaf up to that anchor: each certificate is
                             issued by the next (issuer = subject, ECDSA-SHA256 signature
                             verifies), every issuer has basicConstraints cA=TRUE, keyUsage
                             keyCertSign if keyUsage is present and a pathLenConstraint not
                             exceeded, every certificate (anchor included) is within its
                             validity at the validation time, no unknown critical extension.
                             The anchor's own signature is not checked: it is trusted by
                             its key hash, not by a signature.

What "valid" means is not given by the seeds (REQUIREMENTS.md SAEF-CERT-10, Annex D Q7):
the choice above is the suite's reading, documented in docs/certificates.md together with
the rival readings that the case file carries as flags.

Every rule also applies to the certificate-based SBF (SBF-CERT-06, SBF-CERT-07).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from harness.pki import rot

SELF_SIGNED = "self-signed"
CHAINED = "chained"

# rule -> requirement ids (the SBF row applies each rule to Enrolee and MEF as well).
RULES: dict[str, str] = {
    "certificate-decodes": "SAEF-CERT-05; SBF-CERT-06",
    "name-equals-root-of-trust": "SAEF-CERT-06; SBF-CERT-06",
    "name-present": "SAEF-CERT-07; SBF-CERT-06",
    "name-present-chained": "SAEF-CERT-09; SBF-CERT-06",
    "key-hash-equals-root-of-trust": "SAEF-CERT-08; SBF-CERT-06",
    "certificate-profile": "PARAMETERS.md 6 (TS-0003 10.1); SAEF-CERT-11; SBF-CERT-07",
    "self-signature-valid": "SAEF-CERT-04; SAEF-CERT-11; SBF-CERT-07",
    "chain-to-root-of-trust": "SAEF-CERT-10; SBF-CERT-06",
    "chain-valid": "SAEF-CERT-10; SBF-CERT-06",
}


@dataclass(frozen=True)
class TrustedInputs:
    """The association (or bootstrap instruction) configuration about the other entity."""

    other_entity_certificate_name: str
    other_entity_root_of_trust: str


@dataclass(frozen=True)
class CertificateVerdict:
    """Accepted, or the first rule that failed, its requirement ids and why."""

    accepted: bool
    path: str  # SELF_SIGNED, CHAINED, or "" when the chain did not decode
    rule: str | None = None
    requirement: str | None = None
    reason: str = ""
    alert: str | None = None  # RFC 5246 alert to refuse with (None when accepted)
    name_field: str | None = None  # where the Certificate Name was found
    anchor_index: int | None = None  # chain element whose key is the Root of Trust

    def __str__(self) -> str:
        if self.accepted:
            return f"accepted ({self.path}): {self.reason}"
        return f"refused by {self.rule} [{self.requirement}] ({self.path}): {self.reason}"


class _Refusal(Exception):
    def __init__(self, rule: str, reason: str, alert: str | None = None) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason
        self.alert = alert or ALERTS.get(rule, "bad_certificate")


# The RFC 5246 7.2.2 alert a refusing verifier sends (the seeds name none; the verdict's
# rule, not the alert, is what the suite judges). Expiry inside chain-valid and
# self-signature-valid is certificate_expired ("expired or is not currently valid").
ALERTS: dict[str, str] = {
    "certificate-profile": "unsupported_certificate",
    "chain-to-root-of-trust": "unknown_ca",
}


@dataclass(frozen=True)
class _Trusted:
    name: str
    text: str  # otherEntityRootOfTrust as configured
    identifier: rot.PublicKeyIdentifier | None  # ni URI form
    spki: bytes | None  # the public key itself ("or hash thereof": the key form)

    def matches(self, certificate: x509.Certificate) -> bool:
        if self.identifier is not None:
            return rot.matches(self.identifier, certificate)
        return rot.spki_der(certificate) == self.spki


def _parse_trusted(trusted: TrustedInputs) -> _Trusted:
    """Check the configured inputs; a bad one is a configuration error naming its field."""
    name = trusted.other_entity_certificate_name
    if not isinstance(name, str) or not name:
        raise ValueError("otherEntityCertificateName: must be a non-empty string")
    value = trusted.other_entity_root_of_trust
    if not isinstance(value, str) or not value:
        raise ValueError("otherEntityRootOfTrust: must be a non-empty string")
    if value.lstrip().startswith("-----BEGIN PUBLIC KEY-----"):
        try:
            key = serialization.load_pem_public_key(value.encode("ascii"))
        except ValueError as exc:
            raise ValueError(f"otherEntityRootOfTrust: public key does not load: {exc}") from exc
        return _Trusted(name, value, None, rot.spki_der(key))
    return _Trusted(name, value, rot.parse_ni(value, "otherEntityRootOfTrust"), None)


def certificate_names(certificate: x509.Certificate) -> list[tuple[str, str]]:
    """I-08: the (field, value) pairs that may carry a Certificate Name, in this order."""
    found = [
        ("subject commonName", str(attribute.value))
        for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    ]
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return found
    found += [("subjectAltName dNSName", v) for v in san.get_values_for_type(x509.DNSName)]
    found += [
        ("subjectAltName URI", v) for v in san.get_values_for_type(x509.UniformResourceIdentifier)
    ]
    return found


def _name_field(certificate: x509.Certificate, configured: str, rule: str) -> str:
    if "*" in configured:
        raise _Refusal(
            rule,
            f"configured Certificate Name {configured!r} contains a wildcard; "
            "I-08 names are exact and wildcard names are not Certificate Names",
        )
    names = certificate_names(certificate)
    for field_name, value in names:
        if value == configured:
            return field_name
    shown = ", ".join(f"{f}={v!r}" for f, v in names) or "none"
    raise _Refusal(
        rule,
        f"Certificate Name {configured!r} is not, exactly, in the subject commonName, a "
        f"subjectAltName dNSName or a subjectAltName URI (found: {shown})",
    )


def _check_profile(certificate: x509.Certificate, index: int, leaf: bool) -> None:
    """PARAMETERS.md 6: secp256r1 key, ECDSA with SHA-256, leaf keyUsage digitalSignature."""
    what = "leaf" if index == 0 else f"certificate {index}"
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        curve = key.curve.name if isinstance(key, ec.EllipticCurvePublicKey) else type(key).__name__
        raise _Refusal("certificate-profile", f"{what}: key is {curve}, not secp256r1")
    if certificate.signature_algorithm_oid != SignatureAlgorithmOID.ECDSA_WITH_SHA256:
        raise _Refusal(
            "certificate-profile",
            f"{what}: signature algorithm {certificate.signature_algorithm_oid.dotted_string} "
            "is not ecdsa-with-SHA256",
        )
    for extension in certificate.extensions:
        if extension.critical and isinstance(extension.value, x509.UnrecognizedExtension):
            raise _Refusal(
                "certificate-profile",
                f"{what}: unknown critical extension {extension.oid.dotted_string} (RFC 5280 4.2)",
            )
    if leaf:
        usage = _key_usage(certificate)
        if usage is not None and not usage.digital_signature:
            raise _Refusal(
                "certificate-profile",
                f"{what}: keyUsage lacks digitalSignature (it signs the handshake)",
            )


def _key_usage(certificate: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def _check_time(certificate: x509.Certificate, index: int, when: dt.datetime) -> None:
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if when < start:
        raise _Refusal(
            "chain-valid",
            f"certificate {index} is not yet valid (notBefore {start:%Y-%m-%dT%H:%M:%SZ})",
            "certificate_expired",
        )
    if when > end:
        raise _Refusal(
            "chain-valid",
            f"certificate {index} has expired (notAfter {end:%Y-%m-%dT%H:%M:%SZ})",
            "certificate_expired",
        )


def _check_signature(child: x509.Certificate, issuer: x509.Certificate, index: int) -> None:
    key = issuer.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise _Refusal("chain-valid", f"certificate {index}'s issuer key is not an EC key")
    try:
        key.verify(child.signature, child.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise _Refusal(
            "chain-valid", f"certificate {index}'s signature does not verify under its issuer's key"
        ) from None


def _check_issuer(issuer: x509.Certificate, index: int, ca_below: int) -> None:
    """RFC 5280 6.1.4 (k), (l), (n) for the certificate at ``index`` acting as an issuer."""
    try:
        constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise _Refusal(
            "chain-valid",
            f"certificate {index} issues a certificate but is not a CA (basicConstraints cA)",
        )
    if constraints.path_length is not None and ca_below > constraints.path_length:
        raise _Refusal(
            "chain-valid",
            f"certificate {index}'s pathLenConstraint {constraints.path_length} is exceeded",
        )
    usage = _key_usage(issuer)
    if usage is not None and not usage.key_cert_sign:
        raise _Refusal(
            "chain-valid", f"certificate {index} issues a certificate without keyUsage keyCertSign"
        )


def _decode(chain: Sequence[bytes | str]) -> list[x509.Certificate]:
    if not chain:
        raise _Refusal("certificate-decodes", "the peer sent no certificate")
    decoded = []
    for index, item in enumerate(chain):
        try:
            if isinstance(item, str):
                decoded.append(x509.load_pem_x509_certificate(item.encode("ascii")))
            else:
                decoded.append(x509.load_der_x509_certificate(item))
            decoded[-1].extensions  # noqa: B018 - parse the extensions now, not later
        except ValueError as exc:
            raise _Refusal(
                "certificate-decodes", f"certificate {index} does not decode: {exc}"
            ) from None
    return decoded


def verify_peer_certificate(
    chain: Sequence[bytes | str],
    trusted: TrustedInputs,
    validation_time: dt.datetime | None = None,
) -> CertificateVerdict:
    """Apply seed 001 8.1.1.2.2 to the chain the peer sent (leaf first, DER or PEM).

    ``validation_time`` defaults to now (UTC). A malformed configured input raises
    ValueError naming the field (a harness error, never a verdict); anything wrong with
    the peer's chain is a refusal naming the rule.
    """
    parsed = _parse_trusted(trusted)
    when = validation_time or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        raise ValueError("validation_time: must be timezone-aware")
    path = ""
    try:
        certificates = _decode(chain)
        leaf = certificates[0]
        if len(certificates) == 1 and leaf.issuer == leaf.subject:
            path = SELF_SIGNED
            return _verify_self_signed(leaf, parsed, when)
        path = CHAINED
        return _verify_chained(certificates, parsed, when)
    except _Refusal as refusal:
        rule = refusal.rule
        requirement = RULES[
            "name-present-chained" if (rule, path) == ("name-present", CHAINED) else rule
        ]
        return CertificateVerdict(False, path, rule, requirement, refusal.reason, refusal.alert)


def _verify_self_signed(
    leaf: x509.Certificate, trusted: _Trusted, when: dt.datetime
) -> CertificateVerdict:
    if trusted.name != trusted.text:
        raise _Refusal(
            "name-equals-root-of-trust",
            "the peer certificate is self-signed, so the configured Certificate Name and "
            f"Root of Trust must be identical; they are {trusted.name!r} and {trusted.text!r}",
        )
    field_name = _name_field(leaf, trusted.name, "name-present")
    if not trusted.matches(leaf):
        raise _Refusal(
            "key-hash-equals-root-of-trust",
            f"the certificate's key hashes to {rot.key_identifier(leaf)}, not to the configured "
            "Root of Trust (recomputed with the trusted identifier's algorithm)",
        )
    _check_profile(leaf, 0, leaf=True)
    try:
        _check_signature(leaf, leaf, 0)
        _check_time(leaf, 0, when)
    except _Refusal as refusal:
        raise _Refusal("self-signature-valid", refusal.reason, refusal.alert) from None
    return CertificateVerdict(
        True,
        SELF_SIGNED,
        reason=f"Certificate Name in {field_name}; key hash is the Root of Trust",
        name_field=field_name,
        anchor_index=0,
    )


def _verify_chained(
    certificates: list[x509.Certificate], trusted: _Trusted, when: dt.datetime
) -> CertificateVerdict:
    field_name = _name_field(certificates[0], trusted.name, "name-present")
    anchor = next(
        (i for i in range(1, len(certificates)) if trusted.matches(certificates[i])), None
    )
    # The profile binds every certificate the verdict relies on: the leaf alone when no
    # anchor is found, else the leaf up to the anchor.
    for index, certificate in enumerate(certificates[: 1 if anchor is None else anchor + 1]):
        _check_profile(certificate, index, leaf=index == 0)
    if anchor is None:
        raise _Refusal(
            "chain-to-root-of-trust",
            f"none of the {len(certificates) - 1} certificate(s) above the leaf has a key whose "
            "hash is the configured Root of Trust",
        )
    for index in range(anchor):
        child, issuer = certificates[index], certificates[index + 1]
        if child.issuer != issuer.subject:
            raise _Refusal(
                "chain-valid",
                f"certificate {index} is not issued by certificate {index + 1} "
                "(issuer and subject names differ: a missing or misplaced certificate)",
            )
        _check_issuer(issuer, index + 1, ca_below=index)
        _check_signature(child, issuer, index)
    for index in range(anchor + 1):
        _check_time(certificates[index], index, when)
    return CertificateVerdict(
        True,
        CHAINED,
        reason=f"Certificate Name in {field_name}; valid chain to certificate {anchor}, "
        "whose key hash is the Root of Trust",
        name_field=field_name,
        anchor_index=anchor,
    )


def engine_check(
    trusted: TrustedInputs, validation_time: dt.datetime | None = None
) -> Callable[[list[bytes]], tuple[str, str] | None]:
    """This verifier in the shape of the engine's certificate callback.

    harness/tls/certificates.py ``CertificateCheck``: called with the DER chain of the
    Certificate message, returns None to accept or (alert, reason) to refuse. The
    configured inputs are checked here, once, so a bad configuration fails before any
    handshake (ValueError naming the field).
    """
    _parse_trusted(trusted)

    def check(chain: list[bytes]) -> tuple[str, str] | None:
        verdict = verify_peer_certificate(chain, trusted, validation_time)
        if verdict.accepted:
            return None
        return (verdict.alert or "bad_certificate", str(verdict))

    return check
