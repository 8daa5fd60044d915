"""The hostile-SUT suite (issue 12, Proof): a few hundred mutated flights between the
harness and the reference SUT, over TLS and DTLS, each a fixed seed of
tests/mutation_proxy.py, each asserting a bounded finish and the verdict class.

Two topologies per transport: the harness as Entity A against the reference Entity B
with B's flights mutated (what a hostile server sends), and the reference Entity A
against the harness as Entity B with A's flights mutated (a hostile client). Each case
is judged like TP/SAEF-PSK/B/01 (resp. A/01): no flood, the SUT's account agrees with
the wire, the handshake completes with the suite, and the SUT says so.

The oracle per case:
- never a harness error: whatever the bytes, the harness ends in a verdict;
- TLS: never a pass when a handshake record was altered: a TLS record stream has no
  redundancy (every handshake byte is in the Finished hash, every later record under
  its MAC, the framing exact), so a harness that completes such a handshake has
  accepted forged data. The two exceptions are what RFC 5246 allows: the ClientHello
  record's version may be any 3.x (E.1; no hash covers a record header), and the
  application data after the handshake (the probe and its echo) does not decide a
  handshake purpose;
- DTLS: pass or fail (a damaged datagram may be discarded and the flight retransmitted:
  RFC 6347 4.1.2.7, 4.2.4), never error;
- every case ends within its bound; and the process's memory stays bounded.

The seeds are fixed: a failure names its seed, and ``Mutation.from_seed`` replays it.
"""

from __future__ import annotations

import collections
import concurrent.futures
import resource
import socket
import time

import pytest
from mutation_proxy import Mutation, MutationProxy
from reference_helpers import HOST_B, KPSA, KPSA_ID, LABEL, request_a, request_b

from harness import checks
from harness.legs.tls_psk import play_client, play_server
from harness.observations import PeerPlan
from harness.sut.contract import Address, ExportRequest, Role, Transport
from harness.sut.reference_adapter import ReferenceAdapter
from harness.verdict import Inconclusive, SutFailure

TIMEOUT = 1.5  # ixit.timeout of every case: a stalled stream costs this much
CASE_BOUND = TIMEOUT + 3.0  # start, the harness's bound, result and stop
WORKERS = 8  # cases run at once (mostly waiting on sockets; the machine has 2 cores)
GROWTH_MIB = 150  # what all cases together may add to this process's peak RSS
SUITES = (0x00AE, 0xC0A8, 0xC0A6)  # PSK CBC, PSK CCM_8, DHE_PSK: every key exchange
# (transport, mutated direction) -> seeds. The mutated record (datagram) is one of
# those a normal run sends in that direction (RECORDS): the server's ServerHello ..
# Finished and its echo of the probe, the client's ClientHello .. Finished and the probe.
CASES = {
    ("tls", "to_client"): range(0, 100),
    ("tls", "to_server"): range(1000, 1100),
    ("dtls", "to_client"): range(2000, 2100),
    ("dtls", "to_server"): range(3000, 3100),
}
DHE = {0xC0A6}
# Records (TLS) or datagrams (DTLS) of the mutated direction in an unmutated run (the
# control test checks these counts); the last one is application data.
RECORDS = {
    ("tls", "to_client"): lambda suite: 6 if suite in DHE else 5,
    ("tls", "to_server"): lambda suite: 5,
    ("dtls", "to_client"): lambda suite: 5,
    ("dtls", "to_server"): lambda suite: 4,
}
EXPORTS = [ExportRequest(LABEL, 48)]


def verdict_of(exchange: object, suite: int) -> str:
    """The verdict class of B/01 (A/01) on this exchange: pass, fail, inconclusive, or
    "error: ..." for anything else a check raised (a harness error)."""
    try:
        checks.expect_no_flood(exchange)  # type: ignore[arg-type]
        checks.expect_account_matches_wire(exchange)  # type: ignore[arg-type]
        checks.expect_established(exchange, suite)  # type: ignore[arg-type]
        checks.expect_sut_reports_established(exchange)  # type: ignore[arg-type]
    except SutFailure:
        return "fail"
    except Inconclusive:
        return "inconclusive"
    except Exception as exc:  # noqa: BLE001 - exactly what the suite looks for
        return f"error: {exc!r}"
    return "pass"


def run_seed(transport: Transport, mutated: str, seed: int) -> dict:
    """The case of one seed: the suite it runs with, and its mutation."""
    suite = SUITES[seed % len(SUITES)]
    records = RECORDS[(str(transport), mutated)](suite)
    mutation = Mutation.from_seed(seed, transport is Transport.DTLS, records)
    return run_case(transport, mutated, mutation, suite)


def must_refuse(case: dict) -> bool:
    """Whether the oracle forbids a pass: a TLS handshake record was altered (not the
    application data after it), other than the ClientHello record's minor version,
    which RFC 5246 E.1 lets be any 3.x and no hash covers."""
    if case["transport"] != "tls" or not case["applied"]:
        return False
    mutation: Mutation = case["mutation"]
    if mutation.index >= RECORDS[(case["transport"], case["mutated"])](case["suite"]) - 1:
        return False  # the echo / the probe: the handshake was over
    replaced = case["replaced"]
    benign_version = (
        mutation.operator == "version"
        and mutation.index == 0
        and case["mutated"] == "to_server"
        and replaced
        and replaced[0][1] == 3
    )
    return not benign_version


