"""The PSK SAEF topology: the SUT in one role, the harness the one peer opposite.

:func:`run_association` starts the SUT through its adapter, plays the peer the step
planned (a :class:`~harness.observations.PeerPlan`) with the harness's own (D)TLS engine
over a real loopback socket, and returns the leg's :class:`~harness.observations.Exchange`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from harness.legs.tls_psk import case_timeout, play_client, play_server
from harness.observations import Exchange, PeerPlan
from harness.sut.contract import Address, ExportRequest, Framework, Role, SutRequest
from harness.topology import (
    LegRecord,
    SutRun,
    address_of,
    left,
    open_listener,
    readable,
    start_sut,
    sut_result,
    wait_ready,
)

if TYPE_CHECKING:
    from harness.plugin import Case


def run_association(case: Case, plan: PeerPlan, exports: list[tuple[str, int]]) -> Exchange:
    """Start the SUT in the role opposite to the plan's and play one handshake."""
    ixit = case.profile.ixit
    timeout = case_timeout(ixit, case.transport, plan)
    sut_role = Role.ENTITY_B if plan.role is Role.ENTITY_A else Role.ENTITY_A
    request = SutRequest(
        role=sut_role,
        framework=Framework.SAEF_PSK,
        transport=case.transport,
        configuration=dict(case.state["request_configuration"]),
        cipher_suites=list(case.profile.ics.cipher_suites),
        timeout=timeout,
        exports=[ExportRequest(label, length) for label, length in exports],
        test_case=case.info.tp,
    )
    if plan.role is Role.ENTITY_A:
        request.listen = Address(ixit.host, 0)
        request.services = {"association": request.listen}
        session = start_sut(case, request)
        address = wait_ready(session, timeout)
        played = play_client(plan, address, case.transport, timeout)
    else:
        deadline = time.monotonic() + timeout
        listener = open_listener(case, case.transport, ixit.host)
        request.connect = address_of(listener)
        request.peers = {"entity_b": request.connect}
        session = start_sut(case, request)
        wait_ready(session, timeout)
        # The SUT's account is collected meanwhile: one that ends without contacting the
        # harness (a shim exiting 89: not applicable) ends the case then, not at the bound.
        sut = SutRun(case, session, timeout)
        contacted = readable(listener, sut.done, deadline)
        played = play_server(plan, listener, case.transport, left(deadline) if contacted else 0.01)
        exchange = played.exchange(plan.role, plan, sut.result())
        return _recorded(case, exchange, plan, sut_role)
    exchange = played.exchange(plan.role, plan, sut_result(case, session, timeout))
    return _recorded(case, exchange, plan, sut_role)


def _recorded(case: Case, exchange: Exchange, plan: PeerPlan, sut_role: Role) -> Exchange:
    case.traces.append(exchange.trace)
    case.legs.append(
        LegRecord("association", str(plan.role), str(sut_role), exchange.ending.describe())
    )
    return exchange
