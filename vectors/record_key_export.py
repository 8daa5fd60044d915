"""Record oneM2M key-export vectors (TS-0003 10.3.1) from real OpenSSL / GnuTLS handshakes.

Run by hand (``PYTHONPATH=. python vectors/record_key_export.py >
vectors/onem2m_key_export_openssl.json``); the tests only read the JSON. Every vector is
one TLS 1.2 or DTLS 1.2 PSK handshake on loopback between two command-line tools, each
asked for the RFC 5705 exporter (no context) with a oneM2M label and 48 octets
(``-keymatexport LABEL -keymatexportlen 48`` / ``--keymatexport LABEL
--keymatexportsize 48``). A vector is written only when both ends printed the same value.

The session inputs of the exporter are taken from the tools, never from harness code,
and each from two places that must agree:

- master secret: the ``Master-Key`` line of ``s_client``'s session printout (for a
  GnuTLS client: ``openssl sess_id -text`` on the session ``s_server`` prints), and the
  ``CLIENT_RANDOM`` line of both ends' key logs (``-keylogfile``; GnuTLS: SSLKEYLOGFILE);
- client random: that key-log line, and the ClientHello in ``-msg`` output;
- server random: the ServerHello in ``-msg`` output.

The harness is used only afterwards, for the oneM2M values (RelativeKcID, Kc, KcID) that
harness.key_export defines, so the JSON records what those definitions give on
OpenSSL's output; tests/test_key_export.py recomputes the exporter itself.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.key_export import BOOTSTRAP_LABEL, CONNECTION_LABEL, EXPORT_LENGTH, split_export
from harness.tls.suites import parse_suite

HOST = "127.0.0.1"
TIMEOUT = 10.0  # bound on every wait for a peer
NO_EMS_CONF = """openssl_conf = conf
[conf]
ssl_conf = ssl
[ssl]
system_default = sys
[sys]
Options = -ExtendedMasterSecret
"""
KEYING_MATERIAL = re.compile(r"Key(?:ing)? material: ([0-9A-Fa-f]+)")
MASTER_KEY = re.compile(r"Master-Key: ([0-9A-F]+)")


@dataclass(frozen=True)
class Case:
    """One handshake to record."""

    comment: str
    transport: str  # "tls" or "dtls"
    cipher: str  # OpenSSL cipher-list name
    ems: bool  # False: EMS switched off on both ends (OpenSSL config)
    label: str
    psk_identity: str  # shaped like a KmID (or, for bootstrap, an enrolee credential ID)
    psk: str  # hex
    fqdn: str  # the MAF (connection) or MEF (bootstrap) FQDN of the KcID / KeID
    client: str = "openssl"  # "openssl" or "gnutls" (cross-check against s_server)
    gnutls_priority: str | None = None  # "+KX:+CIPHER:+MAC" for a GnuTLS client


CASES = [
    Case(
        "TLS 1.2 PSK-AES128-CBC-SHA256 (0x00AE, the TLS mandatory suite), EMS",
        "tls", "PSK-AES128-CBC-SHA256", True, CONNECTION_LABEL,
        "dev42@maf.example.com", "3a1f9c0e5b7d2468ace013579bdf2468", "maf.example.com",
    ),
    Case(
        "TLS 1.2 PSK-AES128-CBC-SHA256, EMS switched off (RFC 5246 master secret)",
        "tls", "PSK-AES128-CBC-SHA256", False, CONNECTION_LABEL,
        "sensor-7@maf.example.com", "00112233445566778899aabbccddeeff", "maf.example.com",
    ),
    Case(
        "TLS 1.2 DHE-PSK-AES128-CBC-SHA256 (0x00B2), EMS",
        "tls", "DHE-PSK-AES128-CBC-SHA256", True, CONNECTION_LABEL,
        "dev42@maf.example.com", "3a1f9c0e5b7d2468ace013579bdf2468", "maf.example.com",
    ),
    Case(
        "DTLS 1.2 PSK-AES128-CCM8 (0xC0A8, the DTLS mandatory suite), EMS",
        "dtls", "PSK-AES128-CCM8", True, CONNECTION_LABEL,
        "meter-0001@maf.example.net", "f0e1d2c3b4a5968778695a4b3c2d1e0f", "maf.example.net",
    ),
    Case(
        "TLS 1.2 PSK-AES128-CBC-SHA256, EMS; gnutls-cli client against openssl s_server,"
        " both print the same exporter value and log the same master secret",
        "tls", "PSK-AES128-CBC-SHA256", True, CONNECTION_LABEL,
        "dev43@maf.example.com", "5f4dcc3b5aa765d61d8327deb882cf99", "maf.example.com",
        client="gnutls", gnutls_priority="+PSK:+AES-128-CBC:+SHA256",
    ),
    Case(
        "TLS 1.2 PSK-AES128-CBC-SHA256, bootstrap label, EMS",
        "tls", "PSK-AES128-CBC-SHA256", True, BOOTSTRAP_LABEL,
        "enrolee-9@mef.example.com", "c0ffee00c0ffee00c0ffee00c0ffee00", "mef.example.com",
    ),
]  # fmt: skip


class Peer:
    """A CLI peer whose output goes to a file; stdin stays open until ``close``."""

    def __init__(self, args: list[str], out_path: Path, env: dict[str, str]) -> None:
        self.args = args
        self.out_path = out_path
        self._out: IO[bytes] = open(out_path, "wb")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=self._out, stderr=subprocess.STDOUT, env=env
        )

    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def wait_for(self, pattern: re.Pattern[str] | str, timeout: float = TIMEOUT) -> re.Match[str]:
        """First match of ``pattern`` in the output within ``timeout``; raise otherwise."""
        regex = re.compile(pattern, re.M) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.output())
            if match:
                return match
            if self.proc.poll() is not None:
                match = regex.search(self.output())
                if match:
                    return match
                raise RuntimeError(f"{self.args[0]} exited first:\n{self.output()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {regex.pattern!r} from {self.args[0]}:\n{self.output()}")
            time.sleep(0.05)

    def close(self, timeout: float = 5.0) -> str:
        """Close stdin (the tools then shut the connection down), bounded wait, kill."""
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self._out.close()
        return self.output()


def _free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _hellos(msg_output: str, dtls: bool) -> tuple[str, str, int]:
    """(client_random, server_random, chosen suite) from the ClientHello / ServerHello
    of ``-msg`` output.

    OpenSSL 3.0 names TLS handshake messages in ``-msg`` output but prints DTLS records
    as "Not TLS data or unknown version (..., content_type=22)"; for those the handshake
    type is the first octet. Only the first ClientHello / ServerHello is kept: records
    after ChangeCipherSpec are encrypted and could start with any octet.
    """
    header = 12 if dtls else 4  # handshake header: DTLS adds message_seq and fragment fields
    names = {1: "ClientHello", 2: "ServerHello"}
    bodies: dict[str, bytes] = {}
    for block in re.split(r"\n(?=>>> |<<< )", msg_output):
        lines = block.splitlines()
        hexdata = "".join(
            line.replace(" ", "")
            for line in lines[1:]
            if re.fullmatch(r"\s+([0-9a-f]{2} ?)+", line)
        )
        data = bytes.fromhex(hexdata)
        named = re.match(r"(?:>>>|<<<) D?TLS 1\.\d, Handshake \[length [0-9a-f]+\], (\w+)", block)
        if named:
            name = named.group(1)
        elif dtls and "content_type=22)" in lines[0] and data:
            name = names.get(data[0], "")
        else:
            continue
        if name in names.values() and name not in bodies:
            bodies[name] = data[header:]
    client_hello, server_hello = bodies["ClientHello"], bodies["ServerHello"]
    version = b"\xfe\xfd" if dtls else b"\x03\x03"
    assert client_hello[:2] == version and server_hello[:2] == version, bodies
    # ServerHello: version(2) random(32) session_id<0..32> cipher_suite(2) ...
    at = 34 + 1 + server_hello[34]
    suite = int.from_bytes(server_hello[at : at + 2], "big")
    return client_hello[2:34].hex(), server_hello[2:34].hex(), suite


def _keylog(path: Path) -> tuple[str, str]:
    """(client_random, master_secret) of the one CLIENT_RANDOM line of an NSS key log."""
    lines = [x.split() for x in path.read_text().splitlines() if x.startswith("CLIENT_RANDOM")]
    assert len(lines) == 1, lines
    return lines[0][1].lower(), lines[0][2].lower()


def _session_master_key(pem_session: str, env: dict[str, str]) -> str:
    """Master-Key of a PEM SSL session, printed by ``openssl sess_id -text``."""
    text = subprocess.run(
        ["openssl", "sess_id", "-text", "-noout"],
        input=pem_session, capture_output=True, text=True, timeout=TIMEOUT, check=True, env=env,
    ).stdout  # fmt: skip
    match = MASTER_KEY.search(text)
    assert match, text
    return match.group(1).lower()


def record(case: Case, tmp: Path) -> dict[str, Any]:
    """Run the case's handshake and return the vector's per-test fields."""
    dtls = case.transport == "dtls"
    env = dict(os.environ)
    if not case.ems:
        (tmp / "no_ems.cnf").write_text(NO_EMS_CONF)
        env["OPENSSL_CONF"] = str(tmp / "no_ems.cnf")
    cipher = f"{case.cipher}:@SECLEVEL=0" if "CCM8" in case.cipher else case.cipher
    version = "-dtls1_2" if dtls else "-tls1_2"
    port = _free_port(socket.SOCK_DGRAM if dtls else socket.SOCK_STREAM)
    export = ["-keymatexport", case.label, "-keymatexportlen", str(EXPORT_LENGTH)]
    server = Peer(
        ["openssl", "s_server", version, "-accept", f"{HOST}:{port}", "-psk", case.psk,
         "-psk_identity", case.psk_identity, "-nocert", "-cipher", cipher, "-naccept", "1",
         "-no_ticket", "-msg", "-keylogfile", str(tmp / "server.keylog"), *export],
        tmp / "server.out", env,
    )  # fmt: skip
    client: Peer | None = None
    try:
        server.wait_for(r"^ACCEPT", TIMEOUT)
        if case.client == "openssl":
            client = Peer(
                ["openssl", "s_client", version, "-connect", f"{HOST}:{port}", "-psk", case.psk,
                 "-psk_identity", case.psk_identity, "-cipher", cipher, "-noservername", "-msg",
                 "-keylogfile", str(tmp / "client.keylog"), *export],
                tmp / "client.out", env,
            )  # fmt: skip
        else:
            assert case.gnutls_priority and not dtls
            stdbuf = shutil.which("stdbuf")
            priority = (
                "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:-CIPHER-ALL:-MAC-ALL:" + case.gnutls_priority
            )
            client = Peer(
                ([stdbuf, "-oL", "-eL"] if stdbuf else [])
                + ["gnutls-cli", "-p", str(port), HOST, "--pskusername", case.psk_identity,
                   "--pskkey", case.psk, "--priority", priority,
                   "--keymatexport", case.label, "--keymatexportsize", str(EXPORT_LENGTH)],
                tmp / "client.out", env | {"SSLKEYLOGFILE": str(tmp / "client.keylog")},
            )  # fmt: skip
        server_km = server.wait_for(KEYING_MATERIAL).group(1).lower()
        client_km = client.wait_for(KEYING_MATERIAL).group(1).lower()
    finally:
        client_out = client.close() if client else ""
        server_out = server.close()
    assert server_km == client_km, (server_out, client_out)
    assert len(server_km) == 2 * EXPORT_LENGTH

    keylog_random, keylog_master = _keylog(tmp / "server.keylog")
    assert _keylog(tmp / "client.keylog") == (keylog_random, keylog_master)
    if case.client == "openssl":
        printed_master = MASTER_KEY.search(client_out)
        assert printed_master, client_out
        session_master = printed_master.group(1).lower()
        ems_line = re.search(r"Extended master secret: (yes|no)", client_out)
        assert ems_line and (ems_line.group(1) == "yes") is case.ems, client_out
    else:
        pem = re.search(
            r"-----BEGIN SSL SESSION PARAMETERS-----.*?-----END SSL SESSION PARAMETERS-----",
            server_out,
            re.S,
        )
        assert pem, server_out
        session_master = _session_master_key(pem.group(0), env)
        assert ("extended master secret" in client_out) is case.ems, client_out
    assert session_master == keylog_master
    client_random, server_random, suite = _hellos(server_out, dtls)
    assert client_random == keylog_random
    assert suite == parse_suite(case.cipher).code, hex(suite)

    exported = split_export(bytes.fromhex(server_km))
    return {
        "transport": case.transport,
        "cipher": case.cipher,
        "cipher_suite": f"{suite:04x}",
        "psk_identity": case.psk_identity,
        "psk": case.psk,
        "client_random": client_random,
        "server_random": server_random,
        "extended_master_secret": case.ems,
        "master_secret": keylog_master,
        "exporter_output": server_km,
        "fqdn": case.fqdn,
        "relative_id": exported.relative_id.hex(),
        "key": exported.key.hex(),
        "key_id": exported.key_id(case.fqdn),
    }


def _tool_version(args: list[str]) -> str:
    out = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, check=True)
    return out.stdout.splitlines()[0].strip()


def _flags(case: Case) -> list[str]:
    flags = ["ExtendedMasterSecret" if case.ems else "LegacyMasterSecret"]
    flags.append("DHE_PSK" if case.cipher.startswith("DHE-PSK") else "PSK")
    flags.append("DTLS12" if case.transport == "dtls" else "TLS12")
    if case.client == "gnutls":
        flags.append("GnuTLSCrossCheck")
    return flags


GROUPS = {
    CONNECTION_LABEL: {
        "relativeIdName": "RelativeKcID",
        "keyName": "Kc",
        "keyIdName": "KcID",
        "fqdnOf": "MAF",
    },
    BOOTSTRAP_LABEL: {
        "relativeIdName": "RelativeKeID",
        "keyName": "Ke",
        "keyIdName": "KeID",
        "fqdnOf": "MEF",
    },
}


def main() -> None:
    openssl = _tool_version(["openssl", "version"])
    gnutls = _tool_version(["gnutls-cli", "--version"])
    tests: dict[str, list[dict[str, Any]]] = {label: [] for label in GROUPS}
    for number, case in enumerate(CASES, start=1):
        with tempfile.TemporaryDirectory() as tmp:
            fields = record(case, Path(tmp))
        client = gnutls if case.client == "gnutls" else "openssl s_client"
        tests[case.label].append(
            {
                "tcId": number,
                "comment": case.comment,
                "flags": _flags(case),
                "client": client,
                "server": "openssl s_server",
                **fields,
                "result": "valid",
            }
        )
    document = {
        "algorithm": "oneM2M-TS-0003-KeyExport",
        "schema": "onem2m_key_export_schema.json",
        "generatorVersion": "record_key_export.py",
        "header": [
            f"Recorded from {openssl} and {gnutls} on {datetime.date.today().isoformat()}",
            "by vectors/record_key_export.py: openssl s_server -psk -nocert -keymatexport LABEL",
            "-keymatexportlen 48 -msg -keylogfile against openssl s_client (or gnutls-cli",
            "--keymatexport LABEL --keymatexportsize 48) on loopback. exporter_output is the",
            "value both ends printed (RFC 5705, no context); master_secret and randoms come",
            "from the tools' key logs, session printouts and -msg hello messages.",
            "relative_id / key / key_id: TS-0003 10.3.1, 10.3.4 with spec-profile I-02",
            "(first 16 octets identify, last 32 are the key) and I-04 (lower-case hexBinary).",
        ],
        "notes": {
            "ExtendedMasterSecret": "RFC 7627 master secret (both ends negotiated EMS)",
            "LegacyMasterSecret": "RFC 5246 master secret (EMS off through an OpenSSL config)",
            "PSK": "RFC 4279 plain PSK key exchange",
            "DHE_PSK": "RFC 4279 DHE_PSK key exchange (premaster not recomputable: the DH"
            " private values are not revealed; the exporter is, from the master secret)",
            "TLS12": "TLS 1.2 over TCP",
            "DTLS12": "DTLS 1.2 over UDP",
            "GnuTLSCrossCheck": "client is gnutls-cli: GnuTLS and OpenSSL printed the same"
            " exporter value and logged the same master secret (second, independent oracle)",
        },
        "numberOfTests": len(CASES),
        "testGroups": [
            {
                "type": "OneM2MKeyExportTest",
                "label": label,
                "length": EXPORT_LENGTH,
                **names,
                "tests": tests[label],
            }
            for label, names in GROUPS.items()
        ],
    }
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