def run_case(transport: Transport, mutated: str, mutation: Mutation, suite: int) -> dict:
    """One mutated handshake; what the oracle needs to know about it."""
    dtls = transport is Transport.DTLS
    began = time.monotonic()
    try:
        if mutated == "to_client":  # the harness is Entity A, the SUT's flights mutated
            sut = ReferenceAdapter().start(
                request_b(transport, [suite], timeout=TIMEOUT, exports=EXPORTS)
            )
            try:
                address = sut.wait_ready(TIMEOUT)
                assert address is not None
                proxy = MutationProxy(address, dtls, mutated, mutation, CASE_BOUND)
                try:
                    plan = PeerPlan(
                        role=Role.ENTITY_A,
                        psk_identity=KPSA_ID.encode(),
                        psk=bytes.fromhex(KPSA),
                        suites=[suite],
                        server_name=HOST_B,
                    )
                    played = play_client(plan, proxy.address, transport, TIMEOUT)
                    exchange = played.exchange(Role.ENTITY_A, plan, sut.result(TIMEOUT))
                finally:
                    proxy.stop()
            finally:
                sut.stop()
        else:  # the harness is Entity B, the SUT's (Entity A's) flights mutated
            kind = socket.SOCK_DGRAM if dtls else socket.SOCK_STREAM
            with socket.socket(socket.AF_INET, kind) as listener:
                listener.bind(("127.0.0.1", 0))
                if not dtls:
                    listener.listen(1)
                harness_at = Address("127.0.0.1", listener.getsockname()[1])
                proxy = MutationProxy(harness_at, dtls, mutated, mutation, CASE_BOUND)
                try:
                    sut = ReferenceAdapter().start(
                        request_a(
                            transport, [suite], proxy.address, timeout=TIMEOUT, exports=EXPORTS
                        )
                    )
                    try:
                        plan = PeerPlan(
                            role=Role.ENTITY_B,
                            psk_identity=b"",
                            psk=b"",
                            suites=[suite],
                            psk_table={KPSA_ID.encode(): bytes.fromhex(KPSA)},
                        )
                        played = play_server(plan, listener, transport, TIMEOUT)
                        exchange = played.exchange(Role.ENTITY_B, plan, sut.result(TIMEOUT))
                    finally:
                        sut.stop()
                finally:
                    proxy.stop()
        verdict = verdict_of(exchange, suite)
        ending = exchange.ending.kind
        applied, replaced, seen = proxy.applied, proxy.replaced, proxy.seen
    except Exception as exc:  # noqa: BLE001 - a crash of the harness is a finding
        verdict, ending, applied, replaced, seen = f"error: {exc!r}", "crashed", None, [], 0
    return {
        "case": f"{transport}/{mutated} {mutation} (suite 0x{suite:04X})",
        "transport": str(transport),
        "mutated": mutated,
        "mutation": mutation,
        "suite": suite,
        "verdict": verdict,
        "ending": ending,
        "applied": applied,
        "replaced": replaced,
        "seen": seen,
        "took": time.monotonic() - began,
    }


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize(("transport", "mutated"), list(CASES), ids=[f"{t}-{d}" for t, d in CASES])
def test_mutated_flights_end_bounded_in_a_verdict(transport: str, mutated: str) -> None:
    seeds = CASES[(transport, mutated)]
    before = peak_rss_mib()
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        cases = list(pool.map(lambda seed: run_seed(Transport(transport), mutated, seed), seeds))
    took = time.monotonic() - began
    problems = []
    for case in cases:
        if case["verdict"].startswith("error"):
            problems.append(f"{case['case']}: harness error: {case['verdict']}")
        elif must_refuse(case) and case["verdict"] == "pass":
            problems.append(f"{case['case']}: the harness completed a forged TLS handshake")
        elif case["verdict"] not in ("pass", "fail"):  # B/01 and A/01 know no other
            problems.append(f"{case['case']}: verdict {case['verdict']}")
        if case["took"] > CASE_BOUND + 1.0:  # +1: eight cases share two cores
            problems.append(f"{case['case']}: took {case['took']:.1f} s")
    summary = collections.Counter((c["verdict"], c["ending"]) for c in cases)
    applied = sum(1 for c in cases if c["applied"])
    assert not problems, "\n".join(problems) + f"\n{summary}"
    assert applied >= 0.9 * len(cases), f"only {applied} of {len(cases)} cases mutated anything"
    grown = peak_rss_mib() - before
    assert grown < GROWTH_MIB, f"peak RSS grew {grown:.0f} MiB over {len(cases)} cases"
    # The closing note's numbers (pytest -s shows them).
    slowest = max(c["took"] for c in cases)
    print(
        f"\n{transport}/{mutated}: {len(cases)} cases in {took:.1f} s (slowest {slowest:.2f} s), "
        f"{applied} mutated, peak RSS {peak_rss_mib():.0f} MiB; {dict(summary)}"
    )


def test_a_seed_replays_the_same_mutation() -> None:
    assert Mutation.from_seed(7, True, 8) == Mutation.from_seed(7, True, 8)
    first = Mutation.from_seed(7, False, 6)
    record = bytes.fromhex("1603030004") + b"\x0e\x00\x00\x00"
    assert first.apply(record, None, False) == first.apply(record, None, False)


@pytest.mark.parametrize(("transport", "mutated"), list(CASES), ids=[f"{t}-{d}" for t, d in CASES])
def test_without_a_mutation_the_same_cases_pass(transport: str, mutated: str) -> None:
    """The control: a mutation aimed past the last record changes nothing, and the same
    harness, SUT and proxy pass, so the fails above are the mutations' doing."""
    for suite in SUITES:
        case = run_case(Transport(transport), mutated, Mutation(0, 99, "bitflip"), suite)
        assert case["applied"] is None
        assert case["verdict"] == "pass", case
        # Every record a mutation may aim at passed (a close_notify may follow them).
        assert case["seen"] >= RECORDS[(transport, mutated)](suite), case
