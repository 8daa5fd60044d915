"""Fault injection as data, in the style of BoGo's ProtocolBugs and tlsfuzzer's fuzzers.

A :class:`Faults` value is frozen and JSON-serialisable (``to_json`` / ``from_json``, octet
strings as hex), so a test case, a report and a re-run all carry the same description.
The default value injects nothing. Each switch says which test needs it.

Message names are the handshake message names ("ClientHello", "ServerHello",
"ServerKeyExchange", "ServerHelloDone", "ClientKeyExchange", "Finished") plus
"ChangeCipherSpec". Faults apply to the harness's *outgoing* flights; the handshake
transcript is always the one the state machine produced, so a peer that sees a changed
message also sees a Finished that no longer matches, as it would from a real broken peer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.tls.dtls_faults import DatagramFaults, reject_unknown_switches

OpKind = Literal["drop", "duplicate", "replace", "insert_before", "insert_after", "move_after"]
_BYTES_FIELDS = (
    "psk_identity",
    "psk",
    "psk_identity_hint",
    "app_data_before_finished",
    "app_data_before_ccs",
)


@dataclass(frozen=True)
class MessageOp:
    """One edit of an outgoing flight.

    drop / duplicate: ``message``. replace, insert_before, insert_after: ``data`` is the
    raw bytes to put on the wire as a record payload of ``content_type`` (22 handshake by
    default; give a whole framed handshake message). move_after: send ``message`` right
    after ``target`` (tests that the peer enforces message order: unexpected_message).
    """

    op: OpKind
    message: str
    data: bytes = b""
    target: str = ""
    content_type: int = 22

    def to_json(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "message": self.message,
            "data": self.data.hex(),
            "target": self.target,
            "content_type": self.content_type,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> MessageOp:
        data = value.get("data", b"")
        return cls(
            op=value["op"],
            message=value["message"],
            data=bytes.fromhex(data) if isinstance(data, str) else bytes(data),
            target=value.get("target", ""),
            content_type=int(value.get("content_type", 22)),
        )


@dataclass(frozen=True)
class AlertFault:
    """Send an alert ``instead`` of a named message or ``after`` it (then stop if fatal).

    Tests the peer's reaction to an alert at each point of the handshake.
    """

    message: str
    when: Literal["instead", "after"] = "instead"
    level: str = "fatal"
    description: str = "handshake_failure"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Faults:
    # Identity and key: a SUT must refuse an identity or key it does not hold
    # (unknown_psk_identity, or a Finished / MAC failure for a wrong key).
    psk_identity: bytes | None = None
    psk: bytes | None = None
    # The key the peer holds when the harness deliberately uses another (``psk`` above, or a
    # wrong key in the configuration): lets the harness still read the peer's encrypted
    # alert, so a test can tell bad_record_mac from decrypt_error. Defaults to the
    # configured key when ``psk`` overrides it.
    peer_psk: bytes | None = None
    # Server sends this psk_identity_hint (and so a ServerKeyExchange even for PSK suites):
    # a client must accept any hint (RFC 4279 section 5.2).
    psk_identity_hint: bytes | None = None
    # Client offers exactly these suites: checks a server refuses suites outside the profile.
    offered_suites: tuple[int, ...] | None = None
    # Server selects this suite whatever was offered: the client must answer
    # illegal_parameter for a suite it did not offer (RFC 5246 section 7.4.1.3).
    selected_suite: int | None = None
    # SNI: omit it, or send another host name (the server's SNI policy).
    send_no_sni: bool = False
    sni: str | None = None
    # Hello version other than TLS 1.2 (e.g. 0x0302): the SUT must refuse (protocol_version).
    hello_version: int | None = None
    # Server echoes extended_master_secret although the client did not offer it: the
    # client must abort (RFC 7627 section 5.3, unsupported_extension).
    unsolicited_ems: bool = False
    # Flip one bit of the outgoing Finished verify_data: the peer must answer decrypt_error.
    corrupt_finished: bool = False
    # Certificate suites: sign other data in the outgoing "ServerKeyExchange" or
    # "CertificateVerify" (a well-formed signature that does not verify): the peer must
    # answer decrypt_error (RFC 5246 7.2.2).
    corrupt_signature: str | None = None
    # Flip one bit of the MAC/tag of the record that carries this message (e.g. "Finished",
    # "ApplicationData"): the peer must answer bad_record_mac.
    corrupt_record_mac: str | None = None
    # Send an alert instead of / after a message.
    alert: AlertFault | None = None
    # Server with a wrong key still answers CCS + Finished, so the SUT client's own
    # Finished check (decrypt_error / bad_record_mac) is what the test observes.
    tolerate_bad_finished: bool = False
    # Generic flight edits for any handshake message and ChangeCipherSpec.
    message_ops: tuple[MessageOp, ...] = field(default_factory=tuple)
    # Application data before our Finished (after CCS, encrypted): unexpected_message.
    app_data_before_finished: bytes | None = None
    # Application data before our CCS (in the clear): unexpected_message.
    app_data_before_ccs: bytes | None = None
    # DTLS only: faults on datagrams (loss, duplication, reordering, delay, corruption,
    # replay, fragmentation); see harness.tls.dtls_faults. Ignored over TLS.
    dtls: DatagramFaults = field(default_factory=DatagramFaults)

    def __post_init__(self) -> None:
        if self.corrupt_signature not in (None, "ServerKeyExchange", "CertificateVerify"):
            raise ValueError(
                f"corrupt_signature: {self.corrupt_signature!r} is not ServerKeyExchange "
                "or CertificateVerify"
            )

    @property
    def any(self) -> bool:
        return self != Faults()

    def ops_for(self, message: str) -> list[MessageOp]:
        return [op for op in self.message_ops if op.message == message]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "message_ops" and not value:
                continue
            if f.name == "dtls" and not value.any:
                continue
            if value == f.default:
                continue
            if isinstance(value, bytes):
                value = value.hex()
            elif f.name == "message_ops":
                value = [op.to_json() for op in value]
            elif f.name in ("alert", "dtls"):
                value = value.to_json()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> Faults:
        """Accept the ``to_json`` form (hex octets) or Python values (bytes)."""
        if not value:
            return cls()
        reject_unknown_switches(cls, value, "unknown fault switch(es)")
        kwargs: dict[str, Any] = {}
        for name, item in value.items():
            if name in _BYTES_FIELDS and isinstance(item, str):
                item = bytes.fromhex(item)
            elif name == "offered_suites" and item is not None:
                item = tuple(int(x, 16) if isinstance(x, str) else int(x) for x in item)
            elif name in ("selected_suite", "hello_version") and isinstance(item, str):
                item = int(item, 16)
            elif name == "message_ops":
                item = tuple(
                    op if isinstance(op, MessageOp) else MessageOp.from_json(op) for op in item
                )
            elif name == "alert" and isinstance(item, dict):
                item = AlertFault(**item)
            elif name == "dtls" and not isinstance(item, DatagramFaults):
                item = DatagramFaults.from_json(item)
            kwargs[name] = item
        return cls(**kwargs)
