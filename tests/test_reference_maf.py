"""The MAF-based SAEF reference: Entity A, Entity B and the MAF together, and its mutants.

Three reference sessions on loopback (the MAF first, then B and A, each given the
others' endpoints) over TLS and DTLS; the MAF against ``openssl s_client`` as Entity A
(an independent exporter); Kc expiry (kcLifetime 0); 403 for the wrong Entity B; A's
renewal after B refuses a stored Kc; and per mutant a quick run showing what it changes.
Every wait is bounded by the sessions' own timeouts and ``result(timeout)``.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from harness.frameworks.saef_maf.reference import FAULTS, start
from harness.frameworks.saef_maf.reference.entity_b import EntityB
from harness.frameworks.saef_maf.reference.faults import FaultSet
from harness.http.https import https_request, serve_https_once
from harness.reference.session import ReferenceSession
from harness.sut.contract import (
    Address,
    ExportRequest,
    Framework,
    LegResult,
    Role,
    Status,
    SutRequest,
    SutResult,
    Transport,
)
from harness.verdict import NotApplicable

MAF_FQDN = "maf.example.com"
KM = "00112233445566778899aabbccddeeff"
KM_ID = "dev42@maf.example.com"
ID_A, ID_B, ID_X = "/CSE-A", "/CSE-B", "/CSE-X"
HOST_B = "b.example.com"
KR_KEY_B = "ffeeddccbbaa99887766554433221100"
KR_KEY_X = "0f0e0d0c0b0a09080706050403020100"
LABEL = "EXPORTER-oneM2M-Connection"
EXPORTS = [ExportRequest(LABEL, 32), ExportRequest(LABEL, 16, context="01ab")]
SUITES = {Transport.TLS: [0x00AE], Transport.DTLS: [0xC0A8]}
TIMEOUT = 5.0
WAIT = TIMEOUT + 3.0


def maf_configuration(**changes: Any) -> dict[str, Any]:
    configuration: dict[str, Any] = {
        "mafIdentifier": MAF_FQDN,
        "kcLifetime": 3600,
        "authorizedEntities": [
            {
                "masterCredentialIdentifier": KM_ID,
                "masterCredential": KM,
                "thisEntityIdentifier": ID_A,
                "otherEntityIdentifier": ID_B,
            }
        ],
        "keyRetrievalClients": [
            {
                "keyRetrievalIdentity": "b-client",
                "keyRetrievalKey": KR_KEY_B,
                "entityIdentifier": ID_B,
            },
            {
                "keyRetrievalIdentity": "x-client",
                "keyRetrievalKey": KR_KEY_X,
                "entityIdentifier": ID_X,
            },
        ],
    }
    return {**configuration, **changes}


def b_configuration(**changes: Any) -> dict[str, Any]:
    configuration = {
        "thisEntityIdentifier": ID_B,
        "hostName": HOST_B,
        "mafIdentifier": MAF_FQDN,
        "keyRetrievalIdentity": "b-client",
        "keyRetrievalKey": KR_KEY_B,
    }
    return {**configuration, **changes}


def a_configuration(**changes: Any) -> dict[str, Any]:
    configuration = {
        "mafIdentifier": MAF_FQDN,
        "masterCredential": KM,
        "masterCredentialIdentifier": KM_ID,
        "thisEntityIdentifier": ID_A,
        "otherEntityIdentifier": ID_B,
        "otherEntityHostName": HOST_B,
    }
    return {**configuration, **changes}


def request(role: Role, transport: Transport, configuration: dict[str, Any], **extra: Any):
    return SutRequest(
        role,
        Framework.SAEF_MAF,
        transport,
        configuration,
        SUITES[transport],
        timeout=TIMEOUT,
        exports=list(EXPORTS),
        **extra,
    )


@dataclass
class Run:
    a: SutResult
    b: SutResult | None
    maf: SutResult
    a_extra: list[SutResult] = field(default_factory=list)

    def legs(self, result: SutResult, name: str) -> list[LegResult]:
        return result.legs_named(name)


def start_maf(
    transport: Transport, faults: tuple[str, ...] = (), *, handshakes: int, retrievals: int, **cfg
) -> ReferenceSession:
    return start(
        request(
            Role.MAF,
            transport,
            maf_configuration(**cfg),
            services={
                "maf_handshake": Address("127.0.0.1", 0),
                "key_retrieval": Address("127.0.0.1", 0),
            },
            expected_legs={"maf_handshake": handshakes, "key_retrieval": retrievals},
        ),
        faults,
    )


def start_b(
    transport: Transport,
    maf: ReferenceSession,
    faults: tuple[str, ...] | FaultSet = (),
    *,
    attempts: int,
    **cfg: Any,
) -> ReferenceSession:
    b_request = request(
        Role.ENTITY_B,
        transport,
        b_configuration(**cfg),
        services={"association": Address("127.0.0.1", 0)},
        peers={"maf": maf.endpoints["key_retrieval"]},
        expected_legs={"association": attempts},
    )
    if isinstance(faults, FaultSet):  # a scripted B (test-local behaviour)
        entity = EntityB(b_request, faults)
        address = entity.bind()
        assert address is not None
        return ReferenceSession(entity, address, {"association": address})
    return start(b_request, faults)


def run_a(
    transport: Transport,
    maf: ReferenceSession,
    b: ReferenceSession,
    faults: tuple[str, ...] = (),
    *,
    rounds: int = 1,
    **cfg: Any,
) -> SutResult:
    assert b.address is not None
    session = start(
        request(
            Role.ENTITY_A,
            transport,
            a_configuration(**cfg),
            connect=b.address,
            peers={"maf": maf.endpoints["maf_handshake"], "entity_b": b.address},
            expected_legs={"association": rounds},
        ),
        faults,
    )
    try:
        return session.result(WAIT)
    finally:
        session.stop()


def three_party(
    transport: Transport = Transport.TLS,
    *,
    a_faults: tuple[str, ...] = (),
    b_faults: tuple[str, ...] | FaultSet = (),
    maf_faults: tuple[str, ...] = (),
    rounds: int = 1,
    attempts: int | None = None,
    handshakes: int | None = None,
    retrievals: int | None = None,
    maf_cfg: dict[str, Any] | None = None,
    b_cfg: dict[str, Any] | None = None,
    a_cfg: dict[str, Any] | None = None,
) -> Run:
    """MAF, B and A on loopback; each server serves exactly what the case expects."""
    maf = start_maf(
        transport,
        maf_faults,
        handshakes=1 if handshakes is None else handshakes,
        retrievals=rounds if retrievals is None else retrievals,
        **(maf_cfg or {}),
    )
    b = None
    try:
        b = start_b(
            transport,
            maf,
            b_faults,
            attempts=rounds if attempts is None else attempts,
            **(b_cfg or {}),
        )
        a = run_a(transport, maf, b, a_faults, rounds=rounds, **(a_cfg or {}))
        return Run(a, b.result(WAIT), maf.result(WAIT))
    finally:
        for session in (b, maf):
            if session is not None:
                session.stop()


def names(result: SutResult) -> list[str]:
    return [leg.name for leg in result.legs]


def statuses(result: SutResult, name: str) -> list[Status]:
    return [leg.status for leg in result.legs_named(name)]


# --- the conformant reference --------------------------------------------------------------


@pytest.mark.parametrize("transport", [Transport.TLS, Transport.DTLS])
def test_three_parties_agree(transport: Transport) -> None:
    run = three_party(transport, rounds=2)
    a, b, maf = run.a, run.b, run.maf
    assert b is not None
    assert a.status is Status.ESTABLISHED, a.detail
    assert names(a) == ["maf_handshake", "association", "association"]  # Kc reused (MAF-26)
    assert names(b) == ["key_retrieval", "association"] * 2
    assert sorted(names(maf)) == ["key_retrieval", "key_retrieval", "maf_handshake"]

    a_maf, maf_leg = a.legs_named("maf_handshake")[0], maf.legs_named("maf_handshake")[0]
    material = a_maf.keys[LABEL]
    assert len(material) == 96 and maf_leg.keys[LABEL] == material
    kc_id = f"{material[:32]}@{MAF_FQDN}"  # lower-hex(first 16 octets) @ MAF-FQDN
    assert a_maf.fields["kcId"] == maf_leg.fields["kcId"] == kc_id
    assert a_maf.psk_identity == maf_leg.psk_identity == KM_ID
    assert maf_leg.peer_identity == ID_A

    for a_leg, b_leg in zip(a.legs_named("association"), b.legs_named("association"), strict=True):
        assert a_leg.status is b_leg.status is Status.ESTABLISHED
        assert a_leg.psk_identity == b_leg.psk_identity == kc_id
        assert a_leg.peer_identity == ID_B and b_leg.peer_identity == ID_A  # MAF-23/24
        assert a_leg.keys == b_leg.keys and set(a_leg.keys) == {LABEL, f"{LABEL}|01ab"}
    assert a.keys == b.keys == a.legs_named("association")[-1].keys
    assert a.legs_named("association")[0].keys != a.keys  # two associations, two sessions

    for b_kr in b.legs_named("key_retrieval"):
        assert b_kr.status is Status.ESTABLISHED and b_kr.cipher_suite == 0x00AE
        assert b_kr.fields["relativeKeyID"] == material[:32]
        assert b_kr.fields["httpStatus"] == 200
        assert re.fullmatch(r"\d{8}T\d{6}", b_kr.fields["expirationTime"])
    for maf_kr in maf.legs_named("key_retrieval"):
        assert maf_kr.status is Status.ESTABLISHED and maf_kr.peer_identity == ID_B
        assert maf_kr.psk_identity == "b-client" and maf_kr.fields["httpStatus"] == 200


def test_binds_credential_id_without_source_entity() -> None:
    """No thisEntityIdentifier at the MAF: B binds "11-" + KmID (SAEF-MAF-25)."""
    entities = maf_configuration()["authorizedEntities"]
    del entities[0]["thisEntityIdentifier"]
    run = three_party(maf_cfg={"authorizedEntities": entities})
    assert run.b is not None and run.b.peer_identity == f"11-{KM_ID}"
    assert "sourceEntityID" not in run.b.legs_named("key_retrieval")[0].fields


OPENSSL = shutil.which("openssl")
KEYING_MATERIAL = re.compile(r"Keying material: ([0-9A-Fa-f]+)")


@pytest.mark.skipif(OPENSSL is None, reason="openssl CLI not installed")
@pytest.mark.parametrize(
    "fault", [None, "wrong_exporter_label", "wrong_export_split", "upper_case_kcid"]
)
def test_maf_against_openssl_s_client(fault: str | None) -> None:
    """s_client as Entity A exports independently; the MAF must report the same 48 octets
    and form its KcID from their first 16. Each MAF-side mutant changes exactly that."""
    maf = start_maf(Transport.TLS, (fault,) if fault else (), handshakes=1, retrievals=0)
    try:
        address = maf.endpoints["maf_handshake"]
        assert OPENSSL is not None
        completed = subprocess.run(
            [
                *f"{OPENSSL} s_client -tls1_2 -psk {KM} -psk_identity {KM_ID}".split(),
                *f"-connect {address} -servername {MAF_FQDN}".split(),
                *["-cipher", "PSK-AES128-CBC-SHA256"],
                *f"-keymatexport {LABEL} -keymatexportlen 48".split(),
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        found = KEYING_MATERIAL.search(completed.stdout)
        assert found is not None, completed.stdout + completed.stderr
        expected = found.group(1).lower()
        result = maf.result(WAIT)
    finally:
        maf.stop()
    (leg,) = result.legs_named("maf_handshake")
    assert leg.status is Status.ESTABLISHED and leg.psk_identity == KM_ID
    reported = leg.keys[LABEL]
    if fault == "wrong_exporter_label":
        assert reported != expected
        return
    assert reported == expected
    relative = {"wrong_export_split": expected[-32:], "upper_case_kcid": expected[:32].upper()}
    assert leg.fields["kcId"] == f"{relative.get(fault or '', expected[:32])}@{MAF_FQDN}"


def test_expired_kc_is_refused() -> None:
    """kcLifetime 0: the MAF answers 404, B fails the handshake (SAEF-MAF-27); the Kc was
    fresh, so A does not retry."""
    run = three_party(maf_cfg={"kcLifetime": 0})
    assert run.b is not None
    assert run.a.status is Status.REFUSED and names(run.a) == ["maf_handshake", "association"]
    (b_kr,) = run.b.legs_named("key_retrieval")
    assert b_kr.status is Status.REFUSED and b_kr.fields["httpStatus"] == 404
    assert run.b.status is Status.REFUSED and run.b.alert is not None
    assert run.maf.legs_named("key_retrieval")[0].fields["httpStatus"] == 404


def test_wrong_entity_b_gets_403() -> None:
    """An authenticated key-retrieval client that is not the Kc's IdB (SAEF-MAF-08)."""
    run = three_party(b_cfg={"keyRetrievalIdentity": "x-client", "keyRetrievalKey": KR_KEY_X})
    assert run.b is not None
    (maf_kr,) = run.maf.legs_named("key_retrieval")
    assert maf_kr.status is Status.REFUSED and maf_kr.fields["httpStatus"] == 403
    assert maf_kr.peer_identity == ID_X
    assert run.b.legs_named("key_retrieval")[0].fields["httpStatus"] == 403
    assert run.a.status is Status.REFUSED


