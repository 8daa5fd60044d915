"""The enrolee-key SBF reference: Enrolee, MEF and MAF, each against harness parties.

Each role runs as a reference session on loopback; the parties around it are the
harness's own: (D)TLS-PSK legs from harness/legs/tls_psk.py (play_client / play_server
over the harness engine) and the credential fetch from harness/http (https_request /
serve_https_once, h11). The expected values (Ke, KeID, Km, KmID) come from the harness
engine's exporter and harness.key_export, never from the reference. Over TLS and DTLS
for the (D)TLS-PSK legs; positive and negative paths; the MEF's export also against
``openssl s_client -keymatexport``; and per mutant a quick run showing what it changes.
Every wait is bounded by the sessions' own timeouts and ``result(timeout)``.
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from harness.frameworks.sbf_psk.binding import fetch_target, read_fetch
from harness.frameworks.sbf_psk.reference import FAULTS, start
from harness.frameworks.sbf_psk.reference.faults import FaultSet, refused_keid_stand_in
from harness.http.https import RequestResult, ServedRequest, https_request, serve_https_once
from harness.key_export import derive_km, derive_usage_constrained_key, derived_kmid
from harness.legs.tls_psk import Played, play_client, play_server
from harness.observations import PeerPlan
from harness.reference.session import ReferenceSession
from harness.sut.contract import (
    Address,
    ExportRequest,
    Framework,
    Role,
    Status,
    SutRequest,
    SutResult,
    Transport,
)
from harness.sut.profile import reference_profile
from harness.verdict import NotApplicable

MEF_FQDN = "mef.example.com"
MAF_FQDN = "maf.example.com"
OTHER_MAF = "maf-2.example.com"
FULLWIDTH_MAF = "\uff4d\uff41\uff46.example.com"  # "ｍａｆ.example.com": NFKC -> maf.example.com
KPM_ID = "dev1@mef.example.com"
KPM = "00112233445566778899aabbccddeeff"
WRONG_KPM = "0f0e0d0c0b0a09080706050403020100"
ENROLEE_ID = "/Cae-dev1"
KM_ID = "dev1@maf.example.com"
FETCH_ID, FETCH_KEY = "maf-1", "a1" * 16
FETCH_ID_2, FETCH_KEY_2 = "maf-2", "b2" * 16
LABEL = "EXPORTER-oneM2M-Bootstrap"
CONNECTION = "EXPORTER-oneM2M-Connection"
SUITES = {Transport.TLS: [0x00AE], Transport.DTLS: [0xC0A8]}
TIMEOUT = 5.0
WAIT = TIMEOUT + 3.0
TRANSPORTS = [Transport.TLS, Transport.DTLS]


def request(role: Role, transport: Transport, configuration: dict[str, Any], **extra: Any):
    return SutRequest(
        role, Framework.SBF_PSK, transport, configuration, SUITES[transport],
        **{"timeout": TIMEOUT, **extra},
    )  # fmt: skip


def bound(transport: Transport) -> socket.socket:
    """A harness server socket on loopback: listening TCP, or bound UDP."""
    kind = socket.SOCK_DGRAM if transport is Transport.DTLS else socket.SOCK_STREAM
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind(("127.0.0.1", 0))
    if kind == socket.SOCK_STREAM:
        sock.listen(4)
    return sock


def address_of(sock: socket.socket) -> Address:
    host, port = sock.getsockname()[:2]
    return Address(host, port)


def idle(sock: socket.socket, wait: float = 0.2) -> bool:
    """No connection attempt or datagram is waiting on a harness socket."""
    readable, _, _ = select.select([sock], [], [], wait)
    return not readable


def in_thread(work: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def split(material: bytes, mef: str = MEF_FQDN) -> tuple[str, bytes]:
    """(KeID, Ke) as the harness forms them from the 48 exported octets."""
    return f"{material[:16].hex()}@{mef}", material[16:]


def names(result: SutResult) -> list[str]:
    return [leg.name for leg in result.legs]


# --- the SUT as Enrolee: the harness is MEF and MAF --------------------------------------


def enrolee_configuration(**changes: Any) -> dict[str, Any]:
    configuration = {
        "kpmId": KPM_ID,
        "kpmKey": KPM,
        "mefIdentifier": MEF_FQDN,
        "mafIdentifier": MAF_FQDN,
        "enroleeIdentifier": ENROLEE_ID,
        "masterCredentialIdentifier": KM_ID,
    }
    return {**configuration, **changes}


@dataclass
class EnroleeRun:
    result: SutResult
    mef: Played | None
    maf: list[Played]
    material: bytes | None  # the harness MEF's own export
    maf_socket_idle: bool  # no connection attempt or datagram reached the harness MAF

    @property
    def ke_id(self) -> str:
        assert self.material is not None
        return split(self.material)[0]

    @property
    def ke(self) -> bytes:
        assert self.material is not None
        return split(self.material)[1]

    def maf_identities(self) -> list[bytes | None]:
        return [played.connection.psk_identity for played in self.maf]


def enrolee_case(
    transport: Transport = Transport.TLS,
    faults: tuple[str, ...] = (),
    *,
    rounds: int = 2,
    maf_serves: int | None = None,
    mef_kpm: str = KPM,
    km_for: Callable[[bytes], bytes] | None = None,
    km_id: str = KM_ID,
    cfg: dict[str, Any] | None = None,
    exports: list[ExportRequest] | None = None,
    timeout: float = TIMEOUT,
) -> EnroleeRun:
    """The SUT Enrolee against a harness MEF (one bootstrap, psk table {KpmId: mef_kpm})
    and a harness MAF (``maf_serves`` handshakes, accepting KeID and ``km_id`` with the
    Km the harness derives from its own export)."""
    mef_sock, maf_sock = bound(transport), bound(transport)
    shared: dict[str, Any] = {}
    derive = km_for or (lambda ke: derive_km(ke, MAF_FQDN))

    def on_bootstrap(conn: Any) -> None:
        shared["material"] = conn.export_keying_material(LABEL.encode(), 48)

    def maf_lookup(identity: bytes) -> bytes | None:
        material = shared.get("material")
        if material is None:
            return None
        ke_id, ke = split(material)
        return derive(ke) if identity in (ke_id.encode(), km_id.encode()) else None

    mef_plan = PeerPlan(
        Role.MEF,
        b"",
        b"",
        SUITES[transport],
        psk_table={KPM_ID.encode(): bytes.fromhex(mef_kpm)},
        on_established=on_bootstrap,
    )
    maf_plan = PeerPlan(Role.MAF, b"", b"", SUITES[transport], psk_lookup=maf_lookup)
    served: dict[str, Any] = {"maf": []}
    serves = rounds if maf_serves is None else maf_serves

    def run_mef() -> None:
        served["mef"] = play_server(mef_plan, mef_sock, transport, timeout)

    def run_maf() -> None:
        for _ in range(serves):
            played = play_server(maf_plan, maf_sock, transport, timeout)
            served["maf"].append(played)
            if played.outcome.kind == "timeout":
                return

    threads = [in_thread(run_mef)]
    if serves:
        threads.append(in_thread(run_maf))
    session = start(
        request(
            Role.ENROLEE,
            transport,
            enrolee_configuration(**(cfg or {})),
            connect=address_of(mef_sock),
            peers={"mef": address_of(mef_sock), "maf": address_of(maf_sock)},
            expected_legs={"maf_handshake": rounds},
            exports=list(exports or []),
            timeout=timeout,
        ),
        faults,
    )
    try:
        result = session.result(WAIT)
        for thread in threads:
            thread.join(WAIT)
        return EnroleeRun(
            result,
            served.get("mef"),
            served["maf"],
            shared.get("material"),
            idle(maf_sock),
        )
    finally:
        session.stop()
        mef_sock.close()
        maf_sock.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_enrolee_bootstraps_and_proves_km(transport: Transport) -> None:
    """KpmId and SNI on the wire, the harness's export = the Enrolee's, KeID first then
    KmID, and both MAF handshakes complete with the Km the harness derived."""
    connection_export = ExportRequest(CONNECTION, 48)
    run = enrolee_case(transport, rounds=2, exports=[connection_export])
    assert run.result.status is Status.ESTABLISHED, run.result.detail
    assert names(run.result) == ["bootstrap", "maf_handshake", "maf_handshake"]
    assert run.mef is not None and run.mef.connection.established
    assert run.mef.connection.psk_identity == KPM_ID.encode()  # SBF-PSK-09
    assert run.mef.connection.server_name == MEF_FQDN
    (boot,) = run.result.legs_named("bootstrap")
    assert boot.status is Status.ESTABLISHED and boot.psk_identity == KPM_ID
    assert run.material is not None and boot.keys == {LABEL: run.material.hex()}  # PSK-12
    assert boot.fields["keId"] == run.ke_id  # SBF-PSK-13
    assert run.maf_identities() == [run.ke_id.encode(), KM_ID.encode()]  # COMMON-12/20
    assert all(p.connection.established for p in run.maf)  # proof by use (COMMON-10/19)
    assert all(p.connection.server_name == MAF_FQDN for p in run.maf)
    for leg, played in zip(run.result.legs_named("maf_handshake"), run.maf, strict=True):
        assert leg.status is Status.ESTABLISHED and leg.fields["kmId"] == KM_ID
        harness_export = played.connection.export_keying_material(CONNECTION.encode(), 48)
        assert leg.keys == {CONNECTION: harness_export.hex()}
    assert run.result.psk_identity == KM_ID


def test_enrolee_derived_kmid_and_usage_constrained_key() -> None:
    """I-05 derived and I-12 usage-constrained: the second contact presents
    derived_kmid(Km), and the key is the 10.3.7 one."""
    shared: dict[str, bytes] = {}

    def usage_key(ke: bytes) -> bytes:
        shared["km"] = derive_usage_constrained_key(ke, 21, MAF_FQDN)
        return shared["km"]

    cfg = {"kmIdForm": "derived", "kmDerivation": "usage-constrained"}
    # The harness MAF accepts KeID first; for the second contact it must accept the
    # derived KmID, which depends on Km: a lookup that computes it.
    mef_sock, maf_sock = bound(Transport.TLS), bound(Transport.TLS)
    state: dict[str, Any] = {}

    def on_bootstrap(conn: Any) -> None:
        state["ke_id"], state["ke"] = split(conn.export_keying_material(LABEL.encode(), 48))

    def lookup(identity: bytes) -> bytes | None:
        km = usage_key(state["ke"])
        accepted = {state["ke_id"].encode(), derived_kmid(km, MAF_FQDN).encode()}
        return km if identity in accepted else None

    mef_plan = PeerPlan(
        Role.MEF, b"", b"", [0x00AE], psk_table={KPM_ID.encode(): bytes.fromhex(KPM)},
        on_established=on_bootstrap,
    )  # fmt: skip
    maf_plan = PeerPlan(Role.MAF, b"", b"", [0x00AE], psk_lookup=lookup)
    played: list[Played] = []
    threads = [
        in_thread(lambda: play_server(mef_plan, mef_sock, Transport.TLS, TIMEOUT)),
        in_thread(
            lambda: played.extend(
                play_server(maf_plan, maf_sock, Transport.TLS, TIMEOUT) for _ in range(2)
            )
        ),
    ]
    session = start(
        request(
            Role.ENROLEE,
            Transport.TLS,
            enrolee_configuration(**cfg),
            peers={"mef": address_of(mef_sock), "maf": address_of(maf_sock)},
            expected_legs={"maf_handshake": 2},
        ),
        (),
    )
    try:
        result = session.result(WAIT)
        for thread in threads:
            thread.join(WAIT)
    finally:
        session.stop()
        mef_sock.close()
        maf_sock.close()
    assert result.status is Status.ESTABLISHED, result.detail
    kmid = derived_kmid(shared["km"], MAF_FQDN)
    assert [p.connection.psk_identity for p in played] == [state["ke_id"].encode(), kmid.encode()]
    assert all(leg.fields["kmId"] == kmid for leg in result.legs_named("maf_handshake"))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_enrolee_refuses_mef_with_wrong_kpm(transport: Transport) -> None:
    """A MEF with another Kpm: the bootstrap fails, and the Enrolee never contacts the MAF
    (SBF-PSK-10, SBF-COMMON-21). Over TLS the Enrolee's Finished draws the harness's
    alert; over DTLS the harness discards it as a bad record (RFC 6347 4.1.2.7), so the
    Enrolee's handshake times out: a short case timeout keeps that cheap."""
    run = enrolee_case(transport, mef_kpm=WRONG_KPM, maf_serves=0, timeout=1.5)
    assert names(run.result) == ["bootstrap"]
    if transport is Transport.TLS:
        assert run.result.status is Status.REFUSED and run.result.alert is not None
    else:
        assert run.result.status is Status.TIMEOUT
    assert run.mef is not None and not run.mef.connection.established
    assert run.maf_socket_idle


