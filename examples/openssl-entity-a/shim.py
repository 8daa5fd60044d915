#!/usr/bin/env python3
"""m2mconf command-adapter shim: OpenSSL's `s_client` as Entity A (SAEF-PSK, TLS 1.2
over TCP or DTLS 1.2 over UDP).

The model for a lab's own shim (docs/adapter-contract.md): read the request file named
in argv[1], run the implementation once, print JSON-line events on stdout and exit
0 after the result, 89 when the configuration is one this implementation cannot run.
Standard library only, so it can be copied anywhere.

`openssl s_client` is run with stdin at EOF, so it exits right after the handshake;
`-msg` makes it print every handshake message and alert, which is how the shim knows
whether the handshake completed and which alert was sent or received. For DTLS
(`-dtls1_2`, UDP) OpenSSL 3.0's `-msg` names no message ("Not TLS data or unknown
version ... content_type=N") but prints each record's bytes, so the shim reads the
handshake type or alert from the first bytes instead.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

UNSUPPORTED = 89

# IANA code -> OpenSSL name, for the suites OpenSSL 3.0's CLI can offer over TLS 1.2.
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
FINISHED_RECEIVED = re.compile(r"^<<< .*Handshake \[length [0-9a-fA-F]+\], Finished")
SESSION_CIPHER = re.compile(r"^\s*Cipher\s*: (\S+)")
KEYING_MATERIAL = re.compile(r"^\s*Keying material: ([0-9A-Fa-f]+)")
DTLS_RECORD = re.compile(
    r"^(<<<|>>>) Not TLS data or unknown version \(version=\d+, content_type=(\d+)\)"
)
DTLS_ALERT, DTLS_HANDSHAKE, DTLS_FINISHED = 21, 22, 20  # content types, handshake type
ALERT_NAMES = {  # RFC 5246 / RFC 4279 AlertDescription codes, as OpenSSL's -msg names them
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
    22: "record_overflow", 40: "handshake_failure", 47: "illegal_parameter",
    50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
    71: "insufficient_security", 80: "internal_error", 90: "user_canceled",
    100: "no_renegotiation", 110: "unsupported_extension", 115: "unknown_psk_identity",
}  # fmt: skip


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


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    if request["role"] != "entity_a":
        unsupported(f"this shim plays entity_a only, not {request['role']}")
    if request["framework"] != "saef-psk":
        unsupported(f"this shim implements saef-psk only, not {request['framework']}")
    if request["transport"] not in ("tls", "dtls"):
        unsupported(f"this shim runs TLS 1.2 or DTLS 1.2, not {request['transport']}")
    config = request["configuration"]
    suites = [OPENSSL_NAMES.get(int(code, 16)) for code in request["cipher_suites"]]
    names = [name for name in suites if name]
    if not names:
        unsupported(f"none of {request['cipher_suites']} is known to OpenSSL's CLI")
    connect = request["connect"]
    command = [
        "openssl", "s_client",
        "-connect", f"{connect['host']}:{connect['port']}",
        "-dtls1_2" if request["transport"] == "dtls" else "-tls1_2", "-msg",
        "-psk", config["kpsaKey"],
        "-psk_identity", config["kpsaId"],
        "-servername", config["otherEntityHostName"],
        "-cipher", ":".join(names) + ":@SECLEVEL=0",  # level 0: PSK-only suites carry no certificate
    ]  # fmt: skip
    exports = request.get("exports") or []
    exported = None
    for i, export in enumerate(exports):
        if exported is None and export.get("context") is None:
            exported = export
            command += ["-keymatexport", export["label"]]
            command += ["-keymatexportlen", str(export["length"])]
        else:
            why = "s_client exports one value" if exported else "s_client has no context option"
            emit("log", message=f"export {i} ({export['label']}) not reported: {why}")
    emit("log", message=loggable(command))
    try:
        run = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,  # EOF on stdin: s_client exits after the handshake
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=float(request.get("timeout") or 5.0),
            check=False,
        )
    except subprocess.TimeoutExpired:
        emit("result", status="timeout", detail="s_client did not finish within the timeout")
        return
    output = run.stdout.decode("utf-8", "replace").splitlines()
    report(output, run.returncode, config, exported)


def dtls_records(lines: list[str]) -> list[tuple[str, int, bytes]]:
    """(direction, content_type, first bytes) of each DTLS record -msg printed: the
    header line names the content type, the next line holds the record's first bytes."""
    records = []
    for line, following in zip(lines, lines[1:], strict=False):
        match = DTLS_RECORD.match(line)
        if match and match.group(2) != "256":  # 256: OpenSSL's entry for the header bytes
            try:
                body = bytes.fromhex(following.strip())
            except ValueError:
                continue
            records.append((match.group(1), int(match.group(2)), body))
    return records


def first_fatal_alert(lines: list[str]) -> str | None:
    for line in lines:
        match = ALERT.match(line)
        if match and match.group(2) == "fatal":
            direction = "received" if match.group(1) == "<<<" else "sent"
            return f"{match.group(3)} ({direction})"
    for arrow, content_type, body in dtls_records(lines):
        if content_type == DTLS_ALERT and len(body) >= 2 and body[0] == 2:
            direction = "received" if arrow == "<<<" else "sent"
            return f"{ALERT_NAMES.get(body[1], f'alert_{body[1]}')} ({direction})"
    return None


def report(lines: list[str], code: int, config: dict[str, Any], export: dict | None) -> None:
    finished = any(FINISHED_RECEIVED.match(line) for line in lines) or any(
        arrow == "<<<" and content_type == DTLS_HANDSHAKE and body[:1] == bytes([DTLS_FINISHED])
        for arrow, content_type, body in dtls_records(lines)
    )
    alert = first_fatal_alert(lines)
    established = finished and alert is None and code == 0
    cipher = next((m.group(1) for m in map(SESSION_CIPHER.match, lines) if m), None)
    keys = {}
    material = next((m.group(1) for m in map(KEYING_MATERIAL.match, lines) if m), None)
    if established and export and material:
        keys[export["label"]] = material.lower()
    errors = [line for line in lines if ":error:" in line]
    emit(
        "result",
        status="established" if established else "refused",
        cipher_suite=f"0x{CODES[cipher]:04X}" if established and cipher in CODES else None,
        peer_identity=config["otherEntityIdentifier"] if established else None,
        psk_identity=config["kpsaId"],
        alert=alert,
        keys=keys,
        detail="; ".join(errors[-2:]) or f"s_client exit code {code}",
    )


if __name__ == "__main__":
    main()
