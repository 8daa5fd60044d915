"""Sans-IO TLS 1.2 handshake state machines; the key exchange is a strategy.

A connection consumes bytes (``receive``) and produces bytes (``data_to_send``); it never
touches a socket or a clock (``now`` is an argument). Layers, so DTLS can be added
without changing the handshake logic:

1. the state machines here see whole handshake messages (type + body) and emit flights;
2. handshake framing (``framing.TlsHandshakeFraming``) turns them into record payloads
   and supplies the bytes the transcript hash absorbs;
3. the record layer (``record.TlsRecordLayer``) protects and frames records.

What ServerKeyExchange and ClientKeyExchange carry and how the premaster secret is formed
is the suite's key exchange (``key_exchange.KeyExchange``: PSK, DHE_PSK, ECDHE_ECDSA), one
object per connection, made once the suite is negotiated. A certificate-based exchange
(``uses_certificates``) adds the RFC 5246 authentication messages, which live here:
Certificate (both ways), CertificateRequest when the server asks, CertificateVerify;
the engine does no PKI, a configured callback decides on the peer's chain.

Faults (``faults.Faults``) are applied to each outgoing flight just before it is framed.
Every check a conformant peer must make raises ``ProtocolError``, which becomes the
fatal alert it names (sent, and recorded in ``alert_sent`` and the trace).
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from harness.tls import alerts, certificates, keyschedule, messages
from harness.tls.alerts import ProtocolError
from harness.tls.faults import Faults
from harness.tls.framing import HandshakeMessage, TlsHandshakeFraming
from harness.tls.key_exchange import KeyExchange, key_exchange_for
from harness.tls.messages import (
    CERTIFICATE,
    CERTIFICATE_REQUEST,
    CERTIFICATE_VERIFY,
    CLIENT_HELLO,
    CLIENT_KEY_EXCHANGE,
    EXT_EC_POINT_FORMATS,
    EXT_EXTENDED_MASTER_SECRET,
    EXT_RENEGOTIATION_INFO,
    EXT_SERVER_NAME,
    EXT_SIGNATURE_ALGORITHMS,
    EXT_SUPPORTED_GROUPS,
    FINISHED,
    HELLO_REQUEST,
    SERVER_HELLO,
    SERVER_HELLO_DONE,
    SERVER_KEY_EXCHANGE,
    Hello,
    ServerKeyExchange,
)
from harness.tls.prf import transcript_hash
from harness.tls.record import (
    CT_ALERT,
    CT_APPLICATION_DATA,
    CT_CHANGE_CIPHER_SPEC,
    CT_HANDSHAKE,
    MAX_PLAINTEXT,
    TLS12,
    Record,
    RecordProtection,
    TlsRecordLayer,
    make_protection,
)
from harness.tls.suites import ENGINE_SUITES, PROFILE_SUITES, CipherSuite
from harness.tls.trace import Trace, TraceEntry

EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF


# Events --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandshakeComplete:
    suite: int


@dataclass(frozen=True)
class ApplicationDataReceived:
    data: bytes


@dataclass(frozen=True)
class AlertReceived:
    level: str
    description: str


@dataclass(frozen=True)
class AlertSent:
    level: str
    description: str
    reason: str = ""


@dataclass(frozen=True)
class ConnectionClosed:
    reason: str = ""


Event = HandshakeComplete | ApplicationDataReceived | AlertReceived | AlertSent | ConnectionClosed


class AlertInfo(NamedTuple):
    """An alert by name, e.g. ("fatal", "bad_record_mac"); compares equal to that tuple."""

    level: str
    description: str


# Configuration ---------------------------------------------------------------------------


@dataclass
class ClientConfig:
    psk_identity: bytes
    psk: bytes
    suites: list[int] = field(default_factory=lambda: list(PROFILE_SUITES))
    server_name: str | None = None  # SNI host name; None sends no server_name
    extended_master_secret: bool = True  # offer RFC 7627
    faults: Faults = field(default_factory=Faults)
    rng: Callable[[int], bytes] = os.urandom
    # ECDHE_ECDSA (RFC 8422): our chain (DER, leaf first) and its P-256 private key (a
    # key object, or PKCS #8 / SEC 1 DER or PEM), sent when the server asks for them.
    certificate_chain: list[bytes] = field(default_factory=list)
    private_key: certificates.PrivateKeyInput | None = None
    # Decides on the server's chain (DER, leaf first): None accepts, (alert, reason)
    # refuses with that alert. The engine does no PKI: without a callback any chain whose
    # leaf key verifies the signatures is taken.
    verify_certificate: certificates.CertificateCheck | None = None


UnknownIdentity = Literal["alert", "random_key"]


@dataclass
class ServerConfig:
    psk_lookup: Callable[[bytes], bytes | None] | Mapping[bytes, bytes]
    suites: list[int] = field(default_factory=lambda: list(PROFILE_SUITES))  # preference order
    psk_identity_hint: bytes | None = None  # PSK suites: send ServerKeyExchange only if set
    extended_master_secret: bool = True  # negotiate RFC 7627 when offered
    dh_group: str = "ffdhe2048"  # the group a DHE_PSK server offers (dh.GROUPS)
    # RFC 4279 section 5.1: abort with unknown_psk_identity, or continue with a random
    # key so the client cannot tell an unknown identity from a wrong key.
    unknown_identity: UnknownIdentity = "alert"
    faults: Faults = field(default_factory=Faults)
    rng: Callable[[int], bytes] = os.urandom
    # Called once the client's Finished is verified, before our final flight is handed
    # to the socket layer: a server that derives keys from the handshake (a MAF storing
    # Kc) holds them before the client can know the handshake completed and use them.
    on_established: Callable[[Connection], None] | None = None
    # A harness that deliberately holds a wrong key for a psk_identity whose right key is
    # known only during the handshake (a MAF deriving Km from a just-exported Ke): the key
    # the client really uses, to read the alert the client encrypts under it.
    peer_psk_lookup: Callable[[bytes], bytes | None] | None = None
    # ECDHE_ECDSA (RFC 8422): our chain (DER, leaf first) and its P-256 private key;
    # required when ``suites`` holds a certificate suite.
    certificate_chain: list[bytes] = field(default_factory=list)
    private_key: certificates.PrivateKeyInput | None = None
    # Mutual authentication: "request" sends a CertificateRequest and takes an empty
    # client Certificate; "require" refuses one with handshake_failure (RFC 5246 7.4.6).
    client_certificate: Literal["none", "request", "require"] = "none"
    # Decides on the client's (non-empty) chain, as ClientConfig.verify_certificate.
    verify_certificate: certificates.CertificateCheck | None = None

    def lookup(self, identity: bytes) -> bytes | None:
        if callable(self.psk_lookup):
            return self.psk_lookup(identity)
        return self.psk_lookup.get(identity)


# Outgoing flight items --------------------------------------------------------------------


@dataclass
class _Out:
    """One record's worth of output before faults: a handshake message, CCS, alert, data."""

    name: str  # "ClientHello", ..., "ChangeCipherSpec", "Alert", "ApplicationData", "Raw"
    content_type: int
    payload: bytes
    fields: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    alert: tuple[int, int] | None = None
    send: bool = True  # False: dropped by a fault, kept only for the trace

    @property
    def layer(self) -> str:
        return {
            CT_HANDSHAKE: "handshake",
            CT_CHANGE_CIPHER_SPEC: "change_cipher_spec",
            CT_ALERT: "alert",
            CT_APPLICATION_DATA: "application_data",
        }.get(self.content_type, "record")


