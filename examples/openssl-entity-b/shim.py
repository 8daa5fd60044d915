#!/usr/bin/env python3
"""m2mconf command-adapter shim: OpenSSL's `s_server` as Entity B (SAEF-PSK, TLS 1.2
over TCP or DTLS 1.2 over UDP).

The model for a lab's own server-side shim (docs/adapter-contract.md): listen, print
the ready event with the address, report the handshake once it is over, and exit.
Standard library only.

Limits of the OpenSSL CLI, reported honestly rather than worked around:
- s_server holds ONE pre-shared key, so a request with more than one authorized entity
  exits 89 (unsupported); the test purposes needing several are then not applicable.
- s_server does not refuse an unexpected psk_identity: it warns and goes on with its
  one key. The shim reports the identity it received; it binds the association to an
  IdA only when that identity is the authorized kpsaId.
- s_server quits when its stdin reaches EOF, so the shim keeps a pipe to it open.
- Over DTLS (`-dtls1_2`, UDP) s_server always does the cookie exchange (it sends a
  HelloVerifyRequest without `-listen`), and OpenSSL 3.0's `-msg` names no message
  ("Not TLS data or unknown version ... content_type=N"), so the shim reads the
  handshake type or alert from the record bytes printed on the next line.
"""

from __future__ import annotations

import json
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from typing import Any

UNSUPPORTED = 89

OPENSSL_NAMES = {
    0x00AE: "PSK-AES128-CBC-SHA256",
    0xC0A4: "PSK-AES128-CCM",
    0xC0A8: "PSK-AES128-CCM8",
    0xC0A6: "DHE-PSK-AES128-CCM",
    0xC0AA: "DHE-PSK-AES128-CCM8",
    0x00B0: "PSK-NULL-SHA256",
    0x008C: "PSK-AES128-CBC-SHA",
    0x00A8: "PSK-AES128-GCM-SHA256",
    0x00B2: "DHE-PSK-AES128-CBC-SHA256",
}
CODES = {name: code for code, name in OPENSSL_NAMES.items()}

ALERT = re.compile(r"^(<<<|>>>) .*Alert \[length [0-9a-fA-F]+\], (fatal|warning) (\S+)")
ESTABLISHED = re.compile(r"^CIPHER is (\S+)")
KEYING_MATERIAL = re.compile(r"^\s*Keying material: ([0-9A-Fa-f]+)")
CLIENT_KEY_EXCHANGE = re.compile(r"^<<< .*Handshake \[length [0-9a-fA-F]+\], ClientKeyExchange")
EXPORT_FAILED = re.compile(r"^\s*Error$")
DTLS_RECORD = re.compile(
    r"^(<<<|>>>) Not TLS data or unknown version \(version=\d+, content_type=(\d+)\)"
)
DTLS_ALERT, DTLS_HANDSHAKE, DTLS_CLIENT_KEY_EXCHANGE = 21, 22, 16
ALERT_NAMES = {  # RFC 5246 / RFC 4279 AlertDescription codes, as OpenSSL's -msg names them
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
    22: "record_overflow", 40: "handshake_failure", 47: "illegal_parameter",
    50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
    71: "insufficient_security", 80: "internal_error", 90: "user_canceled",
    100: "no_renegotiation", 110: "unsupported_extension", 115: "unknown_psk_identity",
}  # fmt: skip
UNEXPECTED_IDENTITY = re.compile(
    r"^PSK warning: client identity not what we expected \(got '(.*)' expected"
)


def loggable(command: list[str]) -> str:
    """The command line for the log, the key after ``-psk`` left out (a log is shared).
    OpenSSL's s_client/s_server take a TLS 1.2 PSK only as that argument, so while they
    run it is visible to other local users (ps, /proc/PID/cmdline): run these examples
    on a test machine of your own; a shim for your implementation passes keys by file
    or stdin (the request file itself is mode 0600)."""
    shown = list(command)
    for i, word in enumerate(shown[:-1]):
        if word == "-psk":
            shown[i + 1] = "<key>"
    return " ".join(shown)


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def unsupported(reason: str) -> None:
    print(reason, file=sys.stderr, flush=True)
    sys.exit(UNSUPPORTED)


def free_port(host: str, kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    """A port nobody listens on now (s_server would not tell which one it chose)."""
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    if request["role"] != "entity_b":
        unsupported(f"this shim plays entity_b only, not {request['role']}")
    if request["framework"] != "saef-psk":
        unsupported(f"this shim implements saef-psk only, not {request['framework']}")
    dtls = request["transport"] == "dtls"
    if request["transport"] not in ("tls", "dtls"):
        unsupported(f"this shim runs TLS 1.2 or DTLS 1.2, not {request['transport']}")
    config = request["configuration"]
    entities = config.get("authorizedEntities") or []
    if len(entities) != 1:
        unsupported(f"s_server holds exactly one PSK; the request has {len(entities)} entities")
    entity = entities[0]
    names = [
        OPENSSL_NAMES[c]
        for c in (int(x, 16) for x in request["cipher_suites"])
        if c in OPENSSL_NAMES
    ]
    if not names:
        unsupported(f"none of {request['cipher_suites']} is known to OpenSSL's CLI")
    host = request["listen"]["host"]
    port = request["listen"]["port"] or free_port(
        host, socket.SOCK_DGRAM if dtls else socket.SOCK_STREAM
    )
    command = [
        "openssl", "s_server",
        "-accept", f"{host}:{port}", "-naccept", "1",
        "-dtls1_2" if dtls else "-tls1_2", "-nocert", "-msg",
        "-psk", entity["kpsaKey"],
        "-psk_identity", entity["kpsaId"],
        "-cipher", ":".join(names) + ":@SECLEVEL=0",
    ]  # fmt: skip
    export = next((e for e in request.get("exports") or [] if e.get("context") is None), None)
    if export:
        command += ["-keymatexport", export["label"], "-keymatexportlen", str(export["length"])]
    emit("log", message=loggable(command))
    server = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=pump, args=(server, lines), daemon=True).start()
    timeout = float(request.get("timeout") or 5.0)
    try:
        serve(server, lines, host, port, timeout, entity, export)
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(5)


