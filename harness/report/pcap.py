"""Per-test-purpose packet captures, rebuilt from the trace's wire chunks.

The harness records bytes at the socket, not packets, so the capture is synthetic: each
TLS trace becomes one well-formed TCP connection (handshake, data segments with correct
sequence and acknowledgement numbers, FIN exchange) between the trace's endpoints, and
each DTLS trace a series of UDP datagrams. Wireshark then dissects the TLS records and,
with the ``.keys`` file beside the capture, decrypts them. Several traces of one purpose
share one file and get distinct port pairs, so Wireshark keeps them apart.

The frames (Ethernet II, IPv4 or IPv6, TCP or UDP, with correct checksums) and the
classic libpcap file around them are packed with ``struct`` here: building them as scapy
packets cost about a millisecond per frame, most of a campaign's report time, for bytes
whose layout is fixed. tshark remains the oracle that the files are what Wireshark reads
(tests/test_wireshark.py); scapy still reads them in tests/test_reports.py.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.tls.trace import Trace

MAX_SEGMENT = 1400  # payload bytes per synthetic TCP segment
LOOPBACK = "127.0.0.1"
_FALLBACK_CLIENT_PORT = 49152  # dynamic range; incremented per trace when needed
_FALLBACK_SERVER_PORT = {"tls": 4433, "dtls": 5684}
_CLIENT_ISN = 0x10000000
_SERVER_ISN = 0x20000000
_TICK = 1e-6  # spacing of synthetic packets that share one recorded time

# libpcap file format (https://www.tcpdump.org/manpages/pcap-savefile.5.html): magic,
# version 2.4, thiszone, sigfigs, snaplen, link type 1 (Ethernet); microsecond stamps.
PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
_RECORD = struct.Struct("<IIII")  # ts_sec, ts_usec, incl_len, orig_len
_ETHER_IPV4 = bytes(12) + b"\x08\x00"  # dst, src (zero: synthetic), EtherType IPv4
_ETHER_IPV6 = bytes(12) + b"\x86\xdd"
PROTO_TCP = 6
PROTO_UDP = 17
TCP_FLAGS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10}
TTL = 64


@dataclass(frozen=True)
class Frame:
    """One captured frame: when it was seen and its bytes from the Ethernet header on."""

    time: float
    data: bytes


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): ones' complement of the ones' complement sum."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ip_frame(src: str, dst: str, protocol: int, segment: bytearray, checksum_at: int) -> bytes:
    """Ethernet + IP header around a TCP/UDP ``segment`` whose checksum field (at
    ``checksum_at``, zero on entry) is filled in over the pseudo-header here."""
    source, destination = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    length = len(segment)
    if source.version == 4 and destination.version == 4:
        pseudo = source.packed + destination.packed + struct.pack("!BBH", 0, protocol, length)
        struct.pack_into("!H", segment, checksum_at, _checksum(pseudo + segment) or 0xFFFF)
        header = bytearray(
            struct.pack("!BBHHHBBH", 0x45, 0, 20 + length, 1, 0, TTL, protocol, 0)
            + source.packed
            + destination.packed
        )
        struct.pack_into("!H", header, 10, _checksum(bytes(header)))
        return _ETHER_IPV4 + bytes(header) + bytes(segment)
    if source.version == 4:
        source = ipaddress.IPv6Address(f"::ffff:{source}")
    if destination.version == 4:
        destination = ipaddress.IPv6Address(f"::ffff:{destination}")
    pseudo = source.packed + destination.packed + struct.pack("!IxxxB", length, protocol)
    struct.pack_into("!H", segment, checksum_at, _checksum(pseudo + segment) or 0xFFFF)
    header = struct.pack("!IHBB", 6 << 28, length, protocol, TTL)
    return _ETHER_IPV6 + header + source.packed + destination.packed + bytes(segment)


def tcp_frame(
    src: tuple[str, int],
    dst: tuple[str, int],
    flags: str,
    seq: int,
    ack: int | None,
    payload: bytes = b"",
) -> bytes:
    """Ethernet/IP/TCP (no options, window 65535) carrying ``payload``."""
    bits = 0
    for flag in flags:
        bits |= TCP_FLAGS[flag]
    segment = bytearray(
        struct.pack("!HHIIBBHHH", src[1], dst[1], seq, ack or 0, 5 << 4, bits, 65535, 0, 0)
        + payload
    )
    return _ip_frame(src[0], dst[0], PROTO_TCP, segment, 16)


def udp_frame(src: tuple[str, int], dst: tuple[str, int], payload: bytes) -> bytes:
    """Ethernet/IP/UDP carrying ``payload``."""
    segment = bytearray(struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload)
    return _ip_frame(src[0], dst[0], PROTO_UDP, segment, 6)


class _Endpoint:
    """One side of the synthetic connection and the next sequence number it sends."""

    def __init__(self, host: str, port: int, isn: int) -> None:
        self.host = host
        self.port = port
        self.seq = isn

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port


def _endpoints(
    trace: Trace, index: int, used: set[tuple[int, int]]
) -> tuple[tuple[str, int], tuple[str, int]]:
    """The harness's (local) and the SUT's (remote) address, made distinct per trace."""
    server_default = _FALLBACK_SERVER_PORT.get(trace.transport, 4433)
    local = trace.local or (LOOPBACK, _FALLBACK_CLIENT_PORT + index)
    remote = trace.remote or (LOOPBACK, server_default)
    local_port = int(local[1]) or _FALLBACK_CLIENT_PORT + index
    remote_port = int(remote[1]) or server_default
    while (local_port, remote_port) in used or (remote_port, local_port) in used:
        local_port = _FALLBACK_CLIENT_PORT + ((local_port + 1 - _FALLBACK_CLIENT_PORT) % 16384)
    used.add((local_port, remote_port))
    return (str(local[0]) or LOOPBACK, local_port), (str(remote[0]) or LOOPBACK, remote_port)


def _harness_is_client(trace: Trace) -> bool:
    """The (D)TLS client speaks first (ClientHello), so the first sender opened the
    connection. A trace without wire bytes defaults to the harness as client."""
    return not trace.wire or trace.wire[0].direction == "sent"


def tcp_packets(trace: Trace, local: tuple[str, int], remote: tuple[str, int]) -> list[Frame]:
    """One TCP connection carrying the trace's wire chunks in order."""
    harness = _Endpoint(local[0], local[1], _CLIENT_ISN)
    sut = _Endpoint(remote[0], remote[1], _SERVER_ISN)
    client, server = (harness, sut) if _harness_is_client(trace) else (sut, harness)
    if client is sut:
        client.seq, server.seq = _CLIENT_ISN, _SERVER_ISN
    start = trace.wire[0].time if trace.wire else 0.0
    clock = [start - 3 * _TICK]

    def emit(
        src: _Endpoint, dst: _Endpoint, flags: str, payload: bytes = b"", when: float | None = None
    ) -> Frame:
        if when is None or when <= clock[0]:
            when = clock[0] + _TICK
        clock[0] = when
        ack = dst.seq if "A" in flags else None
        frame = tcp_frame(src.address, dst.address, flags, src.seq, ack, payload)
        src.seq = (
            src.seq + len(payload) + (1 if ("S" in flags or "F" in flags) else 0)
        ) & 0xFFFFFFFF
        return Frame(when, frame)

    frames = [
        emit(client, server, "S"),
        emit(server, client, "SA"),
        emit(client, server, "A"),
    ]
    for chunk in trace.wire:
        src, dst = (harness, sut) if chunk.direction == "sent" else (sut, harness)
        # Bytes the bounded trace left out before this chunk: skip their sequence numbers,
        # so Wireshark shows a gap rather than records spliced across it.
        src.seq = (src.seq + chunk.gap) & 0xFFFFFFFF
        for offset in range(0, len(chunk.data), MAX_SEGMENT):
            piece = chunk.data[offset : offset + MAX_SEGMENT]
            frames.append(emit(src, dst, "PA", piece, chunk.time))
    frames.append(emit(client, server, "FA"))
    frames.append(emit(server, client, "FA"))
    frames.append(emit(client, server, "A"))
    return frames


