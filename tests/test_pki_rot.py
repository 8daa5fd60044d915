"""Root of Trust and RFC 6920 public key identifiers (harness/pki/rot.py; I-07, I-13).

Vectors: RFC 6920 section 8.1 ("Hello World!") and section 8.2 (the RSA public key whose
DER SubjectPublicKeyInfo is below, its sha-256 ni URI and the 120-bit truncated value of
the binary form 0x03 5326...60a2). The sha-256-128 value of the same key is its first 16
octets (RFC 6920 9.4 truncation), derived here, not printed in the RFC.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from harness.pki import generator, rot

RFC6920_8_2_SPKI = bytes.fromhex(
    "30820122300d06092a864886f70d01010105000382010f003082010a0282010100a25f83da9bd9f17a"
    "3a3667bafd5a940ecf16d55a553a5ed403b1658e6dcfa3b7dba4e7cc0f52c67d351dc468c2bd7b9ddb"
    "e40ad710cdf95320ee0dd7566e5b7aae2c5f830a193c725896d686e80ee694eb5cf2903ef3a88a8856"
    "b6cd3638762297b16b3c9c07f34f9708a1bc29389b81062b7460387a932f39be1234096e0b5710b7a3"
    "7bf2c6eed6c1e5ecaec59c8314f46b58e2def2ffc97707e3f34c97cf1a289e38a1b3934175a1a4763f"
    "4d78d744d61ae3cee25dc5784cb531222ec74b8c6f56785ca1c4c01dcae5b944d7e9909cbceeb0a2b1"
    "dcda6da00ff6ad1e2c12a2a766603e36d49141c2f2e769392c9dd2dfb5a34495487c876489ddbf0501"
    "eedd0203010001"
)
RFC6920_8_2_URI = "ni:///sha-256;UyaQV-Ev4rdLoHyJJWCi11OHfrYv9E1aGQAlMO2X_-Q"
RFC6920_8_2_SHA256 = "53269057e12fe2b74ba07c892560a2d753877eb62ff44d5a19002530ed97ffe4"
RFC6920_8_2_SHA256_120 = "53269057e12fe2b74ba07c892560a2"  # binary form 0x03 || this
RFC6920_8_1_URI = "ni:///sha-256;f4OxZX_x_FO5LcGBSKHWXfwtSx-j1ncoSt3SABJtkGk"
RFC6920_8_1_AUTHORITY_URI = "ni://example.com/sha-256;f4OxZX_x_FO5LcGBSKHWXfwtSx-j1ncoSt3SABJtkGk"


def _rfc_key():  # type: ignore[no-untyped-def]
    return serialization.load_der_public_key(RFC6920_8_2_SPKI)


def test_rfc6920_8_1_hello_world() -> None:
    assert rot.ni_uri(rot.digest(b"Hello World!")) == RFC6920_8_1_URI
    assert rot.ni_uri(rot.digest(b"Hello World!"), authority="example.com") == (
        RFC6920_8_1_AUTHORITY_URI
    )
    parsed = rot.parse_ni(RFC6920_8_1_AUTHORITY_URI)
    assert parsed.authority == "example.com" and parsed.algorithm == "sha-256"


def test_rfc6920_8_2_public_key() -> None:
    key = _rfc_key()
    assert rot.spki_der(key) == RFC6920_8_2_SPKI
    assert rot.root_of_trust(key).hex() == RFC6920_8_2_SHA256
    assert rot.key_identifier(key) == RFC6920_8_2_URI
    assert rot.digest(RFC6920_8_2_SPKI, "sha-256-120").hex() == RFC6920_8_2_SHA256_120
    assert rot.digest(RFC6920_8_2_SPKI, "sha-256-128").hex() == RFC6920_8_2_SHA256[:32]
    parsed = rot.parse_ni(RFC6920_8_2_URI)
    assert parsed.value.hex() == RFC6920_8_2_SHA256 and parsed.uri() == RFC6920_8_2_URI


@pytest.mark.parametrize("algorithm", sorted(rot.ALGORITHMS))
def test_matching_uses_the_trusted_identifiers_algorithm(algorithm: str) -> None:
    """I-13: a truncated identifier matches the key it was made from, and no other key."""
    key = _rfc_key()
    trusted = rot.parse_ni(rot.key_identifier(key, algorithm))
    assert trusted.algorithm == algorithm
    assert len(trusted.value) == rot.ALGORITHMS[algorithm]
    assert rot.matches(trusted, key)
    assert not rot.matches(trusted, generator.key("unrelated").public_key())


def test_certificate_and_key_give_the_same_root_of_trust() -> None:
    issued = generator.issue(generator.key("root"), generator.name("r"), serial=1, ca=True)
    assert rot.root_of_trust(issued.certificate) == rot.root_of_trust(
        issued.certificate.public_key()
    )
    assert issued.root_of_trust == rot.key_identifier(generator.key("root").public_key())


@pytest.mark.parametrize(
    "text",
    [
        "ni:///sha-256-32;f4OxZQ",  # RFC 6920 registry entry, but not allowed by TS-0003
        "ni:///sha-256;f4OxZX_x_FO5LcGBSKHWXfwtSx-j1ncoSt3SABJtkG",  # 31.x octets
        "ni:///sha-256-128;UyaQV-Ev4rdLoHyJJWCi11OHfrYv9E1aGQAlMO2X_-Q",  # length mismatch
        "ni:///SHA-256;UyaQV-Ev4rdLoHyJJWCi11OHfrYv9E1aGQAlMO2X_-Q",
        "ni:///sha-256;UyaQV+Ev4rdLoHyJJWCi11OHfrYv9E1aGQAlMO2X/+Q",  # base64, not base64url
        "nih:sha-256-120;5326-9057-e12f-e2b7-4ba0-7c89-2560-a2;f",  # human form, not a URI
        "http://example.com/.well-known/ni/sha-256/UyaQV-Ev4rdLoHyJJWCi11OHfrYv9E1aGQAlMO2X_-Q",
        "53269057e12fe2b74ba07c892560a2d753877eb62ff44d5a19002530ed97ffe4",
    ],
)
def test_malformed_identifiers_are_refused_naming_the_field(text: str) -> None:
    with pytest.raises(ValueError, match="otherEntityRootOfTrust"):
        rot.parse_ni(text, "otherEntityRootOfTrust")


def test_ni_uri_checks_the_value_length() -> None:
    with pytest.raises(ValueError, match="16 octets"):
        rot.ni_uri(b"\x00" * 32, "sha-256-128")


def test_generator_keys_are_fixed_and_distinct() -> None:
    """Determinism of the test PKI: one label, one key; different labels, different keys."""
    a = rot.root_of_trust(generator.key("root").public_key())
    assert a == rot.root_of_trust(generator.key("root").public_key())
    assert a != rot.root_of_trust(generator.key("intermediate").public_key())
    p384 = generator.key("root", "secp384r1")
    assert p384.curve.name == "secp384r1"
