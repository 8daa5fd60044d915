"""From a step's PeerPlan to the harness TLS engine, over a real socket, and back.

The only module that knows both vocabularies: the steps' (a PeerPlan with faults named
for what a test purpose needs) and the engine's (ClientConfig / ServerConfig with a
Faults value). Keeping the translation here lets the engine grow (DTLS) without the
steps noticing.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.sut.contract import Address, Role, SutResult, Transport
from harness.tls.engine import (
    ClientConfig,
    ClientConnection,
    Connection,
    ServerConfig,
    ServerConnection,
)
from harness.tls.faults import Faults, MessageOp
from harness.tls.transport import Outcome, run_client, run_server_once
from harness.verdict import HarnessError, NotApplicable

if TYPE_CHECKING:
    from harness.roles import Exchange, PeerPlan

# Application data the harness sends once established: the SUT proves it holds the keys
# by answering on the association (the reference echoes; others may just close).
PROBE = b"oneM2M-conformance-probe\n"


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
    if wanted:
        raise HarnessError(f"unknown plan faults: {', '.join(sorted(wanted))}")
    return faults


@dataclass
class Played:
    outcome: Outcome
    connection: Connection

    def exchange(self, role: Role, plan: PeerPlan, sut_result: SutResult | None) -> Exchange:
        from harness.roles import Ending, Exchange

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
        return Exchange(
            harness_role=role,
            plan=plan,
            ending=ending,
            trace=conn.trace,
            sut_result=sut_result,
            client_hello=conn.client_hello if role is Role.ENTITY_B else None,
            negotiated_suite=conn.negotiated_suite,
            negotiated_version=tuple(int(x) for x in version.split(".")) if version else None,
            psk_identity_received=conn.psk_identity if role is Role.ENTITY_B else None,
            sut_accepted=_acceptance(role, received),
            export=conn.export_keying_material,
        )


def _acceptance(role: Role, received: set[str]) -> str | None:
    """What the SUT did that only an implementation that accepted our flight does.

    A SUT server that sends ChangeCipherSpec and Finished has accepted our Finished. A SUT
    client always sends its Finished first, so for it only application data counts.
    """
    if role is Role.ENTITY_A and {"ChangeCipherSpec", "Finished"} <= received:
        return "sent ChangeCipherSpec and Finished"
    if role is Role.ENTITY_B and "ApplicationData" in received:
        return "sent application data"
    return None


def _require_tls(transport: Transport) -> None:
    if transport is not Transport.TLS:
        raise NotApplicable(f"the harness engine does not speak {transport} yet")


def play_client(
    plan: PeerPlan, address: Address | None, transport: Transport, timeout: float
) -> Played:
    """The harness as Entity A (TLS client) against a SUT listening at ``address``."""
    _require_tls(transport)
    if address is None:
        raise HarnessError("the SUT adapter gave no listen address for Entity B")
    conn = ClientConnection(
        ClientConfig(
            psk_identity=plan.psk_identity,
            psk=plan.psk,
            suites=list(plan.suites),
            server_name=plan.server_name,
            extended_master_secret=plan.extended_master_secret,
            faults=engine_faults(plan),
        )
    )
    outcome = run_client(
        conn, (address.host, address.port), timeout, until="quiet", application_data=PROBE
    )
    return Played(outcome, conn)


def play_server(
    plan: PeerPlan, listener: socket.socket, transport: Transport, timeout: float
) -> Played:
    """The harness as Entity B (TLS server) accepting the SUT's one connection."""
    _require_tls(transport)
    conn = ServerConnection(
        ServerConfig(
            psk_lookup=dict(plan.psk_table),
            suites=list(plan.suites),
            psk_identity_hint=plan.psk_identity_hint,
            extended_master_secret=plan.extended_master_secret,
            faults=engine_faults(plan),
        )
    )
    outcome = run_server_once(conn, listener, timeout, until="quiet")
    return Played(outcome, conn)