def test_unauthenticated_key_retrieval_client_gets_nothing() -> None:
    run = three_party(b_cfg={"keyRetrievalKey": KR_KEY_X})  # b-client with a wrong key
    assert run.b is not None
    (b_kr,) = run.b.legs_named("key_retrieval")
    assert b_kr.status is Status.REFUSED and "httpStatus" not in b_kr.fields
    assert run.a.status is Status.REFUSED


class RefuseSecondKcId(FaultSet):
    """A scripted Entity B: it refuses its second association (as if the Kc had expired)."""

    def __init__(self) -> None:
        super().__init__(())
        self.calls = 0

    def trusts_maf(self, fqdn: str, trusted: str) -> bool:
        self.calls += 1
        return self.calls != 2 and super().trusts_maf(fqdn, trusted)


def test_a_renews_after_refusal() -> None:
    """B refuses the stored Kc: A runs a fresh MAF handshake and retries (SAEF-MAF-27)."""
    run = three_party(rounds=2, b_faults=RefuseSecondKcId(), attempts=3, handshakes=2)
    assert names(run.a) == [
        "maf_handshake",
        "association",
        "association",
        "maf_handshake",
        "association",
    ]
    assert statuses(run.a, "association") == [
        Status.ESTABLISHED,
        Status.REFUSED,
        Status.ESTABLISHED,
    ]
    first, second = (leg.fields["kcId"] for leg in run.a.legs_named("maf_handshake"))
    assert first != second and run.a.psk_identity == second


