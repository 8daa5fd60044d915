"""What Entity A, Entity B and the MAF of the MAF-based SAEF reference share.

- :class:`Party`: the fault set, the stop switch (closing every socket wakes any wait),
  and two bounded (D)TLS-PSK handshake drivers over the common libssl plumbing of
  :mod:`harness.reference`: :meth:`Party.client_handshake` (a fresh socket towards one
  address) and :meth:`Party.serve_handshake` (one attempt on a bound listener; over DTLS
  with the cookie exchange, a fresh :class:`CookieExchange` per attempt so that each
  attempt pins its own client).
- :class:`Handshake`: one finished or failed handshake, with what a leg reports.
- The KcID and the oneM2M timestamp, formed inline: the reference must not share the
  harness's own oracles (harness.key_export), so that a wrong definition on one side
  shows up as a failed interoperation instead of cancelling out.

Entity A (entity_a.py), Entity B (entity_b.py) and the MAF (maf.py) build on these.
"""

from __future__ import annotations

import calendar
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.frameworks.saef_maf.reference.faults import CONNECTION_LABEL, FaultSet
from harness.reference.account import alert_summary
from harness.reference.ciphers import cipher_list, known
from harness.reference.config import ConfigurationError, DatagramSettings
from harness.reference.datagram import CookieExchange, DatagramPump
from harness.reference.endpoint import Deadline, PumpOutcome, SocketPump, TlsEndpoint
from harness.reference.libssl import SslConnection, SslContext
from harness.sut.contract import (
    Address,
    LegResult,
    Role,
    Status,
    SutRequest,
    SutResult,
    Transport,
)

EXPORT_LENGTH = 48  # TS-0003 10.3.1: RelativeKcID (16) || Kc (32)
CLOSE_LINGER = 0.5
"""Upper bound (s) to wait for the peer's close_notify after sending ours."""
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%S"
"""oneM2M timestamp, ISO 8601 basic, UTC (expirationTime)."""
CREDENTIAL_TYPE_KMID = "11"  # TS-0003 12.3.2: Credential-ID type of a KmID
DEFAULT_DATAGRAM = DatagramSettings()

Pump = SocketPump | DatagramPump
PskServerCallback = Callable[[bytes], bytes | None]


JOIN_GRACE = 2.0  # seconds beyond the deadline a service thread may take to report


def timestamp(posix: float) -> str:
    """The oneM2M timestamp of a POSIX time (whole seconds, rounded down)."""
    return time.strftime(TIMESTAMP_FORMAT, time.gmtime(posix))


def parse_timestamp(text: str) -> float:
    """POSIX time of a oneM2M timestamp ``YYYYMMDDTHHMMSS`` (UTC); ValueError if malformed."""
    if len(text) != 15:
        raise ValueError(f"{text!r} is not YYYYMMDDTHHMMSS")
    return float(calendar.timegm(time.strptime(text, TIMESTAMP_FORMAT)))


def split_kc_id(kc_id: str) -> tuple[str, str] | None:
    """(relative part, FQDN) of ``relative@fqdn``, split at the last "@"; None when the
    KcID has no "@" or an empty part."""
    relative, at, fqdn = kc_id.rpartition("@")
    if not at or not relative or not fqdn:
        return None
    return relative, fqdn


@dataclass
class Handshake:
    """One (D)TLS-PSK handshake attempt: its status and, once established, the
    connection (valid until :meth:`close`)."""

    status: Status
    detail: str = ""
    alert: str | None = None
    endpoint: TlsEndpoint | None = None
    pump: Pump | None = None
    context: SslContext | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def connection(self) -> SslConnection:
        assert self.endpoint is not None
        return self.endpoint.connection

    @property
    def established(self) -> bool:
        return self.status is Status.ESTABLISHED

    def export(self, label: str, length: int = EXPORT_LENGTH) -> bytes:
        return self.connection.export_keying_material(label, length, None)

    def close(self, deadline: Deadline) -> None:
        """close_notify (established only), then free the libssl objects."""
        try:
            if (
                self.established
                and isinstance(self.pump, SocketPump)
                or self.established
                and self.pump is not None
            ):
                self.pump.close(deadline.remaining(CLOSE_LINGER))
        except Exception:
            pass
        finally:
            if self.endpoint is not None:
                self.endpoint.free()
                self.endpoint = None
            if self.context is not None:
                self.context.free()
                self.context = None

    def leg(self, name: str, peer: str, **values: Any) -> LegResult:
        """A LegResult for this handshake; ``values`` add or override its fields."""
        leg = LegResult(name, peer, self.status, alert=self.alert, detail=self.detail)
        if self.established:
            leg.cipher_suite = self.connection.cipher_suite
        for key, value in values.items():
            setattr(leg, key, value)
        return leg


