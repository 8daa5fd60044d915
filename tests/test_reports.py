"""The report writers, checked on a synthetic campaign with every verdict."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.packet import Raw
from scapy.utils import rdpcap

from harness.report import write_reports
from harness.report.names import safe_name, unique_names
from harness.report.pcap import MAX_SEGMENT
from harness.report.progress import Progress
from harness.results import CampaignResult, Requirement, TpResult
from harness.tls.trace import Trace, TraceEntry, WireChunk
from harness.verdict import Verdict

T0 = 1_700_000_000.0
CLIENT_RANDOM = bytes(range(32))
MASTER_SECRET = bytes(range(48))


def tls_trace(local_port: int, *, harness_first: bool = True) -> Trace:
    """A PSK handshake as the wire saw it: one chunk larger than a segment, both ways."""
    trace = Trace(transport="tls", local=("127.0.0.1", local_port), remote=("127.0.0.1", 4433))
    first, second = ("sent", "received") if harness_first else ("received", "sent")
    trace.wire = [
        WireChunk(first, b"\x16\x03\x01" + bytes(range(256)) * 12, T0 + 0.001),  # 3075 bytes
        WireChunk(second, b"\x16\x03\x03\x00\x31" + b"S" * 49, T0 + 0.002),
        WireChunk(first, b"\x16\x03\x03" + b"K" * 20, T0 + 0.003),
        WireChunk(second, b"\x15\x03\x03\x00\x02\x02\x33", T0 + 0.004),
    ]
    trace.add(
        TraceEntry(
            "sent",
            "handshake",
            "ClientHello",
            {"cipher_suites": ["TLS_PSK_WITH_AES_128_CBC_SHA256"], "server_name": "in-cse.example"},
            b"\x01\x00\x00\x04abcd",
            T0 + 0.001,
        )
    )
    trace.add(
        TraceEntry(
            "sent",
            "handshake",
            "ClientKeyExchange",
            {"psk_identity": "sensor-1@in-cse.m2m.example.com"},
            b"\x10\x00",
            T0 + 0.003,
            note="fault: corrupted verify_data",
        )
    )
    trace.add(
        TraceEntry(
            "received",
            "alert",
            "alert",
            {"level": "fatal", "description": "decrypt_error"},
            b"\x02\x33",
            T0 + 0.004,
        )
    )
    trace.add_keylog(CLIENT_RANDOM, MASTER_SECRET)
    return trace


def dtls_trace() -> Trace:
    trace = Trace(transport="dtls", local=("127.0.0.1", 40001), remote=("127.0.0.1", 5684))
    trace.wire = [
        WireChunk("sent", b"\x16\xfe\xfd" + b"C" * 90, T0 + 0.01),
        WireChunk("received", b"\x16\xfe\xfd" + b"V" * 40, T0 + 0.02),
        WireChunk("sent", b"\x16\xfe\xfd" + b"D" * 2000, T0 + 0.03),
    ]
    trace.add(TraceEntry("sent", "handshake", "ClientHello", {"cookie": ""}, b"\x01", T0 + 0.01))
    return trace


def tp(tp_id: str, verdict: Verdict, reason: str, **kw: object) -> TpResult:
    base: dict[str, object] = {
        "tp": tp_id,
        "title": f"title of {tp_id}",
        "feature": "saef_psk_entity_b",
        "framework": "saef-psk",
        "sut_role": "entity_b",
        "transport": "tls",
        "requirements": ["SAEF-PSK-05", "SAEF-PSK-12"],
        "verdict": verdict,
        "reason": reason,
        "duration": 0.04,
    }
    base.update(kw)
    return TpResult(**base)  # type: ignore[arg-type]


SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def campaign() -> CampaignResult:
    results = [
        tp(
            "TP/SAEF-PSK/B/01[tls,0x00AE]",
            Verdict.PASS,
            "every check of the purpose held",
            steps=[
                {"keyword": "Given", "text": "the SUT plays Entity B", "outcome": "passed"},
                {"keyword": "Then", "text": "the handshake completes", "outcome": "passed"},
            ],
            observations=["ServerHello selected 0x00AE"],
            traces=[tls_trace(50000)],
            sut_result={"status": "established", "cipher_suite": "0x00AE"},
        ),
        tp(
            "TP/SAEF-PSK/B/WRONG-KEY",
            Verdict.FAIL,
            f"the SUT accepted a Finished under the wrong Kpsa {SCRIPT}",
            requirements=["SAEF-PSK-12", "SAEF-PSK-13"],
            steps=[{"keyword": "Then", "text": "the SUT refuses", "outcome": "fail"}],
            traces=[tls_trace(50001), tls_trace(50001, harness_first=False)],
        ),
        tp("TP/SAEF-PSK/B/03", Verdict.INCONCLUSIVE, "the SUT has no observation channel"),
        tp(
            "TP/SAEF-PSK/A/01",
            Verdict.NOT_APPLICABLE,
            "ICS roles do not include entity_a",
            sut_role="entity_a",
            requirements=["SAEF-PSK-11"],
        ),
        tp(
            "TP/SAEF-PSK/B/DTLS[dtls]",
            Verdict.ERROR,
            "harness error during call: OSError: boom",
            transport="dtls",
            requirements=["SAEF-PSK-10", "NOT-A-REQ-1"],
            traces=[dtls_trace()],
        ),
    ]
    return CampaignResult(
        sut={"name": "Acme <CSE>", "vendor": "Acme", "version": "1.0", "adapter": "reference"},
        ics={"roles": ["entity_b"], "transports": ["tls", "dtls"]},
        spec_profile={
            "refusal_requires_fatal_alert": {"id": "S-01", "value": True, "default": True},
            "sni_required": {"id": "S-02", "value": "gba-only", "default": False},
        },
        started=T0,
        finished=T0 + 2.5,
        results=results,
        requirements={
            "SAEF-PSK-05": Requirement("SAEF-PSK-05", "B is configured with KpsaId & IdA."),
            "SAEF-PSK-10": Requirement("SAEF-PSK-10", "A and B run a (D)TLS-PSK handshake."),
            "SAEF-PSK-11": Requirement("SAEF-PSK-11", "psk_identity equals KpsaId."),
            "SAEF-PSK-12": Requirement("SAEF-PSK-12", "psk equals Kpsa."),
            "SAEF-PSK-13": Requirement("SAEF-PSK-13", "Authentication is mutual."),
            "SAEF-PSK-14": Requirement("SAEF-PSK-14", "Cipher suites of 9.2."),
        },
        tool_version="0.1.0",
        command_line="m2mconf run --sut reference",
    )


@pytest.fixture
def written(campaign: CampaignResult, tmp_path: Path) -> dict[str, Path]:
    return write_reports(campaign, tmp_path / "report")


def test_safe_names() -> None:
    assert safe_name("TP/SAEF-PSK/B/01[tls,0x00AE]") == "TP_SAEF-PSK_B_01_tls_0x00AE"
    assert unique_names(["TP/A[x]", "TP/A(x)", "TP/B"]) == ["TP_A_x", "TP_A_x-2", "TP_B"]


def test_json_report(written: dict[str, Path], campaign: CampaignResult) -> None:
    data = json.loads(written["json"].read_text(encoding="utf-8"))
    assert {
        "tool",
        "version",
        "sut",
        "ics",
        "spec_profile",
        "started",
        "finished",
        "counts",
    } <= set(data)
    assert data["tool"] == "m2mconf" and data["version"] == "0.1.0"
    assert data["counts"] == {
        "pass": 1,
        "fail": 1,
        "inconclusive": 1,
        "not applicable": 1,
        "error": 1,
    }
    assert [r["tp"] for r in data["results"]] == [r.tp for r in campaign.results]
    assert all("traces" not in r for r in data["results"])
    assert data["results"][1]["verdict"] == "fail"
    assert data["results"][0]["artifacts"] == {
        "pcap": "captures/TP_SAEF-PSK_B_01_tls_0x00AE.pcap",
        "keylog": "captures/TP_SAEF-PSK_B_01_tls_0x00AE.keys",
    }
    psk = data["coverage"]["groups"]["SAEF-PSK"]
    assert psk["catalogued"] == 6
    # SAEF-PSK-12 is cited by a pass and a fail: the worst wins.
    assert psk["requirements"]["SAEF-PSK-12"]["verdict"] == "fail"
    assert psk["requirements"]["SAEF-PSK-05"]["verdict"] == "inconclusive"  # pass + inconclusive
    assert psk["requirements"]["SAEF-PSK-11"]["verdict"] == "not applicable"
    assert psk["uncovered"] == ["SAEF-PSK-14"]
    assert (
        data["coverage"]["groups"]["NOT-A-REQ"]["requirements"]["NOT-A-REQ-1"]["catalogued"]
        is False
    )


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []
        self.stack: list[str] = []
        self.external: list[str] = []

    VOID = {"meta", "br", "link", "img", "hr", "input"}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith(("#", "captures/")):
                self.external.append(value)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_report(written: dict[str, Path], campaign: CampaignResult) -> None:
    page = written["html"].read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(page)
    parser.close()
    assert parser.stack == []  # every element closed, properly nested
    assert "script" not in parser.tags  # the reason's <script> was escaped
    assert "link" not in parser.tags and parser.external == []  # self-contained
    assert "<style>" in page
    text = "".join(parser.text)
    assert SCRIPT in text  # shown as text
    for result in campaign.results:
        assert result.tp in text
    for word in ("PASS", "FAIL", "INCONCLUSIVE", "NOT APPLICABLE", "ERROR"):
        assert word in text
    assert "Acme <CSE>" in text and "m2mconf run --sut reference" in text
    assert "psk equals Kpsa." in text  # catalogued requirement text
    assert "ClientKeyExchange" in text and "sensor-1@in-cse.m2m.example.com" in text
    assert "fault: corrupted verify_data" in text
    assert "harness → SUT" in text and "SUT → harness" in text
    assert 'href="captures/TP_SAEF-PSK_B_01_tls_0x00AE.pcap"' in page
    assert "S-02" in text and "gba-only" in text


def test_junit_report(written: dict[str, Path], campaign: CampaignResult) -> None:
    root = ET.parse(written["junit"]).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "5" and suite.get("failures") == "1"
    assert suite.get("errors") == "1" and suite.get("skipped") == "2"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {r.tp for r in campaign.results}
    passed = cases["TP/SAEF-PSK/B/01[tls,0x00AE]"]
    assert passed.find("failure") is None and passed.find("skipped") is None
    reqs = [p.get("value") for p in passed.iter("property") if p.get("name") == "requirement"]
    assert reqs == ["SAEF-PSK-05", "SAEF-PSK-12"]
    failure = cases["TP/SAEF-PSK/B/WRONG-KEY"].find("failure")
    assert failure is not None and SCRIPT in (failure.get("message") or "")
    assert cases["TP/SAEF-PSK/B/DTLS[dtls]"].find("error") is not None
    for name, verdict in (
        ("TP/SAEF-PSK/B/03", "inconclusive"),
        ("TP/SAEF-PSK/A/01", "not applicable"),
    ):
        skipped = cases[name].find("skipped")
        assert skipped is not None
        assert (skipped.get("message") or "").startswith(f"{verdict}: ")


def _streams(path: Path) -> dict[tuple[int, int], bytes]:
    """TCP payload per (sport, dport), reassembled by sequence number."""
    segments: dict[tuple[int, int], list[tuple[int, bytes]]] = {}
    for packet in rdpcap(str(path)):
        if TCP in packet and Raw in packet:
            key = (packet[TCP].sport, packet[TCP].dport)
            segments.setdefault(key, []).append((packet[TCP].seq, bytes(packet[Raw].load)))
    streams = {}
    for key, parts in segments.items():
        parts.sort()
        data = b""
        for seq, load in parts:
            assert seq == parts[0][0] + len(data)  # contiguous, no gap or overlap
            data += load
        streams[key] = data
    return streams


def test_pcap_tcp_reassembles_to_the_wire_bytes(
    written: dict[str, Path], campaign: CampaignResult
) -> None:
    report_dir = written["json"].parent
    path = report_dir / campaign.results[1].artifacts["pcap"]
    streams = _streams(path)
    packets = rdpcap(str(path))
    ports = set()
    for trace in campaign.results[1].traces:
        sent = b"".join(c.data for c in trace.wire if c.direction == "sent")
        received = b"".join(c.data for c in trace.wire if c.direction == "received")
        pair = next(
            (lp, rp)
            for (lp, rp), data in streams.items()
            if rp == 4433 and data == sent and streams.get((rp, lp)) == received
        )
        ports.add(pair)
    assert len(ports) == 2  # two connections, two distinct port pairs
    for packet in packets:
        if Raw in packet:
            assert len(packet[Raw].load) <= MAX_SEGMENT
        assert packet[IP].src == packet[IP].dst == "127.0.0.1"
    flags = [str(p[TCP].flags) for p in packets]
    assert flags[:3] == ["S", "SA", "A"] and flags.count("S") == 2 and flags.count("FA") == 4
    # The second trace began with the SUT's bytes: the SUT opened that connection.
    syns = [p for p in packets if str(p[TCP].flags) == "S"]
    assert syns[0][TCP].dport == 4433 and syns[1][TCP].sport == 4433
    # Handshake sequence numbers line up with the first data byte.
    syn, synack = packets[0][TCP], packets[1][TCP]
    first_data = next(p[TCP] for p in packets if Raw in p)
    assert synack.ack == syn.seq + 1 and first_data.seq == syn.seq + 1


def test_pcap_udp_is_one_datagram_per_chunk(
    written: dict[str, Path], campaign: CampaignResult
) -> None:
    result = campaign.results[4]
    packets = rdpcap(str(written["json"].parent / result.artifacts["pcap"]))
    trace = result.traces[0]
    assert len(packets) == len(trace.wire)
    for packet, chunk in zip(packets, trace.wire, strict=True):
        assert UDP in packet and bytes(packet[Raw].load) == chunk.data
        expected = (40001, 5684) if chunk.direction == "sent" else (5684, 40001)
        assert (packet[UDP].sport, packet[UDP].dport) == expected


def test_keylog_and_missing_artifacts(written: dict[str, Path], campaign: CampaignResult) -> None:
    report_dir = written["json"].parent
    keys = (report_dir / campaign.results[0].artifacts["keylog"]).read_text(encoding="ascii")
    assert f"CLIENT_RANDOM {CLIENT_RANDOM.hex()} {MASTER_SECRET.hex()}" in keys.splitlines()
    assert campaign.results[2].artifacts == {}  # no trace, no file
    assert "keylog" not in campaign.results[4].artifacts  # no master secret learnt


def test_rewrite_removes_stale_captures(campaign: CampaignResult, tmp_path: Path) -> None:
    write_reports(campaign, tmp_path)
    campaign.results = campaign.results[2:]
    for r in campaign.results:
        r.artifacts.clear()
    write_reports(campaign, tmp_path)
    assert sorted(p.name for p in (tmp_path / "captures").iterdir()) == [
        "TP_SAEF-PSK_B_DTLS_dtls.pcap"
    ]


class _Stream:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    @property
    def value(self) -> str:
        return "".join(self.parts)


def test_progress_lines(campaign: CampaignResult) -> None:
    stream = _Stream()
    progress = Progress(stream)
    progress.start(42)
    for _ in range(6):
        progress.update(campaign.results[2])
    progress.update(tp("TP/SAEF-PSK/B/WRONG-KEY", Verdict.PASS, "ok"))
    progress.update(campaign.results[1])
    progress.finish(campaign, "reports/latest/report.html")
    lines = stream.value.splitlines()
    assert lines[0] == "running 42 test purpose instances"
    assert "[ 7/42] pass TP/SAEF-PSK/B/WRONG-KEY (0.04 s)" in lines
    assert any(line.startswith("[ 8/42] fail") for line in lines)
    assert any(SCRIPT in line for line in lines)  # the reason of a non-pass
    assert lines[-2].startswith("5 test purpose instances in 2.5 s: 4 run (1 pass, 1 fail")
    assert lines[-1] == "report: reports/latest/report.html"


def test_progress_tty_and_quiet(campaign: CampaignResult) -> None:
    stream = _Stream()
    progress = Progress(stream, tty=True)
    progress.start(2)
    progress.update(campaign.results[0])
    progress.update(campaign.results[1])
    assert "\r" in stream.value and "\n" in stream.value
    quiet = _Stream()
    progress = Progress(quiet, quiet=True)
    progress.start(1)
    progress.update(campaign.results[1])
    assert quiet.value == ""
    progress.finish(campaign)
    assert quiet.value.startswith("5 test purpose instances")


def test_html_shows_control_octets_escaped(campaign: CampaignResult, tmp_path: Path) -> None:
    """A SUT can put any octet in a psk_identity; the report shows it, as text HTML allows."""
    result = campaign
    result.results[0].reason = "psk_identity b'sensor-1@in\x00cse' \x1b[31m"
    write_reports(result, tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "\x00" not in page and "\x1b" not in page
    assert "in\\x00cse" in page
