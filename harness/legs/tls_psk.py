"""One (D)TLS-PSK leg: from a party's PeerPlan to the harness engine, over a real socket, and back.

The only module that knows both vocabularies: the steps' (a PeerPlan with faults named
for what a test purpose needs) and the engine's (ClientConfig / ServerConfig with a
Faults value). Keeping the translation here lets the engine grow (DTLS) without the
steps noticing.
"""

from __future__ import annotations

import dataclasses
import socket
from dataclasses import dataclass
from typing import Any

from harness.observations import Ending, Exchange, PeerPlan
from harness.sut.contract import Address, Role, SutResult, Transport
from harness.tls.dtls import DtlsClientConnection, DtlsServerConnection, RetransmitConfig
from harness.tls.dtls_faults import DatagramFaults
from harness.tls.dtls_transport import run_dtls_client, run_dtls_server_once
from harness.tls.engine import (
    ClientConfig,
    ClientConnection,
    Connection,
    ServerConfig,
    ServerConnection,
)
from harness.tls.faults import Faults, MessageOp
from harness.tls.transport import Outcome, run_client, run_server_once
from harness.verdict import HarnessError

# Application data the harness sends once established: the SUT proves it holds the keys
# by answering on the association (the reference echoes; others may just close). The
# echo ends the leg (until="answered"); a SUT that neither echoes nor closes is waited
# for harness.tls.transport.PEER_QUIET seconds of silence.
PROBE = b"oneM2M-conformance-probe\n"
# Sent after the probe where a fault puts a bad record beside it (DatagramFaults
# replay_record, corrupted_copy): a SUT that takes records in order has dealt with the bad
# one before it echoes this, so its echo ends the leg with the SUT's reaction to the bad
# record observed (an alert, a second echo of PROBE), where a quiet period could only
# guess. It never contains PROBE, so PROBE's echoes still count alone.
LAST_PROBE = b"oneM2M-conformance-probe, last\n"


# The protocol version before (D)TLS 1.2 on the wire: TLS 1.1 and DTLS 1.0.
PREVIOUS_VERSION = {Transport.TLS: 0x0302, Transport.DTLS: 0xFEFF}


def engine_faults(plan: PeerPlan, transport: Transport = Transport.TLS) -> Faults:
    """The plan's fault vocabulary (see steps/common_steps.py) as engine Faults."""
    wanted = dict(plan.faults)
    ops: list[MessageOp] = []
    app_data_before_finished = None
    for kind, message in wanted.pop("messages", []):
        if kind in ("drop", "duplicate"):
            ops.append(MessageOp(kind, message))
        elif kind == "finished_first":  # the message goes out after our Finished
            ops.append(MessageOp("move_after", message, target="Finished"))
        elif kind == "done_first":  # ServerHelloDone goes out ahead of the message
            ops.append(MessageOp("move_after", message, target="ServerHelloDone"))
        elif kind == "app_data_before":
            app_data_before_finished = PROBE
        else:
            raise HarnessError(f"no engine fault for message op {kind!r}")
    previous = wanted.pop("previous_protocol_version", False)
    faults = Faults(
        peer_psk=wanted.pop("peer_psk", None),
        selected_suite=wanted.pop("selected_suite", None),
        hello_version=PREVIOUS_VERSION[transport] if previous else None,
        tolerate_bad_finished=wanted.pop("tolerate_bad_peer_finished", False),
        corrupt_finished=wanted.pop("corrupt_finished", False),
        corrupt_record_mac=wanted.pop("corrupt_record_mac", None),
        message_ops=tuple(ops),
        app_data_before_finished=app_data_before_finished,
    )
    dtls = datagram_faults(wanted.pop("network", []), wanted.pop("after_handshake", None))
    if wanted:
        raise HarnessError(f"unknown plan faults: {', '.join(sorted(wanted))}")
    if dtls != DatagramFaults():
        if transport is not Transport.DTLS:
            raise HarnessError("datagram faults need the DTLS transport")
        faults = dataclasses.replace(faults, dtls=dtls)
    return faults


# Fragments small enough that every flight spans several datagrams, so that reversing
# the datagrams of a flight really reorders it.
REORDER_FRAGMENT = 96


