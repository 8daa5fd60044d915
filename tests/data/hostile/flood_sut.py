"""Hostile: an always-running Entity B (endpoint adapter) that floods the harness with
input a conformant peer may ignore, to prove the harness's memory and time stay bounded
(issue 12, item 1). Usage: flood_sut.py TLS_MODE DTLS_MODE PORT_FILE; it listens on
127.0.0.1, TCP and UDP on the same port, writes that port to PORT_FILE and serves until
killed.

TLS_MODE (over TCP; each after the first bytes of the ClientHello):
  hello-request   endless empty HelloRequest records (RFC 5246 7.4.1.1: ignored)
  warning-alert   endless warning alerts (no_renegotiation)
  huge-message    one handshake message announcing 2**24-1 bytes, sent without end
DTLS_MODE (over UDP):
  random          random datagrams, from the first datagram of a client on
  random-after-cookie
                  a HelloVerifyRequest for the first ClientHello, random datagrams from
                  the second one (the cookie exchange done) on
  hello-verify    endless HelloVerifyRequests, whatever the client sends

A TCP flood ends when the harness closes its socket; a UDP one when the harness's
socket is gone (each client gets its own connected UDP socket on the server's port, so
an ICMP port unreachable ends it). Both stop after LIMIT_SECONDS whatever happens.
"""

import os
import random
import socket
import struct
import sys
import threading
import time

LIMIT_SECONDS = 20.0  # no flood outlives this, even if the harness never lets go
BATCH = 256  # records per TCP write


def tls_flood(conn: socket.socket, mode: str) -> None:
    with conn:
        conn.settimeout(5)
        try:
            if not conn.recv(4096):
                return
        except OSError:
            return
        if mode == "hello-request":
            chunk = b"\x16\x03\x03\x00\x04\x00\x00\x00\x00" * BATCH
        elif mode == "warning-alert":
            chunk = b"\x15\x03\x03\x00\x02\x01\x64" * BATCH
        else:  # huge-message: the header once, then its body in full records forever
            record = b"\x16\x03\x03\x40\x00" + b"\x00" * 0x4000
            conn.sendall(b"\x16\x03\x03\x00\x04\x02\xff\xff\xff")
            chunk = record * 4
        end = time.monotonic() + LIMIT_SECONDS
        try:
            while time.monotonic() < end:
                conn.sendall(chunk)
        except OSError:
            pass


def hello_verify_request(message_seq: int, cookie: bytes) -> bytes:
    body = b"\xfe\xff" + bytes([len(cookie)]) + cookie
    handshake = (
        b"\x03"
        + len(body).to_bytes(3, "big")
        + struct.pack("!H", message_seq)
        + b"\x00\x00\x00"
        + len(body).to_bytes(3, "big")
        + body
    )
    header = b"\x16\xfe\xff" + b"\x00\x00" + (0).to_bytes(6, "big")  # epoch 0, seq 0
    return header + struct.pack("!H", len(handshake)) + handshake


def dtls_flood(port: int, client: tuple[str, int], mode: str, seed: int) -> None:
    rng = random.Random(seed)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.connect(client)
    end = time.monotonic() + LIMIT_SECONDS
    with sock:
        try:
            if mode == "random-after-cookie":
                sock.send(hello_verify_request(0, b"c00kie"))
                sock.settimeout(5)
                sock.recv(65535)  # the second ClientHello, with the cookie
            sent = 0
            while time.monotonic() < end:
                if mode == "hello-verify":
                    datagram = hello_verify_request(sent % 65536, rng.randbytes(16))
                else:
                    datagram = rng.randbytes(rng.randint(1, 1200))
                sock.send(datagram)
                sent += 1
        except OSError:
            pass


def main() -> None:
    tls_mode, dtls_mode, port_file = sys.argv[1:4]
    tcp = socket.socket()
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", 0))
    port = tcp.getsockname()[1]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    udp.bind(("127.0.0.1", port))
    tcp.listen(16)
    tmp = port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(str(port))
    os.replace(tmp, port_file)

    def serve_udp() -> None:
        seen: set[tuple[str, int]] = set()
        while True:
            _, client = udp.recvfrom(65535)
            if client not in seen:
                seen.add(client)
                threading.Thread(
                    target=dtls_flood, args=(port, client, dtls_mode, len(seen)), daemon=True
                ).start()

    threading.Thread(target=serve_udp, daemon=True).start()
    while True:
        conn, _ = tcp.accept()
        threading.Thread(target=tls_flood, args=(conn, tls_mode), daemon=True).start()


if __name__ == "__main__":
    main()