class Party:
    """What every MAF-based SAEF reference role shares."""

    role: Role

    def __init__(self, request: SutRequest, faults: FaultSet) -> None:
        self.request = request
        self.faults = faults
        self.deadline = Deadline(request.timeout)
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopped = False
        # Whether a failed handshake ends with libssl's fatal alert (False: a silent-abort
        # mutant of a framework that builds on these parties withholds it).
        self.send_alert_on_failure = True
        self.endpoints: dict[str, Address] = {}  # served endpoints, for the ready event
        self._early: SutResult | None = None  # the result when the case cannot start
        self._legs: list[LegResult] = []  # legs recorded by concurrent services
        self._state = threading.Condition()  # guards _legs (and a role's shared tables)

    @property
    def dtls(self) -> bool:
        return self.request.transport is Transport.DTLS

    def _track(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            if self._stopped:
                sock.close()
                raise OSError("stopped")
            self._sockets.append(sock)
        return sock

    def _forget(self, sock: socket.socket) -> None:
        with self._lock:
            if sock in self._sockets:
                self._sockets.remove(sock)
        with contextlib.suppress(OSError):
            sock.close()

    def stop(self) -> None:
        """Close every socket, waking any wait in the worker thread(s)."""
        with self._lock:
            self._stopped = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def _finish(self, result: SutResult) -> SutResult:
        if self.faults.names:
            result.detail = f"{result.detail} [faults: {', '.join(self.faults.names)}]".strip()
        return result

    def _suites(self) -> list[int]:
        return known(self.request.cipher_suites)

    def run(self) -> SutResult:
        """The role's case (``_run``), always ended with a result: a configuration the
        role cannot use, or any failure of the reference itself, is reported as error
        (the reference must report, never crash the thread), and every socket is closed."""
        if self._early is not None:
            return self._early
        try:
            return self._finish(self._run())
        except ConfigurationError as exc:
            return SutResult(Status.ERROR, detail=f"configuration: {exc}")
        except Exception as exc:
            return self._finish(SutResult(Status.ERROR, detail=f"{type(exc).__name__}: {exc}"))
        finally:
            self.stop()

    def _run(self) -> SutResult:
        raise NotImplementedError

    def _configure(self, parse: Callable[[dict[str, Any]], Any]) -> Any | None:
        """The role's configuration, or None with the result that ends the case at once
        (a configuration error, or no requested cipher suite the reference knows)."""
        try:
            config = parse(self.request.configuration)
        except ConfigurationError as exc:
            self._early = SutResult(Status.ERROR, detail=f"configuration: {exc}")
            return None
        if not self._suites():
            self._early = SutResult(Status.UNSUPPORTED, detail="no requested suite is known")
            return None
        return config

    def _bind_services(self, *services: tuple[str, bool]) -> list[socket.socket]:
        """Bind each named service, ``(name, handshake)``: a handshake service is (D)TLS
        per the request's transport, any other TLS over TCP. The first falls back to
        ``request.listen``, the others to its host; ``endpoints`` records where each is."""
        sockets = []
        primary: Address | None = None
        for name, handshake in services:
            fallback = (
                (self.request.listen or Address("127.0.0.1", 0))
                if primary is None
                else Address(primary.host, 0)
            )
            address = self.request.services.get(name) or fallback
            kind = socket.SOCK_DGRAM if handshake and self.dtls else socket.SOCK_STREAM
            sock = self._bind(address, kind)
            host, port = sock.getsockname()[:2]
            self.endpoints[name] = Address(host, port)
            primary = primary or self.endpoints[name]
            sockets.append(sock)
        return sockets

    def _run_services(self, *serves: Callable[[], None]) -> list[LegResult]:
        """Run each service in its own thread, all bounded by the case deadline, and give
        the legs they recorded, in the order they completed."""
        workers = [threading.Thread(target=self._worker, args=(s,), daemon=True) for s in serves]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(self.deadline.remaining() + JOIN_GRACE)
        self.stop()  # wakes a worker still waiting (e.g. after stop() from outside)
        for worker in workers:
            worker.join(JOIN_GRACE)
        with self._state:
            return list(self._legs)

    def _worker(self, serve: Callable[[], None]) -> None:
        try:
            serve()
        except Exception as exc:  # report, never crash the thread
            self._record(
                LegResult("error", "", Status.ERROR, detail=f"{type(exc).__name__}: {exc}")
            )

    def _record(self, leg: LegResult) -> None:
        with self._state:
            self._legs.append(leg)

    def _serve_legs(self, name: str, serve_one: Callable[[], LegResult]) -> None:
        """Serve ``request.legs_expected(name)`` legs one after another, recording each;
        stop early once stopped, or when a leg timed out at the case deadline."""
        for _ in range(self.request.legs_expected(name)):
            leg = serve_one()
            if self._stopped and leg.status is Status.ERROR:
                return  # ended by stop(): not a leg anyone ran
            self._record(leg)
            if self._stopped or (leg.status is Status.TIMEOUT and self.deadline.expired):
                return

    def _bind(self, address: Address, kind: socket.SocketKind) -> socket.socket:
        sock = self._track(socket.socket(socket.AF_INET, kind))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address.host, address.port))
        if kind == socket.SOCK_STREAM:
            sock.listen(8)
        return sock

    # -- handshakes --

    def _datagram_pump(
        self,
        sock: socket.socket,
        endpoint: TlsEndpoint,
        settings: DatagramSettings,
        *,
        peer: tuple[str, int] | None = None,
        cookies: CookieExchange | None = None,
    ) -> DatagramPump:
        return DatagramPump(
            sock,
            endpoint,
            self.deadline,
            peer=peer,
            cookies=cookies,
            mtu=settings.mtu,
            retransmission_timeout=settings.retransmission_timeout,
            send_on_failure=self.send_alert_on_failure,
        )

    def _outcome(self, outcome: PumpOutcome, handshake: Handshake) -> Handshake:
        pump, endpoint = handshake.pump, handshake.endpoint
        assert pump is not None and endpoint is not None and handshake.context is not None
        if outcome is PumpOutcome.DONE:
            connection = endpoint.connection
            handshake.status = Status.ESTABLISHED
            handshake.detail = f"{connection.version} {connection.cipher_name}"
            return handshake
        if outcome is PumpOutcome.TIMEOUT:
            handshake.status = Status.TIMEOUT
            handshake.detail = "handshake timed out"
            return handshake
        handshake.status = Status.REFUSED
        handshake.alert, line = alert_summary(handshake.context.alerts)
        handshake.detail = f"{line}; {endpoint.failure}"
        return handshake

    def client_handshake(
        self,
        address: Address,
        *,
        dtls: bool,
        suites: list[int],
        psk_identity: str,
        psk: bytes,
        server_name: str | None,
        datagram: DatagramSettings = DEFAULT_DATAGRAM,
    ) -> Handshake:
        """One (D)TLS-PSK client handshake towards ``address`` on a fresh socket (kept
        open in the returned :class:`Handshake` until its ``close``)."""
        context = SslContext(server=False, cipher_list=cipher_list(suites), dtls=dtls)
        handshake = Handshake(Status.ERROR, context=context)
        context.set_psk_client(lambda _hint: (psk_identity.encode(), psk))
        try:
            handshake.endpoint = TlsEndpoint(context, server_name=server_name)
        except ValueError as exc:
            handshake.detail = str(exc)
            return handshake
        kind = socket.SOCK_DGRAM if dtls else socket.SOCK_STREAM
        try:
            sock = self._track(socket.socket(socket.AF_INET, kind))
            sock.settimeout(max(self.deadline.remaining(), 0.001))
            sock.connect((address.host, address.port))
        except OSError as exc:
            handshake.detail = f"connect to {address}: {exc}"
            return handshake
        handshake.extras["socket"] = sock
        if dtls:
            host, port = sock.getpeername()[:2]
            handshake.pump = self._datagram_pump(
                sock, handshake.endpoint, datagram, peer=(host, port)
            )
        else:
            handshake.pump = SocketPump(
                sock, handshake.endpoint, self.deadline, self.send_alert_on_failure
            )
        return self._outcome(handshake.pump.handshake(), handshake)

    def serve_handshake(
        self,
        listener: socket.socket,
        *,
        dtls: bool,
        suites: list[int],
        on_psk: PskServerCallback,
        datagram: DatagramSettings = DEFAULT_DATAGRAM,
    ) -> Handshake:
        """One (D)TLS-PSK server handshake on ``listener`` (TCP: the next connection;
        UDP: the first client that completes the cookie exchange)."""
        context = SslContext(server=True, cipher_list=cipher_list(suites), dtls=dtls)
        handshake = Handshake(Status.ERROR, context=context)
        context.set_psk_server(on_psk)
        if dtls:
            cookies = CookieExchange()
            context.set_cookie_exchange(cookies.generate, cookies.verify)
            handshake.endpoint = TlsEndpoint(context)
            handshake.pump = self._datagram_pump(
                listener, handshake.endpoint, datagram, cookies=cookies
            )
            outcome = handshake.pump.handshake()
            if outcome is PumpOutcome.TIMEOUT and not handshake.pump.wire:
                handshake.status, handshake.detail = Status.TIMEOUT, "no datagram in time"
                return handshake
            return self._outcome(outcome, handshake)
        try:
            listener.settimeout(max(self.deadline.remaining(), 0.001))
            sock, _peer = listener.accept()
        except TimeoutError:
            handshake.status, handshake.detail = Status.TIMEOUT, "no connection in time"
            return handshake
        except OSError as exc:  # closed by stop()
            handshake.detail = f"accept: {exc}"
            return handshake
        self._track(sock)
        handshake.extras["socket"] = sock
        handshake.endpoint = TlsEndpoint(context)
        handshake.pump = SocketPump(
            sock, handshake.endpoint, self.deadline, self.send_alert_on_failure
        )
        return self._outcome(handshake.pump.handshake(), handshake)

    def end(self, handshake: Handshake) -> None:
        """Close a handshake and its own socket (never a shared UDP listener)."""
        handshake.close(self.deadline)
        sock = handshake.extras.pop("socket", None)
        if sock is not None:
            self._forget(sock)