# --- mutants --------------------------------------------------------------------------------


def test_fault_table() -> None:
    assert len(FAULTS) == 19
    for name, cls in FAULTS.items():
        summary = (cls.__doc__ or "").strip().split("\n\n")[0]
        assert summary and cls.name == name, name
        assert cls.requirements and all(r.startswith("SAEF-MAF-") for r in cls.requirements)
    with pytest.raises(ValueError, match="unknown reference fault"):
        FaultSet(("no_such_fault",))


def test_not_applicable_role() -> None:
    with pytest.raises(NotApplicable):
        start(request(Role.MEF, Transport.TLS, {}), ())


@pytest.mark.parametrize(
    ("fault", "retrieved", "established"),
    [
        ("wrong_exporter_label", 404, False),  # A's RelativeKcID is not the MAF's
        ("wrong_export_split", 404, False),
        ("upper_case_kcid", 200, True),  # the MAF compares case-insensitively (I-04)
        ("malformed_kcid", None, False),  # B cannot find a MAF: refused before retrieval
        ("kcid_wrong_fqdn", None, False),  # names a MAF B does not trust
        ("a_sends_kmid_to_b", 404, False),
    ],
)
def test_entity_a_mutants(fault: str, retrieved: int | None, established: bool) -> None:
    run = three_party(a_faults=(fault,), retrievals=0 if retrieved is None else 1)
    assert run.b is not None
    kc_id = run.a.legs_named("maf_handshake")[0].fields["kcId"]
    sent = run.a.legs_named("association")[0].psk_identity
    assert (run.a.status is Status.ESTABLISHED) is established, run.a.detail
    assert [leg.fields["httpStatus"] for leg in run.b.legs_named("key_retrieval")] == (
        [] if retrieved is None else [retrieved]
    )
    material = run.a.legs_named("maf_handshake")[0].keys[LABEL]
    maf_material = run.maf.legs_named("maf_handshake")[0].keys[LABEL]
    assert (material == maf_material) is (fault != "wrong_exporter_label")
    expected = {
        "wrong_export_split": f"{material[-32:]}@{MAF_FQDN}",
        "upper_case_kcid": f"{material[:32].upper()}@{MAF_FQDN}",
        "malformed_kcid": material[:32],
        "kcid_wrong_fqdn": f"{material[:32]}@{HOST_B}",
    }.get(fault, f"{material[:32]}@{MAF_FQDN}")
    assert kc_id == expected
    assert sent == (KM_ID if fault == "a_sends_kmid_to_b" else kc_id)