def test_enrolee_configuration_errors_name_the_field() -> None:
    session = start(
        request(Role.ENROLEE, Transport.TLS, enrolee_configuration(kpmKey="zz"), peers={}), ()
    )
    result = session.result(WAIT)
    assert result.status is Status.ERROR and "kpmKey" in result.detail
    cfg = enrolee_configuration()
    del cfg["masterCredentialIdentifier"]
    maf = Address("127.0.0.1", 9)
    session = start(
        request(
            Role.ENROLEE,
            Transport.TLS,
            cfg,
            peers={"mef": maf, "maf": maf},
            expected_legs={"maf_handshake": 2},
        ),
        (),
    )
    result = session.result(WAIT)
    assert result.status is Status.ERROR and "masterCredentialIdentifier" in result.detail
    session = start(
        request(Role.ENROLEE, Transport.TLS, enrolee_configuration(kmIdForm="x"), peers={}), ()
    )
    assert "kmIdForm" in session.result(WAIT).detail


# Enrolee mutants: what the harness MEF and MAF see.


@pytest.mark.parametrize(
    "fault",
    [
        "sbf_wrong_bootstrap_label",
        "sbf_swapped_ke_split",
        "sbf_upper_case_keid",
        "sbf_keid_maf_fqdn",
    ],
)
def test_enrolee_keid_mutants(fault: str) -> None:
    """The KeID the Enrolee presents to the MAF is not the harness's; the harness MAF
    (exact identifiers) refuses it, so no Km is proven."""
    run = enrolee_case(faults=(fault,), rounds=1)
    assert run.material is not None
    (boot,) = run.result.legs_named("bootstrap")
    presented = run.maf_identities()[0]
    assert presented is not None and presented != run.ke_id.encode()
    expected = {
        "sbf_swapped_ke_split": f"{run.material[-16:].hex()}@{MEF_FQDN}",
        "sbf_upper_case_keid": f"{run.material[:16].hex().upper()}@{MEF_FQDN}",
        "sbf_keid_maf_fqdn": f"{run.material[:16].hex()}@{MAF_FQDN}",
    }
    if fault in expected:
        assert presented.decode() == boot.fields["keId"] == expected[fault]
    assert (boot.keys[LABEL] == run.material.hex()) is (fault != "sbf_wrong_bootstrap_label")
    assert run.result.status is Status.REFUSED


