"""Interrupting a campaign: SIGINT, SIGTERM or SIGHUP ends it cleanly, never half-way.

A campaign holds things that must not outlive it: shim processes (and whatever they
started) and request files with keys in clear. On the first signal the main thread
raises :class:`Interrupted` (a KeyboardInterrupt, so pytest stops the session the way
it stops on Ctrl-C and tears down the running case: its shim is stopped, its request
file removed), the signal is passed on to this process's children (pytest-xdist
workers do the same in turn), and the campaign returns what it has: every instance
that ran keeps its verdict, every planned one that did not is reported *error* with a
reason starting "not run:" (never a pass, never a fail), and the exit code is
128 + the signal (130 for SIGINT). Later signals are noted and ignored so the bounded
cleanup and the partial report can finish; SIGKILL cannot be caught, so the command
adapter also makes its shims die with the harness (PR_SET_PDEATHSIG) and sweeps the
request files and processes of a harness that was killed (harness.sut.command_adapter).

This module is also a pytest plugin (``-p harness.interrupt``), so that pytest-xdist
workers install the same handlers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
NOT_RUN = "not run"  # how the reason of an instance the interruption kept from running starts

_received: int | None = None
_installed = False


class Interrupted(KeyboardInterrupt):
    """The campaign was interrupted by ``signum``; the process exits 128 + signum."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal_name(signum)}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def received() -> int | None:
    """The signal that interrupted the campaign, or None."""
    return _received


def _children() -> list[int]:
    """This process's direct children (Linux /proc; empty elsewhere)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.scandir("/proc/self/task"):
            with contextlib.suppress(OSError):
                text = Path(task.path, "children").read_text()
                found.extend(int(pid) for pid in text.split())
    return found


def _handler(signum: int, frame: Any) -> None:
    global _received
    if _received is not None:
        # Already stopping: the cleanup and the partial report are bounded; let them end.
        with contextlib.suppress(Exception):
            os.write(2, b"m2mconf: already stopping (cleaning up, writing the partial report)\n")
        return
    _received = signum
    for pid in _children():  # pytest-xdist workers (and shims, which stop() ends anyway)
        with contextlib.suppress(OSError):
            os.kill(pid, signum)
    raise Interrupted(signum)


def install() -> bool:
    """Install the handlers for this process (main thread only); False if they could not
    be (another thread, or already installed). The state of an earlier run is cleared."""
    global _installed, _received
    if threading.current_thread() is not threading.main_thread():
        return False
    if _installed and _received is None:  # an enclosing block has installed them
        return False
    _received = None
    for signum in SIGNALS:
        signal.signal(signum, _handler)
    _installed = True
    return True


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """The handlers installed for the block, the previous ones restored after it (a
    block inside another one changes nothing). After a signal they stay: the process is
    on its way out, and a second Ctrl-C must not cut the partial report short."""
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    mine = install()
    try:
        yield
    finally:
        if mine and _received is None:
            global _installed
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            _installed = False


# --- the pytest side: which instances were planned, which ran ----------------------------------


class RunLedger:
    """Records the scenario instances a campaign planned and the ones that reported, so
    an interrupted campaign can name every instance it did not run."""

    def __init__(self) -> None:
        self.planned: list[pytest.Item] = []  # a sequential run's (or a worker's) items
        self.planned_ids: list[str] = []  # a pytest-xdist controller's, from a worker
        self.reported: set[str] = set()  # instances whose result came home
        self.running: str | None = None

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> Any:
        outcome = yield  # after every plugin (the campaign's deselection) has run
        from harness.plugin import scenario_info

        self.planned = [item for item in items if scenario_info(item) is not None]
        return outcome

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if not self.planned_ids:
            self.planned_ids = list(ids)

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.running = nodeid

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from harness.plugin import REPORT_ATTRIBUTE

        if getattr(report, REPORT_ATTRIBUTE, None) is not None:
            self.reported.add(report.nodeid)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.running = None


def mark_not_run(result: Any, ledger: RunLedger, signum: int) -> int:
    """Complete an interrupted campaign's ``result`` (harness.results.CampaignResult):
    every planned instance without a verdict of its own gets one, *error* with a reason
    starting "not run:". Returns how many instances that concerned."""
    from harness.plugin import case_id, scenario_info
    from harness.results import TpResult
    from harness.verdict import Verdict

    name = signal_name(signum)
    result.interrupted = name

    def reason(nodeid: str) -> str:
        if nodeid == ledger.running:
            return f"{NOT_RUN}: the campaign was interrupted by {name} while this instance ran"
        return f"{NOT_RUN}: the campaign was interrupted by {name} before this instance ran"

    count = 0
    if ledger.planned_ids:  # pytest-xdist: the controller made a result for every id
        for tp in result.results:
            if tp.nodeid in ledger.planned_ids and tp.nodeid not in ledger.reported:
                tp.verdict, tp.reason = Verdict.ERROR, reason(tp.nodeid)
                count += 1
        return count
    done = {tp.nodeid for tp in result.results}
    for item in ledger.planned:
        if item.nodeid in done:
            continue
        info = scenario_info(item)
        assert info is not None  # planned holds scenario instances only
        callspec = getattr(item, "callspec", None)
        result.results.append(
            TpResult(
                tp=case_id(info, item),
                title=info.title,
                feature=Path(info.feature).stem if info.feature else "",
                framework=info.framework,
                sut_role=info.sut_role,
                transport=str(callspec.params.get("transport", "tls")) if callspec else "tls",
                requirements=list(info.requirements),
                verdict=Verdict.ERROR,
                reason=reason(item.nodeid),
                nodeid=item.nodeid,
            )
        )
        count += 1
    return count


def pytest_configure(config: pytest.Config) -> None:
    """In a pytest-xdist worker: the same handlers as the campaign's own process."""
    if hasattr(config, "workerinput"):
        install()


def report_interrupt(count: int, err: Any = None) -> None:
    """One line on stderr saying what the interruption left out."""
    name = signal_name(_received) if _received is not None else "a signal"
    print(
        f"m2mconf: interrupted by {name}: {count} test purpose instances not run; "
        "writing the partial report",
        file=err or sys.stderr,
    )