def test_maf_releases_to_unauthorised() -> None:
    run = three_party(
        maf_faults=("maf_releases_to_unauthorised",),
        b_cfg={"keyRetrievalIdentity": "x-client", "keyRetrievalKey": KR_KEY_X},
    )
    assert run.maf.legs_named("key_retrieval")[0].fields["httpStatus"] == 200  # conformant: 403
    assert run.a.status is Status.ESTABLISHED


def test_maf_ignores_expiry_and_b_accepts_expired_kc() -> None:
    released = three_party(maf_faults=("maf_ignores_expiry",), maf_cfg={"kcLifetime": 0})
    assert released.b is not None
    (b_kr,) = released.b.legs_named("key_retrieval")
    assert b_kr.status is Status.ESTABLISHED and b_kr.fields["httpStatus"] == 200  # conformant 404
    assert released.a.status is Status.REFUSED  # the conformant B still checks expirationTime
    used = three_party(
        maf_faults=("maf_ignores_expiry",),
        b_faults=("b_accepts_expired_kc",),
        maf_cfg={"kcLifetime": 0},
    )
    assert used.a.status is Status.ESTABLISHED and used.b is not None
    assert used.b.status is Status.ESTABLISHED


def test_maf_accepts_unknown_kmid() -> None:
    unknown = {"masterCredentialIdentifier": "nobody@maf.example.com"}
    conformant = three_party(a_cfg=unknown, attempts=0, retrievals=0)
    (leg,) = conformant.a.legs_named("maf_handshake")
    assert leg.status is Status.REFUSED and leg.alert is not None
    assert "PSK identity" in leg.alert, leg.alert  # unknown_psk_identity (SAEF-MAF-10)
    mutant = three_party(a_cfg=unknown, maf_faults=("maf_accepts_unknown_kmid",))
    assert mutant.a.status is Status.ESTABLISHED


