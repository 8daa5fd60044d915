"""The harness playing a peer role against the SUT: one association attempt, observed.

A step describes the peer it wants in a :class:`PeerPlan` (credentials, suites, faults
as data); :func:`run_association` starts the SUT through its adapter in the opposite
role, plays the peer with the harness's own TLS engine over a real loopback socket,
and returns an :class:`Exchange`: how it ended, every message on the wire, and the
SUT's own account where it gives one.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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
from harness.tls.suites import DTLS_MANDATORY_PSK, TLS_MANDATORY_PSK
from harness.tls.trace import Trace
from harness.verdict import NotApplicable, SutFailure

if TYPE_CHECKING:
    from harness.plugin import Case


def mandatory_suite(transport: Transport) -> int:
    return DTLS_MANDATORY_PSK if transport is Transport.DTLS else TLS_MANDATORY_PSK


@dataclass
class PeerPlan:
    """What the harness peer will do. Faults are data (see _engine_faults)."""

    role: Role  # the role the harness plays
    psk_identity: bytes  # Entity A: the identity it presents
    psk: bytes  # Entity A: the key it uses
    suites: list[int]  # offered (A) or accepted in preference order (B)
    server_name: str | None = None  # Entity A: SNI
    psk_table: dict[bytes, bytes] = field(default_factory=dict)  # Entity B: identity -> key
    psk_identity_hint: bytes | None = None  # Entity B
    extended_master_secret: bool = True
    faults: dict[str, Any] = field(default_factory=dict)


@dataclass
class Ending:
    """How the harness's side of the connection ended."""

    kind: str  # established | alert_received | alert_sent | peer_closed | timeout | not_connected
    alert: str | None = None
    alert_level: str | None = None
    detail: str = ""

    def describe(self) -> str:
        if self.kind == "established":
            return "handshake completed"
        if self.kind == "alert_received":
            return f"the SUT sent a {self.alert_level} alert {self.alert}"
        if self.kind == "alert_sent":
            return f"the harness sent a {self.alert_level} alert {self.alert}: {self.detail}"
        if self.kind == "peer_closed":
            return "the SUT closed the connection without an alert"
        if self.kind == "timeout":
            return f"the SUT was silent: {self.detail}"
        return self.detail or self.kind


@dataclass
class Exchange:
    harness_role: Role
    plan: PeerPlan
    ending: Ending
    trace: Trace
    sut_result: SutResult | None
    client_hello: dict[str, Any] | None  # cipher_suites, server_name, version, ...
    negotiated_suite: int | None
    negotiated_version: tuple[int, int] | None
    psk_identity_received: bytes | None  # what the SUT as Entity A presented
    sut_accepted: str | None  # what the SUT did that shows it accepted our flight
    export: Callable[[bytes, int, bytes | None], bytes]
    dtls: dict[str, Any] = field(default_factory=dict)  # DTLS observations, see engine_bridge


def run_association(case: Case, plan: PeerPlan, exports: list[tuple[str, int]]) -> Exchange:
    """Start the SUT in the role opposite to the plan's and play one handshake."""
    ixit = case.profile.ixit
    timeout = float(ixit.timeout)
    request = SutRequest(
        role=Role.ENTITY_B if plan.role is Role.ENTITY_A else Role.ENTITY_A,
        framework=Framework(case.info.framework),
        transport=case.transport,
        configuration=dict(case.state["request_configuration"]),
        cipher_suites=[s for s in case.profile.ics.cipher_suites],
        timeout=timeout,
        exports=[ExportRequest(label, length) for label, length in exports],
        test_case=case.info.tp,
    )
    if plan.role is Role.ENTITY_A:
        return _against_entity_b(case, plan, request, ixit.host, timeout)
    return _against_entity_a(case, plan, request, ixit.host, timeout)


def _against_entity_b(
    case: Case, plan: PeerPlan, request: SutRequest, host: str, timeout: float
) -> Exchange:
    request.listen = Address(host, 0)
    session = case.adapter.start(request)
    case.cleanups.append(session.stop)
    address = _wait_ready(session, timeout)
    from harness.legs.tls_psk import play_client

    outcome = play_client(plan, address, case.transport, timeout)
    sut_result = _sut_result(session, timeout)
    return outcome.exchange(Role.ENTITY_A, plan, sut_result)


def _against_entity_a(
    case: Case, plan: PeerPlan, request: SutRequest, host: str, timeout: float
) -> Exchange:
    from harness.legs.tls_psk import play_server

    if case.transport is Transport.DTLS:
        listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        case.cleanups.append(listener.close)
        listener.bind((host, 0))
    else:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        case.cleanups.append(listener.close)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, 0))
        listener.listen(1)
    request.connect = Address(host, listener.getsockname()[1])
    session = case.adapter.start(request)
    case.cleanups.append(session.stop)
    _wait_ready(session, timeout)
    outcome = play_server(plan, listener, case.transport, timeout)
    sut_result = _sut_result(session, timeout)
    return outcome.exchange(Role.ENTITY_B, plan, sut_result)


def _wait_ready(session: Any, timeout: float) -> Address | None:
    """A SUT that cannot start (crash, silence) fails the purpose with its reason."""
    try:
        return session.wait_ready(timeout)
    except NotApplicable:
        raise
    except (TimeoutError, OSError, RuntimeError) as exc:
        raise SutFailure(f"the SUT did not become ready: {exc}") from exc


def _sut_result(session: Any, timeout: float) -> SutResult:
    result = session.result(timeout)
    if result.status is Status.UNSUPPORTED:
        raise NotApplicable(f"the SUT reports the configuration unsupported: {result.detail}")
    return result