@pytest.mark.parametrize("fault", ["sbf_km_wrong_label", "sbf_ke_as_km"])
def test_enrolee_km_mutants(fault: str) -> None:
    """Right KeID, wrong Km: the harness MAF's handshake fails (proof by use)."""
    run = enrolee_case(faults=(fault,), rounds=1)
    assert run.maf_identities() == [run.ke_id.encode()]
    assert not run.maf[0].connection.established
    assert run.result.status is Status.REFUSED


@pytest.mark.parametrize("faults", [(), ("sbf_km_without_nfkc",)])
def test_enrolee_nfkc(faults: tuple[str, ...]) -> None:
    """A fullwidth MAF-ID: NFKC folds it to maf.example.com, so the conformant Km is the
    plain name's and the SNI is the plain name; the mutant hashes the fullwidth octets."""
    run = enrolee_case(faults=faults, rounds=1, cfg={"mafIdentifier": FULLWIDTH_MAF})
    assert run.maf[0].connection.server_name == MAF_FQDN
    assert run.maf[0].connection.established is (not faults)
    ascii_run = enrolee_case(faults=faults, rounds=1)  # a plain MAF-ID hides the mutant
    assert ascii_run.result.status is Status.ESTABLISHED


def test_enrolee_wrong_kpm_id() -> None:
    run = enrolee_case(faults=("sbf_wrong_kpm_id",), rounds=1, maf_serves=0)
    assert run.mef is not None and run.mef.connection.psk_identity == b"xev1@mef.example.com"
    assert names(run.result) == ["bootstrap"] and run.result.status is Status.REFUSED
    assert run.maf_socket_idle


def test_enrolee_contacts_maf_after_failed_bootstrap() -> None:
    run = enrolee_case(
        faults=("sbf_contacts_maf_after_failed_bootstrap",), mef_kpm=WRONG_KPM, rounds=1
    )
    assert names(run.result) == ["bootstrap", "maf_handshake"]
    assert run.maf_identities() == [KPM_ID.encode()]  # conformant: no contact at all
    assert not run.maf[0].connection.established
    (leg,) = run.result.legs_named("maf_handshake")
    assert leg.status is Status.REFUSED and "kmId" not in leg.fields


# --- the SUT as MEF: the harness is Enrolee and MAF --------------------------------------


