#!/usr/bin/env python3
"""m2mconf command-adapter shim: a chain of `openssl s_client` runs acting as Entity A of
the MAF-based SAEF (TS-0003 8.2.2.3; docs/saef-maf.md), over TLS 1.2 or DTLS 1.2.

OpenSSL has no notion of a MAF, but its command line has every piece: a PSK handshake
(`-psk`, `-psk_identity`, `-servername`) and the RFC 5705 exporter (`-keymatexport`).
So the shim is Entity A's logic, and OpenSSL does each handshake:

1. MAF handshake (leg ``maf_handshake``), towards ``peers.maf``: psk = Km
   (masterCredential), psk_identity = KmID (masterCredentialIdentifier), SNI = the
   mafIdentifier, exporting 48 octets of ``EXPORTER-oneM2M-Connection``. The first 16
   octets are the RelativeKcID, the last 32 the Kc (interpretation I-02);
   KcID = lower-case hex of RelativeKcID + "@" + mafIdentifier (I-04).
2. Association (leg ``association``), towards ``connect``: psk = Kc, psk_identity =
   KcID, SNI = otherEntityHostName.

``expected_legs.association`` = n rounds of 2., one after another. Kc and KcID are
kept and reused across rounds (SAEF-MAF-14/26): the MAF handshake runs before the first
round only. When Entity B refuses a stored Kc, the shim discards it, runs a new MAF
handshake and retries that round once (SAEF-MAF-27). A refused Kc fresh from the MAF
is discarded without a retry (it is the key the MAF just gave; asking again would
hide a fault). The whole run, every s_client included, is bounded by the request's
``timeout``.

Standard library only, so it can be copied anywhere; exit 89 for what it cannot play.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

UNSUPPORTED = 89
LABEL = "EXPORTER-oneM2M-Connection"
EXPORT_LENGTH, RELATIVE_ID_OCTETS = 48, 16  # RelativeKcID || Kc (32 octets)
REQUIRED = (
    "mafIdentifier",
    "masterCredential",
    "masterCredentialIdentifier",
    "otherEntityIdentifier",
    "otherEntityHostName",
)

# IANA code -> OpenSSL name, for the suites OpenSSL 3.0's CLI can offer over (D)TLS 1.2.
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


# --- one s_client run ------------------------------------------------------------------------


@dataclass
class Handshake:
    """What one s_client run showed: its status as a leg status, and what it printed."""

    status: str  # established | refused | timeout
    cipher_suite: int | None = None
    alert: str | None = None
    material: str | None = None  # the exporter value, lower-case hex, when established
    detail: str = ""


@dataclass
class Link:
    """How to reach one peer: where, over which transport, offering which suites."""

    host: str
    port: int
    dtls: bool
    ciphers: str  # OpenSSL cipher string


def s_client(
    link: Link, psk: str, identity: str, sni: str, export: tuple[str, int] | None, bound: float
) -> Handshake:
    """One handshake by `openssl s_client`, stdin at EOF so it exits right after it,
    killed after ``bound`` seconds."""
    command = [
        "openssl", "s_client", "-connect", f"{link.host}:{link.port}",
        "-dtls1_2" if link.dtls else "-tls1_2", "-msg",
        "-psk", psk, "-psk_identity", identity, "-servername", sni,
        "-cipher", link.ciphers,
    ]  # fmt: skip
    if export is not None:
        command += ["-keymatexport", export[0], "-keymatexportlen", str(export[1])]
    emit("log", message=loggable(command))
    if bound <= 0:
        return Handshake("timeout", detail="no time left within the request's timeout")
    try:
        run = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=bound,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Handshake("timeout", detail=f"s_client did not finish within {bound:.1f} s")
    return read_output(run.stdout.decode("utf-8", "replace").splitlines(), run.returncode)


def read_output(lines: list[str], code: int) -> Handshake:
    """established only if the peer's Finished arrived, no fatal alert was seen and
    s_client exited 0; the suite from the session block; the exporter value."""
    records = dtls_records(lines)
    finished = any(FINISHED_RECEIVED.match(line) for line in lines) or any(
        arrow == "<<<" and kind == DTLS_HANDSHAKE and body[:1] == bytes([DTLS_FINISHED])
        for arrow, kind, body in records
    )
    alert = first_fatal_alert(lines, records)
    established = finished and alert is None and code == 0
    cipher = next((m.group(1) for m in map(SESSION_CIPHER.match, lines) if m), None)
    material = next((m.group(1) for m in map(KEYING_MATERIAL.match, lines) if m), None)
    errors = [line for line in lines if ":error:" in line]
    return Handshake(
        status="established" if established else "refused",
        cipher_suite=CODES.get(cipher or "") if established else None,
        alert=alert,
        material=material.lower() if established and material else None,
        detail="; ".join(errors[-2:]) or f"s_client exit code {code}",
    )


def dtls_records(lines: list[str]) -> list[tuple[str, int, bytes]]:
    """(direction, content_type, first bytes) of each DTLS record -msg printed: OpenSSL
    3.0 names no DTLS message, but prints the record's bytes on the next line."""
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