def udp_packets(trace: Trace, local: tuple[str, int], remote: tuple[str, int]) -> list[Frame]:
    """One datagram per wire chunk (a DTLS flight as the socket saw it)."""
    frames: list[Frame] = []
    last = float("-inf")
    for chunk in trace.wire:
        src, dst = (local, remote) if chunk.direction == "sent" else (remote, local)
        when = max(chunk.time, last + _TICK)
        last = when
        frames.append(Frame(when, udp_frame(src, dst, chunk.data)))
    return frames


def trace_packets(traces: Sequence[Trace]) -> list[Frame]:
    """All frames of the traces, each trace on its own port pair, in trace order."""
    frames: list[Frame] = []
    used: set[tuple[int, int]] = set()
    for index, trace in enumerate(traces):
        if not trace.wire:
            continue
        local, remote = _endpoints(trace, index, used)
        if trace.transport == "dtls":
            frames.extend(udp_packets(trace, local, remote))
        else:
            frames.extend(tcp_packets(trace, local, remote))
    return frames


def pcap_bytes(frames: Iterable[Frame]) -> bytes:
    """The libpcap file of ``frames``, in the order given."""
    out = [PCAP_HEADER]
    for frame in frames:
        seconds = int(frame.time)
        micros = int(round((frame.time - seconds) * 1e6))
        if micros >= 1_000_000:
            seconds, micros = seconds + 1, micros - 1_000_000
        out.append(_RECORD.pack(seconds, micros, len(frame.data), len(frame.data)))
        out.append(frame.data)
    return b"".join(out)


def write_pcap(traces: Iterable[Trace], path: Path) -> bool:
    """Write the capture; False (and no file) when no trace carried any wire bytes."""
    frames = trace_packets(list(traces))
    if not frames:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pcap_bytes(frames))
    return True
