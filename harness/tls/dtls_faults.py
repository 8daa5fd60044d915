"""Datagram-level faults for DTLS, as data (frozen, JSON round trip), like ``faults.Faults``.

The handshake faults of ``faults.Faults`` (corrupt_finished, message_ops, selected_suite,
hello_version = 0xFEFF, ...) act on messages and keep working over DTLS unchanged. These
act on what only exists in DTLS: datagrams, their order and timing, record replay, and the
fragmentation of handshake messages. They apply to the harness's *outgoing* datagrams,
numbered from 1 in the order the connection produces them (retransmissions included),
so a test says "drop datagram 2" and means exactly the second datagram put on the wire.

Every applied fault is noted in the connection's trace (layer "datagram").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

_INT_TUPLES = (
    "drop_datagrams",
    "duplicate_datagrams",
    "reorder_datagrams",
    "delay_datagrams",
    "corrupt_datagrams",
)
_STR_TUPLES = ("drop_first", "fragment_messages", "drop_received_first")


def reject_unknown_switches(faults_class: type, value: dict[str, Any], message: str) -> None:
    """ValueError naming every key of ``value`` that is not a field of ``faults_class``: a
    misspelt switch must fail loudly, never silently run the test without its fault."""
    unknown = set(value) - {f.name for f in dataclasses.fields(faults_class)}
    if unknown:
        raise ValueError(f"{message}: {', '.join(sorted(unknown))}")


@dataclass(frozen=True)
class DatagramFaults:
    # Never send these datagrams (1-based): the peer must retransmit on its timer.
    drop_datagrams: tuple[int, ...] = ()
    # Drop the datagrams of the first transmission of these messages ("ClientHello",
    # "ServerHello", "Finished", "ChangeCipherSpec", "HelloVerifyRequest", ...): a lost
    # flight, whatever datagram number it happens to get.
    drop_first: tuple[str, ...] = ()
    # Ignore the first datagram *received* that carries one of these (plaintext)
    # handshake messages, as if the network lost it: the SUT must retransmit.
    drop_received_first: tuple[str, ...] = ()
    # Send these datagrams twice in a row: the peer must drop the copy (replay window).
    duplicate_datagrams: tuple[int, ...] = ()
    # Send every datagram twice.
    duplicate_all: bool = False
    # Send the datagrams of each flight (transmission) in reverse order.
    reverse_datagrams: bool = False
    # Hold these datagrams back and send each right after the next one.
    reorder_datagrams: tuple[int, ...] = ()
    # Send these datagrams ``delay_seconds`` of (simulated or real) time later.
    delay_datagrams: tuple[int, ...] = ()
    delay_seconds: float = 0.0
    # XOR 0xFF into one octet of these datagrams (``corrupt_offset``; negative counts from
    # the end, so the default -1 hits the MAC/tag of an encrypted record).
    corrupt_datagrams: tuple[int, ...] = ()
    corrupt_offset: int = -1
    # After the handshake, send again (byte for byte) the record that carried this
    # message ("ApplicationData": the first application data record; "Finished"): the
    # peer must discard it as a replay and keep the association.
    replay_record: str | None = None
    # After the handshake, send a copy of the named record ("ApplicationData") with its
    # last octet (MAC/tag) flipped just before the genuine one: the peer must drop the bad
    # copy silently and still accept the genuine record with the same sequence number.
    corrupted_copy: str | None = None
    # Fragment handshake messages to this many body octets (all messages, or only
    # ``fragment_messages``), one fragment per record, instead of fitting to the MTU.
    fragment_size: int | None = None
    fragment_messages: tuple[str, ...] = ()
    # Send the fragments of each fragmented message in reverse order.
    reverse_fragments: bool = False

    @property
    def any(self) -> bool:
        return self != DatagramFaults()

    def fragment_size_for(self, message: str) -> int | None:
        if self.fragment_size is None:
            return None
        if self.fragment_messages and message not in self.fragment_messages:
            return None
        return self.fragment_size

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value != f.default:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> DatagramFaults:
        if not value:
            return cls()
        reject_unknown_switches(cls, value, "unknown datagram fault switch(es)")
        kwargs: dict[str, Any] = {}
        for name, item in value.items():
            if name in _INT_TUPLES:
                item = tuple(int(x) for x in item)
            elif name in _STR_TUPLES:
                item = tuple(str(x) for x in item)
            kwargs[name] = item
        return cls(**kwargs)


@dataclass
class OutgoingDatagram:
    """One datagram as the connection built it, before the datagram faults."""

    data: bytes
    names: tuple[str, ...]  # the messages whose records it carries
    first_transmission: bool


@dataclass
class DatagramFaulter:
    """Applies :class:`DatagramFaults` to the outgoing datagram stream (sans-IO: the
    connection passes ``now``; delayed datagrams come out of ``release``)."""

    faults: DatagramFaults
    count: int = 0
    applied: list[str] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self._held: bytes | None = None  # reorder: waits for the next datagram
        self._held_index = 0
        self._delayed: list[tuple[float, int, bytes]] = []

    def process(self, datagram: OutgoingDatagram, now: float) -> list[tuple[bytes, str]]:
        """(datagram, note) pairs to send now; note says which fault touched it."""
        f = self.faults
        self.count += 1
        n = self.count
        data = datagram.data
        dropped_names = [name for name in datagram.names if name in f.drop_first]
        if n in f.drop_datagrams or (datagram.first_transmission and dropped_names):
            why = f"first {'/'.join(dropped_names)}" if n not in f.drop_datagrams else "index"
            return [(b"", self._note(f"fault: datagram {n} dropped ({why})"))]
        note = ""
        if n in f.corrupt_datagrams and data:
            at = f.corrupt_offset % len(data)
            data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
            note = self._note(f"fault: datagram {n} octet {at} corrupted")
        if n in f.delay_datagrams:
            self._delayed.append((now + f.delay_seconds, n, data))
            return [(b"", self._note(f"fault: datagram {n} delayed {f.delay_seconds}s"))]
        if n in f.reorder_datagrams and self._held is None:
            self._held, self._held_index = data, n
            return [(b"", self._note(f"fault: datagram {n} held back (reorder)"))]
        out = [(data, note)]
        if n in f.duplicate_datagrams or f.duplicate_all:
            out.append((data, self._note(f"fault: datagram {n} duplicated")))
        if self._held is not None and n != self._held_index:
            out.append(
                (self._held, self._note(f"fault: datagram {self._held_index} sent after {n}"))
            )
            self._held = None
        return out

    def next_release(self) -> float | None:
        return min((t for t, _, _ in self._delayed), default=None)

    def release(self, now: float) -> list[tuple[bytes, str]]:
        due = [(t, n, d) for t, n, d in self._delayed if t <= now]
        self._delayed = [(t, n, d) for t, n, d in self._delayed if t > now]
        return [(d, self._note(f"fault: delayed datagram {n} sent")) for _, n, d in due]

    def _note(self, text: str) -> str:
        self.applied.append(text)
        return text