def _dropped(item: _Out) -> _Out:
    return _Out(
        item.name,
        item.content_type,
        item.payload,
        dict(item.fields),
        f"fault: {item.name} not sent",
        send=False,
    )


def _copy(item: _Out, note: str) -> _Out:
    return _Out(item.name, item.content_type, item.payload, dict(item.fields), note, item.alert)


# The connection ----------------------------------------------------------------------------


class Connection:
    """State shared by both roles: record layer, framing, transcript, observables."""

    is_client: bool = False
    # The protocol version the state machines offer and require: TLS 1.2 here; the DTLS
    # subclasses (harness.tls.dtls) say DTLS 1.2 (0xFEFD) without touching the handshake.
    protocol_version: tuple[int, int] = TLS12

    def __init__(
        self,
        faults: Faults,
        rng: Callable[[int], bytes],
        records: TlsRecordLayer | None = None,
        framing: TlsHandshakeFraming | None = None,
    ) -> None:
        # The record layer and the framing are parameters so DTLS can supply its own
        # (epoch + 48-bit sequence; 12-octet handshake header) under the same machines.
        self.faults = faults
        self.rng = rng
        self.records = records or TlsRecordLayer()
        self.framing = framing or TlsHandshakeFraming()
        self.trace = Trace()
        self.state = "start"
        self.transcript: list[bytes] = []
        self._out = bytearray()
        self._now: float | None = None
        # Observables.
        self.established = False
        self.closed = False
        self.negotiated_suite: int | None = None
        self.client_hello: dict[str, Any] | None = None
        self.server_hello: dict[str, Any] | None = None
        self.psk_identity: bytes | None = None
        self.psk_identity_hint: bytes | None = None
        self.extended_master_secret = False
        self.master_secret: bytes | None = None
        self.client_random: bytes | None = None
        self.server_random: bytes | None = None
        self.alert_sent: AlertInfo | None = None
        self.alert_received: AlertInfo | None = None
        self.error: str | None = None  # why we sent a fatal alert
        self.peer_finished_ok: bool | None = None
        self._events: list[Event] = []
        self._peer_read_state: RecordProtection | None = None
        self._kx: KeyExchange | None = None  # the negotiated suite's key exchange
        # Certificate suites: the chain the peer sent (DER, leaf first; [] if it sent an
        # empty Certificate, None if it sent none), what the verification callback said,
        # and whether the server asked for a client certificate.
        self.peer_certificate_chain: list[bytes] | None = None
        self.certificate_verdict: str | None = None
        self.certificate_requested = False
        self._peer_key: Any = None  # the peer leaf's P-256 key, for its signatures
        self._record_version: tuple[int, int] | None = None  # of the record being handled

    # -- public sans-IO interface ----------------------------------------------------------

    def data_to_send(self) -> bytes:
        data = bytes(self._out)
        self._out.clear()
        return data

    def receive(self, data: bytes, now: float | None = None) -> list[Event]:
        """Process bytes from the peer; return what happened."""
        self._now = now
        self._events = []
        if self.closed:
            return []
        self.records.feed(data)
        while not self.closed:
            try:
                record = self.records.next_record()
            except ProtocolError as exc:
                if self._read_with_peer_keys(exc) or self._tolerate_record_error(exc):
                    continue
                self._fatal(exc)
                break
            if record is None:
                break
            try:
                self._handle_record(record)
            except ProtocolError as exc:
                self._fatal(exc)
        return self._events

    def send_application_data(self, data: bytes, now: float | None = None) -> None:
        self._now = now
        if not self.established or self.closed:
            raise RuntimeError("application data needs an established, open connection")
        chunks = [data[i : i + MAX_PLAINTEXT] for i in range(0, len(data), MAX_PLAINTEXT)] or [b""]
        self._send_flight(
            [_Out("ApplicationData", CT_APPLICATION_DATA, c, {"length": len(c)}) for c in chunks]
        )

    def close(self, now: float | None = None) -> None:
        """Send close_notify (RFC 5246 section 7.2.1) and stop."""
        self._now = now
        if self.closed:
            return
        self._send_flight([self._alert_item(alerts.WARNING, alerts.CLOSE_NOTIFY)])
        self.closed = True

    def export_keying_material(
        self, label: bytes, length: int, context: bytes | None = None
    ) -> bytes:
        """RFC 5705 exporter; ``context=None`` is the "no context" form."""
        if self.master_secret is None or self.client_random is None or self.server_random is None:
            raise RuntimeError("no master secret yet")
        return keyschedule.export_keying_material(
            self.master_secret, self.client_random, self.server_random, label, length, context
        )

    @property
    def suite(self) -> CipherSuite | None:
        if self.negotiated_suite is None:
            return None
        return ENGINE_SUITES.get(self.negotiated_suite)

    # -- records in ---------------------------------------------------------------------

    def _handle_record(self, record: Record) -> None:
        self._record_version = record.version  # the hello checks compare it
        if record.content_type == CT_HANDSHAKE:
            for message in self.framing.feed(record.fragment):
                self._trace_received_handshake(message)
                self._handle_handshake(message)
                if self.closed:
                    return
        elif record.content_type == CT_CHANGE_CIPHER_SPEC:
            self._trace("received", "change_cipher_spec", "ChangeCipherSpec", {}, record.fragment)
            if record.fragment != b"\x01":
                raise ProtocolError(alerts.DECODE_ERROR, "ChangeCipherSpec payload is not 0x01")
            if self.framing.pending:
                raise ProtocolError(
                    alerts.UNEXPECTED_MESSAGE, "ChangeCipherSpec inside a handshake message"
                )
            if self.state != "wait_ccs":
                raise ProtocolError(
                    alerts.UNEXPECTED_MESSAGE, f"ChangeCipherSpec in state {self.state}"
                )
            self.records.activate_read()
            self.state = "wait_finished"
        elif record.content_type == CT_ALERT:
            level, description = messages.decode_alert(record.fragment)
            info = AlertInfo(alerts.level_name(level), alerts.description_name(description))
            self._trace(
                "received",
                "alert",
                "Alert",
                {"level": info.level, "description": info.description},
                record.fragment,
            )
            self.alert_received = info
            self._events.append(AlertReceived(info.level, info.description))
            if description == alerts.CLOSE_NOTIFY:
                if not self.closed:
                    self._send_flight([self._alert_item(alerts.WARNING, alerts.CLOSE_NOTIFY)])
                self._finish("peer sent close_notify")
            elif level == alerts.FATAL:
                self._finish(f"peer sent fatal alert {info.description}")
        elif record.content_type == CT_APPLICATION_DATA:
            self._trace(
                "received",
                "application_data",
                "ApplicationData",
                {"length": len(record.fragment)},
                record.fragment,
            )
            if not self.established:
                raise ProtocolError(
                    alerts.UNEXPECTED_MESSAGE, f"application data in state {self.state}"
                )
            self._events.append(ApplicationDataReceived(record.fragment))

    def _handle_handshake(self, message: HandshakeMessage) -> None:
        raise NotImplementedError

    def _tolerate_record_error(self, exc: ProtocolError) -> bool:
        return False

    def _expect(self, message: HandshakeMessage, *types: int) -> None:
        if message.msg_type not in types:
            name = messages.message_name(message.msg_type)
            raise ProtocolError(alerts.UNEXPECTED_MESSAGE, f"{name} in state {self.state}")

    # -- keys ---------------------------------------------------------------------------

    def _states(self, premaster: bytes) -> tuple[bytes, RecordProtection, RecordProtection]:
        """(master_secret, our write state, our read state) for a premaster secret."""
        assert self.client_random is not None and self.server_random is not None
        assert self.suite is not None
        if self.extended_master_secret:
            session_hash = transcript_hash(self.transcript)
            master = keyschedule.extended_master_secret(premaster, session_hash)
        else:
            master = keyschedule.master_secret(premaster, self.client_random, self.server_random)
        km = keyschedule.key_block(master, self.client_random, self.server_random, self.suite)
        client_state = make_protection(
            self.suite, km.client_write_mac_key, km.client_write_key, km.client_write_iv, self.rng
        )
        server_state = make_protection(
            self.suite, km.server_write_mac_key, km.server_write_key, km.server_write_iv, self.rng
        )
        if self.is_client:
            return master, client_state, server_state
        return master, server_state, client_state

    def _derive_keys(self, premaster: bytes, peer_premaster: bytes | None = None) -> None:
        """Master secret (EMS over the transcript through ClientKeyExchange) and pending states.

        ``peer_premaster``: the premaster the peer computes when a fault made ours wrong;
        its read state lets the harness still read the peer's (encrypted) alert.
        """
        self.master_secret, write, read = self._states(premaster)
        assert self.client_random is not None
        self.trace.add_keylog(self.client_random, self.master_secret)
        self.records.pending_write, self.records.pending_read = write, read
        if peer_premaster is not None and peer_premaster != premaster:
            self._peer_read_state = self._states(peer_premaster)[2]

    def _read_with_peer_keys(self, exc: ProtocolError) -> bool:
        """After a key fault, try the record that failed with the peer's own keys; if it is
        an alert, take it as the peer's answer (it refused; we send nothing more)."""
        if self._peer_read_state is None or exc.record_raw is None or exc.record_type != CT_ALERT:
            return False
        try:
            payload = self.records.unprotect_with(self._peer_read_state, exc.record_raw)
            level, description = messages.decode_alert(payload)
        except ProtocolError:
            return False
        info = AlertInfo(alerts.level_name(level), alerts.description_name(description))
        fields = {"level": info.level, "description": info.description}
        note = "read with the peer's keys (the harness deliberately used another key)"
        self._trace("received", "alert", "Alert", fields, payload, note)
        self.alert_received = info
        self._events.append(AlertReceived(info.level, info.description))
        self._finish(f"peer sent {info.level} alert {info.description}")
        return True

    def _verify_data(self, sender_is_client: bool) -> bytes:
        assert self.master_secret is not None
        return keyschedule.verify_data(
            self.master_secret, sender_is_client, transcript_hash(self.transcript)
        )

    def _check_peer_finished(self, message: HandshakeMessage, tolerate: bool = False) -> None:
        received = messages.decode_finished(message.body)
        expected = self._verify_data(not self.is_client)
        self.peer_finished_ok = hmac.compare_digest(received, expected)
        if not self.peer_finished_ok and not tolerate:
            raise ProtocolError(alerts.DECRYPT_ERROR, "Finished verify_data does not match")
        self.transcript.append(message.transcript_bytes)

    def _complete(self) -> None:
        self.established = True
        self.state = "established"
        assert self.negotiated_suite is not None
        self._events.append(HandshakeComplete(self.negotiated_suite))

    # -- items out ----------------------------------------------------------------------

    def _handshake_item(
        self, msg_type: int, body: bytes, fields: dict[str, Any], note: str = ""
    ) -> _Out:
        """Frame a handshake message and absorb it into the transcript (state-machine order)."""
        message = self.framing.message(msg_type, body)
        self.transcript.append(message.transcript_bytes)
        return _Out(
            messages.message_name(msg_type), CT_HANDSHAKE, message.transcript_bytes, fields, note
        )

    def _alert_item(self, level: int, description: int, note: str = "") -> _Out:
        fields = {
            "level": alerts.level_name(level),
            "description": alerts.description_name(description),
        }
        return _Out(
            "Alert",
            CT_ALERT,
            messages.encode_alert(level, description),
            fields,
            note,
            (level, description),
        )

    def _ccs_item(self) -> _Out:
        return _Out("ChangeCipherSpec", CT_CHANGE_CIPHER_SPEC, b"\x01")

    def _finished_item(self) -> _Out:
        verify = self._verify_data(self.is_client)
        note = ""
        if self.faults.corrupt_finished:
            verify = verify[:-1] + bytes([verify[-1] ^ 0x01])
            note = "fault: corrupted verify_data"
        return self._handshake_item(FINISHED, verify, {"verify_data": verify.hex()}, note)

    def _apply_faults(self, flight: list[_Out]) -> list[_Out]:
        f = self.faults
        out = list(flight)
        for op in f.message_ops:
            idx = next(
                (
                    i
                    for i, item in enumerate(out)
                    if item.name == op.message
                    and item.send
                    and not item.note.startswith("fault: inserted")
                ),
                None,
            )
            if idx is None:
                continue
            item = out[idx]
            if op.op == "drop":
                out[idx] = _dropped(item)
            elif op.op == "duplicate":
                out.insert(idx + 1, _copy(item, f"fault: duplicate of {item.name}"))
            elif op.op == "replace":
                out[idx] = _Out(
                    item.name,
                    op.content_type,
                    op.data,
                    {"replaced": True},
                    f"fault: {item.name} replaced with given bytes",
                )
            elif op.op in ("insert_before", "insert_after"):
                new = _Out(
                    "Raw",
                    op.content_type,
                    op.data,
                    {},
                    f"fault: inserted {op.op.split('_')[1]} {item.name}",
                )
                out.insert(idx if op.op == "insert_before" else idx + 1, new)
            elif op.op == "move_after":
                target = next((i for i, it in enumerate(out) if it.name == op.target), None)
                if target is None:
                    continue
                moved = out.pop(idx)
                target = next(i for i, it in enumerate(out) if it.name == op.target)
                out.insert(target + 1, _copy(moved, f"fault: {moved.name} moved after {op.target}"))
        for data, before in (
            (f.app_data_before_ccs, "ChangeCipherSpec"),
            (f.app_data_before_finished, "Finished"),
        ):
            idx = next((i for i, it in enumerate(out) if it.name == before), None)
            if data is not None and idx is not None:
                out.insert(
                    idx,
                    _Out(
                        "ApplicationData",
                        CT_APPLICATION_DATA,
                        data,
                        {"length": len(data)},
                        f"fault: application data before {before}",
                    ),
                )
        if f.alert is not None:
            idx = next((i for i, it in enumerate(out) if it.name == f.alert.message), None)
            if idx is not None:
                level = alerts.level_code(f.alert.level)
                alert = self._alert_item(
                    level,
                    alerts.description_code(f.alert.description),
                    f"fault: alert {f.alert.when} {f.alert.message}",
                )
                if f.alert.when == "instead":
                    out[idx : idx + 1] = [_dropped(out[idx]), alert]
                else:
                    out.insert(idx + 1, alert)
                if level == alerts.FATAL:
                    out = out[: idx + 2]  # nothing of the flight after a fatal alert
        return out

    def _send_flight(self, flight: list[_Out]) -> None:
        for item in self._apply_faults(flight):
            if not item.send:
                self._trace("sent", item.layer, item.name, item.fields, b"", item.note)
                continue
            corrupt = (
                self.faults.corrupt_record_mac == item.name and self.records.write_state.encrypted
            )
            note = item.note
            if corrupt:
                note = (note + "; " if note else "") + "fault: corrupted record MAC/tag"
            self._emit_record(item, corrupt)
            self._trace("sent", item.layer, item.name, item.fields, item.payload, note)
            if item.content_type == CT_CHANGE_CIPHER_SPEC and item.name == "ChangeCipherSpec":
                self.records.activate_write()
            if item.alert is not None:
                info = AlertInfo(
                    alerts.level_name(item.alert[0]), alerts.description_name(item.alert[1])
                )
                if item.alert[1] != alerts.CLOSE_NOTIFY or self.alert_sent is None:
                    self.alert_sent = info
                reason = note.removeprefix("error: ") if note else self.error or ""
                self._events.append(AlertSent(info.level, info.description, reason))
                if item.alert[0] == alerts.FATAL:
                    self._finish(f"sent fatal alert {info.description}")
                    break

    def _emit_record(self, item: _Out, corrupt: bool) -> None:
        """Protect one outgoing item as a record. DTLS overrides this to fragment handshake
        messages and keep the records of the flight for retransmission."""
        self._out += self.records.encode(item.content_type, item.payload, corrupt=corrupt)

    def _client_version_refused(self, version: tuple[int, int]) -> bool:
        """True if a ClientHello's client_version is below what we speak (TLS: < 3.3)."""
        return version < TLS12

    def _encode_client_hello(self, hello: Hello) -> bytes:
        """ClientHello body; DTLS adds the cookie field (RFC 6347 section 4.2.1)."""
        return messages.encode_client_hello(hello)

    def _decode_client_hello(self, body: bytes) -> Hello:
        return messages.decode_client_hello(body)

    def _fatal(self, exc: ProtocolError) -> None:
        self.error = exc.reason
        self._send_flight([self._alert_item(alerts.FATAL, exc.description, f"error: {exc.reason}")])
        self._finish(exc.reason)

    def _finish(self, reason: str) -> None:
        if not self.closed:
            self.closed = True
            self.state = "closed"
            self._events.append(ConnectionClosed(reason))

    # -- trace --------------------------------------------------------------------------

    def _time(self) -> float:
        return self._now if self._now is not None else time.time()

    def _trace(
        self,
        direction: str,
        layer: str,
        name: str,
        fields: dict[str, Any],
        raw: bytes,
        note: str = "",
    ) -> None:
        self.trace.add(TraceEntry(direction, layer, name, fields, bytes(raw), self._time(), note))  # type: ignore[arg-type]

    def _trace_received_handshake(self, message: HandshakeMessage) -> None:
        dhe = self._kx.uses_dh if self._kx is not None else None
        dtls = self.protocol_version != TLS12
        kx_name = self._kx.name if self._kx is not None and self._kx.uses_certificates else None
        fields = messages.describe(message.msg_type, message.body, dhe, dtls, kx_name)
        self._trace(
            "received",
            "handshake",
            messages.message_name(message.msg_type),
            fields,
            message.transcript_bytes,
        )

    # -- certificates (ECDHE_ECDSA) ------------------------------------------------------

    def _own_key(self) -> Any:
        config: Any = self.config  # type: ignore[attr-defined]
        role = "ClientConfig" if self.is_client else "ServerConfig"
        return certificates.load_private_key(config.private_key, f"{role}.private_key")

    def _certificate_item(self, chain: list[bytes], note: str = "") -> _Out:
        body = messages.encode_certificate(chain)
        return self._handshake_item(
            CERTIFICATE, body, messages.describe_certificate_message(body), note
        )

    def _take_peer_certificate(self, message: HandshakeMessage) -> list[bytes]:
        """Record the peer's chain and put a non-empty one to the verification callback
        (its refusal is its alert), then take the leaf key the signatures must verify
        under. The callback comes first, so a verifier judges every chain it is shown,
        also one whose key the engine could not use."""
        chain = messages.decode_certificate(message.body)
        self.peer_certificate_chain = chain
        self.transcript.append(message.transcript_bytes)
        if not chain:
            return chain
        check = self.config.verify_certificate  # type: ignore[attr-defined]
        who = "server" if self.is_client else "client"
        if check is None:
            self.certificate_verdict = "not checked (no verify_certificate callback)"
        else:
            refusal = check(list(chain))
            if refusal is not None:
                alert, reason = refusal
                self.certificate_verdict = f"refused: {reason}"
                raise ProtocolError(alerts.description_code(alert), f"{who} certificate: {reason}")
            self.certificate_verdict = "accepted"
        self._peer_key = certificates.leaf_public_key(chain, who)
        return chain

    def _certificate_verify_item(self) -> _Out:
        """RFC 5246 7.4.8: ECDSA-SHA256 over every handshake message so far, as hashed."""
        corrupt = self.faults.corrupt_signature == "CertificateVerify"
        signature = certificates.sign(self._own_key(), b"".join(self.transcript), corrupt)
        algorithm = certificates.ECDSA_SECP256R1_SHA256
        body = messages.encode_digitally_signed(algorithm, signature)
        fields = {"signature_algorithm": list(algorithm), "signature": signature.hex()}
        note = "fault: CertificateVerify signs other data" if corrupt else ""
        return self._handshake_item(CERTIFICATE_VERIFY, body, fields, note)