def datagram_faults(network: list[tuple[str, str]], after_handshake: str | None) -> DatagramFaults:
    """The steps' network vocabulary (steps/common_steps.py NETWORK) as DatagramFaults."""
    values: dict[str, object] = {}
    for kind, argument in network:
        if kind == "drop_received_first":
            values["drop_received_first"] = (argument,)
        elif kind == "drop_sent_first":
            values["drop_first"] = (argument,)
        elif kind == "reverse_flights":
            values.update(reverse_datagrams=True, fragment_size=REORDER_FRAGMENT)
        elif kind == "duplicate_datagrams":
            values["duplicate_all"] = True
        elif kind == "fragment":
            values["fragment_size"] = int(argument)
        else:
            raise HarnessError(f"no datagram fault for network disruption {kind!r}")
    if after_handshake == "replay_application_data":
        values["replay_record"] = "ApplicationData"
    elif after_handshake == "corrupt_application_data":
        values["corrupted_copy"] = "ApplicationData"
    elif after_handshake is not None:
        raise HarnessError(f"no datagram fault for {after_handshake!r}")
    return DatagramFaults(**values)  # type: ignore[arg-type]


@dataclass
class Played:
    outcome: Outcome
    connection: Connection

    def exchange(self, role: Role, plan: PeerPlan, sut_result: SutResult | None) -> Exchange:
        conn, outcome = self.connection, self.outcome
        alert = outcome.alert
        ending = Ending(
            kind=outcome.kind if outcome.kind != "closed" else "peer_closed",
            alert=alert.description if alert and outcome.kind.startswith("alert") else None,
            alert_level=alert.level if alert and outcome.kind.startswith("alert") else None,
            detail=outcome.reason,
        )
        if outcome.kind == "closed" and conn.established:
            ending = Ending("established", detail=outcome.reason)
        received = {m.type for m in conn.trace.messages if m.direction == "received"}
        server_hello = conn.server_hello or {}
        version = server_hello.get("version")
        server = isinstance(conn, ServerConnection | DtlsServerConnection)
        return Exchange(
            harness_role=role,
            harness_server=server,
            plan=plan,
            ending=ending,
            trace=conn.trace,
            sut_result=sut_result,
            client_hello=conn.client_hello if server else None,
            negotiated_suite=conn.negotiated_suite,
            negotiated_version=tuple(int(x) for x in version.split(".")) if version else None,
            psk_identity_received=conn.psk_identity if server else None,
            sut_accepted=_acceptance(server, received),
            export=conn.export_keying_material,
            dtls=_dtls_observations(conn, outcome) if isinstance(conn, DTLS_CONNECTIONS) else {},
        )


def _acceptance(harness_server: bool, received: set[str]) -> str | None:
    """What the SUT did that only an implementation that accepted our flight does.

    A SUT server that sends ChangeCipherSpec and Finished has accepted our Finished. A SUT
    client always sends its Finished first, so for it only application data counts.
    """
    if not harness_server and {"ChangeCipherSpec", "Finished"} <= received:
        return "sent ChangeCipherSpec and Finished"
    if harness_server and "ApplicationData" in received:
        return "sent application data"
    return None


DTLS_CONNECTIONS = (DtlsClientConnection, DtlsServerConnection)
# The harness's own retransmission timer: shorter than RFC 6347's 1 s so that loss
# scenarios cost little time (a peer may always retransmit sooner than required).
HARNESS_RETRANSMIT = RetransmitConfig(initial=0.25, maximum=2.0)


def _dtls_observations(conn: Connection, outcome: Outcome) -> dict[str, object]:
    """What the DTLS purposes check, from the connection and its trace."""
    received = [m for m in conn.trace.messages if m.direction == "received"]
    first = next((m.type for m in received if m.layer == "handshake"), None)
    # Alerts the SUT sent once its Finished was in: only these can answer a bad record
    # sent after the handshake (an alert before it would have prevented establishment).
    finished = max((i for i, m in enumerate(received) if m.type == "Finished"), default=None)
    after = (
        [m.fields.get("description", "") for m in received[finished:] if m.layer == "alert"]
        if finished is not None and conn.established
        else []
    )
    return {
        "hello_verify_requests_received": getattr(conn, "hello_verify_requests_received", 0),
        "first_answer": first,
        "cookies_sent": [
            m.fields.get("cookie", "")
            for m in conn.trace.messages
            if m.direction == "sent" and m.type == "HelloVerifyRequest"
        ],
        "client_hello_cookies": [
            m.fields.get("cookie", "") for m in received if m.type == "ClientHello"
        ],
        "probe_echoes": outcome.application_data.count(PROBE),
        "alerts_after_bad_record": [a for a in after if a],
        "retransmissions": getattr(conn, "retransmissions", 0),
        "records_discarded": getattr(conn, "records_discarded", 0),
    }


