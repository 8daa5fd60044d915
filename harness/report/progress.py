"""Progress of a long campaign on the terminal (or a CI log).

One line per finished purpose, ``[ 7/42] pass TP/SAEF-PSK/B/WRONG-KEY (0.04 s)``, with
the reason on the next line when the verdict is not pass, so a CI log alone tells what
went wrong. On a TTY, passes overwrite a single status line and only non-pass lines
stay; nothing ever requires a TTY. The campaign plugin calls :meth:`Progress.start`
and :meth:`Progress.update`; the CLI calls :meth:`Progress.finish` after writing the
reports.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from harness.results import CampaignResult, TpResult
from harness.verdict import Verdict


class Progress:
    def __init__(
        self, stream: TextIO | None = None, *, quiet: bool = False, tty: bool | None = None
    ) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.quiet = quiet
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty = tty
        self.total = 0
        self.done = 0
        self._status_shown = False

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _clear_status(self) -> None:
        if self._status_shown:
            self._write("\r\x1b[2K")
            self._status_shown = False

    def start(self, total: int, not_applicable: int | None = None) -> None:
        """``total`` instances will run; ``not_applicable`` more were selected but the
        ICS excludes them (when known at this point), so the closing summary, which
        counts every selected instance, adds up with this line."""
        self.total = total
        self.done = 0
        if not self.quiet:
            line = f"running {total} test purpose instance{'s' if total != 1 else ''}"
            if not_applicable:
                line += f" ({total + not_applicable} selected, {not_applicable} not applicable)"
            self._write(line + "\n")

    def line(self, result: TpResult) -> str:
        """``[ 7/42] pass TP/... (0.04 s)``, numbered by completion order."""
        width = len(str(max(self.total, self.done)))
        return (
            f"[{self.done:>{width}}/{self.total}] {result.verdict} "
            f"{result.tp} ({result.duration:.2f} s)"
        )

    def update(self, result: TpResult) -> None:
        self.done += 1
        if self.quiet:
            return
        line = self.line(result)
        if result.verdict is Verdict.PASS and self.tty:
            self._clear_status()
            self._write(line)
            self._status_shown = True
            return
        self._clear_status()
        text = line + "\n"
        if result.verdict is not Verdict.PASS and result.reason:
            text += f"        {result.reason}\n"
        self._write(text)

    def summary(self, result: CampaignResult) -> str:
        """``92 test purpose instances in 20.7 s: 50 run (34 pass, 12 fail, 4
        inconclusive), 42 not applicable``: the run count matches the progress lines."""
        counts = result.counts()
        ran = [v for v in Verdict if v is not Verdict.NOT_APPLICABLE and counts[str(v)]]
        run = sum(counts[str(v)] for v in ran)
        parts = ", ".join(f"{counts[str(v)]} {v}" for v in ran)
        text = f"{run} run ({parts})" if run else "none run"
        if counts[str(Verdict.NOT_APPLICABLE)]:
            text += f", {counts[str(Verdict.NOT_APPLICABLE)]} not applicable"
        duration = f" in {result.finished - result.started:.1f} s" if result.finished else ""
        return f"{len(result.results)} test purpose instances{duration}: {text}"

    def finish(self, result: CampaignResult, report_path: Path | str | None = None) -> None:
        """The counts line and where the report is. Printed even when quiet."""
        self._clear_status()
        text = self.summary(result) + "\n"
        if report_path is not None:
            text += f"report: {report_path}\n"
        self._write(text)