def pump(server: subprocess.Popen[bytes], lines: queue.Queue[str | None]) -> None:
    assert server.stdout is not None
    for raw in server.stdout:
        lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
    lines.put(None)


def next_line(lines: queue.Queue[str | None], deadline: float) -> str | None:
    """The next line of s_server's output; None at its end; TimeoutError past deadline."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    try:
        return lines.get(timeout=remaining)
    except queue.Empty:
        raise TimeoutError from None


def serve(
    server: subprocess.Popen[bytes],
    lines: queue.Queue[str | None],
    host: str,
    port: int,
    timeout: float,
    entity: dict[str, Any],
    export: dict[str, Any] | None,
) -> None:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        # "ACCEPT" (TCP) or "ACCEPT host:port" (UDP): s_server is bound and listening.
        while not ((line := next_line(lines, deadline)) or "").startswith("ACCEPT"):
            if line is None:
                print("\n".join(seen[-5:]), file=sys.stderr)
                sys.exit(1)  # s_server could not listen (port taken, bad option...)
            seen.append(line)
    except TimeoutError:
        print("s_server did not start listening in time", file=sys.stderr)
        sys.exit(1)
    emit("ready", listen={"host": host, "port": port})

    # The harness connects now; a whole handshake must fit in the timeout again.
    deadline = time.monotonic() + timeout
    cipher = material = received_identity = alert = None
    key_exchange = False  # a psk_identity arrived (in the ClientKeyExchange)
    errors: list[str] = []
    dtls_record: tuple[str, int] | None = None  # a DTLS record header line, bytes follow
    try:
        while (line := next_line(lines, deadline)) is not None:
            if dtls_record is not None:
                (arrow, content_type), dtls_record = dtls_record, None
                try:
                    body = bytes.fromhex(line.strip())
                except ValueError:
                    body = b""
                if content_type == DTLS_HANDSHAKE and body[:1] == bytes([DTLS_CLIENT_KEY_EXCHANGE]):
                    key_exchange = arrow == "<<<" or key_exchange
                elif content_type == DTLS_ALERT and body[:1] == b"\x02" and alert is None:
                    name = ALERT_NAMES.get(body[1], f"alert_{body[1]}") if len(body) > 1 else "?"
                    alert = f"{name} ({'received' if arrow == '<<<' else 'sent'})"
            elif match := DTLS_RECORD.match(line):
                if match.group(2) != "256":  # 256: OpenSSL's entry for the header bytes
                    dtls_record = (match.group(1), int(match.group(2)))
            elif CLIENT_KEY_EXCHANGE.match(line):
                key_exchange = True
            elif match := UNEXPECTED_IDENTITY.match(line):
                received_identity = match.group(1)
            elif (match := ALERT.match(line)) and match.group(2) == "fatal" and alert is None:
                direction = "received" if match.group(1) == "<<<" else "sent"
                alert = f"{match.group(3)} ({direction})"
            elif ":error:" in line:
                errors.append(line)
            elif match := ESTABLISHED.match(line):
                cipher = match.group(1)
                if export is None:
                    break
            elif match := KEYING_MATERIAL.match(line):
                material = match.group(1).lower()
                break
            elif cipher and EXPORT_FAILED.match(line):
                break
    except TimeoutError:
        if cipher is None:
            emit("result", status="timeout", detail="no handshake within the timeout")
            return
    established = cipher is not None and alert is None
    identity = received_identity or (entity["kpsaId"] if key_exchange else None)
    bound = established and identity == entity["kpsaId"]
    detail = "; ".join(errors[-2:])
    if established and not bound:
        detail = f"s_server accepted the unexpected psk_identity {identity!r} (CLI limit)"
    emit(
        "result",
        status="established" if established else "refused",
        cipher_suite=f"0x{CODES[cipher]:04X}" if established and cipher in CODES else None,
        peer_identity=entity["otherEntityIdentifier"] if bound else None,
        psk_identity=identity,
        alert=alert,
        keys={export["label"]: material} if established and export and material else {},
        detail=detail,
    )
    # Let the peer close first (s_server then exits); the finally clause ends it otherwise.
    try:
        while next_line(lines, deadline) is not None:
            pass
    except TimeoutError:
        pass


if __name__ == "__main__":
    main()
