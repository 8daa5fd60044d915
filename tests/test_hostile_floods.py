"""Floods (issue 12, item 1): an Entity B that answers with endless input a conformant
peer may ignore must end its case quickly with a fail that names the flood, and the
campaign's memory and reports must stay bounded whatever the SUT sends.

Before the fix a B answering the ClientHello with endless HelloRequest records grew the
campaign to 1.5 GB RSS and a 147 MB report.html for one purpose (ixit.timeout 2); a DTLS
B sending random datagrams after the cookie exchange to 2.4 GB and a 190 MB pcap, and
one sending them from the start did not finish in 180 s, its reason "the SUT was silent".

The SUT is tests/data/hostile/flood_sut.py behind the endpoint adapter (a lab's running
server), the campaign the real ``m2mconf run`` in a subprocess that reports its own peak
RSS (``resource.getrusage``): the number a lab's machine sees.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from campaign_cli import ROOT, entity_b_profile

FLOOD_SUT = Path(__file__).parent / "data" / "hostile" / "flood_sut.py"
TIMEOUT = 8.0  # ixit.timeout: a case that waited for it would show in its duration
PEAK_RSS_MIB = 200  # the campaign process; about 95 MB without any flood
CASE_SECONDS = 2.0  # per flooded case (they take some 0.05 s; the timeout is 8 s)
REPORT_BYTES = 1 << 20  # report.html of the few purposes run here (about 150 kB)
CAPTURE_BYTES = 1 << 20  # one purpose's pcap (its trace keeps a head and a tail)

# Runs `m2mconf run` in this process and prints its peak RSS on stderr afterwards.
MEASURED = (
    "import resource, sys\n"
    "from harness.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(f'peak-rss-kib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@pytest.fixture
def flood_sut(tmp_path: Path) -> Iterator:
    processes: list[subprocess.Popen] = []

    def _start(tls_mode: str, dtls_mode: str) -> int:
        port_file = tmp_path / f"port-{len(processes)}"
        proc = subprocess.Popen(
            [sys.executable, str(FLOOD_SUT), tls_mode, dtls_mode, str(port_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(proc)
        deadline = time.monotonic() + 10
        while not port_file.exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("the flood SUT did not start")
            time.sleep(0.02)
        return int(port_file.read_text())

    yield _start
    for proc in processes:
        proc.kill()
        proc.wait(10)


def measured_campaign(report: Path, profile: Path, *select: str) -> tuple[int, dict, int, str]:
    """(exit code, report.json, peak RSS in KiB, output) of one bounded campaign."""
    args = ["run", "--quiet", "--workers", "1", "--sut", str(profile), "--report", str(report)]
    for expression in select:
        args += ["--select", expression]
    proc = subprocess.run(
        [sys.executable, "-c", MEASURED, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    found = re.search(r"peak-rss-kib (\d+)", proc.stderr)
    assert found, output
    return proc.returncode, json.loads((report / "report.json").read_text()), int(found[1]), output


# TLS mode, DTLS mode, and per transport what the verdict's reason must name.
CASES = {
    "hello-request/random": ("hello-request", "random", r"flooded", r"flooded.*datagrams"),
    "warning-alert/random-after-cookie": (
        "warning-alert",
        "random-after-cookie",
        r"flooded.*Alert",
        r"flooded.*datagrams",
    ),
    # A handshake message announcing 16 MB is refused at its header; endless
    # HelloVerifyRequests end at the engine's bound on cookie rounds. Neither may wait
    # for the timeout or keep what followed.
    "huge-message/hello-verify": (
        "huge-message",
        "hello-verify",
        r"decode_error.*too large|flooded",
        r"refusing our cookie|flooded",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_flooding_entity_b_fails_fast_with_bounded_memory_and_reports(
    case: str, flood_sut, tmp_path: Path
) -> None:
    tls_mode, dtls_mode, tls_reason, dtls_reason = CASES[case]
    port = flood_sut(tls_mode, dtls_mode)
    profile = tmp_path / "flood.toml"
    profile.write_text(
        entity_b_profile(
            f"flood {case}",
            f'adapter = "endpoint"\n\n[adapter]\nhost = "127.0.0.1"\nport = {port}',
            timeout=TIMEOUT,
            cipher_suites='"0x00AE"',
            ics_extra="observation_channel = false",
        ).replace('transports = ["tls"]', 'transports = ["tls", "dtls"]')
    )
    report = tmp_path / "report"
    began = time.monotonic()
    code, data, peak_kib, output = measured_campaign(
        report, profile, "TP/SAEF-PSK/B/01", "TP/SAEF-PSK/B/05"
    )
    took = time.monotonic() - began
    assert code == 1, output
    results = {r["tp"]: r for r in data["results"]}
    assert set(results) == {
        "TP/SAEF-PSK/B/01[tls,0x00AE]",
        "TP/SAEF-PSK/B/01[dtls,0x00AE]",
        "TP/SAEF-PSK/B/05[tls]",
        "TP/SAEF-PSK/B/05[dtls]",
    }, output
    for tp, result in results.items():
        pattern = dtls_reason if "[dtls" in tp else tls_reason
        assert result["verdict"] == "fail", (tp, result["reason"])
        assert re.search(pattern, result["reason"]), (tp, result["reason"])
        assert "silent" not in result["reason"], (tp, result["reason"])
        assert result["duration"] < CASE_SECONDS, (tp, result["duration"])
    assert peak_kib < PEAK_RSS_MIB * 1024, f"peak RSS {peak_kib // 1024} MiB\n{output}"
    html = (report / "report.html").stat().st_size
    assert html < REPORT_BYTES, f"report.html is {html} bytes"
    for capture in (report / "captures").glob("*.pcap"):
        assert capture.stat().st_size < CAPTURE_BYTES, capture
    assert took < 60, f"the campaign took {took:.1f} s"