def _check_config_certificates(config: ClientConfig | ServerConfig, role: str) -> None:
    """A chain without a key (or the reverse), or a key that is not P-256, is a harness
    configuration error: refuse it when the connection is made, naming the field."""
    if bool(config.certificate_chain) != (config.private_key is not None):
        raise ValueError(f"{role}: certificate_chain and private_key go together")
    if config.private_key is not None:
        certificates.load_private_key(config.private_key, f"{role}.private_key")


def _uses_certificates(code: int) -> bool:
    suite = ENGINE_SUITES.get(code)
    return suite is not None and suite.key_exchange_class.uses_certificates


def _ecc_extensions() -> list[tuple[int, bytes]]:
    """What a client offering ECDHE_ECDSA sends (RFC 8422 5.1, RFC 5246 7.4.1.4.1):
    secp256r1 only, uncompressed points only, ecdsa_secp256r1_sha256 only."""
    return [
        (EXT_SUPPORTED_GROUPS, b"\x00\x02" + certificates.SECP256R1.to_bytes(2, "big")),
        (EXT_EC_POINT_FORMATS, bytes([1, certificates.UNCOMPRESSED])),
        (EXT_SIGNATURE_ALGORITHMS, b"\x00\x02" + bytes(certificates.ECDSA_SECP256R1_SHA256)),
    ]