def mef_configuration(**changes: Any) -> dict[str, Any]:
    configuration: dict[str, Any] = {
        "mefIdentifier": MEF_FQDN,
        "credentialLifetime": 3600,
        "enrolees": [
            {
                "kpmId": KPM_ID,
                "kpmKey": KPM,
                "enroleeIdentifier": ENROLEE_ID,
                "mafIdentifier": MAF_FQDN,
            }
        ],
        "mafClients": [
            {"fetchIdentity": FETCH_ID, "fetchKey": FETCH_KEY, "mafIdentifier": MAF_FQDN},
            {"fetchIdentity": FETCH_ID_2, "fetchKey": FETCH_KEY_2, "mafIdentifier": OTHER_MAF},
        ],
    }
    return {**configuration, **changes}


def start_mef(
    transport: Transport = Transport.TLS,
    faults: tuple[str, ...] = (),
    *,
    bootstraps: int = 1,
    fetches: int = 1,
    timeout: float = TIMEOUT,
    **cfg: Any,
) -> ReferenceSession:
    return start(
        request(
            Role.MEF,
            transport,
            mef_configuration(**cfg),
            services={
                "bootstrap": Address("127.0.0.1", 0),
                "credential_fetch": Address("127.0.0.1", 0),
            },
            expected_legs={"bootstrap": bootstraps, "credential_fetch": fetches},
            timeout=timeout,
        ),
        faults,
    )


def bootstrap(
    mef: ReferenceSession,
    transport: Transport,
    kpm_id: str = KPM_ID,
    kpm: str = KPM,
    timeout: float = TIMEOUT,
) -> Played:
    """The harness as Enrolee: one bootstrap handshake."""
    plan = PeerPlan(
        Role.ENROLEE, kpm_id.encode(), bytes.fromhex(kpm), SUITES[transport], server_name=MEF_FQDN
    )
    return play_client(plan, mef.endpoints["bootstrap"], transport, timeout)


def fetch(
    mef: ReferenceSession,
    ke_id: str,
    *,
    identity: str = FETCH_ID,
    key: str = FETCH_KEY,
    origin: str | None = MAF_FQDN,
    target: str | None = None,
    method: str = "GET",
) -> RequestResult:
    """The harness as MAF: one credential fetch (h11 over the harness engine)."""
    address = mef.endpoints["credential_fetch"]
    headers = [] if origin is None else [("X-M2M-Origin", origin)]
    return https_request(
        (address.host, address.port),
        identity,
        bytes.fromhex(key),
        MEF_FQDN,
        method=method,
        target=target or fetch_target(ke_id),
        headers=headers,
        deadline=time.monotonic() + TIMEOUT,
    )


def exported(played: Played) -> tuple[str, bytes]:
    return split(played.connection.export_keying_material(LABEL.encode(), 48))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_mef_bootstrap_and_fetch(transport: Transport) -> None:
    """The MEF's export equals the harness's; the configured MAF gets the Km the harness
    derived, the Enrolee-ID and a future lifetime (SBF-PSK-12..14, SBF-COMMON-16/17)."""
    mef = start_mef(transport)
    try:
        played = bootstrap(mef, transport)
        assert played.connection.established
        ke_id, ke = exported(played)
        answer = fetch(mef, ke_id)
        result = mef.result(WAIT)
    finally:
        mef.stop()
    assert answer.ending == "complete" and answer.response is not None, answer.detail
    assert answer.response.status == 200
    body = answer.response.json
    assert body["credential"] == derive_km(ke, MAF_FQDN).hex()
    assert body["enroleeID"] == ENROLEE_ID
    assert re.fullmatch(r"\d{8}T\d{6}", body["lifetime"]) and body["lifetime"] > time.strftime(
        "%Y%m%dT%H%M%S", time.gmtime()
    )
    assert names(result) == ["bootstrap", "credential_fetch"]
    boot, leg = result.legs
    assert boot.status is Status.ESTABLISHED and boot.psk_identity == KPM_ID
    assert boot.peer_identity == ENROLEE_ID
    assert boot.keys[LABEL] == played.connection.export_keying_material(LABEL.encode(), 48).hex()
    assert boot.fields["keId"] == ke_id
    assert leg.status is Status.ESTABLISHED and leg.peer_identity == MAF_FQDN
    assert leg.psk_identity == FETCH_ID and leg.fields == {"keId": ke_id, "httpStatus": 200}


