"""Wireshark is the independent oracle of the pcap and key-log writers.

A lab opens the per-purpose pcap with its .keys file in Wireshark. Here tshark does
the same: it must parse the synthetic TCP stream as TLS, find the psk_identity, and
decrypt both Finished messages and the application data with the NSS key log.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from campaign_cli import run_campaign

PROBE_HEX = b"oneM2M-conformance-probe\n".hex()

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")


def tshark_fields(
    pcap: Path, keys: Path | None, *fields: str, protocol: str = "tls"
) -> list[list[str]]:
    command = ["tshark", "-r", str(pcap), "-Y", protocol, "-T", "fields"]
    if keys is not None:
        command += ["-o", f"tls.keylog_file:{keys}"]
    for name in fields:
        command += ["-e", name]
    out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = tmp_path_factory.mktemp("wireshark")
    result = run_campaign(report, "--sut", "reference", "--select", "TP/SAEF-PSK/B/01")
    assert result.exit_code == 0, result.output
    return report / "captures"


def test_wireshark_decrypts_every_suite(captures: Path) -> None:
    pcaps = sorted(captures.glob("*_tls_*.pcap"))
    assert len(pcaps) >= 5, f"expected one pcap per profile suite, found {pcaps}"
    for pcap in pcaps:
        keys = pcap.with_suffix(".keys")
        rows = tshark_fields(
            pcap, keys, "tls.handshake.type", "tls.handshake.identity", "data.data"
        )
        handshake_types = [t for row in rows for t in row[0].split(",") if t]
        assert handshake_types.count("20") == 2, f"{pcap.name}: both Finished decrypted: {rows}"
        if "0xC0A6" not in pcap.name and "0xC0AA" not in pcap.name:
            # Wireshark 4.0 does not dissect the DHE_PSK ClientKeyExchange fields.
            identities = {row[1] for row in rows if row[1]}
            assert identities == {b"sensor-1@in-cse.m2m.example.com".hex()}, pcap.name
        data = [row[2] for row in rows if len(row) > 2 and row[2]]
        assert data.count(PROBE_HEX) == 2, f"{pcap.name}: the probe and its echo, decrypted: {rows}"


def test_without_the_key_log_nothing_is_decrypted(captures: Path) -> None:
    pcap = sorted(captures.glob("*_tls_*.pcap"))[0]
    rows = tshark_fields(pcap, None, "tls.handshake.type", "data.data")
    assert "20" not in [t for row in rows for t in row[0].split(",")]
    assert not any(len(row) > 1 and row[1] for row in rows)


def test_wireshark_decrypts_the_dtls_captures(captures: Path) -> None:
    pcaps = sorted(captures.glob("*_dtls_*.pcap"))
    assert len(pcaps) >= 5, f"expected one DTLS pcap per profile suite, found {pcaps}"
    for pcap in pcaps:
        rows = tshark_fields(
            pcap, pcap.with_suffix(".keys"), "dtls.handshake.type", "data.data", protocol="dtls"
        )
        types = [t for row in rows for t in row[0].split(",") if t]
        assert types[:2] == ["1", "3"], f"{pcap.name}: ClientHello, HelloVerifyRequest: {types}"
        assert types.count("20") == 2, f"{pcap.name}: both Finished decrypted: {rows}"
        data = [row[1] for row in rows if len(row) > 1 and row[1]]
        assert data.count(PROBE_HEX) == 2, f"{pcap.name}: the probe and its echo, decrypted"
