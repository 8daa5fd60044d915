"""One test case as a topology: the SUT in one role, harness parties around it.

A framework's orchestration (``harness/frameworks/<name>/parties.py``) builds on these
pieces and knows nothing of sockets beyond them:

- :func:`start_sut` / :func:`sut_result`: the SUT through its adapter, with a bounded
  wait for its readiness and its account, and the verdict rules for both (a SUT that
  cannot start fails the purpose; one that calls the configuration unsupported makes it
  not applicable);
- :func:`open_listener`: a loopback socket a harness party serves on, closed with the case;
- :class:`PartyThread`: a harness party serving its legs in a thread while the main
  thread plays another party (the MAF answering Entity B while the harness is also
  Entity A), its exception carried back to the case instead of lost;
- :class:`LegRecord`: what one leg between two parties was, for the report.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from harness.sut.contract import Address, Status, SutRequest, SutResult, SutSession, Transport
from harness.verdict import HarnessError, NotApplicable, SutFailure

if TYPE_CHECKING:
    from harness.plugin import Case

T = TypeVar("T")
POLL = 0.02  # how often an idle harness server looks whether the SUT has finished


@dataclass
class LegRecord:
    """One leg of a case as the harness saw it: who ran it with whom, and how it ended."""

    name: str  # maf_handshake, association, key_retrieval, ...
    party: str  # the harness party's role
    peer: str  # the other side's role (the SUT's, where the SUT is in it)
    summary: str  # one sentence: how it ended
    started: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "party": self.party,
            "peer": self.peer,
            "summary": self.summary,
            "started": self.started,
        }


RESULT_GRACE = 1.0
"""Seconds the harness waits for the SUT's account beyond the SUT's own bound (its
request's ``timeout``): a SUT that gives its handshake up exactly at that bound still
reports, instead of racing the harness's wait (whose loss would read as "no result")."""


def start_sut(case: Case, request: SutRequest) -> SutSession:
    """Start the SUT for this case; it is stopped when the case closes.

    A DTLS request carries the lab's ``[ixit.dtls] retransmissionTimeout`` as the
    contract's ``configuration.retransmissionTimeout`` (unless the framework set one):
    the SUT's timer, like the harness's own, then keeps loss cases cheap."""
    timer = getattr(getattr(case.profile.ixit, "dtls", None), "retransmission_timeout", None)
    if request.transport is Transport.DTLS and timer is not None:
        request.configuration.setdefault("retransmissionTimeout", timer)
    session = case.adapter.start(request)
    case.cleanups.append(session.stop)
    return session


def wait_ready(session: SutSession, timeout: float) -> Address | None:
    """A SUT that cannot start (crash, silence) fails the purpose with its reason."""
    try:
        return session.wait_ready(timeout)
    except NotApplicable:
        raise
    except (TimeoutError, OSError, RuntimeError) as exc:
        raise SutFailure(f"the SUT did not become ready: {exc}") from exc


def sut_endpoint(session: SutSession, name: str, primary: Address | None) -> Address:
    """The address of one endpoint the SUT serves (its primary one by default)."""
    address = getattr(session, "endpoints", {}).get(name) or primary
    if address is None:
        raise SutFailure(f"the SUT reported no address for its {name} endpoint")
    return address


def sut_result(case: Case, session: SutSession, timeout: float) -> SutResult:
    result = session.result(timeout)
    case.sut_results.append(result)
    if result.status is Status.UNSUPPORTED:
        raise NotApplicable(f"the SUT reports the configuration unsupported: {result.detail}")
    return result


def open_listener(case: Case, transport: Transport, host: str) -> socket.socket:
    """A bound loopback socket for a harness server: TCP listening for TLS, UDP for DTLS."""
    if transport is Transport.DTLS:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        case.cleanups.append(sock.close)
        sock.bind((host, 0))
        return sock
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    case.cleanups.append(sock.close)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(4)
    return sock


def address_of(sock: socket.socket) -> Address:
    host, port = sock.getsockname()[:2]
    return Address(host, port)


class PartyThread(Generic[T]):
    """A harness party serving in a daemon thread; :meth:`join` gives what it returned.

    Every wait inside ``serve`` must be bounded (the party's own deadline); ``join`` is
    bounded too, so a party that overstays is a harness error, never a hang.
    """

    def __init__(self, name: str, serve: Callable[[], T]) -> None:
        self.name = name
        self._serve = serve
        self._value: T | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"harness-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._serve()
        except BaseException as exc:  # carried to join(): the case decides what it means
            self._error = exc
        finally:
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def join(self, timeout: float) -> T:
        if not self._done.wait(max(timeout, 0.0)):
            raise HarnessError(f"the harness {self.name} did not finish within {timeout:.1f} s")
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


def left(deadline: float) -> float:
    """What remains of a case's bound (``time.monotonic()`` deadline), never below 50 ms so
    a last leg can still read the SUT's answer to what it already sent."""
    return max(deadline - time.monotonic(), 0.05)


def readable(sock: socket.socket, stop: threading.Event, deadline: float) -> bool:
    """True when a client is waiting on a harness server's ``sock``; False once ``stop``
    is set (the SUT is done) and nothing is pending, or the case's bound has passed."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            ready, _, _ = select.select(
                [sock], [], [], 0 if stop.is_set() else min(POLL, remaining)
            )
        except (OSError, ValueError):
            return False
        if ready:
            return True
        if stop.is_set():
            return False


class SutRun:
    """The SUT's result collected in the background, so the harness's servers can stop
    serving as soon as the SUT says it is done instead of waiting out the bound."""

    def __init__(self, case: Case, session: SutSession, timeout: float) -> None:
        self.done = threading.Event()
        self._thread = PartyThread("SUT result", self._wait(session, timeout))
        self.case = case
        self.timeout = timeout

    def _wait(self, session: SutSession, timeout: float) -> Callable[[], SutResult]:
        def wait() -> SutResult:
            try:
                # The SUT reports when its own bound (its request's timeout, counted from
                # about now) runs out at the latest: wait that long and RESULT_GRACE more,
                # so its account, not the harness's impatience, says how it ended.
                return session.result(timeout + RESULT_GRACE)
            finally:
                self.done.set()

        return wait

    def result(self) -> SutResult:
        raw = self._thread.join(self.timeout + RESULT_GRACE + 2.0)
        self.case.sut_results.append(raw)
        if raw.status is Status.UNSUPPORTED:
            raise NotApplicable(f"the SUT reports the configuration unsupported: {raw.detail}")
        return raw


def record_leg(
    case: Case, name: str, party: object, peer: object, summary: str, trace: Any
) -> None:
    """Keep one leg's record and trace on the case, in the order the legs ran."""
    if trace is not None:
        case.traces.append(trace)
    case.legs.append(LegRecord(name, str(party), str(peer), summary))


def close_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
