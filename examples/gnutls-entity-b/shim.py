#!/usr/bin/env python3
"""m2mconf command-adapter shim: GnuTLS's `gnutls-serv` as Entity B (SAEF-PSK, TLS 1.2
over TCP).

A lab's server-side shim for GnuTLS (docs/adapter-contract.md), standalone and
standard library only: listen, print the ready event with the address, report the one
handshake it serves, and exit.

Why it reads gnutls-serv's debug log (`-d 5`): only there does gnutls-serv say which
alerts it sent or received ("REC: Sending Alert[2|20] - Bad record MAC") and when a
connection is over (its session is freed: "End of epoch cleanup" then "Epoch #N freed").
The negotiated suite, the psk_identity and the exporter value come from the summary it
prints after a successful handshake ("- Key Exchange: PSK", "- PSK authentication.
Connected as '...'", "- Key material: ...").

Limits of the gnutls-serv CLI, reported honestly rather than worked around:
- It binds the wildcard addresses (0.0.0.0 and ::) of the port; it has no option for
  the listening address. The harness still connects to 127.0.0.1 only.
- It prints the received psk_identity only after a successful handshake, so a refused
  handshake is reported with psk_identity null.
- A GnuTLS priority string enables key exchanges x ciphers x MACs, not single suites:
  e.g. PSK-AES128-CBC-SHA256 together with a DHE-PSK suite also enables
  DHE-PSK-AES128-CBC-SHA256 (0x00B2). The shim logs every suite it cannot exclude.
- DTLS (`-u`): the UDP server prints no session summary (no psk_identity, no exporter
  value, no sign of completion), so this shim declares TLS only and exits 89 for DTLS.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

UNSUPPORTED = 89

# IANA code -> (key exchange, cipher, MAC) as GnuTLS priority strings and summaries name them.
GNUTLS_SUITES: dict[int, tuple[str, str, str]] = {
    0x00AE: ("PSK", "AES-128-CBC", "SHA256"),
    0xC0A4: ("PSK", "AES-128-CCM", "AEAD"),
    0xC0A8: ("PSK", "AES-128-CCM-8", "AEAD"),
    0xC0A6: ("DHE-PSK", "AES-128-CCM", "AEAD"),
    0xC0AA: ("DHE-PSK", "AES-128-CCM-8", "AEAD"),
    0x00B2: ("DHE-PSK", "AES-128-CBC", "SHA256"),
    0x00A8: ("PSK", "AES-128-GCM", "AEAD"),
    0x008C: ("PSK", "AES-128-CBC", "SHA1"),
    0x00B0: ("PSK", "NULL", "SHA256"),
}
CODES = {parts: code for code, parts in GNUTLS_SUITES.items()}

LISTENING = re.compile(r"listening on IPv4 \S+ port (\d+)\.\.\.(\w+)")
ACCEPTED = re.compile(r"^\* Accepted connection from")
CONNECTED_AS = re.compile(r"^- PSK authentication\. Connected as '(.*)'$")
SUMMARY = re.compile(r"^- (Key Exchange|Cipher|MAC): (\S+)")
OPTIONS = re.compile(r"^- Options:")
KEY_MATERIAL = re.compile(r"^- Key material: ([0-9A-Fa-f]+)")
HANDSHAKE_ERROR = re.compile(r"^Error in handshake: (.*)")
ALERT_SENT = re.compile(r"REC: Sending Alert\[(\d+)\|(\d+)\]")
ALERT_RECEIVED = re.compile(r"Alert\[(\d+)\|(\d+)\] - .* - was received")
EPOCH_CLEANUP_END = re.compile(r"End of epoch cleanup")
EPOCH_FREED = re.compile(r"Epoch #\d+ freed")
LISTED_SUITE = re.compile(r"^TLS_\S+\s+0x([0-9a-f]{2}), 0x([0-9a-f]{2})\s+TLS1\.2")
ALERT_NAMES = {  # RFC 5246 / RFC 4279 AlertDescription codes
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
    22: "record_overflow", 40: "handshake_failure", 47: "illegal_parameter",
    50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
    71: "insufficient_security", 80: "internal_error", 90: "user_canceled",
    100: "no_renegotiation", 110: "unsupported_extension", 115: "unknown_psk_identity",
}  # fmt: skip


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def unsupported(reason: str) -> None:
    print(reason, file=sys.stderr, flush=True)
    sys.exit(UNSUPPORTED)


def free_port() -> int:
    """A TCP port free on every interface now (gnutls-serv binds the wildcard)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def priority_string(codes: list[int]) -> str:
    """The narrowest TLS 1.2 priority string enabling these suites (and, GnuTLS being
    what it is, every other valid combination of their parts)."""

    def tokens(index: int, prefix: str) -> str:
        names = dict.fromkeys(GNUTLS_SUITES[c][index] for c in codes)  # ordered, unique
        return f"-{prefix}-ALL:" + ":".join(f"+{n}" for n in names)

    return ":".join(
        ["NORMAL:-VERS-ALL:+VERS-TLS1.2", tokens(0, "KX"), tokens(1, "CIPHER"), tokens(2, "MAC")]
    )