def first_fatal_alert(lines: list[str], records: list[tuple[str, int, bytes]]) -> str | None:
    for line in lines:
        match = ALERT.match(line)
        if match and match.group(2) == "fatal":
            return f"{match.group(3)} ({'received' if match.group(1) == '<<<' else 'sent'})"
    for arrow, kind, body in records:
        if kind == DTLS_ALERT and len(body) >= 2 and body[0] == 2:
            name = ALERT_NAMES.get(body[1], f"alert_{body[1]}")
            return f"{name} ({'received' if arrow == '<<<' else 'sent'})"
    return None


# --- Entity A --------------------------------------------------------------------------------


@dataclass
class Kc:
    """The key and identifier a MAF handshake gave (TS-0003 10.3.1, 10.3.4)."""

    key: str  # Kc, 32 octets, hex
    kc_id: str  # KcID = lower-hex(RelativeKcID) "@" mafIdentifier


def split_export(material: str, maf_identifier: str) -> Kc:
    """RelativeKcID = the first 16 octets, Kc = the last 32 (I-02); lower case (I-04)."""
    octets = bytes.fromhex(material)
    if len(octets) != EXPORT_LENGTH:
        raise ValueError(f"exporter gave {len(octets)} octets, not {EXPORT_LENGTH}")
    relative, key = octets[:RELATIVE_ID_OCTETS], octets[RELATIVE_ID_OCTETS:]
    return Kc(key.hex(), f"{relative.hex()}@{maf_identifier}")


@dataclass
class EntityA:
    config: dict[str, Any]
    maf: Link
    entity_b: Link
    export: tuple[str, int] | None  # the association's exporter value to report
    deadline: float
    legs: list[dict[str, Any]] = field(default_factory=list)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def maf_handshake(self, round_: int) -> Kc | None:
        """Leg maf_handshake: Km/KmID to the MAF; the Kc it yields, or None."""
        km_id = self.config["masterCredentialIdentifier"]
        maf_id = self.config["mafIdentifier"]
        run = s_client(
            self.maf,
            self.config["masterCredential"],
            km_id,
            maf_id,
            (LABEL, EXPORT_LENGTH),
            self.remaining(),
        )
        kc = None
        if run.status == "established":
            if run.material is None:
                run.status, run.detail = "error", "s_client printed no keying material"
            else:
                try:
                    kc = split_export(run.material, maf_id)
                except ValueError as exc:
                    run.status, run.detail = "error", str(exc)
        self.legs.append(
            leg(
                "maf_handshake", "maf", run, psk_identity=km_id,
                keys={LABEL: run.material} if kc else {},
                fields={"round": round_, **({"kcId": kc.kc_id} if kc else {})},
            )
        )  # fmt: skip
        return kc

    def association(self, kc: Kc, round_: int) -> str:
        """Leg association: Kc/KcID to Entity B; the leg's status."""
        run = s_client(
            self.entity_b,
            kc.key,
            kc.kc_id,
            self.config["otherEntityHostName"],
            self.export,
            self.remaining(),
        )
        established = run.status == "established"
        keys = {}
        if established and self.export and run.material:
            keys = {self.export[0]: run.material}
        self.legs.append(
            leg(
                "association", "entity_b", run, psk_identity=kc.kc_id, keys=keys,
                peer_identity=self.config["otherEntityIdentifier"] if established else None,
                fields={"round": round_, "kcId": kc.kc_id},
            )
        )  # fmt: skip
        return run.status

    def run(self, rounds: int) -> None:
        kc: Kc | None = None
        for round_ in range(1, rounds + 1):
            fresh = kc is None
            if kc is None and (kc := self.maf_handshake(round_)) is None:
                return  # no key from the MAF: A has nothing to associate with
            status = self.association(kc, round_)
            if status == "refused" and not fresh:
                # SAEF-MAF-27: B's refusal of a stored Kc is what tells A to renew it.
                emit("log", message=f"round {round_}: stored KcID {kc.kc_id} refused, renewing")
                if (kc := self.maf_handshake(round_)) is None:
                    return
                status = self.association(kc, round_)
            if status != "established":
                kc = None  # a refused key is no use for the next round either