def leg_summary(main: LegResult | None, legs: list[LegResult], nothing: SutResult) -> SutResult:
    """The SUT result: every leg, and ``main``'s fields at the top level (``nothing``
    when there is no such leg)."""
    if main is None:
        return nothing
    return SutResult(
        main.status,
        cipher_suite=main.cipher_suite,
        peer_identity=main.peer_identity,
        psk_identity=main.psk_identity,
        alert=main.alert,
        keys=dict(main.keys),
        detail=main.detail,
        legs=legs,
    )


def summary(legs: list[LegResult], nothing: str) -> SutResult:
    """Every leg, and the last one's fields at the top level (``nothing``: the detail
    of the timeout when no leg ran)."""
    return leg_summary(legs[-1] if legs else None, legs, SutResult(Status.TIMEOUT, detail=nothing))


def connection_export(handshake: Handshake, faults: FaultSet) -> bytes:
    """The 48 octets both A and the MAF export after the MAF handshake (10.3.1, I-03)."""
    return handshake.export(faults.exporter_label(CONNECTION_LABEL))


def form_kc(material: bytes, faults: FaultSet) -> tuple[bytes, str, bytes]:
    """(RelativeKcID, its hexBinary, Kc) from the exporter output."""
    relative_id, kc = faults.split_export(material)
    return relative_id, faults.relative_text(relative_id), kc