def discard_expected(plan: PeerPlan, transport: Transport) -> bool:
    """Whether the SUT's conformant answer to this plan may be silence until it gives up:
    over DTLS a record the SUT cannot authenticate is discarded without a word (RFC 6347
    4.1.2.7), and the harness's Finished is such a record when the harness holds a wrong
    key (``peer_psk`` or ``peer_psk_lookup``, kept only to read the SUT's alerts) or
    corrupts that record's MAC."""
    if transport is not Transport.DTLS:
        return False
    faults = plan.faults
    return (
        faults.get("peer_psk") is not None
        or getattr(plan, "peer_psk_lookup", None) is not None
        or faults.get("corrupt_record_mac") == "Finished"
    )


def case_timeout(ixit: Any, transport: Transport, *plans: PeerPlan) -> float:
    """The bound of one case (the SUT request's ``timeout`` and the harness's deadline):
    ``ixit.timeout``, or the lab's ``[ixit.dtls] discardTimeout`` when one of the case's
    plans makes a silent discard the SUT's conformant answer (:func:`discard_expected`).

    Nothing but the SUT giving its handshake up ends such a case: it keeps retransmitting
    its last flight (the proof it still waits for a Finished it could read, which the
    trace shows), and its account (no association) comes only then. The shorter bound is
    the lab's declaration that its SUT shows that within it (validated to leave room for
    two retransmissions on the SUT's declared timer); it never lengthens ``timeout``.
    """
    timeout = float(ixit.timeout)
    dtls = getattr(ixit, "dtls", None)
    bound = getattr(dtls, "discard_timeout", None)
    if bound is None or not any(discard_expected(plan, transport) for plan in plans):
        return timeout
    return min(timeout, float(bound))


def probe_records(plan: PeerPlan) -> tuple[bytes, ...]:
    """The application data the harness sends once established, in order."""
    return (PROBE, LAST_PROBE) if plan.faults.get("after_handshake") else (PROBE,)


def play_client(
    plan: PeerPlan, address: Address | None, transport: Transport, timeout: float
) -> Played:
    """The harness as Entity A ((D)TLS client) against a SUT listening at ``address``:
    the leg ends when the SUT has echoed the probe, closed, refused, or fallen silent."""
    if address is None:
        raise HarnessError("the SUT adapter gave no listen address for Entity B")
    config = ClientConfig(
        psk_identity=plan.psk_identity,
        psk=plan.psk,
        suites=list(plan.suites),
        server_name=plan.server_name,
        extended_master_secret=plan.extended_master_secret,
        faults=engine_faults(plan, transport),
    )
    target = (address.host, address.port)
    probes = probe_records(plan)
    if transport is Transport.DTLS:
        dtls = DtlsClientConnection(config, retransmit=HARNESS_RETRANSMIT)
        outcome = run_dtls_client(dtls, target, timeout, until="answered", application_data=probes)
        return Played(outcome, dtls)
    conn = ClientConnection(config)
    outcome = run_client(conn, target, timeout, until="answered", application_data=probes)
    return Played(outcome, conn)


def play_server(
    plan: PeerPlan, sock: socket.socket, transport: Transport, timeout: float
) -> Played:
    """The harness as Entity B ((D)TLS server): accept the SUT's one connection on the
    listening TCP socket, or serve the first peer on the bound UDP socket. Once
    established the leg ends when the SUT closes (or, for one that stays, after
    harness.tls.transport.PEER_QUIET seconds of silence)."""
    config = ServerConfig(
        psk_lookup=plan.psk_lookup or dict(plan.psk_table),
        suites=list(plan.suites),
        psk_identity_hint=plan.psk_identity_hint,
        extended_master_secret=plan.extended_master_secret,
        faults=engine_faults(plan, transport),
        on_established=plan.on_established,
        peer_psk_lookup=plan.peer_psk_lookup,
    )
    if transport is Transport.DTLS:
        dtls = DtlsServerConnection(config, cookie_exchange=True, retransmit=HARNESS_RETRANSMIT)
        outcome = run_dtls_server_once(dtls, sock, timeout, until="answered")
        return Played(outcome, dtls)
    conn = ServerConnection(config)
    outcome = run_server_once(conn, sock, timeout, until="answered")
    return Played(outcome, conn)
