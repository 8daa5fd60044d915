"""A simulated datagram network between two sans-IO DTLS connections (BoGo's packet
adapter idea): a virtual clock, per-direction loss / duplication / reordering patterns
and a path MTU. Nothing sleeps; a handshake that needs minutes of retransmission timers
under heavy loss runs in milliseconds, and the same seed gives the same run.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from typing import Literal

from harness.tls.dtls import _Dtls
from harness.tls.engine import ApplicationDataReceived, Event

Direction = Literal["c2s", "s2c"]


@dataclass
class LinkPolicy:
    """What the network does to one direction. Datagram numbers count from 1 in the
    order that direction's sender produced them."""

    loss: float = 0.0  # probability each datagram is lost (from the link's seeded RNG)
    drop: frozenset[int] = frozenset()  # these datagrams are lost
    duplicate: frozenset[int] = frozenset()  # delivered twice
    reorder: frozenset[int] = frozenset()  # delivered after the next datagram
    latency: float = 0.001  # one-way delay, seconds of virtual time
    mtu: int | None = None  # larger datagrams are lost, as on a real path


@dataclass
class LinkEvent:
    time: float
    direction: Direction
    index: int
    action: str  # "sent", "lost", "duplicated", "held", "delivered"
    length: int


@dataclass
class SimulatedLink:
    client: _Dtls
    server: _Dtls
    c2s: LinkPolicy = field(default_factory=LinkPolicy)
    s2c: LinkPolicy = field(default_factory=LinkPolicy)
    seed: int = 0
    now: float = 0.0
    client_address: tuple[str, int] = ("127.0.0.1", 40001)
    server_address: tuple[str, int] = ("127.0.0.1", 40002)
    log: list[LinkEvent] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    application_data: dict[str, bytearray] = field(
        default_factory=lambda: {"client": bytearray(), "server": bytearray()}
    )

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._queue: list[tuple[float, int, Direction, bytes]] = []
        self._order = 0
        self._count: dict[Direction, int] = {"c2s": 0, "s2c": 0}
        self._held: dict[Direction, bytes | None] = {"c2s": None, "s2c": None}
        self.client.peer_address = self.server_address
        self.server.peer_address = self.client_address
        for conn, local, remote in (
            (self.client, self.client_address, self.server_address),
            (self.server, self.server_address, self.client_address),
        ):
            conn.trace.local, conn.trace.remote = local, remote

    # -- running -----------------------------------------------------------------------

    def start(self) -> None:
        self.client.start(now=self.now)  # type: ignore[attr-defined]
        self.server.start(now=self.now)  # type: ignore[attr-defined]
        self._collect()

    def run(
        self,
        until: Literal["established", "quiet"] = "established",
        max_time: float = 600.0,
        max_steps: int = 10_000,
    ) -> bool:
        """Advance virtual time until both ends are established (or closed) and the
        network is empty ("established"), or nothing at all is left to happen
        ("quiet"). Returns True if that state was reached within the bounds."""
        limit = self.now + max_time
        for _ in range(max_steps):
            self._collect()
            done = all(c.established or c.closed for c in (self.client, self.server))
            if until == "established" and done and not self._queue:
                return True
            when = [t for t in (self._next_delivery(), *self._timers()) if t is not None]
            if not when:
                return until == "quiet" or done
            step = min(when)
            if step > limit:
                return False
            self.now = max(self.now, step)
            self._deliver_due()
            for conn in (self.client, self.server):
                due = conn.next_timeout()
                if due is not None and due <= self.now:
                    conn.handle_timeout(self.now)
        return False

    def send(self, who: Literal["client", "server"], data: bytes) -> None:
        conn = self.client if who == "client" else self.server
        conn.send_application_data(data, now=self.now)
        self._collect()

    # -- internals ---------------------------------------------------------------------

    def _timers(self) -> list[float | None]:
        if self.client.established and self.server.established:
            # The server keeps its final flight but runs no timer; nothing to wait for.
            return [c.next_timeout() for c in (self.client, self.server)]
        return [c.next_timeout() for c in (self.client, self.server) if not c.closed]

    def _next_delivery(self) -> float | None:
        return self._queue[0][0] if self._queue else None

    def _collect(self) -> None:
        for conn, direction in ((self.client, "c2s"), (self.server, "s2c")):
            for datagram in conn.datagrams_to_send():
                conn.trace.add_wire("sent", datagram)
                self._route(direction, datagram)  # type: ignore[arg-type]

    def _route(self, direction: Direction, datagram: bytes) -> None:
        policy = self.c2s if direction == "c2s" else self.s2c
        self._count[direction] += 1
        n = self._count[direction]
        lost = n in policy.drop or (policy.loss > 0 and self._rng.random() < policy.loss)
        if policy.mtu is not None and len(datagram) > policy.mtu:
            lost = True
        if lost:
            self._log(direction, n, "lost", datagram)
            return
        if n in policy.reorder and self._held[direction] is None:
            self._held[direction] = datagram
            self._log(direction, n, "held", datagram)
            return
        self._schedule(direction, datagram, policy.latency)
        self._log(direction, n, "sent", datagram)
        if n in policy.duplicate:
            self._schedule(direction, datagram, policy.latency)
            self._log(direction, n, "duplicated", datagram)
        held = self._held[direction]
        if held is not None:
            self._held[direction] = None
            self._schedule(direction, held, policy.latency)

    def _schedule(self, direction: Direction, datagram: bytes, latency: float) -> None:
        self._order += 1
        heapq.heappush(self._queue, (self.now + latency, self._order, direction, datagram))

    def _deliver_due(self) -> None:
        while self._queue and self._queue[0][0] <= self.now:
            _, _, direction, datagram = heapq.heappop(self._queue)
            conn = self.server if direction == "c2s" else self.client
            who = "server" if direction == "c2s" else "client"
            conn.trace.add_wire("received", datagram)
            self._log(direction, 0, "delivered", datagram)
            for event in conn.receive(datagram, now=self.now):
                self.events.append(event)
                if isinstance(event, ApplicationDataReceived):
                    self.application_data[who] += event.data

    def _log(self, direction: Direction, n: int, action: str, datagram: bytes) -> None:
        self.log.append(LinkEvent(self.now, direction, n, action, len(datagram)))

    def lost(self, direction: Direction) -> list[int]:
        return [e.index for e in self.log if e.direction == direction and e.action == "lost"]
