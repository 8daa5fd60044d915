"""Entity A and Entity B of the Pre-Provisioned Symmetric Key SAEF (TS-0003 8.2.2.1).

Each object runs ONE association attempt over a real TCP socket (TLS 1.2) or UDP
socket (DTLS 1.2, ``request.transport == "dtls"``) on loopback and reports it as a :class:`harness.sut.contract.SutResult`: the SUT's own account of
which suite it negotiated, which psk_identity it used or received, which identity it
bound the association to (SAEF-PSK-06/07), which alert it sent or received, and the
RFC 5705 exporter values the test case asked for.

- Entity A (TLS client) offers the requested suites, sends psk_identity = KpsaId and
  SNI = otherEntityHostName, binds the association to IdB, sends application data
  only when the configuration has ``applicationData``, then closes with close_notify.
- Entity B (TLS server) accepts one connection, answers a psk_identity only if it is a
  configured KpsaId (else unknown_psk_identity), binds the association to that entry's
  IdA, echoes application data for a short while, then closes.

Over DTLS the same libssl endpoint runs behind a :class:`DatagramPump` instead of a
:class:`SocketPump`; B additionally performs the cookie exchange (HelloVerifyRequest)
and serves the first client address that completes it.

Every behaviour a mutant may change goes through a :class:`FaultSet` hook. MAF, MEF
and BSF roles become further classes beside these, reusing the endpoint and pumps.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from harness.frameworks.saef_psk.reference.config import (
    AuthorizedEntity,
    EntityAConfig,
    EntityBConfig,
)
from harness.frameworks.saef_psk.reference.faults import FaultSet
from harness.reference.account import alert_summary, exports
from harness.reference.ciphers import cipher_list, known
from harness.reference.config import ConfigurationError, DatagramSettings
from harness.reference.datagram import CookieExchange, DatagramPump
from harness.reference.endpoint import Deadline, PumpOutcome, SocketPump, TlsEndpoint
from harness.reference.libssl import SslContext
from harness.sut.contract import (
    Address,
    Role,
    Status,
    SutRequest,
    SutResult,
    Transport,
)

ECHO_WINDOW = 1.0
"""Upper bound (s) Entity B waits for application data after the handshake. The peer
closing (close_notify or TCP EOF) ends the wait at once; this only bounds a silent peer."""
CLOSE_LINGER = 1.0
"""Upper bound (s) to wait for the peer's close_notify after sending ours."""

Pump = SocketPump | DatagramPump


