"""The command adapter: the SUT wrapped in a per-test-case shim program (BoGo style).

For each case the harness writes the :class:`SutRequest` as JSON to a temporary file and
starts ``command + [file]`` (also ``M2MCONF_CONFIG=file``) in its own process group,
with the profile's folder as working directory. The shim answers with JSON lines on
stdout (docs/adapter-contract.md):

    {"event": "ready", "listen": {"host": "127.0.0.1", "port": 4433}}
    {"event": "log", "message": "..."}
    {"event": "result", "status": "established", "cipher_suite": "0x00AE", ...}

Exit code 89 means "this configuration is unsupported" (not applicable, never a pass);
any other exit without a result is a shim error. Every wait is bounded, and the whole
process group is killed on expiry or stop, so neither a silent nor a hung shim nor its
children can outlive the case.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from harness.sut.contract import Address, Status, SutRequest, SutResult
from harness.sut.profile import SutProfile
from harness.tls.suites import parse_suite
from harness.verdict import HarnessError, NotApplicable

EXIT_UNSUPPORTED = 89
STDERR_TAIL = 20  # stderr lines kept for an error's detail
KILL_GRACE = 1.0  # seconds between SIGTERM and SIGKILL of the group


class ShimError(HarnessError):
    """The shim could not be started or never became ready: a test-system error."""


class CommandAdapter:
    name = "command"

    def __init__(self, command: Sequence[str], cwd: Path, ready_timeout: float = 5.0) -> None:
        if not command:
            raise ValueError("empty shim command")
        self.command = tuple(command)
        self.cwd = Path(cwd)
        self.ready_timeout = ready_timeout

    @classmethod
    def from_profile(cls, profile: SutProfile) -> CommandAdapter:
        spec = profile.adapter
        return cls(spec.command, profile.base, spec.ready_timeout)

    def start(self, request: SutRequest) -> CommandSession:
        return CommandSession(self, request)


class CommandSession:
    """One shim process for one test case."""

    def __init__(self, adapter: CommandAdapter, request: SutRequest) -> None:
        self.adapter = adapter
        self.request = request
        self.log: list[str] = []  # log events and non-JSON stdout lines, in order
        self.ready: Address | None = None
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        self._result: SutResult | None = None
        self._stopped = False
        self._eof = False  # stdout closed: no more events will come
        fd, name = tempfile.mkstemp(prefix="m2mconf-request-", suffix=".json")
        self.config_path = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(request.to_json(), f, indent=2)
        env = dict(os.environ, M2MCONF_CONFIG=str(self.config_path))
        try:
            self.process = subprocess.Popen(
                [*adapter.command, str(self.config_path)],
                cwd=adapter.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # own process group: stop() reaches grandchildren
            )
        except OSError as exc:
            self.config_path.unlink(missing_ok=True)
            raise ShimError(f"cannot start shim {adapter.command[0]}: {exc}") from exc
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read_stdout, args=(self.process.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(self.process.stderr,), daemon=True),
        ]
        for thread in self._readers:
            thread.start()

    # --- readers (threads) ---------------------------------------------------------------

    def _read_stdout(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            try:
                message = json.loads(line)
            except ValueError:
                message = None
            if not isinstance(message, dict) or "event" not in message:
                if line.strip():
                    self.log.append(line)
                continue
            event = message.get("event")
            if event == "log":
                self.log.append(str(message.get("message", "")))
            elif event in ("ready", "result"):
                self._events.put((event, message))
            else:
                self.log.append(line)
        self._events.put(("eof", None))

    def _read_stderr(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self._stderr.append(raw.decode("utf-8", "replace").rstrip("\r\n"))

    # --- SutSession ------------------------------------------------------------------------

    def wait_ready(self, timeout: float) -> Address | None:
        """For a server role, the address the shim listens on; None for a client role.

        Bounded by the smaller of ``timeout`` and the profile's ready_timeout. A shim that
        exits first, or stays silent, is a ShimError (exit 89: NotApplicable).
        """
        if self.request.listen is None:
            code = self.process.poll()
            if code == EXIT_UNSUPPORTED:
                raise NotApplicable(self._unsupported_detail())
            return None
        if self.ready is not None:
            return self.ready
        bound = min(timeout, self.adapter.ready_timeout)
        deadline = time.monotonic() + bound
        while not self._eof:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise ShimError(f"shim printed no ready event within {bound:g} s{self._tail()}")
            try:
                event, message = self._events.get(timeout=remaining)
            except queue.Empty:
                continue
            if event == "ready":
                self.ready = _parse_listen(message, self.request.listen)
                return self.ready
            if event == "result":
                # A server that gives up before listening (e.g. refuses its configuration).
                self._result = _parse_result(message)
                if self._result.status is Status.UNSUPPORTED:
                    raise NotApplicable(self._result.detail or "shim: unsupported configuration")
                raise ShimError(f"shim reported a result before ready: {self._result.to_json()}")
            self._eof = True
        self._result = self._exit_result(deadline)
        if self._result.status is Status.UNSUPPORTED:
            raise NotApplicable(self._result.detail)
        raise ShimError(f"shim ended before ready: {self._result.detail}")

    def result(self, timeout: float) -> SutResult:
        """The shim's result event, or a status made from its exit, within ``timeout``."""
        if self._result is not None:
            return self._result
        deadline = time.monotonic() + timeout
        while not self._eof:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                self._result = SutResult(
                    Status.TIMEOUT, detail=f"shim gave no result within {timeout:g} s{self._tail()}"
                )
                return self._result
            try:
                event, message = self._events.get(timeout=remaining)
            except queue.Empty:
                continue
            if event == "ready":
                self.ready = self.ready or _parse_listen(message, self.request.listen)
                continue
            if event == "result":
                self._result = _parse_result(message)
                return self._result
            self._eof = True
        self._result = self._exit_result(deadline)
        return self._result

    def stop(self) -> None:
        """Terminate the whole process group; idempotent, never raises."""
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(Exception):
            if self.process.poll() is None:
                _signal_group(self.process.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(KILL_GRACE)
            # Children of the shim (e.g. openssl s_server) may outlive it: end them too.
            _signal_group(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(KILL_GRACE)
        for thread in self._readers:
            thread.join(KILL_GRACE)
        for stream in (self.process.stdout, self.process.stderr):
            with contextlib.suppress(Exception):
                stream.close()  # type: ignore[union-attr]
        self.config_path.unlink(missing_ok=True)

    # --- helpers ----------------------------------------------------------------------------

    def _exit_result(self, deadline: float) -> SutResult:
        """The status of a shim whose stdout ended without a result event."""
        code = self._wait_exit(deadline)
        if code is None:  # stdout closed but the process lives on past the bound
            self.stop()
            return SutResult(
                Status.TIMEOUT, detail=f"shim closed stdout without a result{self._tail()}"
            )
        if code == EXIT_UNSUPPORTED:
            return SutResult(Status.UNSUPPORTED, detail=self._unsupported_detail())
        if code == 0:
            return SutResult(
                Status.ERROR, detail=f"shim exited 0 without a result event{self._tail()}"
            )
        return SutResult(Status.ERROR, detail=f"shim exited with code {code}{self._tail()}")

    def _wait_exit(self, deadline: float) -> int | None:
        try:
            return self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return None

    def _stderr_lines(self) -> list[str]:
        for thread in self._readers[1:]:
            thread.join(0.5)  # let the stderr reader drain what an exited shim wrote
        return list(self._stderr)

    def _tail(self) -> str:
        lines = self._stderr_lines()
        return ("; stderr: " + " | ".join(lines[-5:])) if lines else ""

    def _unsupported_detail(self) -> str:
        lines = self._stderr_lines() or self.log
        reason = lines[-1] if lines else "no reason given"
        return f"shim: unsupported configuration ({reason})"


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _parse_listen(message: dict[str, Any], requested: Address | None) -> Address:
    listen = message.get("listen")
    if isinstance(listen, dict):
        host, port = listen.get("host"), listen.get("port")
        if isinstance(host, str) and isinstance(port, int) and 0 < port < 65536:
            return Address(host, port)
    if requested is not None and requested.port:
        return requested
    raise ShimError(f"shim's ready event has no usable listen address: {message}")


def _parse_result(message: dict[str, Any]) -> SutResult:
    """A SutResult from a result event; a malformed one becomes Status.ERROR, naming why."""
    try:
        status = Status(message.get("status"))
    except ValueError:
        return SutResult(Status.ERROR, detail=f"shim result has an invalid status: {message}")
    problems: list[str] = []
    suite = message.get("cipher_suite")
    code: int | None = None
    if isinstance(suite, int) and not isinstance(suite, bool):
        code = suite
    elif isinstance(suite, str) and suite:
        try:
            code = parse_suite(suite).code
        except ValueError:
            try:
                code = int(suite, 16)
            except ValueError:
                problems.append(f"unreadable cipher_suite {suite!r}")
    keys: dict[str, str] = {}
    raw_keys = message.get("keys") or {}
    if isinstance(raw_keys, dict):
        for label, value in raw_keys.items():
            if isinstance(value, str) and _is_hex(value):
                keys[str(label)] = value.lower()
            else:
                problems.append(f"key {label!r} is not hex")
    else:
        problems.append("keys is not an object")

    def text(name: str) -> str | None:
        value = message.get(name)
        return None if value is None else str(value)

    detail = str(message.get("detail") or "")
    if problems:
        detail = "; ".join(filter(None, [detail, "shim result: " + ", ".join(problems)]))
    return SutResult(
        status=status,
        cipher_suite=code,
        peer_identity=text("peer_identity"),
        psk_identity=text("psk_identity"),
        alert=text("alert"),
        keys=keys,
        detail=detail,
    )


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True