def test_b_binds_kcid() -> None:
    run = three_party(b_faults=("b_binds_kcid",))
    assert run.b is not None and run.b.peer_identity == run.b.psk_identity  # the KcID, not IdA
    assert run.b.peer_identity != ID_A


@pytest.mark.parametrize("faults", [(), ("b_uses_cached_key",)])
def test_b_uses_cached_key(faults: tuple[str, ...]) -> None:
    """Two Entity As, two KcIDs: the mutant B serves the second with the first's Kc."""
    mutant = bool(faults)
    maf = start_maf(Transport.TLS, handshakes=2, retrievals=1 if mutant else 2)
    b = start_b(Transport.TLS, maf, faults, attempts=2)
    try:
        first = run_a(Transport.TLS, maf, b)
        second = run_a(Transport.TLS, maf, b)
        b_result = b.result(WAIT)
    finally:
        b.stop()
        maf.stop()
    assert first.status is Status.ESTABLISHED and first.psk_identity != second.psk_identity
    assert len(b_result.legs_named("key_retrieval")) == (1 if mutant else 2)
    assert second.status is (Status.REFUSED if mutant else Status.ESTABLISHED)


def test_b_trusts_any_maf() -> None:
    """A's KcID names another MAF: a conformant B refuses it without asking anyone."""
    foreign = {"mafIdentifier": "rogue-maf.example.com"}
    conformant = three_party(a_cfg=foreign, retrievals=0)
    assert conformant.b is not None and conformant.b.legs_named("key_retrieval") == []
    assert conformant.a.status is Status.REFUSED
    mutant = three_party(a_cfg=foreign, b_faults=("b_trusts_any_maf",))
    assert mutant.b is not None and len(mutant.b.legs_named("key_retrieval")) == 1
    assert mutant.a.status is Status.ESTABLISHED