def _uint16_list(data: bytes | None) -> list[int] | None:
    if data is None or len(data) < 2:
        return None
    body = data[2 : 2 + int.from_bytes(data[:2], "big")]
    return [int.from_bytes(body[i : i + 2], "big") for i in range(0, len(body) - 1, 2)]


def _usable(code: int, hello: Hello) -> bool:
    """A certificate suite needs P-256 (RFC 8422 5.1: an absent supported_groups allows
    any curve) and ecdsa_secp256r1_sha256 among the client's signature_algorithms (RFC
    5246 7.4.1.4.1: absent means SHA-1 only, which this engine does not sign)."""
    if not _uses_certificates(code):
        return True
    groups = _uint16_list(hello.extension(EXT_SUPPORTED_GROUPS))
    if groups is not None and certificates.SECP256R1 not in groups:
        return False
    algorithms = _uint16_list(hello.extension(EXT_SIGNATURE_ALGORITHMS)) or []
    return int.from_bytes(bytes(certificates.ECDSA_SECP256R1_SHA256), "big") in algorithms


def _check_point_formats(data: bytes | None, who: str) -> None:
    """RFC 8422 5.1.2: a peer that lists point formats must list uncompressed."""
    if data is None:
        return
    if not data or len(data) != 1 + data[0]:
        raise ProtocolError(alerts.DECODE_ERROR, f"malformed ec_point_formats from the {who}")
    if certificates.UNCOMPRESSED not in data[1:]:
        raise ProtocolError(
            alerts.ILLEGAL_PARAMETER, f"{who}'s ec_point_formats lacks uncompressed"
        )