def test_mef_usage_constrained_key() -> None:
    mef = start_mef(kmDerivation="usage-constrained")
    try:
        ke_id, ke = exported(bootstrap(mef, Transport.TLS))
        answer = fetch(mef, ke_id)
    finally:
        mef.stop()
    assert answer.response is not None and answer.response.status == 200
    assert (
        answer.response.json["credential"] == derive_usage_constrained_key(ke, 21, MAF_FQDN).hex()
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_mef_refuses_unknown_kpm_id_and_wrong_kpm(transport: Transport) -> None:
    """Unknown KpmId: unknown_psk_identity (SBF-PSK-09). Wrong Kpm: over TLS the MEF's
    alert on the Enrolee's Finished; over DTLS the MEF discards that Finished as a bad
    record (RFC 6347 4.1.2.7) and the bootstrap times out; short timeouts keep it cheap."""
    mef = start_mef(transport, bootstraps=2, fetches=0, timeout=2.0)
    try:
        unknown = bootstrap(mef, transport, kpm_id="nobody@mef.example.com")
        wrong = bootstrap(mef, transport, kpm=WRONG_KPM, timeout=1.5)
        result = mef.result(WAIT)
    finally:
        mef.stop()
    assert unknown.outcome.alert is not None
    assert unknown.outcome.alert.description == "unknown_psk_identity"  # SBF-PSK-09
    assert not wrong.connection.established  # SBF-PSK-10
    refused = Status.REFUSED if transport is Transport.TLS else Status.TIMEOUT
    assert (wrong.outcome.alert is not None) is (transport is Transport.TLS)
    assert [leg.status for leg in result.legs] == [Status.REFUSED, refused]
    assert result.legs[0].psk_identity == "nobody@mef.example.com"
    assert all("keId" not in leg.fields for leg in result.legs)


def test_mef_fetch_refusals() -> None:
    """400 malformed, 400 other SUID, 403 originator not the authenticated MAF, 403 the
    wrong MAF for that Enrolee, 404 unknown KeID, unknown fetch identity: no channel."""
    mef = start_mef(fetches=7)
    try:
        ke_id, _ke = exported(bootstrap(mef, Transport.TLS))
        answers = [
            fetch(mef, ke_id, origin=None),
            fetch(mef, ke_id, target=f"/fetchCredentials/{ke_id}/22"),
            fetch(mef, ke_id, method="POST"),
            fetch(mef, ke_id, origin=OTHER_MAF),
            fetch(mef, ke_id, identity=FETCH_ID_2, key=FETCH_KEY_2, origin=OTHER_MAF),
            fetch(mef, f"{'00' * 16}@{MEF_FQDN}"),
        ]
        stranger = fetch(mef, ke_id, identity="nobody", key=FETCH_KEY)
        result = mef.result(WAIT)
    finally:
        mef.stop()
    statuses = [a.response.status if a.response else None for a in answers]
    assert statuses == [400, 400, 400, 403, 403, 404]
    assert all(a.response and a.response.json["status"] is False for a in answers)
    assert all(a.response and a.response.json["errorString"] for a in answers)
    assert stranger.ending == "handshake_failed" and stranger.alert is not None
    assert stranger.alert.description == "unknown_psk_identity"
    fetches = result.legs_named("credential_fetch")
    assert [leg.fields.get("httpStatus") for leg in fetches] == [400, 400, 400, 403, 403, 404, None]
    assert all(leg.status is Status.REFUSED for leg in fetches)
    assert fetches[4].peer_identity == OTHER_MAF and fetches[4].psk_identity == FETCH_ID_2


def test_mef_honours_lifetime() -> None:
    mef = start_mef(credentialLifetime=0)
    try:
        ke_id, _ke = exported(bootstrap(mef, Transport.TLS))
        answer = fetch(mef, ke_id)
    finally:
        mef.stop()
    assert answer.response is not None and answer.response.status == 404


def test_mef_upper_case_keid_in_fetch() -> None:
    """I-04: the MEF compares the relative part case-insensitively."""
    mef = start_mef()
    try:
        ke_id, _ke = exported(bootstrap(mef, Transport.TLS))
        relative, fqdn = ke_id.split("@")
        answer = fetch(mef, f"{relative.upper()}@{fqdn.upper()}")
    finally:
        mef.stop()
    assert answer.response is not None and answer.response.status == 200


OPENSSL = shutil.which("openssl")
KEYING_MATERIAL = re.compile(r"Keying material: ([0-9A-Fa-f]+)")


@pytest.mark.skipif(OPENSSL is None, reason="openssl CLI not installed")
@pytest.mark.parametrize("fault", [None, "sbf_wrong_bootstrap_label", "sbf_swapped_ke_split"])
def test_mef_against_openssl_s_client(fault: str | None) -> None:
    """s_client as Enrolee exports independently; the MEF reports the same 48 octets and
    forms its KeID from their first 16 (each mutant changes exactly that)."""
    mef = start_mef(Transport.TLS, (fault,) if fault else (), fetches=0)
    try:
        address = mef.endpoints["bootstrap"]
        assert OPENSSL is not None
        completed = subprocess.run(
            [
                *f"{OPENSSL} s_client -tls1_2 -psk {KPM} -psk_identity {KPM_ID}".split(),
                *f"-connect {address} -servername {MEF_FQDN}".split(),
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
        result = mef.result(WAIT)
    finally:
        mef.stop()
    (leg,) = result.legs_named("bootstrap")
    assert leg.status is Status.ESTABLISHED
    if fault == "sbf_wrong_bootstrap_label":
        assert leg.keys[LABEL] != expected
        return
    assert leg.keys[LABEL] == expected
    relative = expected[-32:] if fault else expected[:32]
    assert leg.fields["keId"] == f"{relative}@{MEF_FQDN}"


# MEF mutants.


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ("sbf_wrong_bootstrap_label", 404),
        ("sbf_swapped_ke_split", 404),
        ("sbf_keid_maf_fqdn", 404),
        ("sbf_upper_case_keid", 200),  # found case-insensitively; only the report shows it
    ],
)
def test_mef_keid_mutants(fault: str, status: int) -> None:
    mef = start_mef(faults=(fault,))
    try:
        played = bootstrap(mef, Transport.TLS)
        ke_id, _ke = exported(played)
        answer = fetch(mef, ke_id)
        result = mef.result(WAIT)
    finally:
        mef.stop()
    assert answer.response is not None and answer.response.status == status
    (boot,) = result.legs_named("bootstrap")
    assert boot.fields["keId"] != ke_id


@pytest.mark.parametrize(
    ("fault", "maf_id"),
    [
        ("sbf_km_wrong_label", MAF_FQDN),
        ("sbf_km_without_nfkc", FULLWIDTH_MAF),
        (None, FULLWIDTH_MAF),
    ],
)
def test_mef_km_mutants(fault: str | None, maf_id: str) -> None:
    """The released credential is not the harness's Km (the NFKC mutant only with an
    Enrolee entry whose MAF-ID has compatibility characters)."""
    enrolees = mef_configuration()["enrolees"]
    enrolees[0]["mafIdentifier"] = maf_id
    mef = start_mef(faults=(fault,) if fault else (), enrolees=enrolees)
    try:
        ke_id, ke = exported(bootstrap(mef, Transport.TLS))
        answer = fetch(mef, ke_id)
    finally:
        mef.stop()
    assert answer.response is not None and answer.response.status == 200
    right = answer.response.json["credential"] == derive_km(ke, MAF_FQDN).hex()
    assert right is (fault is None)


def test_mef_serves_any_maf() -> None:
    mef = start_mef(faults=("sbf_mef_serves_any_maf",), fetches=2)
    try:
        ke_id, _ke = exported(bootstrap(mef, Transport.TLS))
        other = fetch(mef, ke_id, identity=FETCH_ID_2, key=FETCH_KEY_2, origin=OTHER_MAF)
        spoofed = fetch(mef, ke_id, origin=OTHER_MAF)
    finally:
        mef.stop()
    assert [a.response.status if a.response else None for a in (other, spoofed)] == [200, 200]


def test_mef_answers_unknown_keid() -> None:
    mef = start_mef(faults=("sbf_mef_answers_unknown_keid",), bootstraps=0)
    try:
        answer = fetch(mef, f"{'00' * 16}@{MEF_FQDN}")
    finally:
        mef.stop()
    assert answer.response is not None and answer.response.status == 200  # conformant: 404
    assert len(bytes.fromhex(answer.response.json["credential"])) == 32


def test_mef_accepts_unknown_kpm_id() -> None:
    mef = start_mef(faults=("sbf_mef_accepts_unknown_kpm_id",), fetches=0)
    try:
        played = bootstrap(mef, Transport.TLS, kpm_id="nobody@mef.example.com")
    finally:
        mef.stop()
    assert played.connection.established  # conformant: unknown_psk_identity


def test_mef_ignores_lifetime() -> None:
    mef = start_mef(faults=("sbf_mef_ignores_lifetime",), credentialLifetime=0)
    try:
        ke_id, _ke = exported(bootstrap(mef, Transport.TLS))
        answer = fetch(mef, ke_id)
    finally:
        mef.stop()
    assert answer.response is not None and answer.response.status == 200  # conformant: 404


# --- the SUT as MAF: the harness is Enrolee and MEF --------------------------------------


def maf_configuration(**changes: Any) -> dict[str, Any]:
    configuration = {
        "mafIdentifier": MAF_FQDN,
        "mefIdentifier": MEF_FQDN,
        "fetchIdentity": FETCH_ID,
        "fetchKey": FETCH_KEY,
        "provisionedEntities": [
            {"enroleeIdentifier": ENROLEE_ID, "masterCredentialIdentifier": KM_ID}
        ],
    }
    return {**configuration, **changes}


HARNESS_KE = bytes(range(32))
HARNESS_KE_ID = f"{'5a' * 16}@{MEF_FQDN}"
HARNESS_KM = derive_km(HARNESS_KE, MAF_FQDN)


@dataclass
class HarnessMef:
    """The harness as MEF for a SUT MAF: serves up to ``serves`` fetches; answers with
    ``status`` (200: the harness Km for HARNESS_KE_ID, else a refusal)."""

    serves: int
    status: int = 200
    listener: socket.socket = field(default_factory=lambda: bound(Transport.TLS))
    served: list[ServedRequest] = field(default_factory=list)
    thread: threading.Thread | None = None

    def handler(self, http_request: Any, identity: bytes) -> tuple[int, Any]:
        headers = {name.lower(): value for name, value in http_request.headers}
        fetched = read_fetch(http_request.method, http_request.target, headers)
        if fetched.problem or self.status != 200:
            return self.status if self.status != 200 else 400, {
                "status": False,
                "errorString": fetched.problem or "refused by the harness MEF",
            }
        if fetched.ke_id != HARNESS_KE_ID or identity != FETCH_ID.encode():
            return 404, {"status": False, "errorString": "unknown KeID"}
        lifetime = time.strftime("%Y%m%dT%H%M%S", time.gmtime(time.time() + 3600))
        return 200, {"credential": HARNESS_KM.hex(), "enroleeID": ENROLEE_ID, "lifetime": lifetime}

    def start(self) -> HarnessMef:
        def serve() -> None:
            deadline = time.monotonic() + TIMEOUT
            for _ in range(self.serves):
                try:
                    record = serve_https_once(
                        self.listener, {FETCH_ID.encode(): bytes.fromhex(FETCH_KEY)},
                        self.handler, deadline,
                    )  # fmt: skip
                except OSError:  # the listener was shut down: no more fetches expected
                    return
                if record.ending == "timeout" and record.handshake is None:
                    return
                self.served.append(record)

        self.thread = in_thread(serve)
        return self

    @property
    def address(self) -> Address:
        return address_of(self.listener)

    def close(self) -> None:
        """End the service: a fetch that has not come by now is not coming (shutting the
        listener down wakes the accept at once)."""
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        if self.thread is not None:
            self.thread.join(WAIT)
        self.listener.close()


def start_maf(
    transport: Transport, mef: HarnessMef, faults: tuple[str, ...] = (), *, handshakes: int, **cfg
) -> ReferenceSession:
    return start(
        request(
            Role.MAF,
            transport,
            maf_configuration(**cfg),
            services={"maf_handshake": Address("127.0.0.1", 0)},
            peers={"mef": mef.address},
            expected_legs={"maf_handshake": handshakes},
            exports=[ExportRequest(CONNECTION, 48)],
        ),
        faults,
    )


def contact(
    maf: ReferenceSession, transport: Transport, identity: str, psk: bytes = HARNESS_KM
) -> Played:
    """The harness as Enrolee: one MAF handshake."""
    plan = PeerPlan(Role.ENROLEE, identity.encode(), psk, SUITES[transport], server_name=MAF_FQDN)
    assert maf.address is not None
    return play_client(plan, maf.address, transport, TIMEOUT)


@dataclass
class MafRun:
    result: SutResult
    contacts: list[Played]
    fetches: list[ServedRequest]


def maf_case(
    transport: Transport = Transport.TLS,
    faults: tuple[str, ...] = (),
    *,
    identities: tuple[str, ...] = (HARNESS_KE_ID, KM_ID),
    psk: bytes = HARNESS_KM,
    mef_status: int = 200,
    mef_serves: int = 2,
    **cfg: Any,
) -> MafRun:
    mef = HarnessMef(mef_serves, mef_status).start()
    maf = start_maf(transport, mef, faults, handshakes=len(identities), **cfg)
    try:
        contacts = [contact(maf, transport, identity, psk) for identity in identities]
        result = maf.result(WAIT)
    finally:
        maf.stop()
        mef.close()
    return MafRun(result, contacts, list(mef.served))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_maf_fetches_once_then_accepts_keid_and_kmid(transport: Transport) -> None:
    """First contact with KeID: one fetch (the binding's request, over TLS-PSK with SNI =
    MEF-FQDN), then the handshake completes with the fetched Km; KmID and KeID later: no
    fetch (SBF-COMMON-13..20)."""
    run = maf_case(transport, identities=(HARNESS_KE_ID, KM_ID, HARNESS_KE_ID))
    assert all(p.connection.established for p in run.contacts), run.result.detail
    (served,) = run.fetches
    assert served.tls_established and served.psk_identity == FETCH_ID.encode()
    assert served.server_name == MEF_FQDN and served.status_sent == 200
    http_request = served.request
    assert http_request is not None
    assert http_request.method == "GET" and http_request.target == fetch_target(HARNESS_KE_ID)
    assert http_request.header("X-M2M-Origin") == MAF_FQDN
    assert http_request.header("Host") == MEF_FQDN
    assert names(run.result) == ["credential_fetch", *["maf_handshake"] * 3]
    fetch_leg = run.result.legs_named("credential_fetch")[0]
    assert fetch_leg.status is Status.ESTABLISHED
    assert fetch_leg.fields["keId"] == HARNESS_KE_ID and fetch_leg.fields["httpStatus"] == 200
    for leg, played in zip(run.result.legs_named("maf_handshake"), run.contacts, strict=True):
        assert leg.status is Status.ESTABLISHED and leg.peer_identity == ENROLEE_ID
        assert leg.fields["kmId"] == KM_ID
        harness_export = played.connection.export_keying_material(CONNECTION.encode(), 48)
        assert leg.keys[CONNECTION] == harness_export.hex()
    assert [leg.psk_identity for leg in run.result.legs_named("maf_handshake")] == [
        HARNESS_KE_ID,
        KM_ID,
        HARNESS_KE_ID,
    ]


def test_maf_derived_kmid() -> None:
    kmid = derived_kmid(HARNESS_KM, MAF_FQDN)
    run = maf_case(identities=(HARNESS_KE_ID, kmid), kmIdForm="derived")
    assert all(p.connection.established for p in run.contacts)
    assert len(run.fetches) == 1
    assert run.result.legs_named("maf_handshake")[-1].fields["kmId"] == kmid


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("mef_status", [404, 403])
def test_maf_refuses_keid_the_mef_refuses(transport: Transport, mef_status: int) -> None:
    run = maf_case(transport, identities=(HARNESS_KE_ID,), mef_status=mef_status)
    (played,) = run.contacts
    assert not played.connection.established
    assert played.outcome.alert is not None
    assert played.outcome.alert.description == "unknown_psk_identity"
    assert [r.status_sent for r in run.fetches] == [mef_status]
    fetch_leg, leg = run.result.legs
    assert fetch_leg.status is Status.REFUSED and fetch_leg.fields["httpStatus"] == mef_status
    assert leg.status is Status.REFUSED and leg.peer_identity is None


def test_maf_refuses_without_fetch() -> None:
    """A KeID of another MEF, an unknown KmID and a non-KeID: refused, nothing fetched."""
    run = maf_case(
        identities=(f"{'5a' * 16}@rogue-mef.example.com", "ghost@maf.example.com", "plain"),
        mef_serves=1,
    )
    assert run.fetches == []
    assert all(
        p.outcome.alert is not None and p.outcome.alert.description == "unknown_psk_identity"
        for p in run.contacts
    )
    assert names(run.result) == ["maf_handshake"] * 3


def test_maf_wrong_km_fails_the_finished() -> None:
    run = maf_case(identities=(HARNESS_KE_ID,), psk=derive_km(HARNESS_KE, OTHER_MAF))
    assert len(run.fetches) == 1 and not run.contacts[0].connection.established
    assert run.result.status is Status.REFUSED


# MAF mutants.


def test_maf_refetches() -> None:
    run = maf_case(faults=("sbf_maf_refetches",), identities=(HARNESS_KE_ID, KM_ID))
    assert all(p.connection.established for p in run.contacts)
    assert len(run.fetches) == 2  # conformant: 1 (SBF-COMMON-14)


def test_maf_refuses_kmid() -> None:
    run = maf_case(faults=("sbf_maf_refuses_kmid",), identities=(HARNESS_KE_ID, KM_ID))
    assert [p.connection.established for p in run.contacts] == [True, False]
    assert run.contacts[1].outcome.alert is not None
    assert run.contacts[1].outcome.alert.description == "unknown_psk_identity"


def test_maf_accepts_refused_keid() -> None:
    """The refusal is taken for a success: no unknown_psk_identity for a harness Enrolee
    with its own Km, and a completed handshake for one holding the stand-in key."""
    plain = maf_case(faults=("sbf_maf_accepts_refused_keid",), identities=(HARNESS_KE_ID,),
                     mef_status=404)  # fmt: skip
    (played,) = plain.contacts
    assert not played.connection.established
    assert played.outcome.alert is None or played.outcome.alert.description != (
        "unknown_psk_identity"
    )
    assert plain.result.legs_named("credential_fetch")[0].status is Status.ESTABLISHED  # a lie
    stand_in = refused_keid_stand_in("5a" * 16, MAF_FQDN)
    holder = maf_case(
        faults=("sbf_maf_accepts_refused_keid",),
        identities=(HARNESS_KE_ID,),
        mef_status=404,
        psk=stand_in,
    )
    assert holder.contacts[0].connection.established  # conformant: unknown_psk_identity


def test_maf_trusts_any_mef() -> None:
    foreign = f"{'5a' * 16}@rogue-mef.example.com"
    run = maf_case(faults=("sbf_maf_trusts_any_mef",), identities=(foreign,), mef_serves=1)
    assert len(run.fetches) == 1  # conformant: refused without a fetch
    assert run.fetches[0].request is not None
    assert run.fetches[0].request.target == fetch_target(foreign)


# --- the three reference roles together -------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("cfg", [{}, {"kmIdForm": "derived", "kmDerivation": "usage-constrained"}])
def test_three_reference_roles_agree(transport: Transport, cfg: dict[str, Any]) -> None:
    maf_cfg = {k: v for k, v in cfg.items() if k == "kmIdForm"}
    mef = start_mef(transport, **{k: v for k, v in cfg.items() if k == "kmDerivation"})
    maf_session = None
    try:
        maf_session = start(
            request(
                Role.MAF,
                transport,
                maf_configuration(**maf_cfg),
                peers={"mef": mef.endpoints["credential_fetch"]},
                expected_legs={"maf_handshake": 3},
            ),
            (),
        )
        assert mef.address is not None and maf_session.address is not None
        enrolee = start(
            request(
                Role.ENROLEE,
                transport,
                enrolee_configuration(**cfg),
                connect=mef.address,
                peers={"mef": mef.address, "maf": maf_session.address},
                expected_legs={"maf_handshake": 3},
            ),
            (),
        )
        result = enrolee.result(WAIT)
        maf_result = maf_session.result(WAIT)
        mef_result = mef.result(WAIT)
    finally:
        mef.stop()
        if maf_session is not None:
            maf_session.stop()
    assert result.status is Status.ESTABLISHED, result.detail
    ke_id = result.legs_named("bootstrap")[0].fields["keId"]
    assert mef_result.legs_named("bootstrap")[0].fields["keId"] == ke_id
    assert names(maf_result) == ["credential_fetch", *["maf_handshake"] * 3]
    km_ids = {leg.fields["kmId"] for leg in result.legs_named("maf_handshake")}
    assert km_ids == {leg.fields["kmId"] for leg in maf_result.legs_named("maf_handshake")}
    assert len(km_ids) == 1
    assert mef_result.legs_named("credential_fetch")[0].fields["httpStatus"] == 200


def test_reference_profile_tables_are_consistent() -> None:
    """The [ixit.sbf-psk.*] tables of the built-in profile describe one world: the three
    reference roles configured from them complete the whole chain, and the MEF refuses
    the second MAF (mafClients[1]) Enrolee 1's Km."""
    profile = reference_profile()
    tables = {
        role: profile.configuration(role, Framework.SBF_PSK)
        for role in (Role.ENROLEE, Role.MEF, Role.MAF)
    }
    mef = start(
        request(
            Role.MEF,
            Transport.TLS,
            tables[Role.MEF],
            expected_legs={"bootstrap": 1, "credential_fetch": 2},
        ),
        (),
    )
    maf_session = None
    try:
        maf_session = start(
            request(
                Role.MAF,
                Transport.TLS,
                tables[Role.MAF],
                peers={"mef": mef.endpoints["credential_fetch"]},
                expected_legs={"maf_handshake": 2},
            ),
            (),
        )
        assert mef.address is not None and maf_session.address is not None
        enrolee = start(
            request(
                Role.ENROLEE,
                Transport.TLS,
                tables[Role.ENROLEE],
                peers={"mef": mef.address, "maf": maf_session.address},
                expected_legs={"maf_handshake": 2},
            ),
            (),
        )
        result = enrolee.result(WAIT)
        ke_id = result.legs_named("bootstrap")[0].fields["keId"]
        other = tables[Role.MEF]["mafClients"][1]
        address = mef.endpoints["credential_fetch"]
        refused = https_request(
            (address.host, address.port),
            other["fetchIdentity"],
            bytes.fromhex(other["fetchKey"]),
            tables[Role.MEF]["mefIdentifier"],
            method="GET",
            target=fetch_target(ke_id),
            headers=[("X-M2M-Origin", other["mafIdentifier"])],
            deadline=time.monotonic() + TIMEOUT,
        )
        mef_result = mef.result(WAIT)
    finally:
        mef.stop()
        if maf_session is not None:
            maf_session.stop()
    assert result.status is Status.ESTABLISHED, result.detail
    assert [leg.psk_identity for leg in result.legs_named("maf_handshake")] == [
        ke_id,
        tables[Role.ENROLEE]["masterCredentialIdentifier"],
    ]
    assert refused.response is not None and refused.response.status == 403
    assert [leg.fields["httpStatus"] for leg in mef_result.legs_named("credential_fetch")] == [
        200,
        403,
    ]


# --- the fault table ---------------------------------------------------------------------


def test_fault_table() -> None:
    assert len(FAULTS) == 20
    for name, cls in FAULTS.items():
        summary = (cls.__doc__ or "").strip().split("\n\n")[0]
        assert summary and cls.name == name and name.startswith("sbf_"), name
        assert cls.requirements
        assert all(r.startswith(("SBF-COMMON-", "SBF-PSK-")) for r in cls.requirements)
    with pytest.raises(ValueError, match="unknown reference fault"):
        FaultSet(("no_such_fault",))


def test_requirements_exist() -> None:
    catalogue = json.loads(
        (
            __import__("pathlib").Path(__file__).parent.parent / "harness/data/requirements.json"
        ).read_text()
    )
    for cls in FAULTS.values():
        assert set(cls.requirements) <= set(catalogue), cls.name


def test_not_applicable_role() -> None:
    with pytest.raises(NotApplicable):
        start(request(Role.ENTITY_A, Transport.TLS, {}), ())