def test_a_reuses_expired_kc() -> None:
    """The mutant A answers B's refusal of its stored Kc by retrying the same KcID."""
    run = three_party(
        rounds=2, a_faults=("a_reuses_expired_kc",), b_faults=RefuseSecondKcId(), attempts=3
    )
    assert names(run.a) == ["maf_handshake", "association", "association", "association"]
    kc_ids = {leg.psk_identity for leg in run.a.legs_named("association")}
    assert len(kc_ids) == 1  # conformant: a fresh MAF handshake and a new KcID


@pytest.mark.parametrize("faults", [(), ("a_binds_wrong_identity",)])
def test_a_binds_wrong_identity(faults: tuple[str, ...]) -> None:
    """The mutant A binds (and reports) the MAF's identifier, not IdB (SAEF-MAF-07/23)."""
    run = three_party(a_faults=faults)
    assert run.a.status is Status.ESTABLISHED, run.a.detail
    (leg,) = run.a.legs_named("association")
    bound = MAF_FQDN if faults else ID_B
    assert leg.peer_identity == run.a.peer_identity == bound


@pytest.mark.parametrize("faults", [(), ("a_contacts_b_without_kc",)])
def test_a_contacts_b_without_kc(faults: tuple[str, ...]) -> None:
    """A wrong Km: the MAF handshake fails. A conformant A never contacts B; the mutant
    offers KmID and Km to B, which finds no such Kc at the MAF (SAEF-MAF-11)."""
    mutant = bool(faults)
    run = three_party(
        a_faults=faults,
        a_cfg={"masterCredential": KR_KEY_X},
        attempts=1 if mutant else 0,
        retrievals=1 if mutant else 0,
    )
    assert run.b is not None
    assert statuses(run.a, "maf_handshake") == [Status.REFUSED]
    if not mutant:
        assert names(run.a) == ["maf_handshake"] and run.b.legs == []
        return
    assert names(run.a) == ["maf_handshake", "association"]
    (leg,) = run.a.legs_named("association")
    assert leg.status is Status.REFUSED and leg.psk_identity == KM_ID  # reported honestly
    assert "kcId" not in leg.fields and leg.peer_identity is None
    assert run.b.legs_named("association")[0].psk_identity == KM_ID
    assert [kr.fields["httpStatus"] for kr in run.b.legs_named("key_retrieval")] == [404]


@pytest.mark.parametrize("faults", [(), ("b_claims_established",)])
def test_b_claims_established(faults: tuple[str, ...]) -> None:
    """An expired Kc: the handshake fails on the wire (A sees it refused); the mutant B
    reports the leg and its result as established all the same."""
    run = three_party(b_faults=faults, maf_cfg={"kcLifetime": 0})
    assert run.b is not None and run.a.status is Status.REFUSED
    (leg,) = run.b.legs_named("association")
    claimed = Status.ESTABLISHED if faults else Status.REFUSED
    assert leg.status is run.b.status is claimed
    assert (leg.alert is None) is bool(faults) and leg.keys == {}
    assert run.b.legs_named("key_retrieval")[0].status is Status.REFUSED  # not a lie