def _check_extensions(hello: Hello) -> None:
    seen: set[int] = set()
    for kind, _ in hello.extensions:
        if kind in seen:
            raise ProtocolError(alerts.DECODE_ERROR, f"extension {kind} appears twice")
        seen.add(kind)


class ClientConnection(Connection):
    """Entity A: the TLS client."""

    is_client = True

    def __init__(
        self,
        config: ClientConfig,
        records: TlsRecordLayer | None = None,
        framing: TlsHandshakeFraming | None = None,
    ) -> None:
        super().__init__(config.faults, config.rng, records, framing)
        _check_config_certificates(config, "ClientConfig")
        self.config = config
        self.offered_suites = list(
            config.faults.offered_suites
            if config.faults.offered_suites is not None
            else config.suites
        )
        self._offered_extensions: set[int] = set()
        self._ske: ServerKeyExchange | None = None
        self._certificate_request: messages.CertificateRequest | None = None

    def start(self, now: float | None = None) -> None:
        """Queue the ClientHello."""
        self._now = now
        f = self.faults
        self.client_random = self.rng(32)
        extensions: list[tuple[int, bytes]] = []
        host = f.sni if f.sni is not None else self.config.server_name
        if host is not None and not f.send_no_sni:
            extensions.append((EXT_SERVER_NAME, messages.sni_extension_data(host)))
        if self.config.extended_master_secret:
            extensions.append((EXT_EXTENDED_MASTER_SECRET, b""))
        if any(_uses_certificates(code) for code in self.offered_suites):
            extensions += _ecc_extensions()
        self._offered_extensions = {kind for kind, _ in extensions} | {EXT_RENEGOTIATION_INFO}
        version = (
            divmod(f.hello_version, 256) if f.hello_version is not None else self.protocol_version
        )
        # A peer that accepted another version must see it in the record headers too,
        # or it refuses for the record version and the test learns nothing.
        self.records.version = version
        hello = Hello(
            version,
            self.client_random,
            b"",
            self.offered_suites + [EMPTY_RENEGOTIATION_INFO_SCSV],
            [0],
            extensions,
            bool(extensions),
        )
        body = self._encode_client_hello(hello)
        self.client_hello = hello.fields(client=True)
        notes = [
            n
            for n, on in (
                ("fault: offered suites overridden", f.offered_suites is not None),
                ("fault: SNI changed", f.sni is not None or f.send_no_sni),
                ("fault: hello version", f.hello_version is not None),
            )
            if on
        ]
        self.state = "wait_server_hello"
        self._send_flight(
            [self._handshake_item(CLIENT_HELLO, body, self.client_hello, "; ".join(notes))]
        )

    def _handle_handshake(self, message: HandshakeMessage) -> None:
        if message.msg_type == HELLO_REQUEST:
            # RFC 5246 7.4.1.1: ignored during a handshake (and not hashed); afterwards
            # this client declines renegotiation with a warning.
            if message.body:
                raise ProtocolError(alerts.DECODE_ERROR, "HelloRequest is not empty")
            if self.established:
                self._send_flight([self._alert_item(alerts.WARNING, alerts.NO_RENEGOTIATION)])
            return
        if self.state == "wait_server_hello":
            self._expect(message, SERVER_HELLO)
            self._on_server_hello(message)
        elif self.state == "wait_ske_or_shd":
            self._expect(message, SERVER_KEY_EXCHANGE, SERVER_HELLO_DONE)
            if message.msg_type == SERVER_KEY_EXCHANGE:
                self._on_server_key_exchange(message)
            else:
                self._on_server_hello_done(message)
        elif self.state == "wait_shd":
            self._expect(message, SERVER_HELLO_DONE)
            self._on_server_hello_done(message)
        elif self.state == "wait_server_certificate":
            self._expect(message, CERTIFICATE)
            self._on_server_certificate(message)
        elif self.state == "wait_server_key_exchange":
            self._expect(message, SERVER_KEY_EXCHANGE)
            self._on_server_key_exchange(message)
            self.state = "wait_certificate_request_or_shd"
        elif self.state == "wait_certificate_request_or_shd":
            self._expect(message, CERTIFICATE_REQUEST, SERVER_HELLO_DONE)
            if message.msg_type == CERTIFICATE_REQUEST:
                self._on_certificate_request(message)
            else:
                self._on_server_hello_done(message)
        elif self.state == "wait_finished":
            self._expect(message, FINISHED)
            self._check_peer_finished(message)
            self._complete()
        else:
            self._expect(message)  # always raises unexpected_message

    def _on_server_hello(self, message: HandshakeMessage) -> None:
        hello = messages.decode_server_hello(message.body)
        self.server_hello = hello.fields(client=False)
        if hello.version != self.protocol_version:
            raise ProtocolError(
                alerts.PROTOCOL_VERSION,
                f"ServerHello version {hello.version[0]}.{hello.version[1]}",
            )
        self._check_server_hello_record(hello.version)
        suite = hello.cipher_suites[0]
        if suite not in self.offered_suites or suite not in ENGINE_SUITES:
            raise ProtocolError(
                alerts.ILLEGAL_PARAMETER,
                f"server selected suite 0x{suite:04X}, which was not offered",
            )
        if hello.compression_methods[0] != 0:
            raise ProtocolError(
                alerts.ILLEGAL_PARAMETER, "server selected a compression method other than null"
            )
        _check_extensions(hello)
        for kind, data in hello.extensions:
            if kind not in self._offered_extensions:
                raise ProtocolError(
                    alerts.UNSUPPORTED_EXTENSION,
                    f"ServerHello carries extension {kind} that was not offered",
                )
            if kind == EXT_RENEGOTIATION_INFO and data != b"\x00":
                raise ProtocolError(
                    alerts.HANDSHAKE_FAILURE,
                    "renegotiation_info is not empty on an initial handshake",
                )
            if kind == EXT_EXTENDED_MASTER_SECRET and data:
                raise ProtocolError(
                    alerts.DECODE_ERROR, "extended_master_secret extension is not empty"
                )
        self.transcript.append(message.transcript_bytes)
        if self.faults.hello_version is None:
            self.records.expected_version = hello.version
        self.server_random = hello.random
        self.negotiated_suite = suite
        self._kx = key_exchange_for(self.suite)(self.rng)
        self.extended_master_secret = hello.extension(EXT_EXTENDED_MASTER_SECRET) is not None
        if self._kx.uses_certificates:
            _check_point_formats(hello.extension(EXT_EC_POINT_FORMATS), "server")
            self.state = "wait_server_certificate"
            return
        self.state = "wait_ske_or_shd"

    def _check_server_hello_record(self, version: tuple[int, int]) -> None:
        """The record carrying the ServerHello already carries the version it selects:
        the server knows it when it writes the record (RFC 5246 6.2.1; the leniency of
        Appendix E.1 is for the ClientHello only). DTLS discards such records instead."""
        carried = self._record_version
        if self.faults.hello_version is None and carried is not None and carried != version:
            raise ProtocolError(
                alerts.PROTOCOL_VERSION,
                f"ServerHello record version {carried[0]}.{carried[1]} is not the "
                f"{version[0]}.{version[1]} it selects (RFC 5246 6.2.1)",
            )

    def _on_server_key_exchange(self, message: HandshakeMessage) -> None:
        assert self._kx is not None
        ske = self._kx.process_server_key_exchange(message.body)
        self.transcript.append(message.transcript_bytes)
        self._ske = ske
        self.psk_identity_hint = ske.psk_identity_hint
        self.state = "wait_shd"

    def _on_server_hello_done(self, message: HandshakeMessage) -> None:
        kx = self._kx
        assert kx is not None
        if message.body:
            raise ProtocolError(alerts.DECODE_ERROR, "ServerHelloDone is not empty")
        if kx.requires_server_key_exchange and self._ske is None:
            raise ProtocolError(
                alerts.UNEXPECTED_MESSAGE,
                f"ServerHelloDone without ServerKeyExchange for {kx.name}",
            )
        self.transcript.append(message.transcript_bytes)
        if kx.uses_certificates:
            self._send_certificate_client_flight(kx)
            return
        f = self.faults
        identity = f.psk_identity if f.psk_identity is not None else self.config.psk_identity
        psk = f.psk if f.psk is not None else self.config.psk
        self.psk_identity = identity
        note = "; ".join(
            n
            for n, on in (
                ("fault: psk_identity overridden", f.psk_identity is not None),
                ("fault: psk overridden", f.psk is not None),
            )
            if on
        )
        cke, body = kx.client_key_exchange(identity)
        peer_psk = f.peer_psk if f.peer_psk is not None else self.config.psk
        flight = [self._handshake_item(CLIENT_KEY_EXCHANGE, body, cke.fields(), note)]
        self._derive_keys(kx.premaster(psk), kx.premaster(peer_psk))
        flight.append(self._ccs_item())
        flight.append(self._finished_item())
        self.state = "wait_ccs"
        self._send_flight(flight)

    def _on_server_certificate(self, message: HandshakeMessage) -> None:
        """RFC 5246 7.4.2: the server's chain; its leaf key signs the ServerKeyExchange."""
        chain = self._take_peer_certificate(message)
        if not chain:
            raise ProtocolError(alerts.HANDSHAKE_FAILURE, "server sent an empty Certificate")
        assert self._kx is not None and self.client_random and self.server_random
        self._kx.bind(self.client_random, self.server_random, peer_key=self._peer_key)  # type: ignore[attr-defined]
        self.state = "wait_server_key_exchange"

    def _on_certificate_request(self, message: HandshakeMessage) -> None:
        request = messages.decode_certificate_request(message.body)
        self.certificate_requested = True
        self._certificate_request = request
        self.transcript.append(message.transcript_bytes)
        self.state = "wait_shd"

    def _send_certificate_client_flight(self, kx: KeyExchange) -> None:
        """[Certificate] ClientKeyExchange [CertificateVerify] CCS Finished (RFC 5246 7.3).
        Our chain goes only to a request that allows ecdsa_sign with SHA-256 (7.4.6);
        otherwise the Certificate is empty and no CertificateVerify follows."""
        flight: list[_Out] = []
        chain: list[bytes] = []
        if self.certificate_requested:
            request = self._certificate_request
            assert request is not None
            fits = (
                certificates.ECDSA_SIGN in request.certificate_types
                and certificates.ECDSA_SECP256R1_SHA256 in request.signature_algorithms
            )
            chain = list(self.config.certificate_chain) if fits else []
            note = ""
            if not fits and self.config.certificate_chain:
                note = "empty: the CertificateRequest does not allow ecdsa_secp256r1_sha256"
            flight.append(self._certificate_item(chain, note))
        cke, body = kx.client_key_exchange(b"")
        flight.append(self._handshake_item(CLIENT_KEY_EXCHANGE, body, cke.fields()))
        self._derive_keys(kx.premaster(b""))
        if chain:
            flight.append(self._certificate_verify_item())
        flight.append(self._ccs_item())
        flight.append(self._finished_item())
        self.state = "wait_ccs"
        self._send_flight(flight)