class _Entity:
    """What both PSK SAEF roles share: the fault set, the deadline, the stop switch."""

    role: Role

    def __init__(self, request: SutRequest, faults: FaultSet) -> None:
        self.request = request
        self.faults = faults
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopped = False

    def _track(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            if self._stopped:
                sock.close()
                raise OSError("stopped")
            self._sockets.append(sock)
        return sock

    def stop(self) -> None:
        """Close every socket, waking any wait in the worker thread."""
        with self._lock:
            self._stopped = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    @property
    def dtls(self) -> bool:
        return self.request.transport is Transport.DTLS

    def _datagram_pump(
        self,
        sock: socket.socket,
        endpoint: TlsEndpoint,
        deadline: Deadline,
        settings: DatagramSettings,
        *,
        peer: tuple[str, int] | None = None,
        cookies: CookieExchange | None = None,
    ) -> DatagramPump:
        return DatagramPump(
            sock,
            endpoint,
            deadline,
            peer=peer,
            cookies=cookies,
            mtu=settings.mtu,
            retransmission_timeout=settings.retransmission_timeout,
            send_on_failure=self.faults.send_alert_on_failure(),
            retransmit=self.faults.retransmit(),
            tear_down_on_bad_record=self.faults.tear_down_on_bad_record(),
            strict_record_order=self.faults.strict_record_order(),
            ignore_hello_verify_request=self.faults.ignore_hello_verify_request(),
        )

    @staticmethod
    def _datagram_detail(pump: Pump) -> str:
        """What only DTLS has to report: retransmissions, cookies, bad records."""
        if not isinstance(pump, DatagramPump):
            return ""
        detail = f"; retransmissions {pump.retransmissions}"
        if pump.cookies is not None:
            detail += f"; HelloVerifyRequests {pump.cookies.sent}"
        if pump.discarded:
            detail += f"; discarded {', '.join(bad.value for bad in pump.discarded)}"
        if pump.torn_down is not None:
            detail += f"; torn down on {pump.torn_down.value}"
        return detail

    def _suites(self) -> list[int] | None:
        runnable = known(self.request.cipher_suites)
        return self.faults.suites(self.role, runnable) if runnable else None

    def _finish(self, result: SutResult) -> SutResult:
        result.status = self.faults.reported_status(result.status)
        if self.faults.names:
            result.detail = f"{result.detail} [faults: {', '.join(self.faults.names)}]".strip()
        return result

    def _failure(
        self, outcome: PumpOutcome, pump: Pump, context: SslContext, psk_identity: str | None
    ) -> SutResult:
        if outcome is PumpOutcome.TIMEOUT:
            detail = "handshake timed out" + self._datagram_detail(pump)
            if isinstance(pump, DatagramPump) and not pump.wire:
                detail = "no datagram within the timeout"
            return SutResult(Status.TIMEOUT, psk_identity=psk_identity, detail=detail)
        alert, alert_line = alert_summary(context.alerts, alert_sent=not pump.dropped)
        detail = f"{alert_line}; {pump.endpoint.failure}{self._datagram_detail(pump)}"
        if pump.dropped:
            detail += f"; withheld {len(pump.dropped)} bytes (alert not sent)"
        return SutResult(Status.REFUSED, psk_identity=psk_identity, alert=alert, detail=detail)


class EntityA(_Entity):
    """The TLS client of the PSK SAEF: one association attempt towards request.connect."""

    role = Role.ENTITY_A

    def run(self) -> SutResult:
        try:
            return self._finish(self._run())
        except ConfigurationError as exc:
            return SutResult(Status.ERROR, detail=f"configuration: {exc}")
        except Exception as exc:  # the reference must report, never crash the thread
            return self._finish(SutResult(Status.ERROR, detail=f"{type(exc).__name__}: {exc}"))

    def _run(self) -> SutResult:
        request = self.request
        config = EntityAConfig.from_configuration(request.configuration)
        suites = self._suites()
        if not suites:
            return SutResult(Status.UNSUPPORTED, detail="none of the requested suites is known")
        if request.connect is None:
            raise ConfigurationError("Entity A needs request.connect")
        deadline = Deadline(request.timeout)
        psk_identity = self.faults.psk_identity(config.kpsa_id, None)
        psk = self.faults.kpsa_key(self.role, config.kpsa_key)
        server_name = self.faults.server_name(config.other_host_name)
        hints: list[str | None] = []

        def on_psk(hint: str | None) -> tuple[bytes, bytes]:
            nonlocal psk_identity
            hints.append(hint)
            psk_identity = self.faults.psk_identity(config.kpsa_id, hint)
            return psk_identity.encode(), psk

        context = SslContext(
            server=False,
            cipher_list=cipher_list(suites),
            dtls=self.dtls,
            min_version=self.faults.oldest_version(self.role),
        )
        endpoint: TlsEndpoint | None = None
        try:
            context.set_psk_client(on_psk)
            endpoint = TlsEndpoint(context, server_name=server_name)
            kind = socket.SOCK_DGRAM if self.dtls else socket.SOCK_STREAM
            sock = self._track(socket.socket(socket.AF_INET, kind))
            sock.settimeout(deadline.remaining())
            try:
                sock.connect((request.connect.host, request.connect.port))
            except OSError as exc:
                return SutResult(Status.ERROR, detail=f"connect to {request.connect}: {exc}")
            pump: Pump
            if self.dtls:  # a connected UDP socket: only B's datagrams, ICMP errors seen
                host, port = sock.getpeername()[:2]
                pump = self._datagram_pump(
                    sock, endpoint, deadline, config.datagram, peer=(host, port)
                )
            else:
                pump = SocketPump(sock, endpoint, deadline, self.faults.send_alert_on_failure())
            outcome = pump.handshake()
            if outcome is not PumpOutcome.DONE:
                return self._failure(outcome, pump, context, psk_identity)
            connection = endpoint.connection
            result = SutResult(
                Status.ESTABLISHED,
                cipher_suite=connection.cipher_suite,
                peer_identity=self.faults.bound_identity(
                    self.role, config.other_entity_id, config.other_host_name
                ),
                psk_identity=psk_identity,
                keys=exports(connection, request.exports),
                detail=f"{connection.version} {connection.cipher_name}; "
                f"psk_identity_hint {hints[-1] if hints else None!r}; "
                f"extended_master_secret {connection.extended_master_secret}",
            )
            if config.application_data is not None:
                pump.send_application_data(config.application_data)
                echo = pump.receive_application_data(deadline.remaining())
                result.detail += f"; echo {echo!r}"
            pump.close(CLOSE_LINGER)
            result.detail += self._datagram_detail(pump)
            return result
        finally:
            self.stop()
            if endpoint is not None:
                endpoint.free()
            context.free()


class EntityB(_Entity):
    """The TLS server of the PSK SAEF: accepts one association attempt on request.listen.

    :meth:`bind` runs in the caller's thread so the listen address is known before the
    harness connects; :meth:`run` then serves one connection.
    """

    role = Role.ENTITY_B

    def __init__(self, request: SutRequest, faults: FaultSet) -> None:
        super().__init__(request, faults)
        self._listener: socket.socket | None = None
        self._early: SutResult | None = None  # a result decided before run()
        self.config: EntityBConfig | None = None

    @property
    def address(self) -> Address | None:
        if self._listener is None:
            return None
        host, port = self._listener.getsockname()[:2]
        return Address(host, port)

    def bind(self) -> Address | None:
        """Validate the configuration and open the listening socket."""
        try:
            self.config = EntityBConfig.from_configuration(self.request.configuration)
        except ConfigurationError as exc:
            self._early = SutResult(Status.ERROR, detail=f"configuration: {exc}")
            return None
        if not self._suites():
            self._early = SutResult(
                Status.UNSUPPORTED, detail="none of the requested suites is known"
            )
            return None
        listen = self.request.listen or Address("127.0.0.1", 0)
        kind = socket.SOCK_DGRAM if self.dtls else socket.SOCK_STREAM
        listener = self._track(socket.socket(socket.AF_INET, kind))
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((listen.host, listen.port))
        if not self.dtls:
            listener.listen(1)
        self._listener = listener
        return self.address

    def run(self) -> SutResult:
        if self._early is not None:
            return self._early
        try:
            return self._finish(self._run())
        except Exception as exc:
            return self._finish(SutResult(Status.ERROR, detail=f"{type(exc).__name__}: {exc}"))
        finally:
            self.stop()

    def _run(self) -> SutResult:
        assert self.config is not None and self._listener is not None
        config = self.config
        deadline = Deadline(self.request.timeout)
        seen: dict[str, Any] = {}

        def on_psk(psk_identity: bytes) -> bytes | None:
            seen["psk_identity"] = psk_identity
            entry: AuthorizedEntity | None = config.lookup(psk_identity)
            if entry is None:
                entry = self.faults.unknown_identity(psk_identity, config.authorized)
            seen["entry"] = entry
            return None if entry is None else self.faults.kpsa_key(self.role, entry.kpsa_key)

        suites = self._suites() or []
        context = SslContext(
            server=True,
            cipher_list=cipher_list(suites),
            dtls=self.dtls,
            min_version=self.faults.oldest_version(self.role),
        )
        endpoint: TlsEndpoint | None = None
        try:
            context.set_psk_server(on_psk, hint=config.psk_identity_hint)
            pump: Pump
            if self.dtls:  # one UDP socket; the cookie exchange picks the peer
                cookies = CookieExchange() if self.faults.cookie_exchange() else None
                if cookies is not None:
                    context.set_cookie_exchange(cookies.generate, cookies.verify)
                endpoint = TlsEndpoint(context)
                pump = self._datagram_pump(
                    self._listener, endpoint, deadline, config.datagram, cookies=cookies
                )
            else:
                self._listener.settimeout(deadline.remaining())
                try:
                    sock, _peer = self._listener.accept()
                except TimeoutError:
                    return SutResult(Status.TIMEOUT, detail="no connection within the timeout")
                self._track(sock)
                endpoint = TlsEndpoint(context)
                pump = SocketPump(sock, endpoint, deadline, self.faults.send_alert_on_failure())
            outcome = pump.handshake()
            raw_identity: bytes | None = seen.get("psk_identity")
            received = raw_identity.decode(errors="replace") if raw_identity is not None else None
            if outcome is not PumpOutcome.DONE:
                return self._failure(outcome, pump, context, received)
            connection = endpoint.connection
            entry = seen["entry"]
            result = SutResult(
                Status.ESTABLISHED,
                cipher_suite=connection.cipher_suite,
                peer_identity=self.faults.bound_identity(self.role, entry.entity_id, received),
                psk_identity=received,
                keys=exports(connection, self.request.exports),
                detail=f"{connection.version} {connection.cipher_name}; "
                f"server_name {connection.server_name!r}; "
                f"extended_master_secret {connection.extended_master_secret}",
            )
            echoed = 0
            while (data := pump.receive_application_data(ECHO_WINDOW)) is not None and data:
                pump.send_application_data(data)
                echoed += len(data)
            if echoed:
                result.detail += f"; echoed {echoed} bytes"
            pump.close(CLOSE_LINGER)
            result.detail += self._datagram_detail(pump)
            return result
        finally:
            if endpoint is not None:
                endpoint.free()
            context.free()