def leg(name: str, peer: str, run: Handshake, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "peer": peer,
        "status": run.status,
        "cipher_suite": None if run.cipher_suite is None else f"0x{run.cipher_suite:04X}",
        "peer_identity": None,
        "alert": run.alert,
        "detail": run.detail,
        **fields,
    }


def main() -> None:
    started = time.monotonic()
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    if request["role"] != "entity_a":
        unsupported(f"this shim plays entity_a only, not {request['role']}")
    if request["framework"] != "saef-maf":
        unsupported(f"this shim implements saef-maf only, not {request['framework']}")
    if request["transport"] not in ("tls", "dtls"):
        unsupported(f"this shim runs TLS 1.2 or DTLS 1.2, not {request['transport']}")
    names = [OPENSSL_NAMES.get(int(code, 16)) for code in request["cipher_suites"]]
    ciphers = [name for name in names if name]
    if not ciphers:
        unsupported(f"none of {request['cipher_suites']} is known to OpenSSL's CLI")
    config = request["configuration"]
    peers = request.get("peers") or {}
    missing = [f"configuration.{key}" for key in REQUIRED if not config.get(key)]
    missing += ["peers.maf"] if not peers.get("maf") else []
    missing += [] if request.get("connect") or peers.get("entity_b") else ["connect"]
    if missing:
        emit("result", status="error", detail=f"request lacks {', '.join(missing)}")
        return
    dtls = request["transport"] == "dtls"
    cipher_string = ":".join(ciphers) + ":@SECLEVEL=0"  # level 0: PSK-only suites, no cert

    def link(address: dict[str, Any]) -> Link:
        return Link(address["host"], int(address["port"]), dtls, cipher_string)

    export = None
    for i, wanted in enumerate(request.get("exports") or []):
        if export is None and wanted.get("context") is None:
            export = (wanted["label"], int(wanted["length"]))
        else:
            why = "s_client exports one value" if export else "s_client has no context option"
            emit("log", message=f"export {i} ({wanted['label']}) not reported: {why}")
    entity = EntityA(
        config=config,
        maf=link(peers["maf"]),
        entity_b=link(request.get("connect") or peers["entity_b"]),
        export=export,
        deadline=started + float(request.get("timeout") or 5.0),
    )
    rounds = int((request.get("expected_legs") or {}).get("association", 1))
    entity.run(rounds)
    report(entity.legs, rounds)


def report(legs: list[dict[str, Any]], rounds: int) -> None:
    """The top-level fields describe the last association (else the last leg: a MAF
    handshake that failed); every leg goes in ``legs``, in the order it ran."""
    associations = [item for item in legs if item["name"] == "association"]
    main_leg = (associations or legs or [None])[-1]
    if main_leg is None:
        emit("result", status="error", detail=f"expected_legs.association = {rounds}: no round")
        return
    done = len({item["fields"]["round"] for item in associations})
    detail = main_leg["detail"]
    if done < rounds:
        detail = f"{done} of {rounds} association rounds ran; {detail}"
    emit(
        "result",
        status=main_leg["status"],
        cipher_suite=main_leg["cipher_suite"],
        peer_identity=main_leg["peer_identity"],
        psk_identity=main_leg["psk_identity"],
        alert=main_leg["alert"],
        keys=main_leg["keys"],
        detail=detail,
        legs=legs,
    )


if __name__ == "__main__":
    main()
