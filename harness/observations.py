"""What a harness party plans and observes on one (D)TLS-PSK leg: data types only.

Below the code that produces them (harness/legs/tls_psk.py drives the engine and fills
an :class:`Exchange`), the framework code that plans them, and the pure checks
(harness/checks.py) that judge them, so none of those imports another to get a type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.sut.contract import Role, SutResult, Transport
from harness.tls.suites import DTLS_MANDATORY_PSK, TLS_MANDATORY_PSK
from harness.tls.trace import Trace


def mandatory_suite(transport: Transport) -> int:
    return DTLS_MANDATORY_PSK if transport is Transport.DTLS else TLS_MANDATORY_PSK


@dataclass
class PeerPlan:
    """What the harness party will do on one (D)TLS-PSK leg. Faults are data
    (harness/legs/tls_psk.py engine_faults says which)."""

    role: Role  # the role the harness plays
    psk_identity: bytes  # Entity A: the identity it presents
    psk: bytes  # Entity A: the key it uses
    suites: list[int]  # offered (A) or accepted in preference order (B)
    server_name: str | None = None  # Entity A: SNI
    psk_table: dict[bytes, bytes] = field(default_factory=dict)  # Entity B: identity -> key
    psk_lookup: Callable[[bytes], bytes | None] | None = None
    """A server whose keys appear while it serves (a harness Entity B that learns Kc from
    the harness MAF): consulted instead of ``psk_table`` when given."""
    peer_psk_lookup: Callable[[bytes], bytes | None] | None = None
    """With a deliberately wrong key from ``psk_lookup``: the key the SUT really uses, only
    to read its encrypted alert (the dynamic form of the ``peer_psk`` fault)."""
    on_established: Callable[[Any], None] | None = None
    """A server party acting on the handshake's keys (the harness MAF storing Kc): called
    with the engine connection once the client's Finished is verified, before the
    server's Finished leaves, so the keys exist before the SUT can use them."""
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
    """The harness's observation of one (D)TLS-PSK leg, and the SUT's account of it."""

    harness_role: Role
    harness_server: bool  # the harness was the (D)TLS server of this leg
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
