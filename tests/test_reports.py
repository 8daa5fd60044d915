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
from harness.report.msc import Arrow, decisive_arrow
from harness.report.names import safe_name, unique_names
from harness.report.pcap import MAX_SEGMENT
from harness.report.progress import Progress
from harness.report.sources import cite
from harness.results import CampaignResult, Requirement, TpResult
from harness.spec_profile import SETTINGS
from harness.tls.trace import Trace, TraceEntry, WireChunk
from harness.verdict import Verdict

T0 = 1_700_000_000.0
IDENTITY = "sensor-1@in-cse.m2m.example.com"
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
            {
                "cipher_suites": [0x00AE, 0xC0A8],
                "server_name": "in-cse.example",
                "extensions": [
                    {"type": 0, "name": "server_name", "data": "000f00000c696e2d6373652e6578"},
                    {"type": 23, "name": "extended_master_secret", "data": ""},
                ],
            },
            b"\x01\x00\x00\x04abcd",
            T0 + 0.001,
        )
    )
    trace.add(
        TraceEntry(
            "sent",
            "handshake",
            "ClientKeyExchange",
            {"psk_identity": IDENTITY.encode().hex()},
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
            "TP/SAEF-MAF/MAF/04[tls]",
            Verdict.PASS,
            "every check of the purpose held",
            framework="saef-maf",
            sut_role="maf",
            feature="saef_maf_maf",
            requirements=["SAEF-MAF-08"],
            traces=[tls_trace(50010), tls_trace(50011)],
            legs=[
                {"name": "maf_handshake", "party": "entity_a", "peer": "maf", "summary": "ok"},
                {"name": "key_retrieval", "party": "entity_b", "peer": "maf", "summary": "404"},
            ],
            sut_result={
                "status": "established",
                "legs": [{"name": "maf_handshake", "peer": "entity_a", "status": "established"}],
            },
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
            "SAEF-PSK-12": Requirement(
                "SAEF-PSK-12", "psk equals Kpsa.", "001_1e9122c875d0c566.txt §8.2.2.1 L210"
            ),
            "SAEF-MAF-08": Requirement(
                "SAEF-MAF-08", "The MAF knows the IdB.", "003_cd59baf350bde5e8.txt L80"
            ),
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
        "pass": 2,
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
    assert psk["catalogued"] == 6 and data["coverage"]["groups"]["SAEF-MAF"]["catalogued"] == 1
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
    assert "ClientKeyExchange" in text
    # psk_identity decoded as text (its octets on hover), extensions and suites by name
    assert f'"{IDENTITY}"' in text and f"hex {IDENTITY.encode().hex()}" in page
    assert "server_name, extended_master_secret" in text
    assert "TLS_PSK_WITH_AES_128_CBC_SHA256 (0x00AE)" in text
    assert "fault: corrupted verify_data" in text
    assert "harness → SUT" in text and "SUT → harness" in text
    assert 'href="captures/TP_SAEF-PSK_B_01_tls_0x00AE.pcap"' in page
    # requirement sources as the TS-0003 clause, the seed file only as secondary reference
    assert "TS-0003 clause 8.2.2.1 (seed draft)" in text
    assert "TS-0003 MAF-based SAEF change request clause 8.2.2.3 (seed draft)" in page
    # spec-profile settings with their meaning
    assert "S-02" in text and "gba-only" in text
    meanings = {s.key: s.meaning for s in SETTINGS}
    assert meanings["sni_required"] in text and meanings["refusal_requires_fatal_alert"] in text


class _Outline(HTMLParser):
    """The page's structure: where the summary and the details are, what the first screen
    says, and per purpose instance (details.tp) its verdict, whether it is open and the
    message sequence chart inside it (one svg.msc with its lifelines and arrows)."""

    def __init__(self) -> None:
        super().__init__()
        self.position = 0
        self.sections: dict[str, int] = {}
        self.purposes: dict[str, dict[str, object]] = {}
        self.current: str | None = None
        self.depth = 0  # <details> nesting inside the current purpose
        self.in_svg = False
        self.in_lifeline_label = False
        self.in_summary = False
        self.summary_text: list[str] = []
        self.attention: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.position += 1
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if a.get("id") in ("summary", "details", "attention", "coverage", "purposes"):
            self.sections[str(a["id"])] = self.position
        if tag == "header" or (tag == "section" and a.get("id") == "summary"):
            self.in_summary = True  # the first screen: the header and the summary
        if tag == "main":
            self.in_summary = False
        if self.in_summary and tag == "a" and (a.get("href") or "").startswith("#tp-"):
            self.attention.append(str(a["href"])[1:])
        if tag == "details" and "tp" in classes:
            self.current = str(a["id"])
            self.depth = 0
            self.purposes[self.current] = {
                "class": classes,
                "open": "open" in a,
                "charts": 0,
                "lifelines": [],
                "arrows": [],
                "decisive": 0,
                "no_chart": False,
            }
        elif tag == "details" and self.current:
            self.depth += 1
        if self.current is None:
            return
        purpose = self.purposes[self.current]
        if tag == "svg" and "msc" in classes:
            purpose["charts"] = int(purpose["charts"]) + 1  # type: ignore[call-overload]
            self.in_svg = True
        if self.in_svg and tag == "text" and "lh" in classes:
            self.in_lifeline_label = True
        if self.in_svg and tag == "line" and "a" in classes:
            purpose["arrows"].append(classes)  # type: ignore[attr-defined]
        if self.in_svg and tag == "rect" and "dh" in classes:
            purpose["decisive"] = int(purpose["decisive"]) + 1  # type: ignore[call-overload]
        if tag == "p" and "no-chart" in classes:
            purpose["no_chart"] = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.in_svg = False
        if tag == "text":
            self.in_lifeline_label = False
        if tag == "details" and self.current:
            if self.depth == 0:
                self.current = None
            else:
                self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.in_summary:
            self.summary_text.append(data)
        if self.in_lifeline_label and self.current:
            self.purposes[self.current]["lifelines"].append(data)  # type: ignore[attr-defined]


def _outline(page: str) -> _Outline:
    outline = _Outline()
    outline.feed(page)
    outline.close()
    return outline


def test_html_summary_precedes_details_and_every_purpose_has_its_chart(
    written: dict[str, Path], campaign: CampaignResult
) -> None:
    outline = _outline(written["html"].read_text(encoding="utf-8"))
    sections = outline.sections
    assert sections["summary"] < sections["attention"] < sections["details"]
    assert sections["details"] < sections["coverage"] < sections["purposes"]
    first_screen = " ".join(" ".join(outline.summary_text).split())
    # SUT, decision with the exit code, counts by verdict, framework and role
    assert "Acme <CSE> 1.0" in first_screen  # vendor not repeated: the name starts with it
    assert "NOT CONFORMANT" in first_screen and "exit code 1" in first_screen
    assert "6 test purpose instances, 5 applicable" in first_screen
    assert "saef-psk entity_b" in first_screen and "saef-maf maf" in first_screen
    # the purposes needing attention with their reasons, worst first, on the first screen
    assert outline.attention == ["tp-TP_SAEF-PSK_B_WRONG-KEY", "tp-TP_SAEF-PSK_B_DTLS_dtls"] + [
        "tp-TP_SAEF-PSK_B_03"
    ]
    assert "the SUT accepted a Finished under the wrong Kpsa" in first_screen
    assert "the SUT has no observation channel" in first_screen
    assert len(outline.purposes) == len(campaign.results)
    for result, (anchor, purpose) in zip(campaign.results, outline.purposes.items(), strict=True):
        assert anchor.startswith("tp-")
        assert f"tp-v-{str(result.verdict).replace(' ', '-')}" in purpose["class"]
        # needing attention: open; a pass or not applicable: collapsed
        assert purpose["open"] == (
            result.verdict in (Verdict.FAIL, Verdict.ERROR, Verdict.INCONCLUSIVE)
        )
        if result.traces:
            assert purpose["charts"] == 1, anchor
            # the SUT's decisive message highlighted (none when it sent nothing)
            sut_spoke = any(m.direction == "received" for t in result.traces for m in t.messages)
            assert purpose["decisive"] == int(sut_spoke), anchor
        elif result.verdict is not Verdict.NOT_APPLICABLE:
            assert purpose["charts"] == 0 and purpose["no_chart"], anchor


def test_message_sequence_chart_has_a_lifeline_per_party_and_marks_faults(
    written: dict[str, Path],
) -> None:
    outline = _outline(written["html"].read_text(encoding="utf-8"))
    maf = outline.purposes["tp-TP_SAEF-MAF_MAF_04_tls"]
    # the harness played Entity A and Entity B around a SUT MAF: three lifelines
    assert maf["lifelines"] == ["Entity A (harness)", "Entity B (harness)", "MAF (SUT)"]
    two_party = outline.purposes["tp-TP_SAEF-PSK_B_01_tls_0x00AE"]
    assert two_party["lifelines"] == ["Entity A (harness)", "Entity B (SUT)"]
    arrows = two_party["arrows"]
    assert len(arrows) == 3
    assert arrows[1] == ["a", "f"]  # the ClientKeyExchange the harness corrupted: a fault
    assert "d" in arrows[2]  # the SUT's fatal alert decided
    dtls = outline.purposes["tp-TP_SAEF-PSK_B_DTLS_dtls"]
    assert dtls["charts"] == 1 and dtls["decisive"] == 0  # the SUT sent nothing


def test_html_folds_passing_traces(written: dict[str, Path]) -> None:
    page = written["html"].read_text(encoding="utf-8")
    passing = page[page.index('id="tp-TP_SAEF-PSK_B_01_tls_0x00AE"') :]
    passing = passing[: passing.index("</div></details>")]
    assert '<details class="trace">' in passing and '<details class="trace" open' not in passing
    assert "<pre>" not in passing  # no raw octets for a pass: the pcap holds them
    assert 'class="trace compact"' in passing
    failing = page[page.index('id="tp-TP_SAEF-PSK_B_WRONG-KEY"') :]
    failing = failing[: failing.index("</div></details>")]
    assert "<pre>" in failing  # a failure shows its octets


def test_junit_report(written: dict[str, Path], campaign: CampaignResult) -> None:
    root = ET.parse(written["junit"]).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "6" and suite.get("failures") == "1"
    assert suite.get("errors") == "1" and suite.get("skipped") == "2"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {r.tp for r in campaign.results}  # name: the instance id
    # classname: framework.role, stable across machines (no path)
    assert {c.get("classname") for c in cases.values()} == {
        "saef-psk.entity_b",
        "saef-psk.entity_a",
        "saef-maf.maf",
    }
    passed = cases["TP/SAEF-PSK/B/01[tls,0x00AE]"]
    assert passed.get("classname") == "saef-psk.entity_b"
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
        assert skipped is not None and skipped.get("type") == verdict
        assert (skipped.get("message") or "").startswith(f"{verdict}: ")


def _allure_results(directory: Path) -> dict[str, dict[str, object]]:
    results = {}
    for path in directory.glob("*-result.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        results[data["name"]] = data
    return results


def test_allure_results(written: dict[str, Path], campaign: CampaignResult) -> None:
    directory = written["allure"]
    results = _allure_results(directory)
    # one result per instance, named by TP id (with its dimensions) and title
    assert set(results) == {f"{r.tp} {r.title}" for r in campaign.results}
    statuses = {name.split(" ", 1)[0]: data["status"] for name, data in results.items()}
    assert statuses == {
        "TP/SAEF-PSK/B/01[tls,0x00AE]": "passed",
        "TP/SAEF-PSK/B/WRONG-KEY": "failed",
        "TP/SAEF-PSK/B/03": "skipped",
        "TP/SAEF-PSK/A/01": "skipped",
        "TP/SAEF-MAF/MAF/04[tls]": "passed",
        "TP/SAEF-PSK/B/DTLS[dtls]": "broken",
    }
    failed = results["TP/SAEF-PSK/B/WRONG-KEY title of TP/SAEF-PSK/B/WRONG-KEY"]
    # the message is the verdict's reason, never a traceback
    assert failed["statusDetails"]["message"].startswith("the SUT accepted a Finished")
    labels = {(label["name"], label["value"]) for label in failed["labels"]}
    assert {
        ("framework", "saef-psk"),
        ("role", "entity_b"),
        ("transport", "tls"),
        ("suite", "saef-psk"),
        ("subSuite", "SUT entity_b"),
        ("tag", "TP/SAEF-PSK/B/WRONG-KEY"),
        ("tag", "SAEF-PSK-13"),
        ("requirement", "SAEF-PSK-13"),
    } <= labels
    assert {link["name"] for link in failed["links"]} >= {"SAEF-PSK-13 in report.html"}
    assert [step["status"] for step in failed["steps"]] == ["failed"]
    assert failed["steps"][0]["name"] == "Then the SUT refuses"
    inconclusive = results["TP/SAEF-PSK/B/03 title of TP/SAEF-PSK/B/03"]
    assert inconclusive["statusDetails"]["message"].startswith("inconclusive: ")
    passed = results["TP/SAEF-PSK/B/01[tls,0x00AE] title of TP/SAEF-PSK/B/01[tls,0x00AE]"]
    assert [s["name"] for s in passed["steps"]] == [
        "Given the SUT plays Entity B",
        "Then the handshake completes",
    ]
    attachments = {a["name"]: a for a in passed["attachments"]}
    assert set(attachments) == {
        "message sequence chart",
        "trace (decoded)",
        "pcap",
        "key log (NSS, for Wireshark)",
        "the SUT's own account",
    }
    assert attachments["pcap"]["type"] == "application/vnd.tcpdump.pcap"
    for attachment in attachments.values():
        assert (directory / attachment["source"]).is_file()
    chart = (directory / attachments["message sequence chart"]["source"]).read_text()
    assert chart.startswith("<?xml") and "<style>" in chart and 'id="msc-ah"' in chart
    ET.fromstring(chart.split("\n", 1)[1])  # well-formed SVG on its own
    trace = (directory / attachments["trace (decoded)"]["source"]).read_text()
    assert f'psk_identity="{IDENTITY}"' in trace
    categories = json.loads((directory / "categories.json").read_text(encoding="utf-8"))
    assert [c["matchedStatuses"] for c in categories][:2] == [["failed"], ["broken"]]
    environment = (directory / "environment.properties").read_text(encoding="utf-8")
    assert "sut.name=Acme <CSE>" in environment and "ics.roles=entity_b" in environment
    assert "spec_profile.S-02_sni_required=gba-only" in environment


def test_allure_results_replace_an_earlier_run(campaign: CampaignResult, tmp_path: Path) -> None:
    write_reports(campaign, tmp_path)
    campaign.results = campaign.results[:1]
    write_reports(campaign, tmp_path)
    assert len(list((tmp_path / "allure-results").glob("*-result.json"))) == 1


def test_cucumber_json(written: dict[str, Path], campaign: CampaignResult) -> None:
    features = json.loads(written["cucumber"].read_text(encoding="utf-8"))
    scenarios = {e["name"].split(" ", 1)[0]: e for f in features for e in f["elements"]}
    assert set(scenarios) == {r.tp for r in campaign.results}
    assert all(f["keyword"] == "Feature" and f["uri"].startswith("features/") for f in features)
    passed = scenarios["TP/SAEF-PSK/B/01[tls,0x00AE]"]
    assert [s["result"]["status"] for s in passed["steps"]] == ["passed", "passed"]
    failed = scenarios["TP/SAEF-PSK/B/WRONG-KEY"]
    assert failed["steps"][0]["result"]["status"] == "failed"
    assert failed["steps"][0]["result"]["error_message"].startswith("the SUT accepted")
    error = scenarios["TP/SAEF-PSK/B/DTLS[dtls]"]
    assert error["steps"][-1]["result"]["status"] == "failed"
    assert error["steps"][-1]["result"]["error_message"].startswith("harness error")
    for tp_id, verdict in (
        ("TP/SAEF-PSK/B/03", "inconclusive"),
        ("TP/SAEF-PSK/A/01", "not applicable"),
    ):
        results = [s["result"] for s in scenarios[tp_id]["steps"]]
        assert results and all(r["status"] == "skipped" for r in results)
        messages = [r["error_message"] for r in results if "error_message" in r]
        assert len(messages) == 1 and messages[0].startswith(f"{verdict}: ")


def test_cucumber_json_has_lines_and_every_step_from_the_feature_files(tmp_path: Path) -> None:
    """A purpose the ICS excluded still lists its steps, with the feature file's lines."""
    from harness.campaign import list_test_purposes
    from harness.report.cucumber import cucumber_data

    info = next(p for p in list_test_purposes() if p.tp == "TP/SAEF-PSK/B/05")
    excluded = tp(
        "TP/SAEF-PSK/B/05[dtls]",
        Verdict.NOT_APPLICABLE,
        "ICS transports do not include dtls",
        title=info.title,
    )
    result = CampaignResult(sut={}, ics={}, spec_profile={}, started=T0, results=[excluded])
    feature = cucumber_data(result)[0]
    assert feature["uri"] == "features/saef_psk_entity_b.feature" and feature["line"] > 0
    scenario = feature["elements"][0]
    assert scenario["line"] > feature["line"]
    assert {"name": "@TP/SAEF-PSK/B/05", "line": scenario["line"] - 1} in scenario["tags"]
    steps = scenario["steps"]
    assert len(steps) >= 4 and all(s["line"] > 0 for s in steps)
    assert (
        steps[0]["result"]["error_message"] == "not applicable: ICS transports do not include dtls"
    )


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
    result = campaign.results[5]
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
    assert "keylog" not in campaign.results[5].artifacts  # no master secret learnt


def test_rewrite_removes_stale_captures(campaign: CampaignResult, tmp_path: Path) -> None:
    write_reports(campaign, tmp_path)
    campaign.results = campaign.results[2:]
    for r in campaign.results:
        r.artifacts.clear()
    write_reports(campaign, tmp_path)
    assert sorted(p.name for p in (tmp_path / "captures").iterdir()) == [
        "TP_SAEF-MAF_MAF_04_tls.keys",
        "TP_SAEF-MAF_MAF_04_tls.pcap",
        "TP_SAEF-PSK_B_DTLS_dtls.pcap",
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
    assert lines[-2].startswith("6 test purpose instances in 2.5 s: 5 run (2 pass, 1 fail")
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
    assert quiet.value.startswith("6 test purpose instances")


def test_html_shows_control_octets_escaped(campaign: CampaignResult, tmp_path: Path) -> None:
    """A SUT can put any octet in a psk_identity; the report shows it, as text HTML allows."""
    result = campaign
    result.results[0].reason = "psk_identity b'sensor-1@in\x00cse' \x1b[31m"
    write_reports(result, tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "\x00" not in page and "\x1b" not in page
    assert "in\\x00cse" in page


@pytest.mark.parametrize(
    ("source", "primary", "clause"),
    [
        (
            "001_1e9122c875d0c566.txt §8.2.2.1 L210",
            "TS-0003 clause 8.2.2.1 (seed draft)",
            "8.2.2.1",
        ),
        (
            "003_cd59baf350bde5e8.txt L80",
            "TS-0003 MAF-based SAEF change request clause 8.2.2.3 (seed draft)",
            "8.2.2.3",
        ),
        ("001_1e9122c875d0c566.txt 9.1.2.3 L40", "TS-0003 clause 9.1.2.3 (seed draft)", "9.1.2.3"),
        ("000_fac93891cad153e3.txt L34-37", "SAE contribution (2013) (informative seed)", ""),
        ("a note without a seed", "a note without a seed", ""),
    ],
)
def test_requirement_sources_cite_the_clause(source: str, primary: str, clause: str) -> None:
    citation = cite(source)
    assert (citation.primary, citation.clause) == (primary, clause)
    if primary != source:
        assert citation.secondary == f"seed {source}"  # the seed file stays as a reference


def test_the_decisive_message_is_a_refusal_or_the_answer_not_the_closing_alert() -> None:
    def arrow(label: str) -> Arrow:
        return Arrow("maf", "entity_b", label, 1, 0.0, from_sut=True)

    answer, closing = arrow("ApplicationData"), arrow("Alert(warning close_notify)")
    assert decisive_arrow([arrow("ServerHello"), answer, closing]) is answer
    fatal = arrow("Alert(fatal decrypt_error)")
    assert decisive_arrow([arrow("ServerHello"), fatal, closing]) is fatal
    assert decisive_arrow([closing]) is closing
    assert decisive_arrow([]) is None


def test_a_purpose_failing_on_several_instances_opens_once(
    campaign: CampaignResult, tmp_path: Path
) -> None:
    """The summary has one row for it (every instance linked); only the first is open."""
    failing = campaign.results[1]
    again = tp(
        "TP/SAEF-PSK/B/WRONG-KEY[dtls]",
        Verdict.FAIL,
        failing.reason,
        requirements=failing.requirements,
        transport="dtls",
    )
    campaign.results.insert(2, again)
    page = write_reports(campaign, tmp_path)["html"].read_text(encoding="utf-8")
    outline = _outline(page)
    assert outline.purposes["tp-TP_SAEF-PSK_B_WRONG-KEY"]["open"]
    assert not outline.purposes["tp-TP_SAEF-PSK_B_WRONG-KEY_dtls"]["open"]
    assert outline.attention[:2] == [
        "tp-TP_SAEF-PSK_B_WRONG-KEY",
        "tp-TP_SAEF-PSK_B_WRONG-KEY_dtls",
    ]
    assert page.count("<code>TP/SAEF-PSK/B/WRONG-KEY</code>") == 1  # one summary row
