"""The message trace of one run: every byte the harness sent or received, decoded.

Kept for the report (a readable message list), for the pcap (the raw wire chunks in
order, with their endpoints) and for the NSS key log Wireshark uses to decrypt it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

Direction = Literal["sent", "received"]


@dataclass
class TraceEntry:
    """One protocol message (handshake message, CCS, alert, application data)."""

    direction: Direction
    layer: str  # "handshake" | "change_cipher_spec" | "alert" | "application_data" | "record"
    type: str  # e.g. "ClientHello", "Finished", "alert", "ChangeCipherSpec"
    fields: dict[str, Any] = field(default_factory=dict)  # decoded, JSON-serialisable
    raw: bytes = b""  # the message bytes (plaintext body with its header)
    time: float = field(default_factory=time.time)
    note: str = ""  # e.g. "fault: corrupted verify_data"

    def to_json(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "layer": self.layer,
            "type": self.type,
            "fields": self.fields,
            "raw": self.raw.hex(),
            "time": self.time,
            "note": self.note,
        }


@dataclass
class WireChunk:
    """Bytes as they crossed the socket: one TCP write/read or one UDP datagram."""

    direction: Direction
    data: bytes
    time: float = field(default_factory=time.time)


@dataclass
class Trace:
    transport: str = "tls"  # "tls" (TCP) or "dtls" (UDP)
    local: tuple[str, int] | None = None  # the harness's socket address
    remote: tuple[str, int] | None = None  # the SUT's socket address
    messages: list[TraceEntry] = field(default_factory=list)
    wire: list[WireChunk] = field(default_factory=list)
    keylog: list[str] = field(default_factory=list)  # NSS key log lines

    def add(self, entry: TraceEntry) -> None:
        self.messages.append(entry)

    def add_wire(self, direction: Direction, data: bytes) -> None:
        if data:
            self.wire.append(WireChunk(direction, bytes(data)))

    def add_keylog(self, client_random: bytes, master_secret: bytes) -> None:
        line = f"CLIENT_RANDOM {client_random.hex()} {master_secret.hex()}"
        if line not in self.keylog:
            self.keylog.append(line)

    def of_type(self, type_name: str, direction: Direction | None = None) -> list[TraceEntry]:
        return [
            m
            for m in self.messages
            if m.type == type_name and (direction is None or m.direction == direction)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "transport": self.transport,
            "local": list(self.local) if self.local else None,
            "remote": list(self.remote) if self.remote else None,
            "messages": [m.to_json() for m in self.messages],
            "keylog": list(self.keylog),
        }