@pytest.mark.parametrize("faults", [(), ("maf_omits_entity_id",)])
def test_maf_omits_entity_id(faults: tuple[str, ...]) -> None:
    """The MAF holds A's CSE-ID but the mutant leaves sourceEntityID out (SAEF-MAF-19):
    B falls back to the Credential-ID "11-" + KmID (SAEF-MAF-25)."""
    run = three_party(maf_faults=faults)
    assert run.b is not None and run.a.status is Status.ESTABLISHED
    (b_kr,) = run.b.legs_named("key_retrieval")
    if faults:
        assert "sourceEntityID" not in b_kr.fields and run.b.peer_identity == f"11-{KM_ID}"
    else:
        assert b_kr.fields["sourceEntityID"] == run.b.peer_identity == ID_A


# --- HTTP interoperation with the harness's h11 side -------------------------------------


def test_maf_key_retrieval_with_harness_h11_client() -> None:
    """The harness's HTTPS client (its TLS engine + h11) against the MAF's http.server."""
    maf = start_maf(Transport.TLS, handshakes=0, retrievals=4)
    bodies: list[Any] = [{"relativeKeyID": "00" * 16}, b"not json", {"relativeKeyID": 7}, None]
    try:
        address = maf.endpoints["key_retrieval"]
        answers = []
        for body in bodies:
            answer = https_request(
                (address.host, address.port),
                "b-client",
                bytes.fromhex(KR_KEY_B),
                MAF_FQDN,
                method="POST" if body is not None else "GET",  # GET: http.server's own 501
                headers=[("Content-Type", "application/json"), ("X-M2M-Origin", ID_B)],
                json_body=body,
                deadline=time.monotonic() + TIMEOUT,
            )
            assert answer.ending == "complete", answer.detail
            assert answer.response is not None
            answers.append(answer.response)
        result = maf.result(WAIT)
    finally:
        maf.stop()
    assert [r.status for r in answers] == [404, 400, 400, 501]
    assert all(r.json["status"] is False and r.json["errorString"] for r in answers)
    assert all(r.header("Content-Type") == "application/json" for r in answers)
    reported = [leg.fields["httpStatus"] for leg in result.legs_named("key_retrieval")]
    assert reported == [404, 400, 400, 501]


def test_entity_b_request_read_by_harness_h11_server() -> None:
    """Entity B's http.client request, parsed by the harness's HTTPS server (as the MAF):
    the binding's method, target, headers and body, over TLS-PSK with SNI = MAF-FQDN."""
    maf = start_maf(Transport.TLS, handshakes=1, retrievals=0)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    served: list[Any] = []
    harness_maf = threading.Thread(
        target=lambda: served.append(
            serve_https_once(
                listener,
                {b"b-client": bytes.fromhex(KR_KEY_B)},
                lambda _request, _identity: (404, {"status": False, "errorString": "unknown"}),
                time.monotonic() + TIMEOUT,
            )
        ),
        daemon=True,
    )
    harness_maf.start()
    b_request = request(
        Role.ENTITY_B,
        Transport.TLS,
        b_configuration(),
        peers={"maf": Address(*listener.getsockname()[:2])},
    )
    b = start(b_request, ())
    try:
        a = run_a(Transport.TLS, maf, b)
        b_result = b.result(WAIT)
        harness_maf.join(WAIT)
    finally:
        b.stop()
        maf.stop()
        listener.close()
    (record,) = served
    assert record.tls_established and record.psk_identity == b"b-client"
    assert record.server_name == MAF_FQDN and record.status_sent == 404
    http_request = record.request
    assert http_request.method == "POST" and http_request.target == "/keyRetrieval"
    assert http_request.header("Host") == MAF_FQDN
    assert http_request.header("X-M2M-Origin") == ID_B
    assert http_request.header("Content-Type") == "application/json"
    kc_id = a.legs_named("maf_handshake")[0].fields["kcId"]
    assert http_request.json == {"relativeKeyID": kc_id.split("@")[0]}
    (b_kr,) = b_result.legs_named("key_retrieval")
    assert b_kr.status is Status.REFUSED and b_kr.fields["httpStatus"] == 404
    assert a.status is Status.REFUSED
