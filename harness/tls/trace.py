"""The message trace of one run: every byte the harness sent or received, decoded.

Kept for the report (a readable message list), for the pcap (the raw wire chunks in
order, with their endpoints) and for the NSS key log Wireshark uses to decrypt it.

A hostile SUT can send without end (HelloRequest records, warning alerts, random
datagrams), so what a trace *keeps* is bounded: the first messages and wire chunks
(the handshake, which the checks read) and the last ones (how it ended), with the
ones in between counted in an ``omitted`` marker. What it *counts* is not bounded:
``received_messages`` and ``received_bytes`` are the totals the socket layers compare
with their flood bounds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

Direction = Literal["sent", "received"]

# What one trace keeps: enough for any conformant exchange (a PSK handshake with the
# probe is about 15 messages and 30 datagrams even with every DTLS fault) many times over.
HEAD_MESSAGES = 200  # the first messages, kept as they came
TAIL_MESSAGES = 50  # the last messages, kept in a sliding window
HEAD_WIRE_BYTES = 256 * 1024  # the first wire chunks, up to this many bytes ...
HEAD_WIRE_CHUNKS = 400  # ... and this many chunks
TAIL_WIRE_BYTES = 64 * 1024
TAIL_WIRE_CHUNKS = 50
MAX_KEYLOG_LINES = 16  # one per master secret: more handshakes than that is a flood too
OMITTED = "(omitted)"  # the type of the marker entry that stands for the gap


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
    """Bytes as they crossed the socket: one TCP write/read or one UDP datagram.

    ``gap``: bytes in this direction left out of the trace just before this chunk (the
    pcap writer advances the TCP sequence number over them, so Wireshark shows the gap
    instead of splicing two halves of different records)."""

    direction: Direction
    data: bytes
    time: float = field(default_factory=time.time)
    gap: int = 0


@dataclass
class Omission:
    """What a trace left out between its head and its tail."""

    messages: int = 0
    message_bytes: int = 0
    wire_chunks: int = 0
    wire_bytes: dict[str, int] = field(default_factory=lambda: {"sent": 0, "received": 0})
    keylog_lines: int = 0

    def __bool__(self) -> bool:
        return bool(self.messages or self.wire_chunks or self.keylog_lines)

    def describe(self) -> str:
        parts = []
        if self.messages:
            parts.append(f"{self.messages} messages ({self.message_bytes} bytes)")
        if self.wire_chunks:
            total = sum(self.wire_bytes.values())
            parts.append(f"{self.wire_chunks} wire chunks ({total} bytes)")
        if self.keylog_lines:
            parts.append(f"{self.keylog_lines} key log lines")
        return "omitted from the trace: " + ", ".join(parts) if parts else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "message_bytes": self.message_bytes,
            "wire_chunks": self.wire_chunks,
            "wire_bytes": dict(self.wire_bytes),
            "keylog_lines": self.keylog_lines,
        }


@dataclass
class Trace:
    transport: str = "tls"  # "tls" (TCP) or "dtls" (UDP)
    local: tuple[str, int] | None = None  # the harness's socket address
    remote: tuple[str, int] | None = None  # the SUT's socket address
    messages: list[TraceEntry] = field(default_factory=list)
    wire: list[WireChunk] = field(default_factory=list)
    keylog: list[str] = field(default_factory=list)  # NSS key log lines
    omitted: Omission = field(default_factory=Omission)
    # Totals over the whole run, omitted parts included (the flood bounds read these).
    received_messages: int = 0
    received_bytes: int = 0
    received_chunks: int = 0
    _wire_head: int = field(default=-1, repr=False)  # chunks in the head once it is full
    _wire_head_bytes: int = field(default=0, repr=False)
    _wire_tail_bytes: int = field(default=0, repr=False)
    _pending_gap: dict[str, int] = field(
        default_factory=lambda: {"sent": 0, "received": 0}, repr=False
    )

    def add(self, entry: TraceEntry) -> None:
        if entry.direction == "received":
            self.received_messages += 1
        if len(self.messages) < HEAD_MESSAGES:
            self.messages.append(entry)
            return
        if len(self.messages) == HEAD_MESSAGES:  # the head is full: the gap's marker
            self.messages.append(TraceEntry(entry.direction, "trace", OMITTED, {}, b"", entry.time))
        self.messages.append(entry)
        if len(self.messages) > HEAD_MESSAGES + 1 + TAIL_MESSAGES:
            dropped = self.messages.pop(HEAD_MESSAGES + 1)  # the oldest of the tail
            self.omitted.messages += 1
            self.omitted.message_bytes += len(dropped.raw)
            marker = self.messages[HEAD_MESSAGES]
            marker.note = (
                f"{self.omitted.messages} messages ({self.omitted.message_bytes} bytes) "
                f"omitted: the trace keeps the first {HEAD_MESSAGES} and the last "
                f"{TAIL_MESSAGES}"
            )
            marker.fields = {"messages": self.omitted.messages, "bytes": self.omitted.message_bytes}

    def add_wire(self, direction: Direction, data: bytes) -> None:
        if not data:
            return
        if direction == "received":
            self.received_bytes += len(data)
            self.received_chunks += 1
        chunk = WireChunk(direction, bytes(data))
        if self._wire_head < 0:
            if (
                len(self.wire) < HEAD_WIRE_CHUNKS
                and self._wire_head_bytes + len(chunk.data) <= HEAD_WIRE_BYTES
            ):
                self.wire.append(chunk)
                self._wire_head_bytes += len(chunk.data)
                return
            self._wire_head = len(self.wire)
        chunk.gap, self._pending_gap[direction] = self._pending_gap[direction], 0
        self.wire.append(chunk)
        self._wire_tail_bytes += len(chunk.data)
        while len(self.wire) - self._wire_head > 1 and (
            len(self.wire) - self._wire_head > TAIL_WIRE_CHUNKS
            or self._wire_tail_bytes > TAIL_WIRE_BYTES
        ):
            dropped = self.wire.pop(self._wire_head)
            self._wire_tail_bytes -= len(dropped.data)
            self.omitted.wire_chunks += 1
            self.omitted.wire_bytes[dropped.direction] += len(dropped.data)
            # Carry the dropped bytes (and any gap before them) to the next chunk of the
            # same direction, so the TCP stream in the pcap stays at its true offsets.
            heir = next(
                (c for c in self.wire[self._wire_head :] if c.direction == dropped.direction), None
            )
            if heir is not None:
                heir.gap += dropped.gap + len(dropped.data)
            else:
                self._pending_gap[dropped.direction] += dropped.gap + len(dropped.data)

    def add_keylog(self, client_random: bytes, master_secret: bytes) -> None:
        line = f"CLIENT_RANDOM {client_random.hex()} {master_secret.hex()}"
        if line in self.keylog:
            return
        if len(self.keylog) >= MAX_KEYLOG_LINES:
            self.omitted.keylog_lines += 1
            return
        self.keylog.append(line)

    def of_type(self, type_name: str, direction: Direction | None = None) -> list[TraceEntry]:
        return [
            m
            for m in self.messages
            if m.type == type_name and (direction is None or m.direction == direction)
        ]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "transport": self.transport,
            "local": list(self.local) if self.local else None,
            "remote": list(self.remote) if self.remote else None,
            "messages": [m.to_json() for m in self.messages],
            "keylog": list(self.keylog),
        }
        if self.omitted:
            data["omitted"] = self.omitted.to_json()
        return data