def admitted_suites(priority: str, timeout: float) -> list[int] | None:
    """The suites GnuTLS really enables for the priority string (`gnutls-cli -l`)."""
    cli = shutil.which("gnutls-cli")
    if cli is None:
        return None
    try:
        listing = subprocess.run(
            [cli, "-l", "--priority", priority],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        ).stdout
    except subprocess.TimeoutExpired:
        return None
    return [
        int(m.group(1) + m.group(2), 16)
        for line in listing.splitlines()
        if (m := LISTED_SUITE.match(line))
    ]


def write_psk_file(directory: str, entities: list[dict[str, Any]]) -> str:
    """gnutls-serv's --pskpasswd format: one `username:hexkey` line per authorized entity.
    The keys go by file, never on a command line (visible in ps): mode 0600, in a
    private (0700) temporary directory removed with the case."""
    path = os.path.join(directory, "psk.passwd")
    with open(
        os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8"
    ) as f:
        for entity in entities:
            f.write(f"{entity['kpsaId']}:{bytes.fromhex(entity['kpsaKey']).hex()}\n")
    return path


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    if request["role"] != "entity_b":
        unsupported(f"this shim plays entity_b only, not {request['role']}")
    if request["framework"] != "saef-psk":
        unsupported(f"this shim implements saef-psk only, not {request['framework']}")
    if request["transport"] != "tls":
        unsupported(
            f"this shim runs TLS 1.2 only, not {request['transport']}: gnutls-serv -u prints "
            "no session summary (psk_identity, exporter value, completion)"
        )
    config = request["configuration"]
    entities = config.get("authorizedEntities") or []
    if not entities:
        unsupported("the request has no authorized entity")
    for entity in entities:
        if any(c in entity["kpsaId"] for c in ":\n\r"):
            unsupported(f"--pskpasswd cannot hold the KpsaId {entity['kpsaId']!r}")
    codes = [c for c in (int(x, 16) for x in request["cipher_suites"]) if c in GNUTLS_SUITES]
    if not codes:
        unsupported(f"none of {request['cipher_suites']} is known to this shim")
    timeout = float(request.get("timeout") or 5.0)
    host = request["listen"]["host"]
    port = request["listen"]["port"] or free_port()
    priority = priority_string(codes)
    admitted = admitted_suites(priority, timeout)
    extra = sorted(set(admitted or []) - set(codes))
    if extra:
        emit(
            "log",
            message="the GnuTLS priority string also enables "
            + ", ".join(f"0x{c:04X}" for c in extra)
            + " (it cannot exclude single suites)",
        )
    export = next((e for e in request.get("exports") or [] if e.get("context") is None), None)
    with tempfile.TemporaryDirectory(prefix="m2mconf-gnutls-") as directory:
        stdbuf = shutil.which("stdbuf")  # gnutls-serv's stdout is block-buffered in a pipe
        command = ([stdbuf, "-oL", "-eL"] if stdbuf else []) + [
            "gnutls-serv", "-p", str(port), "--echo", "-a", "-d", "5",
            "--pskpasswd", write_psk_file(directory, entities), "--priority", priority,
        ]  # fmt: skip
        if export:
            command += ["--keymatexport", export["label"]]
            command += ["--keymatexportsize", str(export["length"])]
        emit("log", message=" ".join(command))
        server = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=pump, args=(server, lines), daemon=True).start()
        try:
            serve(lines, host, port, timeout, entities, export)
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
    """The next line of gnutls-serv's output; None at its end; TimeoutError past deadline."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    try:
        return lines.get(timeout=remaining)
    except queue.Empty:
        raise TimeoutError from None


def wait_listening(lines: queue.Queue[str | None], timeout: float) -> None:
    """Return once gnutls-serv has bound and listens on IPv4 (it prints "...done" after
    listen()), else exit 1 with its last lines."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while (line := next_line(lines, deadline)) is not None:
            seen.append(line)
            if match := LISTENING.search(line):
                if match.group(2) == "done":
                    return
                break  # "...failed": the port is taken
    except TimeoutError:
        seen.append("gnutls-serv did not start listening in time")
    print("\n".join(seen[-5:]), file=sys.stderr)
    sys.exit(1)


