"""Record TLS 1.2 PSK key-schedule and RFC 5705 exporter vectors from OpenSSL.

Run by hand (``python vectors/record_openssl.py > vectors/tls12_psk_openssl.json``); the
tests only read the JSON. Both peers are the OpenSSL CLI, so every value is OpenSSL's:
the handshake messages from ``s_client -msg``, the master secret from ``-keylogfile``,
and the exporter output from ``-keymatexport`` (the RFC 5705 "no context" form). EMS is
switched off through an OpenSSL config file (``Options = -ExtendedMasterSecret``),
as OpenSSL 3.0's s_client has no flag for it.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time

PSK = "0b7e151628aed2a6abf7158809cf4f3c"
IDENTITY = "0123456789abcdef0123456789abcdef@maf.example.com"
CASES = [
    ("PSK-AES128-CBC-SHA256", True, "EXPORTER-oneM2M-Connection", 48),
    ("PSK-AES128-CBC-SHA256", False, "EXPORTER-oneM2M-Connection", 48),
    ("PSK-AES128-CCM", True, "EXPORTER-oneM2M-Bootstrap", 48),
    ("PSK-AES128-CCM", False, "EXPORTER-oneM2M-Bootstrap", 48),
    ("PSK-AES128-CCM8:@SECLEVEL=0", True, "EXPORTER-oneM2M-Connection", 20),
    ("PSK-AES128-CCM8:@SECLEVEL=0", False, "EXPORTER-oneM2M-Connection", 100),
]
NO_EMS_CONF = """openssl_conf = conf
[conf]
ssl_conf = ssl
[ssl]
system_default = sys
[sys]
Options = -ExtendedMasterSecret
"""


def _messages(msg_output: str) -> list[tuple[str, str, bytes]]:
    """(direction, name, bytes) of each handshake message in ``-msg`` output."""
    out = []
    blocks = re.split(r"\n(?=>>> |<<< )", msg_output)
    for block in blocks:
        head = re.match(r"(>>>|<<<) TLS 1\.2, Handshake \[length [0-9a-f]+\], (\w+)", block)
        if not head:
            continue
        hexdata = "".join(
            line.strip().replace(" ", "")
            for line in block.splitlines()[1:]
            if re.fullmatch(r"\s+([0-9a-f]{2} ?)+", line)
        )
        out.append((head.group(1), head.group(2), bytes.fromhex(hexdata)))
    return out


def record(cipher: str, ems: bool, label: str, length: int, port: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        keylog = os.path.join(tmp, "keylog.txt")
        env = dict(os.environ)
        if not ems:
            conf = os.path.join(tmp, "no_ems.cnf")
            with open(conf, "w") as handle:
                handle.write(NO_EMS_CONF)
            env["OPENSSL_CONF"] = conf
        server_cmd = [
            "openssl",
            "s_server",
            "-tls1_2",
            "-accept",
            f"127.0.0.1:{port}",
            "-psk",
            PSK,
            "-psk_identity",
            IDENTITY,
            "-nocert",
            "-cipher",
            cipher,
            "-keymatexport",
            label,
            "-keymatexportlen",
            str(length),
            "-naccept",
            "1",
            "-no_ticket",
        ]
        client_cmd = [
            "openssl",
            "s_client",
            "-tls1_2",
            "-connect",
            f"127.0.0.1:{port}",
            "-psk",
            PSK,
            "-psk_identity",
            IDENTITY,
            "-cipher",
            cipher,
            "-keymatexport",
            label,
            "-keymatexportlen",
            str(length),
            "-msg",
            "-keylogfile",
            keylog,
            "-noservername",
        ]
        server = subprocess.Popen(
            server_cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
        time.sleep(0.5)
        client = subprocess.Popen(
            client_cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
        time.sleep(1.0)
        client.kill()
        server.kill()
        client_out = client.communicate(timeout=5)[0].decode(errors="replace")
        server_out = server.communicate(timeout=5)[0].decode(errors="replace")
        with open(keylog) as handle:
            line = next(x for x in handle if x.startswith("CLIENT_RANDOM"))
    _, client_random, master = line.split()
    server_km = re.search(r"Keying material: ([0-9A-F]+)", server_out)
    client_km = re.search(r"Keying material: ([0-9A-F]+)", client_out)
    assert server_km and client_km and server_km.group(1) == client_km.group(1), (
        server_out,
        client_out,
    )
    assert ("Extended master secret: yes" in client_out) is ems, client_out
    messages = _messages(client_out)
    up_to_cke = []
    for _direction, name, data in messages:
        up_to_cke.append(data)
        if name == "ClientKeyExchange":
            break
    server_hello = next(d for _, n, d in messages if n == "ServerHello")
    server_random = server_hello[6:38].hex()
    assert messages[0][2][6:38].hex() == client_random
    return {
        "cipher": cipher.split(":")[0],
        "psk": PSK,
        "client_random": client_random,
        "server_random": server_random,
        "handshake_messages": [m.hex() for m in up_to_cke],
        "extended_master_secret": ems,
        "master_secret": master,
        "label": label.encode().hex(),
        "length": length,
        "exporter_no_context": client_km.group(1).lower(),
    }


def main() -> None:
    version = subprocess.run(
        ["openssl", "version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    tests = []
    for number, (cipher, ems, label, length) in enumerate(CASES, start=1):
        case = record(cipher, ems, label, length, 47000 + number)
        tests.append(
            {
                "tcId": number,
                "comment": f"{case['cipher']}, EMS {'on' if ems else 'off'}",
                "flags": ["ExtendedMasterSecret" if ems else "LegacyMasterSecret"],
                **case,
                "result": "valid",
            }
        )
    document = {
        "algorithm": "TLS1.2-PSK-KeySchedule",
        "schema": "tls12_psk_key_schedule_schema.json",
        "generatorVersion": "record_openssl.py",
        "header": [
            f"Recorded from {version} on {datetime.date.today().isoformat()} with openssl s_server/s_client",
            "-tls1_2 -psk -keymatexport -keylogfile -msg (see vectors/record_openssl.py).",
            "Inputs: psk, randoms and the handshake messages up to ClientKeyExchange;",
            "outputs: OpenSSL's master secret and its RFC 5705 exporter value (no context).",
        ],
        "notes": {
            "ExtendedMasterSecret": "RFC 7627 master secret over the session hash of handshake_messages",
            "LegacyMasterSecret": "RFC 5246 master secret from client_random + server_random",
        },
        "numberOfTests": len(tests),
        "testGroups": [{"type": "PskKeyScheduleTest", "keyExchange": "PSK", "tests": tests}],
    }
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