class ServerConnection(Connection):
    """Entity B: the TLS server."""

    is_client = False

    def __init__(
        self,
        config: ServerConfig,
        records: TlsRecordLayer | None = None,
        framing: TlsHandshakeFraming | None = None,
    ) -> None:
        super().__init__(config.faults, config.rng, records, framing)
        _check_config_certificates(config, "ServerConfig")
        if any(_uses_certificates(code) for code in config.suites) and not config.private_key:
            raise ValueError(
                "ServerConfig: a certificate suite needs certificate_chain and private_key"
            )
        self.config = config
        self.server_name: str | None = None
        self.identity_known: bool | None = None
        self._chosen_version: tuple[int, int] | None = None  # enforced from the CKE on
        self.state = "wait_client_hello"

    def start(self, now: float | None = None) -> None:
        """Servers wait for the ClientHello; present for symmetry with the client."""
        self._now = now

    def _handle_handshake(self, message: HandshakeMessage) -> None:
        if self.established and message.msg_type == CLIENT_HELLO:
            # Renegotiation is a session feature the profile leaves off: decline politely.
            self._send_flight([self._alert_item(alerts.WARNING, alerts.NO_RENEGOTIATION)])
            return
        if self.state == "wait_client_hello":
            self._expect(message, CLIENT_HELLO)
            self._on_client_hello(message)
        elif self.state == "wait_client_key_exchange":
            self._expect(message, CLIENT_KEY_EXCHANGE)
            self._on_client_key_exchange(message)
        elif self.state == "wait_client_certificate":
            self._expect(message, CERTIFICATE)
            self._on_client_certificate(message)
        elif self.state == "wait_certificate_verify":
            self._expect(message, CERTIFICATE_VERIFY)
            self._on_certificate_verify(message)
        elif self.state == "wait_finished":
            self._expect(message, FINISHED)
            self._check_peer_finished(message, tolerate=self.faults.tolerate_bad_finished)
            self._send_final_flight()
        else:
            self._expect(message)

    def _tolerate_record_error(self, exc: ProtocolError) -> bool:
        """With tolerate_bad_finished, a client Finished we cannot decrypt (wrong key) is
        treated as a bad Finished: answer CCS + Finished anyway."""
        if not (self.faults.tolerate_bad_finished and exc.description == alerts.BAD_RECORD_MAC):
            return False
        if self.peer_finished_ok is False and self.state != "wait_finished":
            # Keys differ, so the client's reply cannot be read: record what it was (an
            # alert record, most likely bad_record_mac or decrypt_error) and stop quietly.
            kind = {21: "alert", 22: "handshake", 23: "application_data"}.get(
                exc.record_type or 0, "record"
            )
            self._trace(
                "received",
                kind,
                "UndecryptableRecord",
                {"content_type": exc.record_type, "length": exc.record_length},
                b"",
                f"peer {kind} record unreadable under our (deliberately wrong) key",
            )
            self._finish(f"peer sent an undecryptable {kind} record after a tolerated bad Finished")
            return True
        if self.state != "wait_finished":
            return False
        self.records.skip_record()
        self.peer_finished_ok = False
        self._trace(
            "received",
            "handshake",
            "Finished",
            {"undecryptable": True},
            b"",
            "fault: tolerated undecryptable client Finished",
        )
        # Hash the Finished we expected, as the client would have sent it with our key.
        expected = self._verify_data(True)
        self.transcript.append(self.framing.frame(FINISHED, expected))
        self._send_final_flight()
        return True

    def _send_final_flight(self) -> None:
        """CCS + Finished. Established only if the client's Finished was verified: with
        tolerate_bad_finished the flight goes out but nothing is established."""
        self._send_flight([self._ccs_item(), self._finished_item()])
        if self.closed:
            return
        if self.peer_finished_ok:
            self._complete()
            if self.config.on_established is not None:
                self.config.on_established(self)
        else:
            self.state = "finished_sent_unverified"

    def _on_client_hello(self, message: HandshakeMessage) -> None:
        hello = self._decode_client_hello(message.body)
        self.client_hello = hello.fields(client=True)
        self.server_name = hello.server_name
        self.client_random = hello.random
        f = self.faults
        if not hello.cipher_suites or not hello.compression_methods:
            # RFC 5246 7.4.1.2: cipher_suites<2..2^16-2>, compression_methods<1..2^8-1>;
            # a vector below its minimum length does not decode (7.2.2 decode_error).
            empty = "cipher_suites" if not hello.cipher_suites else "compression_methods"
            raise ProtocolError(alerts.DECODE_ERROR, f"ClientHello with an empty {empty} vector")
        if self._client_version_refused(hello.version):
            raise ProtocolError(
                alerts.PROTOCOL_VERSION,
                f"client offers only TLS {hello.version[0]}.{hello.version[1]}",
            )
        if 0 not in hello.compression_methods:
            raise ProtocolError(
                alerts.ILLEGAL_PARAMETER, "ClientHello does not offer null compression"
            )
        _check_extensions(hello)
        if f.selected_suite is not None:
            suite = f.selected_suite
        else:
            chosen = [
                s
                for s in self.config.suites
                if s in hello.cipher_suites and s in ENGINE_SUITES and _usable(s, hello)
            ]
            if not chosen:
                raise ProtocolError(
                    alerts.HANDSHAKE_FAILURE, "no offered cipher suite is acceptable"
                )
            suite = chosen[0]
        self.transcript.append(message.transcript_bytes)
        self.negotiated_suite = suite
        offered_ems = hello.extension(EXT_EXTENDED_MASTER_SECRET) is not None
        self.extended_master_secret = offered_ems and self.config.extended_master_secret
        extensions: list[tuple[int, bytes]] = []
        if (
            hello.extension(EXT_RENEGOTIATION_INFO) is not None
            or EMPTY_RENEGOTIATION_INFO_SCSV in hello.cipher_suites
        ):
            extensions.append((EXT_RENEGOTIATION_INFO, b"\x00"))  # RFC 5746 section 3.6
        if self.extended_master_secret or f.unsolicited_ems:
            extensions.append((EXT_EXTENDED_MASTER_SECRET, b""))
        if _uses_certificates(suite):
            formats = hello.extension(EXT_EC_POINT_FORMATS)
            _check_point_formats(formats, "client")
            if formats is not None:  # RFC 8422 5.2: answered only if offered
                extensions.append((EXT_EC_POINT_FORMATS, bytes([1, certificates.UNCOMPRESSED])))
        self.server_random = self.rng(32)
        version = (
            divmod(f.hello_version, 256) if f.hello_version is not None else self.protocol_version
        )
        # A peer that accepted another version must see it in the record headers too,
        # or it refuses for the record version and the test learns nothing.
        self.records.version = version
        # Every client record after the client has read this ServerHello carries the
        # version we chose (RFC 5246 6.2.1). The client may answer earlier flight faults
        # with an alert before it read the ServerHello, so the check starts with its
        # ClientKeyExchange. Under a version fault the SUT's alert is the observation.
        self._chosen_version = None if f.hello_version is not None else version
        server_hello = Hello(
            version, self.server_random, b"", [suite], [0], extensions, bool(extensions)
        )
        self.server_hello = server_hello.fields(client=False)
        notes = [
            n
            for n, on in (
                ("fault: suite selected regardless of offer", f.selected_suite is not None),
                (
                    "fault: unsolicited extended_master_secret",
                    f.unsolicited_ems and not offered_ems,
                ),
                ("fault: hello version", f.hello_version is not None),
            )
            if on
        ]
        flight = [
            self._handshake_item(
                SERVER_HELLO,
                messages.encode_server_hello(server_hello),
                self.server_hello,
                "; ".join(notes),
            )
        ]
        self._kx = key_exchange_for(self.suite)(self.rng, self.config.dh_group)
        if self._kx.uses_certificates:
            assert self.client_random is not None
            self._kx.bind(  # type: ignore[attr-defined]
                self.client_random,
                self.server_random,
                signing_key=self._own_key(),
                corrupt_signature=f.corrupt_signature == "ServerKeyExchange",
            )
            flight.append(self._certificate_item(list(self.config.certificate_chain)))
        hint = (
            f.psk_identity_hint
            if f.psk_identity_hint is not None
            else self.config.psk_identity_hint
        )
        ske = self._kx.server_key_exchange(hint)
        if ske is not None:
            self.psk_identity_hint = ske.psk_identity_hint
            note = "fault: psk_identity_hint overridden" if f.psk_identity_hint is not None else ""
            if self._kx.uses_certificates and f.corrupt_signature == "ServerKeyExchange":
                note = "fault: ServerKeyExchange signs other data"
            flight.append(
                self._handshake_item(
                    SERVER_KEY_EXCHANGE,
                    messages.encode_server_key_exchange(ske),
                    ske.fields(),
                    note,
                )
            )
        self.state = "wait_client_key_exchange"
        if self._kx.uses_certificates and self.config.client_certificate != "none":
            # RFC 5246 7.4.4; no certificate_authorities: the seeds' rules are not a CA list.
            request = messages.CertificateRequest(
                [certificates.ECDSA_SIGN], [certificates.ECDSA_SECP256R1_SHA256]
            )
            flight.append(
                self._handshake_item(CERTIFICATE_REQUEST, request.encode(), request.fields())
            )
            self.certificate_requested = True
            self.state = "wait_client_certificate"
        flight.append(self._handshake_item(SERVER_HELLO_DONE, b"", {}))
        self._send_flight(flight)

    def _on_client_key_exchange(self, message: HandshakeMessage) -> None:
        kx = self._kx
        if self.suite is None or kx is None:
            raise ProtocolError(
                alerts.INTERNAL_ERROR,
                f"no implementation of suite 0x{self.negotiated_suite or 0:04X}",
            )
        chosen, carried = self._chosen_version, self._record_version
        if chosen is not None and carried is not None and carried != chosen:
            raise ProtocolError(
                alerts.PROTOCOL_VERSION,
                f"ClientKeyExchange record version {carried[0]}.{carried[1]} is not the "
                f"negotiated {chosen[0]}.{chosen[1]} (RFC 5246 6.2.1)",
            )
        self.records.expected_version = chosen
        if kx.uses_certificates:
            ecdhe = kx.decode_client_key_exchange(message.body)
            kx.accept_client_key_exchange(ecdhe)
            self.transcript.append(message.transcript_bytes)
            self._derive_keys(kx.premaster(b""))
            # RFC 5246 7.4.8: a client that sent a non-empty chain proves its key next.
            self.state = "wait_certificate_verify" if self.peer_certificate_chain else "wait_ccs"
            return
        cke = kx.decode_client_key_exchange(message.body)
        self.psk_identity = cke.psk_identity
        f = self.faults
        configured = self.config.lookup(cke.psk_identity)
        psk = f.psk if f.psk is not None else configured
        peer_psk = f.peer_psk if f.peer_psk is not None else configured
        if f.peer_psk is None and self.config.peer_psk_lookup is not None:
            peer_psk = self.config.peer_psk_lookup(cke.psk_identity)
        self.identity_known = configured is not None
        if psk is None:
            if self.config.unknown_identity == "alert":
                raise ProtocolError(
                    alerts.UNKNOWN_PSK_IDENTITY, f"unknown psk_identity {cke.psk_identity!r}"
                )
            psk = self.rng(32)  # RFC 4279 section 5.1: continue as if the key were wrong
        kx.accept_client_key_exchange(cke)
        self.transcript.append(message.transcript_bytes)
        self._derive_keys(kx.premaster(psk), kx.premaster(peer_psk) if peer_psk else None)
        self.state = "wait_ccs"

    def _on_client_certificate(self, message: HandshakeMessage) -> None:
        chain = self._take_peer_certificate(message)
        if not chain and self.config.client_certificate == "require":
            raise ProtocolError(
                alerts.HANDSHAKE_FAILURE, "client sent no certificate and one is required"
            )
        self.state = "wait_client_key_exchange"

    def _on_certificate_verify(self, message: HandshakeMessage) -> None:
        algorithm, signature = messages.decode_digitally_signed(message.body, "CertificateVerify")
        if algorithm != certificates.ECDSA_SECP256R1_SHA256:
            raise ProtocolError(
                alerts.ILLEGAL_PARAMETER, f"CertificateVerify signed with {algorithm}, not asked"
            )
        certificates.verify(
            self._peer_key, b"".join(self.transcript), signature, "CertificateVerify"
        )
        self.transcript.append(message.transcript_bytes)
        self.state = "wait_ccs"


def run_in_memory(client: Connection, server: Connection, max_rounds: int = 50) -> list[Event]:
    """Shuttle bytes between two connections until both are quiet; returns all events.

    Bounded by ``max_rounds`` so a faulty pair cannot loop forever.
    """
    events: list[Event] = []
    for _ in range(max_rounds):
        to_server = client.data_to_send()
        if to_server:
            events += server.receive(to_server)
        to_client = server.data_to_send()
        if to_client:
            events += client.receive(to_client)
        if not to_server and not to_client:
            break
    return events


def client_and_server(
    suite: int, identity: bytes, psk: bytes, **kwargs: Any
) -> tuple[ClientConnection, ServerConnection]:
    """A matching pair for in-memory tests and benchmarks (kwargs: server_name, hint, ems)."""
    client = ClientConnection(
        ClientConfig(identity, psk, [suite], kwargs.get("server_name"), kwargs.get("ems", True))
    )
    server = ServerConnection(
        ServerConfig({identity: psk}, [suite], kwargs.get("hint"), kwargs.get("ems", True))
    )
    return client, server