class Connection:
    """What gnutls-serv's output says about the one connection it serves."""

    def __init__(self) -> None:
        self.accepted = False
        self.identity: str | None = None
        self.summary: dict[str, str] = {}
        self.established = False  # the summary of a successful handshake was printed
        self.material: str | None = None
        self.error: str | None = None  # "Error in handshake: ..."
        self.alert: str | None = None  # the first fatal alert, sent or received
        self.closed = False  # gnutls-serv freed the session: the connection is over
        self._cleanup_ended = False

    def read(self, line: str) -> None:
        if ACCEPTED.match(line):
            self.accepted = True
        elif match := CONNECTED_AS.match(line):
            self.identity = match.group(1)
        elif match := SUMMARY.match(line):
            self.summary[match.group(1)] = match.group(2)
        elif OPTIONS.match(line):
            self.established = self.error is None
        elif match := KEY_MATERIAL.match(line):
            self.material = match.group(1).lower()
        elif match := HANDSHAKE_ERROR.match(line):
            self.error = match.group(1)
        elif match := ALERT_SENT.search(line):
            self._alert(int(match.group(1)), int(match.group(2)), "sent")
        elif match := ALERT_RECEIVED.search(line):
            self._alert(int(match.group(1)), int(match.group(2)), "received")
        elif EPOCH_FREED.search(line) and self._cleanup_ended and self.accepted:
            # Epochs freed right after a cleanup pass: gnutls_deinit of the session.
            self.closed = True
        self._cleanup_ended = bool(EPOCH_CLEANUP_END.search(line))

    def _alert(self, level: int, description: int, direction: str) -> None:
        if level == 2 and self.alert is None:
            name = ALERT_NAMES.get(description, f"alert_{description}")
            self.alert = f"{name} ({direction})"

    def suite(self) -> str | None:
        parts = tuple(self.summary.get(k) for k in ("Key Exchange", "Cipher", "MAC"))
        code = CODES.get(parts)  # type: ignore[arg-type]
        return f"0x{code:04X}" if code is not None else None


def serve(
    lines: queue.Queue[str | None],
    host: str,
    port: int,
    timeout: float,
    entities: list[dict[str, Any]],
    export: dict[str, Any] | None,
) -> None:
    wait_listening(lines, timeout)
    emit("ready", listen={"host": host, "port": port})

    # The harness connects now; the whole connection must fit in the timeout again.
    deadline = time.monotonic() + timeout
    conn = Connection()
    reported = False
    try:
        while (line := next_line(lines, deadline)) is not None:
            conn.read(line)
            if conn.closed:
                break
            ready_to_report = conn.established and (export is None or conn.material)
            if ready_to_report and not reported:
                # Report now: the peer may still exchange application data (echoed).
                report(conn, entities, export)
                reported = True
    except TimeoutError:
        pass
    if reported:
        return
    if conn.established or conn.error or conn.alert:
        report(conn, entities, export)
    elif conn.accepted:
        emit("result", status="timeout", detail="the handshake did not finish in time")
    else:
        emit("result", status="timeout", detail="no connection within the timeout")


def report(conn: Connection, entities: list[dict[str, Any]], export: dict[str, Any] | None) -> None:
    established = conn.established and conn.alert is None
    entity = next((e for e in entities if e["kpsaId"] == conn.identity), None)
    details = [f"gnutls-serv: {conn.error}"] if conn.error else []
    if established and entity is None:
        details.append(f"no authorized entity has the KpsaId {conn.identity!r}")
    if established and export and not conn.material:
        details.append("gnutls-serv printed no exporter value")
    emit(
        "result",
        status="established" if established else "refused",
        cipher_suite=conn.suite() if established else None,
        peer_identity=entity["otherEntityIdentifier"] if established and entity else None,
        psk_identity=conn.identity,
        alert=conn.alert,
        keys={export["label"]: conn.material} if established and export and conn.material else {},
        detail="; ".join(details),
    )


if __name__ == "__main__":
    main()
