"""Per-test-purpose packet captures, rebuilt from the trace's wire chunks.

The harness records bytes at the socket, not packets, so the capture is synthetic: each
TLS trace becomes one well-formed TCP connection (handshake, data segments with correct
sequence and acknowledgement numbers, FIN exchange) between the trace's endpoints, and
each DTLS trace a series of UDP datagrams. Wireshark then dissects the TLS records and,
with the ``.keys`` file beside the capture, decrypts them. Several traces of one purpose
share one file and get distinct port pairs, so Wireshark keeps them apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw
from scapy.utils import wrpcap

from harness.tls.trace import Trace

MAX_SEGMENT = 1400  # payload bytes per synthetic TCP segment
LOOPBACK = "127.0.0.1"
_FALLBACK_CLIENT_PORT = 49152  # dynamic range; incremented per trace when needed
_FALLBACK_SERVER_PORT = {"tls": 4433, "dtls": 5684}
_CLIENT_ISN = 0x10000000
_SERVER_ISN = 0x20000000
_TICK = 1e-6  # spacing of synthetic packets that share one recorded time


class _Endpoint:
    """One side of the synthetic connection and the next sequence number it sends."""

    def __init__(self, host: str, port: int, isn: int) -> None:
        self.host = host
        self.port = port
        self.seq = isn


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


def _stamp(packet: Packet, when: float) -> Packet:
    packet.time = when
    return packet


def tcp_packets(trace: Trace, local: tuple[str, int], remote: tuple[str, int]) -> list[Packet]:
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
    ) -> Packet:
        if when is None or when <= clock[0]:
            when = clock[0] + _TICK
        clock[0] = when
        segment = TCP(sport=src.port, dport=dst.port, flags=flags, seq=src.seq, window=65535)
        if "A" in flags:
            segment.ack = dst.seq
        packet = Ether() / IP(src=src.host, dst=dst.host) / segment
        if payload:
            packet = packet / Raw(payload)
        src.seq = (
            src.seq + len(payload) + (1 if ("S" in flags or "F" in flags) else 0)
        ) & 0xFFFFFFFF
        return _stamp(packet, when)

    packets = [
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
            packets.append(emit(src, dst, "PA", piece, chunk.time))
    packets.append(emit(client, server, "FA"))
    packets.append(emit(server, client, "FA"))
    packets.append(emit(client, server, "A"))
    return packets


def udp_packets(trace: Trace, local: tuple[str, int], remote: tuple[str, int]) -> list[Packet]:
    """One datagram per wire chunk (a DTLS flight as the socket saw it)."""
    packets: list[Packet] = []
    last = float("-inf")
    for chunk in trace.wire:
        (src, sport), (dst, dport) = (
            (local, remote) if chunk.direction == "sent" else (remote, local)
        )
        when = max(chunk.time, last + _TICK)
        last = when
        packet = Ether() / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / Raw(chunk.data)
        packets.append(_stamp(packet, when))
    return packets


def trace_packets(traces: Sequence[Trace]) -> list[Packet]:
    """All packets of the traces, each trace on its own port pair, in trace order."""
    packets: list[Packet] = []
    used: set[tuple[int, int]] = set()
    for index, trace in enumerate(traces):
        if not trace.wire:
            continue
        local, remote = _endpoints(trace, index, used)
        if trace.transport == "dtls":
            packets.extend(udp_packets(trace, local, remote))
        else:
            packets.extend(tcp_packets(trace, local, remote))
    return packets


def write_pcap(traces: Iterable[Trace], path: Path) -> bool:
    """Write the capture; False (and no file) when no trace carried any wire bytes."""
    packets = trace_packets(list(traces))
    if not packets:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    wrpcap(str(path), packets)
    return True
