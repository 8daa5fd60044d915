"""Certificate verification cases as data (in the spirit of C2SP/x509-limbo).

``build_document()`` generates the test PKI and every case; the recorder
``vectors/record_certificate_cases.py`` writes it to ``vectors/certificate_cases.json``.
A case carries everything needed to judge a verifier without this code: the trusted
inputs, the peer chain (PEM, leaf first), the validation time, the expected result and
rule, the spec-profile settings it depends on, and the rival readings under which the
result would flip. A rival interpretation is a flag on the case (``rivalReadings``), never
a code path in the verifier.

``openssl`` says how ``openssl verify -partial_chain -check_ss_sig -attime T -CAfile
anchor -untrusted rest leaf`` must judge the chain-validity part, where it can: the
anchor is the certificate the Root of Trust names (out of band for OpenSSL, which has no
key-hash trust). It judges signatures, issuer/subject chaining, validity periods and
basicConstraints; it does not judge names, Root of Trust hashes, the curve or keyUsage
(no -purpose), so those cases still expect "ok" from it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from harness.pki import generator as g
from harness.pki import rot

GENERATOR_VERSION = "m2mconf-pki-1"
EXPIRED = (dt.datetime(2020, 1, 1, tzinfo=dt.UTC), dt.datetime(2021, 1, 1, tzinfo=dt.UTC))
NOT_YET = (dt.datetime(2030, 1, 1, tzinfo=dt.UTC), dt.datetime(2031, 1, 1, tzinfo=dt.UTC))
NAME = "cse1.example.com"


class _Pki:
    """The fixed certificates every case draws on (serial numbers fixed by order)."""

    def __init__(self) -> None:
        self._serial = 0x1000
        self.root = self.ca("root", "m2mconf Test Root CA")
        self.inter = self.ca("intermediate", "m2mconf Test Intermediate CA", self.root, 0)
        self.leaf = self.leaf_cert("leaf", NAME, dns=[NAME], uris=["urn:example:cse1"])
        self.other_root = self.ca("other-root", "m2mconf Other Root CA")
        self.other_inter = self.ca(
            "other-intermediate", "m2mconf Test Intermediate CA", self.other_root, 0
        )

    def serial(self) -> int:
        self._serial += 1
        return self._serial

    def ca(
        self,
        label: str,
        cn: str,
        issuer: g.Issued | None = None,
        path: int | None = None,
        **kwargs: Any,
    ) -> g.Issued:
        return g.issue(
            g.key(label),
            g.name(cn),
            serial=self.serial(),
            issuer=issuer,
            ca=True,
            path_length=path,
            **kwargs,
        )

    def leaf_cert(
        self,
        label: str,
        cn: str | None,
        issuer: g.Issued | None = None,
        dns: tuple[str, ...] | list[str] = (),
        uris: tuple[str, ...] | list[str] = (),
        curve: str = "secp256r1",
        ou: str | None = None,
        **kwargs: Any,
    ) -> g.Issued:
        return g.issue(
            g.key(label, curve),
            g.name(cn, ou),
            serial=self.serial(),
            issuer=issuer or self.inter,
            dns_names=dns,
            uris=uris,
            **kwargs,
        )


def _case(
    cid: str,
    description: str,
    features: list[str],
    requirements: list[str],
    name: str,
    root_of_trust: str,
    chain: list[str],
    result: str,
    rule: str | None,
    path: str,
    depends_on: list[str],
    rival: list[tuple[str, str]] = (),  # type: ignore[assignment]
    anchor: str | None = None,
    openssl: str | None = None,
    validation_time: dt.datetime = g.VALIDATION_TIME,
) -> dict[str, Any]:
    return {
        "tcId": 0,  # numbered in build_document
        "id": cid,
        "comment": description,
        "flags": features,
        "requirements": requirements,
        "trusted": {"otherEntityCertificateName": name, "otherEntityRootOfTrust": root_of_trust},
        "peerChain": chain,
        "validationTime": validation_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expected": {"result": result, "rule": rule, "path": path},
        "dependsOn": depends_on,
        "rivalReadings": [{"flag": f, "result": r} for f, r in rival],
        "openssl": None if openssl is None else {"anchor": anchor, "result": openssl},
    }


def build_cases() -> list[dict[str, Any]]:
    """Every case, generated afresh (deterministic: same output on every run)."""
    p = _Pki()
    root_rot = p.root.root_of_trust
    good = [p.leaf.pem, p.inter.pem, p.root.pem]
    chained = ["SAEF-CERT-09", "SAEF-CERT-10", "SBF-CERT-06"]
    cases: list[dict[str, Any]] = []

    def chain_case(
        cid: str,
        description: str,
        features: list[str],
        chain: list[str],
        result: str,
        rule: str | None,
        *,
        name: str = NAME,
        rot_value: str = root_rot,
        depends: tuple[str, ...] = ("I-07", "I-08"),
        rival: list[tuple[str, str]] = (),  # type: ignore[assignment]
        anchor: g.Issued | None = None,
        openssl: str | None = None,
        when: dt.datetime = g.VALIDATION_TIME,
    ) -> None:
        cases.append(
            _case(
                cid,
                description,
                ["chained", *features],
                chained,
                name,
                rot_value,
                chain,
                result,
                rule,
                "chained",
                list(depends),
                rival,
                (anchor or p.root).pem if openssl else None,
                openssl,
                when,
            )
        )

    # --- chained: accepted -------------------------------------------------------------
    chain_case(
        "chain-root-sha256",
        "Leaf, intermediate and root; RoT is the root's full "
        "sha-256 key hash; the Name is the leaf's dNSName and CN.",
        ["rot-sha-256"],
        good,
        "accept",
        None,
        openssl="ok",
    )
    for algorithm in ("sha-256-128", "sha-256-120"):
        chain_case(
            f"chain-root-{algorithm}",
            f"As chain-root-sha256 with a truncated "
            f"{algorithm} identifier (I-13: legal; matched with the trusted "
            "identifier's algorithm).",
            [f"rot-{algorithm}", "rot-truncated"],
            good,
            "accept",
            None,
            rot_value=rot.key_identifier(p.root.certificate, algorithm),
            depends=("I-07", "I-08", "I-13"),
            rival=[("rot-full-sha256-only", "reject")],
            openssl="ok",
        )
    spki_pem = (
        p.root.certificate.public_key()
        .public_bytes(
            g.serialization.Encoding.PEM, g.serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )
    chain_case(
        "chain-root-public-key",
        "RoT given as the root's public key itself (seed: "
        "'the Public Verification Key (or hash thereof)').",
        ["rot-public-key"],
        good,
        "accept",
        None,
        rot_value=spki_pem,
        rival=[("rot-hash-only", "reject")],
        openssl="ok",
    )
    chain_case(
        "chain-name-uri",
        "The Name is the leaf's subjectAltName URI.",
        ["name-san-uri"],
        good,
        "accept",
        None,
        name="urn:example:cse1",
        openssl="ok",
    )
    leaf_cn = p.leaf_cert("leaf-cn", "cse-cn.example.com")
    chain_case(
        "chain-name-cn-only",
        "The Name is only in the subject commonName (no SAN).",
        ["name-cn"],
        [leaf_cn.pem, p.inter.pem, p.root.pem],
        "accept",
        None,
        name="cse-cn.example.com",
        rival=[("name-san-only", "reject")],
        openssl="ok",
    )
    leaf_dns = p.leaf_cert("leaf-dns", None, dns=["cse-dns.example.com"])
    chain_case(
        "chain-name-dns-only",
        "The Name is only in a subjectAltName dNSName (no CN).",
        ["name-san-dns"],
        [leaf_dns.pem, p.inter.pem, p.root.pem],
        "accept",
        None,
        name="cse-dns.example.com",
        openssl="ok",
    )
    chain_case(
        "chain-rot-intermediate-sent",
        "RoT is the intermediate's key hash; the chain "
        "goes on to the root. The seed's verification text asks for a chain 'to a "
        "Certificate' with the RoT key, not to a root.",
        ["rot-intermediate"],
        good,
        "accept",
        None,
        rot_value=p.inter.root_of_trust,
        rival=[("rot-must-be-root", "reject")],
        anchor=p.inter,
        openssl="ok",
    )
    chain_case(
        "chain-rot-intermediate",
        "RoT is the intermediate's key hash and the peer sends leaf and intermediate only.",
        ["rot-intermediate"],
        [p.leaf.pem, p.inter.pem],
        "accept",
        None,
        rot_value=p.inter.root_of_trust,
        rival=[("rot-must-be-root", "reject")],
        anchor=p.inter,
        openssl="ok",
    )
    # --- chained: names ----------------------------------------------------------------
    chain_case(
        "chain-wrong-name",
        "A valid chain whose leaf does not carry the configured Name.",
        ["name-wrong"],
        good,
        "reject",
        "name-present",
        name="cse2.example.com",
        openssl="ok",
    )
    chain_case(
        "chain-name-case",
        "The configured Name differs from the leaf's only in letter case.",
        ["name-case"],
        good,
        "reject",
        "name-present",
        name="CSE1.Example.COM",
        rival=[("name-case-insensitive", "accept")],
        openssl="ok",
    )
    chain_case(
        "chain-name-prefix",
        "The configured Name is a prefix of the leaf's.",
        ["name-prefix"],
        good,
        "reject",
        "name-present",
        name="cse1.example",
        openssl="ok",
    )
    leaf_ou = p.leaf_cert("leaf-ou", "other.example.com", ou="cse-ou.example.com")
    chain_case(
        "chain-name-in-ou",
        "The Name is only in the subject organizationalUnitName, a field I-08 does not allow.",
        ["name-disallowed-field"],
        [leaf_ou.pem, p.inter.pem, p.root.pem],
        "reject",
        "name-present",
        name="cse-ou.example.com",
        rival=[("name-any-subject-attribute", "accept")],
        openssl="ok",
    )
    leaf_mail = g.issue(
        g.key("leaf-mail"),
        g.name("other.example.com"),
        serial=p.serial(),
        issuer=p.inter,
        emails=["cse@example.com"],
    )
    chain_case(
        "chain-name-in-rfc822",
        "The Name is only in a subjectAltName rfc822Name, a field I-08 does not allow.",
        ["name-disallowed-field"],
        [leaf_mail.pem, p.inter.pem, p.root.pem],
        "reject",
        "name-present",
        name="cse@example.com",
        rival=[("name-any-san", "accept")],
        openssl="ok",
    )
    leaf_wild = p.leaf_cert("leaf-wildcard", None, dns=["*.example.com"])
    wild_chain = [leaf_wild.pem, p.inter.pem, p.root.pem]
    chain_case(
        "chain-wildcard-san",
        "The leaf's dNSName is *.example.com and the configured "
        "Name cse1.example.com (a generic hostname check would accept).",
        ["name-wildcard"],
        wild_chain,
        "reject",
        "name-present",
        rival=[("name-wildcard-match", "accept")],
        openssl="ok",
    )
    chain_case(
        "chain-wildcard-literal",
        "The configured Name is the literal *.example.com "
        "and so is the dNSName: wildcard names are not Certificate Names.",
        ["name-wildcard"],
        wild_chain,
        "reject",
        "name-present",
        name="*.example.com",
        rival=[("name-wildcard-literal", "accept")],
        openssl="ok",
    )
    # --- chained: Root of Trust --------------------------------------------------------
    unrelated = rot.key_identifier(g.key("unrelated").public_key())
    chain_case(
        "chain-wrong-rot",
        "A valid chain; the RoT is the hash of an unrelated key.",
        ["rot-wrong"],
        good,
        "reject",
        "chain-to-root-of-trust",
        rot_value=unrelated,
    )
    chain_case(
        "chain-rot-truncated-wrong",
        "A sha-256-128 identifier of an unrelated key.",
        ["rot-wrong", "rot-truncated"],
        good,
        "reject",
        "chain-to-root-of-trust",
        rot_value=rot.key_identifier(g.key("unrelated").public_key(), "sha-256-128"),
        depends=("I-07", "I-08", "I-13"),
    )
    chain_case(
        "chain-root-not-sent",
        "Leaf and intermediate only, RoT of the root: the "
        "verifier holds a hash, not the root, so the chain cannot reach it.",
        ["rot-not-in-chain"],
        [p.leaf.pem, p.inter.pem],
        "reject",
        "chain-to-root-of-trust",
        rival=[("anchor-from-local-store", "accept")],
        openssl="ok",
    )
    other_leaf = p.leaf_cert("other-leaf", NAME, issuer=p.other_inter, dns=[NAME])
    chain_case(
        "chain-other-root",
        "A chain valid to another root, same names (same intermediate subject) as ours.",
        ["rot-other-root"],
        [other_leaf.pem, p.other_inter.pem, p.other_root.pem],
        "reject",
        "chain-to-root-of-trust",
        openssl="fail",
    )
    # --- chained: chain validity -------------------------------------------------------
    chain_case(
        "chain-missing-intermediate",
        "Leaf and root, the intermediate left out.",
        ["chain-broken"],
        [p.leaf.pem, p.root.pem],
        "reject",
        "chain-valid",
        openssl="fail",
    )
    chain_case(
        "chain-misordered",
        "Root before intermediate (TLS 1.2 requires each "
        "certificate to certify the one before it).",
        ["chain-broken"],
        [p.leaf.pem, p.root.pem, p.inter.pem],
        "reject",
        "chain-valid",
        rival=[("chain-any-order", "accept")],
    )
    bad_leaf = g.to_pem(g.corrupt_signature(p.leaf.der))
    chain_case(
        "chain-bad-signature-leaf",
        "The leaf's signature has one bit flipped.",
        ["signature-bad"],
        [bad_leaf, p.inter.pem, p.root.pem],
        "reject",
        "chain-valid",
        openssl="fail",
    )
    bad_inter = g.to_pem(g.corrupt_signature(p.inter.der))
    chain_case(
        "chain-bad-signature-intermediate",
        "The intermediate's signature has one bit flipped.",
        ["signature-bad"],
        [p.leaf.pem, bad_inter, p.root.pem],
        "reject",
        "chain-valid",
        openssl="fail",
    )
    for tag, (start, end), text in (
        ("expired", EXPIRED, "expired"),
        ("not-yet-valid", NOT_YET, "not yet valid"),
    ):
        leaf_t = p.leaf_cert(f"leaf-{tag}", NAME, dns=[NAME], not_before=start, not_after=end)
        chain_case(
            f"chain-leaf-{tag}",
            f"The leaf is {text} at the validation time.",
            [f"validity-{tag}"],
            [leaf_t.pem, p.inter.pem, p.root.pem],
            "reject",
            "chain-valid",
            openssl="fail",
        )
    inter_exp = p.ca(
        "intermediate-expired",
        "m2mconf Test Intermediate CA",
        p.root,
        0,
        not_before=EXPIRED[0],
        not_after=EXPIRED[1],
    )
    chain_case(
        "chain-intermediate-expired",
        "The intermediate has expired.",
        ["validity-expired"],
        [p.leaf.pem, inter_exp.pem, p.root.pem],
        "reject",
        "chain-valid",
        openssl="fail",
    )
    root_exp = p.ca("root", "m2mconf Test Root CA", not_before=EXPIRED[0], not_after=EXPIRED[1])
    chain_case(
        "chain-anchor-expired",
        "The certificate the RoT names (same key, re-issued with an expired validity) has expired.",
        ["validity-expired"],
        [p.leaf.pem, p.inter.pem, root_exp.pem],
        "reject",
        "chain-valid",
        rival=[("anchor-validity-ignored", "accept")],
        anchor=root_exp,
        openssl="fail",
    )
    inter_noca = g.issue(
        g.key("intermediate"),
        g.name("m2mconf Test Intermediate CA"),
        serial=p.serial(),
        issuer=p.root,
        basic_constraints=False,
    )
    chain_case(
        "chain-intermediate-not-ca",
        "The intermediate (same key) has no basicConstraints cA=TRUE.",
        ["chain-broken", "basic-constraints"],
        [p.leaf.pem, inter_noca.pem, p.root.pem],
        "reject",
        "chain-valid",
        openssl="fail",
    )
    # --- chained: certificate profile --------------------------------------------------
    leaf_384 = p.leaf_cert("leaf-p384", NAME, dns=[NAME], curve="secp384r1")
    chain_case(
        "chain-leaf-wrong-curve",
        "The leaf's key is on secp384r1, not secp256r1.",
        ["profile-curve"],
        [leaf_384.pem, p.inter.pem, p.root.pem],
        "reject",
        "certificate-profile",
        openssl="ok",
    )
    leaf_ka = p.leaf_cert("leaf-key-agreement", NAME, dns=[NAME], key_usage="key-agreement")
    chain_case(
        "chain-leaf-wrong-key-usage",
        "The leaf's keyUsage is keyAgreement only, no digitalSignature.",
        ["profile-key-usage"],
        [leaf_ka.pem, p.inter.pem, p.root.pem],
        "reject",
        "certificate-profile",
        openssl="ok",
    )

    # --- self-signed -------------------------------------------------------------------
    def ss_case(
        cid: str,
        description: str,
        features: list[str],
        cert: str,
        name: str,
        rot_value: str,
        result: str,
        rule: str | None,
        requirements: list[str],
        depends: tuple[str, ...] = ("I-07", "I-08"),
        rival: list[tuple[str, str]] = (),  # type: ignore[assignment]
        openssl: str | None = "ok",
    ) -> None:
        cases.append(
            _case(
                cid,
                description,
                ["self-signed", *features],
                requirements,
                name,
                rot_value,
                [cert],
                result,
                rule,
                "self-signed",
                list(depends),
                rival,
                cert if openssl else None,
                openssl,
            )
        )

    ss_reqs = ["SAEF-CERT-04", "SAEF-CERT-06", "SAEF-CERT-07", "SAEF-CERT-08", "SBF-CERT-06"]
    ss = g.self_signed("self-signed", serial=p.serial())
    ss_rot = ss.root_of_trust
    ss_case(
        "ss-sha256",
        "Self-signed; its SAN URI is the ni sha-256 hash of its key; Name = RoT = that URI.",
        ["rot-sha-256", "name-san-uri"],
        ss.pem,
        ss_rot,
        ss_rot,
        "accept",
        None,
        ss_reqs,
    )
    for algorithm in ("sha-256-128", "sha-256-120"):
        ss_t = g.self_signed(
            f"self-signed-{algorithm}", serial=p.serial(), name_algorithm=algorithm
        )
        ident = rot.key_identifier(ss_t.certificate, algorithm)
        ss_case(
            f"ss-{algorithm}",
            f"Self-signed with a truncated {algorithm} identifier as Name and RoT.",
            [f"rot-{algorithm}", "rot-truncated"],
            ss_t.pem,
            ident,
            ident,
            "accept",
            None,
            ss_reqs,
            ("I-07", "I-08", "I-13"),
            [("rot-full-sha256-only", "reject")],
        )
    ss_cn = g.self_signed(
        "self-signed-cn",
        serial=p.serial(),
        name_algorithm=None,
        common_name=rot.key_identifier(g.key("self-signed-cn").public_key()),
    )
    cn_rot = ss_cn.root_of_trust
    ss_case(
        "ss-hash-in-cn",
        "Self-signed; the key hash URI is in the subject commonName, "
        "not in a SAN URI (I-08 allows the CN).",
        ["name-cn"],
        ss_cn.pem,
        cn_rot,
        cn_rot,
        "accept",
        None,
        ss_reqs,
        rival=[("self-signed-name-san-uri-only", "reject")],
    )
    ss_case(
        "ss-name-not-rot",
        "Self-signed; the configured Name is the CN-style name, not the RoT.",
        ["config-mismatch"],
        ss.pem,
        NAME,
        ss_rot,
        "reject",
        "name-equals-root-of-trust",
        ss_reqs,
    )
    ss_nohash = g.self_signed(
        "self-signed-nohash",
        serial=p.serial(),
        name_algorithm=None,
        common_name=NAME,
        dns_names=[NAME],
    )
    nh = ss_nohash.root_of_trust
    ss_case(
        "ss-hash-not-in-name",
        "Self-signed without its key hash in any name field.",
        ["name-wrong"],
        ss_nohash.pem,
        nh,
        nh,
        "reject",
        "name-present",
        ss_reqs,
    )
    ss_other = g.self_signed("self-signed-other", serial=p.serial(), name_key=g.key("unrelated"))
    other_uri = rot.key_identifier(g.key("unrelated").public_key())
    ss_case(
        "ss-name-not-key-hash",
        "Self-signed; its SAN URI is the hash of another key and Name = RoT = that URI.",
        ["rot-wrong"],
        ss_other.pem,
        other_uri,
        other_uri,
        "reject",
        "key-hash-equals-root-of-trust",
        ss_reqs,
    )
    ss_case(
        "ss-wrong-rot",
        "The configured Name = RoT is another key's hash; the certificate carries its own.",
        ["rot-wrong"],
        ss.pem,
        other_uri,
        other_uri,
        "reject",
        "name-present",
        ss_reqs,
    )
    ss_bad = g.to_pem(g.corrupt_signature(ss.der))
    ss_case(
        "ss-bad-signature",
        "Self-signed with one bit of its signature flipped.",
        ["signature-bad"],
        ss_bad,
        ss_rot,
        ss_rot,
        "reject",
        "self-signature-valid",
        [*ss_reqs, "SAEF-CERT-11"],
        openssl="fail",
    )
    ss_exp = g.self_signed(
        "self-signed-expired", serial=p.serial(), not_before=EXPIRED[0], not_after=EXPIRED[1]
    )
    ss_case(
        "ss-expired",
        "Self-signed and expired.",
        ["validity-expired"],
        ss_exp.pem,
        ss_exp.root_of_trust,
        ss_exp.root_of_trust,
        "reject",
        "self-signature-valid",
        [*ss_reqs, "SAEF-CERT-11"],
        rival=[("self-signed-validity-ignored", "accept")],
        openssl="fail",
    )
    ss_384 = g.self_signed("self-signed-p384", serial=p.serial(), curve="secp384r1")
    ss_case(
        "ss-wrong-curve",
        "Self-signed with a secp384r1 key (signed ECDSA-SHA256).",
        ["profile-curve"],
        ss_384.pem,
        ss_384.root_of_trust,
        ss_384.root_of_trust,
        "reject",
        "certificate-profile",
        ss_reqs,
    )
    return cases


# Wycheproof-style notes: every flag a case carries, and every rival reading, explained.
NOTES: dict[str, str] = {
    "chained": "The peer sends a chain (not one self-signed certificate): SAEF-CERT-09/10.",
    "self-signed": "The peer sends one self-signed certificate: SAEF-CERT-06/07/08.",
    "rot-sha-256": "RoT is a full sha-256 ni URI of the anchor's SubjectPublicKeyInfo (I-07).",
    "rot-sha-256-128": "RoT is a sha-256-128 (truncated) ni URI (I-13).",
    "rot-sha-256-120": "RoT is a sha-256-120 (truncated) ni URI (I-13).",
    "rot-truncated": "A truncated identifier: legal, matched with its own algorithm (I-13).",
    "rot-public-key": "RoT given as the public key itself (PEM), 'or hash thereof' read backwards.",
    "rot-intermediate": "RoT names the intermediate's key, not the root's.",
    "rot-wrong": "RoT names a key no certificate of the chain has.",
    "rot-not-in-chain": "RoT names a certificate the peer did not send.",
    "rot-other-root": "The chain is valid, but to another root.",
    "name-san-uri": "The Certificate Name is a subjectAltName URI (I-08).",
    "name-cn": "The Certificate Name is (only) the subject commonName (I-08).",
    "name-san-dns": "The Certificate Name is (only) a subjectAltName dNSName (I-08).",
    "name-wrong": "The Certificate Name is in no allowed name field.",
    "name-case": "The Name differs only in letter case (I-08: exact).",
    "name-prefix": "The Name is a prefix of a name in the certificate (I-08: exact).",
    "name-disallowed-field": "The Name is only in a field I-08 does not allow.",
    "name-wildcard": "A wildcard name (I-08: no wildcards).",
    "config-mismatch": "The configured Name and RoT of a self-signed peer differ.",
    "chain-broken": "A link of the chain does not hold (missing, misordered, not a CA).",
    "basic-constraints": "An issuer without basicConstraints cA=TRUE.",
    "signature-bad": "One bit of a signature is flipped.",
    "validity-expired": "A certificate's notAfter is before the validation time.",
    "validity-not-yet-valid": "A certificate's notBefore is after the validation time.",
    "profile-curve": "A key on secp384r1, not secp256r1 (PARAMETERS.md 6).",
    "profile-key-usage": "A leaf whose keyUsage lacks digitalSignature (PARAMETERS.md 6).",
    # rival readings (rivalReadings[].flag)
    "rot-full-sha256-only": "Rival: only full sha-256 identifiers (non-conformant per I-13).",
    "rot-hash-only": "Rival: the RoT is always a hash, never the key itself.",
    "rot-must-be-root": "Rival: the anchor must be the root, not any certificate of the chain.",
    "anchor-from-local-store": "Rival: the verifier holds the root certificate out of band.",
    "anchor-validity-ignored": "Rival: the anchor's validity period is not checked.",
    "chain-any-order": "Rival: the verifier reorders the chain it received.",
    "self-signed-validity-ignored": "Rival: a self-signed certificate's dates are not checked.",
    "self-signed-name-san-uri-only": "Rival: a self-signed name may only be a SAN URI.",
    "name-case-insensitive": "Rival: names compared case-insensitively.",
    "name-san-only": "Rival: the subject commonName is not a name field.",
    "name-any-subject-attribute": "Rival: any subject attribute is a name field.",
    "name-any-san": "Rival: any subjectAltName type is a name field.",
    "name-wildcard-match": "Rival: hostname wildcard matching (RFC 6125 style).",
    "name-wildcard-literal": "Rival: a literal '*' name matches itself exactly.",
}


def build_document() -> dict[str, Any]:
    """The whole case file (see vectors/schemas/certificate_cases_schema.json)."""
    cases = build_cases()
    for number, case in enumerate(cases, start=1):
        case["tcId"] = number
    groups = [
        {
            "type": "CertificateVerification",
            "path": path,
            "tests": [c for c in cases if c["expected"]["path"] == path],
        }
        for path in ("chained", "self-signed")
    ]
    return {
        "algorithm": "oneM2M-TS-0003-CertificateVerification",
        "schema": "certificate_cases_schema.json",
        "generatorVersion": GENERATOR_VERSION,
        "header": [
            "Seed 001 clause 8.1.1.2.2 certificate verification, spec-profile I-07, I-08, I-13.",
            "Generated by vectors/record_certificate_cases.py from harness/pki/generator.py "
            "(fixed keys, RFC 6979 signatures): reproducible byte for byte.",
            "peerChain is leaf first, PEM. expected.rule names the first rule of "
            "harness/pki/verify.py that refuses; rivalReadings give the result under a "
            "rival reading of the seeds (docs/certificates.md).",
        ],
        "notes": NOTES,
        "numberOfTests": len(cases),
        "testGroups": groups,
    }
