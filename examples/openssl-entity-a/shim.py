#!/usr/bin/env python3
"""m2mconf command-adapter shim: OpenSSL's `s_client` as Entity A (SAEF-PSK, TLS 1.2).

The model for a lab's own shim (docs/adapter-contract.md): read the request file named
in argv[1], run the implementation once, print JSON-line events on stdout and exit
0 after the result, 89 when the configuration is one this implementation cannot run.
Standard library only, so it can be copied anywhere.

`openssl s_client` is run with stdin at EOF, so it exits right after the handshake;
`-msg` makes it print every handshake message and alert, which is how the shim knows
whether the handshake completed and which alert was sent or received.
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
    if request["transport"] != "tls":
        unsupported("this shim runs TLS 1.2 only (DTLS: not yet)")
    config = request["configuration"]
    suites = [OPENSSL_NAMES.get(int(code, 16)) for code in request["cipher_suites"]]
    names = [name for name in suites if name]
    if not names:
        unsupported(f"none of {request['cipher_suites']} is known to OpenSSL's CLI")
    connect = request["connect"]
    command = [
        "openssl", "s_client",
        "-connect", f"{connect['host']}:{connect['port']}",
        "-tls1_2", "-msg",
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
    emit("log", message=" ".join(command))
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


def report(lines: list[str], code: int, config: dict[str, Any], export: dict | None) -> None:
    finished = any(FINISHED_RECEIVED.match(line) for line in lines)
    alert = None
    for line in lines:
        match = ALERT.match(line)
        if match and match.group(2) == "fatal":
            direction = "received" if match.group(1) == "<<<" else "sent"
            alert = f"{match.group(3)} ({direction})"
            break
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
