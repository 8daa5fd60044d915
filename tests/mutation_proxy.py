"""A fixed-seed mutation proxy between two (D)TLS parties, for the hostile-SUT suite.

It relays one TLS connection (TCP) or one DTLS association (UDP) between a client and
``upstream`` and, in one direction, mutates one record (TLS, parsed from the byte
stream) or one datagram (DTLS) the way a buggy or hostile implementation would: bits
flipped, a byte overwritten, the record truncated or extended (its length field kept
or not), the length field, content type or version changed, the record duplicated,
swapped with the next one, a garbage record put before it, or (DTLS) dropped. The
seed decides everything (which record, which operator, which bytes), so every case can
be replayed from its seed alone (``Mutation.from_seed``).

After its one mutation the proxy only forwards, so what the receiver makes of a
desynchronised stream is the receiver's business. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import random
import select
import socket
import threading
import time
from dataclasses import dataclass

from harness.sut.contract import Address

OPERATORS = (
    "bitflip",
    "byte",
    "truncate",
    "truncate-keep-length",
    "extend",
    "extend-keep-length",
    "length",
    "type",
    "version",
    "duplicate",
    "swap",
    "garbage-before",
    "empty",
)
DTLS_OPERATORS = (*OPERATORS, "drop")
# Operators after which a TLS receiver can only refuse (a TLS record stream has no
# redundancy: every handshake byte is in the Finished hash, every later one under the
# record MAC, and the framing is exact). Over DTLS a datagram may be discarded and
# retransmitted, so any ending but a harness error is possible there.
HEADER = 5  # TLS record header: type, version (2), length (2)
DTLS_HEADER = 13


@dataclass(frozen=True)
class Mutation:
    seed: int
    index: int  # which record (TLS) or datagram (DTLS) of the mutated direction
    operator: str

    @classmethod
    def from_seed(cls, seed: int, dtls: bool, records: int) -> Mutation:
        rng = random.Random(seed)
        operators = DTLS_OPERATORS if dtls else OPERATORS
        return cls(seed, rng.randrange(records), rng.choice(operators))

    def __str__(self) -> str:
        return f"seed {self.seed}: {self.operator} on record {self.index}"

    def apply(self, record: bytes, following: bytes | None, dtls: bool) -> list[bytes]:
        """What to send instead of ``record`` (one element per record or datagram, in
        order); ``following`` is the next record, for "swap" (None: there is none)."""
        rng = random.Random(self.seed * 7919 + 1)
        header = DTLS_HEADER if dtls else HEADER
        body = bytearray(record)
        op = self.operator
        if op == "bitflip":
            for _ in range(rng.randint(1, 3)):
                i = rng.randrange(len(body))
                body[i] ^= 1 << rng.randrange(8)
            return [bytes(body)]
        if op == "byte":
            i = rng.randrange(len(body))
            body[i] = (body[i] + rng.randint(1, 255)) % 256
            return [bytes(body)]
        if op in ("truncate", "truncate-keep-length"):
            cut = rng.randrange(max(len(body) - 1, 1))
            out = body[: max(cut, 1)]
            if op == "truncate" and len(out) >= header:
                _set_length(out, len(out) - header, dtls)
            return [bytes(out)]
        if op in ("extend", "extend-keep-length"):
            out = body + rng.randbytes(rng.randint(1, 64))
            if op == "extend":
                _set_length(out, len(out) - header, dtls)
            return [bytes(out)]
        if op == "length" and len(body) >= header:
            _set_length(body, rng.choice((0, 1, 2**14 + 2048, 0xFFFF, rng.randrange(65536))), dtls)
            return [bytes(body)]
        if op == "type":
            body[0] = rng.choice((0, 1, 19, 24, 25, 99, 255, 20 if body[0] != 20 else 21))
            return [bytes(body)]
        if op == "version" and len(body) >= 3:
            old = bytes(body[1:3])
            new = old
            while new == old:
                new = rng.choice((b"\x03\x00", b"\x03\x01", b"\x03\x02", b"\x03\x04", b"\x02\x00",
                                  b"\xfe\xfd", b"\xfe\xff", b"\xfe\xfc", b"\x03\x9a", b"\x7f\x7f"))  # fmt: skip
            body[1:3] = new
            return [bytes(body)]
        if op == "duplicate":
            return [bytes(body), bytes(body)]
        if op == "swap" and following is not None:
            return [following, bytes(body)]
        if op == "garbage-before":
            kind = rng.choice((0, 99, 255))  # no content type a receiver may ignore
            garbage = rng.randbytes(rng.randint(0, 40))
            if dtls:
                prefix = bytes([kind]) + b"\xfe\xfd" + rng.randbytes(8)
            else:
                prefix = bytes([kind]) + b"\x03\x03"
            return [prefix + len(garbage).to_bytes(2, "big") + garbage, bytes(body)]
        if op == "empty" and len(body) >= header:
            out = body[:header]
            _set_length(out, 0, dtls)
            return [bytes(out)]
        if op == "drop":
            return []
        # An operator that does not apply to this record (too short, nothing to swap
        # with): flip one bit, so every case still mutates something.
        i = rng.randrange(len(body))
        body[i] ^= 0x80
        return [bytes(body)]


def _set_length(record: bytearray, length: int, dtls: bool) -> None:
    at = DTLS_HEADER - 2 if dtls else HEADER - 2
    record[at : at + 2] = (length & 0xFFFF).to_bytes(2, "big")


class MutationProxy:
    """Relays one connection (TLS) or association (DTLS) to ``upstream``, mutating the
    ``mutated`` direction ("to_client": what upstream sends, e.g. a SUT server's
    flights; "to_server": what the client sends). ``address`` is where to connect."""

    def __init__(
        self, upstream: Address, dtls: bool, mutated: str, mutation: Mutation, bound: float
    ) -> None:
        self.upstream = (upstream.host, upstream.port)
        self.dtls = dtls
        self.mutated = mutated
        self.mutation = mutation
        self.applied: str | None = None  # what was done, once done
        self.original: bytes = b""  # the record (datagram) mutated ...
        self.replaced: list[bytes] = []  # ... and what was sent instead
        self.seen = 0  # records (datagrams) of the mutated direction that passed
        self.deadline = time.monotonic() + bound
        kind = socket.SOCK_DGRAM if dtls else socket.SOCK_STREAM
        self.front = socket.socket(socket.AF_INET, kind)
        self.front.bind(("127.0.0.1", 0))
        if not dtls:
            self.front.listen(1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mutation-proxy", daemon=True)
        self._thread.start()

    @property
    def address(self) -> Address:
        return Address("127.0.0.1", self.front.getsockname()[1])

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        with contextlib.suppress(OSError):
            self.front.close()

    def _left(self) -> float:
        return self.deadline - time.monotonic()

    def _run(self) -> None:
        with contextlib.suppress(OSError):
            if self.dtls:
                self._run_udp()
            else:
                self._run_tcp()

    # --- TLS ---------------------------------------------------------------------------

    def _run_tcp(self) -> None:
        self.front.settimeout(max(self._left(), 0.01))
        try:
            client, _ = self.front.accept()
        except TimeoutError:
            return
        with client, socket.create_connection(self.upstream, timeout=5) as server:
            mutated_from = server if self.mutated == "to_client" else client
            pending = bytearray()  # the mutated direction, not yet forwarded
            index = 0
            done = False
            while not self._stop.is_set() and self._left() > 0:
                ready, _, _ = select.select([client, server], [], [], min(0.05, self._left()))
                for sock in ready:
                    data = sock.recv(65536)
                    other = server if sock is client else client
                    if not data:
                        with contextlib.suppress(OSError):
                            other.shutdown(socket.SHUT_WR)
                        return
                    if sock is not mutated_from or done:
                        other.sendall(data)
                        continue
                    pending += data
                    records = _split_tls(pending)
                    out = bytearray()
                    for i, record in enumerate(records):
                        if done:
                            out += record
                            continue
                        if index == self.mutation.index:
                            # "swap" with a record of the same chunk only (none: apply
                            # flips a bit instead), so the proxy never holds data back.
                            following = records[i + 1] if i + 1 < len(records) else None
                            self.original = record
                            self.replaced = self.mutation.apply(record, following, False)
                            out += b"".join(self.replaced)
                            self.applied = str(self.mutation)
                            done = True
                            if self.mutation.operator == "swap" and following is not None:
                                records[i + 1] = b""  # already sent, before this one
                        else:
                            out += record
                        index += 1
                        self.seen = index
                    if done:
                        out += pending  # the incomplete rest: from here on, raw
                        pending.clear()
                    other.sendall(bytes(out))

    # --- DTLS --------------------------------------------------------------------------

    def _run_udp(self) -> None:
        back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        back.bind(("127.0.0.1", 0))
        client: tuple[str, int] | None = None
        index = 0
        done = False
        held: bytes | None = None  # "swap": the datagram waiting for the next one
        with back:
            while not self._stop.is_set() and self._left() > 0:
                ready, _, _ = select.select([self.front, back], [], [], min(0.05, self._left()))
                for sock in ready:
                    data, source = sock.recvfrom(65535)
                    if sock is self.front:
                        client = source
                        to, target, mutating = back, self.upstream, self.mutated == "to_server"
                    elif client is not None:
                        to, target, mutating = self.front, client, self.mutated == "to_client"
                    else:
                        continue
                    if not mutating or done:
                        to.sendto(data, target)
                        continue
                    if held is not None:
                        self.original, self.replaced = held, self.mutation.apply(held, data, True)
                        for piece in self.replaced:
                            to.sendto(piece, target)
                        held, done, self.applied = None, True, str(self.mutation)
                        continue
                    if index == self.mutation.index:
                        if self.mutation.operator == "swap":
                            held = data
                            continue
                        self.original, self.replaced = data, self.mutation.apply(data, None, True)
                        for piece in self.replaced:
                            to.sendto(piece, target)
                        done, self.applied = True, str(self.mutation)
                    else:
                        to.sendto(data, target)
                    index += 1
                    self.seen = index


def _split_tls(buffer: bytearray) -> list[bytes]:
    """Complete TLS records from the front of ``buffer`` (removed from it)."""
    records = []
    while len(buffer) >= HEADER:
        length = int.from_bytes(buffer[3:5], "big")
        if len(buffer) < HEADER + length:
            break
        records.append(bytes(buffer[: HEADER + length]))
        del buffer[: HEADER + length]
    return records
