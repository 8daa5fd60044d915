"""The command adapter: the SUT wrapped in a per-test-case shim program (BoGo style).

For each case the harness writes the :class:`SutRequest` as JSON to a temporary file and
starts ``command + [file]`` (also ``M2MCONF_CONFIG=file``) in its own process group,
with the profile's folder as working directory. The shim answers with JSON lines on
stdout (docs/adapter-contract.md):

    {"event": "ready", "listen": {"host": "127.0.0.1", "port": 4433},
     "endpoints": {"association": {"host": "127.0.0.1", "port": 4433}}}
    {"event": "log", "message": "..."}
    {"event": "result", "status": "established", "cipher_suite": "0x00AE", ...,
     "legs": [{"name": "maf_handshake", "peer": "maf", "status": "established", ...}]}

A multi-party case (docs/saef-maf.md) adds to the request the harness parties the shim
reaches (``peers``), the endpoints it serves (``services``) and how many legs it runs
(``expected_legs``); the shim reports each served endpoint in the ready event and each
leg it ran in the result event.

Exit code 89 means "this configuration is unsupported" (not applicable, never a pass);
any other exit without a result is a shim error. Every wait is bounded, and the whole
process group is killed on expiry or stop, so neither a silent nor a hung shim nor its
children can outlive the case; a descendant that left the group (``setsid``) is found
by the pipe it still holds or the request path in its environment, and killed too.

A shim is untrusted input: what is kept of its output is bounded (lines cut at
MAX_LINE, the log a head and a tail with the rest counted), reading never blocks
``stop()``, and an event line that cannot be read (too long, nested too deeply) is a
named error, never a dead reader thread that looks like a silent SUT.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import ctypes
import json
import os
import queue
import re
import select
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.sut.contract import Address, LegResult, Status, SutRequest, SutResult
from harness.tls.suites import parse_suite
from harness.verdict import HarnessError, NotApplicable

if TYPE_CHECKING:  # only for the annotation: the adapter needs no profile loader
    from harness.sut.profile import SutProfile

EXIT_UNSUPPORTED = 89
STDERR_TAIL = 20  # stderr lines kept for an error's detail
KILL_GRACE = 1.0  # seconds between SIGTERM and SIGKILL of the group
MAX_LINE = 1 << 20  # bytes of one stdout line (an event); longer ones are unreadable
MAX_LOG_LINE = 4096  # characters kept of one log line (and of one stderr line)
LOG_HEAD = 200  # log lines kept from the start ...
LOG_TAIL = 200  # ... and from the end; those in between are counted
MAX_JSON_DEPTH = 32  # nesting of an event: a result is 4 deep; more is hostile
POLL_INTERVAL = 0.1  # how often a reader looks whether the session is stopping
READ_SIZE = 65536
PRIMARY_SERVICE = "association"  # the name of ``listen`` when the request names no services


class ShimError(HarnessError):
    """The shim could not be started or never became ready: a test-system error."""


# Every session not yet stopped, so an interrupted campaign (harness.interrupt) and the
# interpreter's exit stop whatever a torn-down case left running.
_LIVE: set[CommandSession] = set()
_LIVE_LOCK = threading.Lock()
REQUEST_PREFIX = "m2mconf-request-"  # + the harness's pid + "-": see sweep_stale_requests
_PR_SET_PDEATHSIG = 1


def stop_live_sessions() -> int:
    """Stop every session still running (each stop() is bounded); how many there were."""
    with _LIVE_LOCK:
        sessions = list(_LIVE)
    for session in sessions:
        session.stop(force=True)
    return len(sessions)


atexit.register(stop_live_sessions)


def sweep_stale_requests(directory: Path | None = None) -> list[Path]:
    """Remove the request files (keys in clear) of harness processes that are gone, and
    kill the shims and descendants still carrying one in their environment: what a
    harness killed with SIGKILL, which no handler sees, left behind. The files are
    named after the harness's pid; another live harness's are left alone."""
    folder = Path(directory or tempfile.gettempdir())
    removed: list[Path] = []
    with contextlib.suppress(OSError):
        for path in folder.glob(f"{REQUEST_PREFIX}*-*.json"):
            owner = path.name[len(REQUEST_PREFIX) :].split("-", 1)[0]
            if not owner.isdigit() or _process_alive(int(owner)):
                continue
            with contextlib.suppress(OSError):
                if path.stat().st_uid != os.getuid():
                    continue
                for pid in escaped_processes([], str(path)):
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                path.unlink()
                removed.append(path)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _die_with_the_harness() -> None:
    """In the shim, before exec: SIGKILL when the thread that started it (the harness's
    main thread) dies, so even a harness killed with SIGKILL leaves no shim running."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class BoundedLog(list[str]):
    """The shim's log lines: the first LOG_HEAD and the last LOG_TAIL, each cut at
    MAX_LOG_LINE characters, with a marker line counting those left out between."""

    def __init__(self, head: int = LOG_HEAD, tail: int = LOG_TAIL) -> None:
        super().__init__()
        self.head, self.tail = head, tail
        self.omitted = 0

    def append(self, line: str) -> None:  # type: ignore[override]
        super().append(_cut(line))
        if len(self) > self.head + self.tail + (1 if self.omitted else 0):
            if self.omitted == 0:  # the marker line takes the gap's place
                self.insert(self.head, "")
            del self[self.head + 1]
            self.omitted += 1
            self[self.head] = f"[{self.omitted} log lines omitted]"


def _cut(line: str, limit: int = MAX_LOG_LINE) -> str:
    if len(line) <= limit:
        return line
    return f"{line[:limit]}... [{len(line) - limit} more characters]"


class CommandAdapter:
    name = "command"

    _swept = False  # sweep_stale_requests runs once per process

    def __init__(self, command: Sequence[str], cwd: Path, ready_timeout: float = 5.0) -> None:
        if not command:
            raise ValueError("empty shim command")
        self.command = tuple(command)
        self.cwd = Path(cwd)
        self.ready_timeout = ready_timeout
        if not CommandAdapter._swept:
            CommandAdapter._swept = True
            with contextlib.suppress(Exception):
                sweep_stale_requests()

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
        self.log: list[str] = BoundedLog()  # log events and non-JSON stdout lines, in order
        self.ready: Address | None = None
        self.endpoints: dict[str, Address] = {}  # filled by the ready event
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        self._result: SutResult | None = None
        self._stopped = False
        self._eof = False  # stdout closed: no more events will come
        self._closing = threading.Event()  # stop(): readers end at their next poll
        # mkstemp: mode 0600. The pid in the name lets a later harness remove the file
        # if this one is killed (sweep_stale_requests).
        fd, name = tempfile.mkstemp(prefix=f"{REQUEST_PREFIX}{os.getpid()}-", suffix=".json")
        self.config_path = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(request.to_json(), f, indent=2)
        env = dict(os.environ, M2MCONF_CONFIG=str(self.config_path))
        main_thread = threading.current_thread() is threading.main_thread()
        try:
            self.process = subprocess.Popen(
                [*adapter.command, str(self.config_path)],
                cwd=adapter.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # own process group: stop() reaches grandchildren
                # Only from the main thread: PDEATHSIG fires when the starting *thread* ends.
                preexec_fn=_die_with_the_harness if main_thread else None,
            )
        except OSError as exc:
            self.config_path.unlink(missing_ok=True)
            raise ShimError(f"cannot start shim {adapter.command[0]}: {exc}") from exc
        with _LIVE_LOCK:
            _LIVE.add(self)
        assert self.process.stdout is not None and self.process.stderr is not None
        self._pipes = [self.process.stdout.fileno(), self.process.stderr.fileno()]
        self._readers = [
            threading.Thread(
                target=self._read,
                args=(self._pipes[0], self._stdout_line, True),
                daemon=True,
            ),
            threading.Thread(
                target=self._read,
                args=(self._pipes[1], self._stderr_line, False),
                daemon=True,
            ),
        ]
        for thread in self._readers:
            thread.start()

    # --- readers (threads) ---------------------------------------------------------------

    def _read(self, fd: int, on_line: Callable[[bytes, int], None], events: bool) -> None:
        """Read lines from a pipe until EOF or stop(), never blocking longer than
        POLL_INTERVAL (so stop() never waits on a reader that a shim's escaped child
        keeps busy); a line longer than MAX_LINE is passed on cut, with its true length.
        Whatever goes wrong, the events queue hears of it and of the end."""
        try:
            for line, length in _lines(fd, self._closing):
                on_line(line, length)
        except BaseException as exc:  # a reader must never die in silence
            if events:
                self._events.put(("unreadable", f"the harness could not read stdout: {exc!r}"))
        finally:
            if events:
                self._events.put(("eof", None))

    def _stdout_line(self, raw: bytes, length: int) -> None:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        looks_like_event = line.lstrip().startswith("{") and '"event"' in line[:4096]
        if length > len(raw):
            what = f"a stdout line of {length} bytes, more than the {MAX_LINE} an event may have"
            if looks_like_event:
                self._events.put(("unreadable", f"{what}: {line[:120]!r}..."))
            self.log.append(f"[{what}] {line}")
            return
        try:
            message = json.loads(line)
            deep = _too_deep(message)
        except RecursionError:
            message, deep = None, True
        except ValueError:
            message, deep = None, False
        if deep:
            what = f"a stdout line nested more than {MAX_JSON_DEPTH} deep ({length} bytes)"
            if looks_like_event:
                self._events.put(("unreadable", f"{what}: {line[:120]!r}..."))
            self.log.append(f"[{what}] {line}")
            return
        if not isinstance(message, dict) or "event" not in message:
            if line.strip():
                self.log.append(line)
            return
        event = message.get("event")
        if event == "log":
            self.log.append(str(message.get("message", "")))
        elif event in ("ready", "result"):
            self._events.put((event, message))
        else:
            self.log.append(line)

    def _stderr_line(self, raw: bytes, length: int) -> None:
        self._stderr.append(_cut(raw.decode("utf-8", "replace").rstrip("\r\n")))

    # --- SutSession ------------------------------------------------------------------------

    @property
    def serves(self) -> bool:
        """Whether the shim plays a server here (it has a listen address or services)."""
        return self.request.listen is not None or bool(self.request.services)

    def wait_ready(self, timeout: float) -> Address | None:
        """For a server role, the primary address the shim listens on (``endpoints``
        filled with every served one); None for a client role.

        Bounded by the smaller of ``timeout`` and the profile's ready_timeout. A shim that
        exits first, or stays silent, or reports an unusable address, is a ShimError
        (exit 89: NotApplicable).
        """
        if not self.serves:
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
                try:
                    self._on_ready(message)
                except ShimError:
                    self.stop()
                    raise
                return self.ready
            if event == "unreadable":
                self.stop()
                raise ShimError(f"shim printed an event the harness cannot read: {message}")
            if event == "result":
                # A server that gives up before listening (e.g. refuses its configuration).
                self._result = parse_result(message)
                if self._result.status is Status.UNSUPPORTED:
                    raise NotApplicable(self._result.detail or "shim: unsupported configuration")
                raise ShimError(f"shim reported a result before ready: {self._result.to_json()}")
            self._eof = True
        self._result = self._exit_result(deadline)
        if self._result.status is Status.UNSUPPORTED:
            raise NotApplicable(self._result.detail)
        raise ShimError(f"shim ended before ready: {self._result.detail}")

    def _on_ready(self, message: dict[str, Any]) -> None:
        """Take the addresses of a ready event (ShimError, naming the field, if unusable)."""
        self.ready, self.endpoints = parse_ready(message, self.request)

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
                if self.ready is None and self.serves:
                    try:
                        self._on_ready(message)
                    except ShimError as exc:  # too late to matter: keep it as log
                        self.log.append(f"late ready event ignored: {exc}")
                continue
            if event == "result":
                self._result = parse_result(message)
                return self._result
            if event == "unreadable":
                problem = f"shim printed an event the harness cannot read: {message}"
                self._result = SutResult(Status.ERROR, detail=problem, problems=[problem])
                return self._result
            self._eof = True
        self._result = self._exit_result(deadline)
        return self._result

    def stop(self, force: bool = False) -> None:
        """Terminate the whole process group and every descendant that left it;
        idempotent, never raises, bounded (about 2 * KILL_GRACE + 2 * POLL_INTERVAL)
        whatever the shim does. The request file (it holds keys) goes first.

        ``force``: run again even if a stop began (one an interrupting signal cut short
        leaves the session registered, and stop_live_sessions finishes it)."""
        if self._stopped and not force:
            return
        self._stopped = True
        with contextlib.suppress(Exception):
            self.config_path.unlink(missing_ok=True)
        with contextlib.suppress(Exception):
            if self.process.poll() is None:
                _signal_group(self.process.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(KILL_GRACE)
            # Children of the shim (e.g. openssl s_server) may outlive it: end them too.
            _signal_group(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(KILL_GRACE)
        with contextlib.suppress(Exception):
            # A descendant that called setsid is outside the group; it still holds our
            # pipes or carries the request path in its environment.
            for pid in escaped_processes(self._pipes, str(self.config_path)):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        self._closing.set()
        for thread in self._readers:
            thread.join(KILL_GRACE)
        for stream in (self.process.stdout, self.process.stderr):
            with contextlib.suppress(Exception):
                stream.close()  # type: ignore[union-attr]
        with _LIVE_LOCK:
            _LIVE.discard(self)

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


def _lines(fd: int, closing: threading.Event) -> Iterable[tuple[bytes, int]]:
    """(line, its full length) from ``fd`` until EOF or ``closing``; a line is cut at
    MAX_LINE bytes (the rest is read and counted, never kept)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    buffer = bytearray()
    skipped = 0  # bytes of the current line beyond MAX_LINE
    while not closing.is_set():
        if not poller.poll(POLL_INTERVAL * 1000):
            continue
        try:
            chunk = os.read(fd, READ_SIZE)
        except OSError:
            chunk = b""
        if not chunk:
            break
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            piece = chunk[start : end + 1]
            if skipped:
                yield bytes(buffer), len(buffer) + skipped + len(piece)
            else:
                buffer += piece
                yield bytes(buffer[:MAX_LINE]), len(buffer)
            buffer.clear()
            skipped = 0
            start = end + 1
        rest = chunk[start:]
        room = MAX_LINE - len(buffer)
        if len(rest) > room:
            buffer += rest[: max(room, 0)]
            skipped += len(rest) - max(room, 0)
        else:
            buffer += rest
    if buffer or skipped:
        yield bytes(buffer), len(buffer) + skipped


def _too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a decoded JSON value nests deeper than ``limit`` (iterative: a hostile
    value must not exhaust the stack of whoever walks it later, e.g. a report writer)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def escaped_processes(pipes: Sequence[int], marker: str) -> list[int]:
    """Other processes holding one of our ``pipes`` (the shim's stdout/stderr, whose
    write ends only the shim and its descendants ever had), or whose environment names
    ``marker`` (M2MCONF_CONFIG=<request path>): a shim's descendants, wherever their
    session. Linux /proc; empty elsewhere or when nothing can be read."""
    inodes = set()
    for fd in pipes:
        with contextlib.suppress(OSError):
            inodes.add(os.fstat(fd).st_ino)
    wanted = {f"pipe:[{inode}]" for inode in inodes}
    needle = f"M2MCONF_CONFIG={marker}".encode() + b"\0"
    me = os.getpid()
    found: list[int] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        pid = int(entry.name)
        with contextlib.suppress(OSError):
            if needle in Path(f"/proc/{pid}/environ").read_bytes() + b"\0":
                found.append(pid)
                continue
        with contextlib.suppress(OSError):
            for fd_entry in os.scandir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(fd_entry.path) in wanted:
                        found.append(pid)
                        break
    return found


# --- parsing the shim's events ---------------------------------------------------------------
# Everything a shim prints is untrusted input: a malformed event must become a named
# error (ShimError before ready, Status.ERROR in a result), never an exception escaping
# into the harness.


def parse_ready(message: dict[str, Any], request: SutRequest) -> tuple[Address, dict[str, Address]]:
    """The primary address and every served endpoint from a ready event.

    The primary address is, as for one-endpoint cases, the event's ``listen``, else the
    requested ``listen`` when its port is fixed; only then ``endpoints[first service]``.
    Every requested service must end up with an address: reported, the primary one
    (``association`` when the request has ``listen``), or its requested fixed port.
    Raises ShimError naming the field that is unusable or missing.
    """
    endpoints: dict[str, Address] = {}
    raw = message.get("endpoints")
    if raw is not None:
        if not isinstance(raw, dict):
            raise ShimError(f"shim's ready event: endpoints must be an object, not {raw!r}")
        for name, value in raw.items():
            address, problem = _address(value)
            if address is None:
                raise ShimError(f"shim's ready event: endpoints.{name}: {problem}")
            endpoints[str(name)] = address
    primary_service = _primary_service(request)
    primary, _ = _address(message.get("listen"))
    if primary is None and request.listen is not None and request.listen.port:
        primary = request.listen
    if primary is None and endpoints:
        primary = endpoints.get(primary_service or "", next(iter(endpoints.values())))
    if primary is None:
        raise ShimError(f"shim's ready event has no usable listen address: {message}")
    names = list(request.services) or ([PRIMARY_SERVICE] if request.listen is not None else [])
    for name in names:
        if name in endpoints:
            continue
        requested = request.services.get(name)
        if name == primary_service:
            endpoints[name] = primary
        elif requested is not None and requested.port:
            endpoints[name] = requested
        else:
            raise ShimError(
                f"shim's ready event: endpoints.{name}: missing (the request asked for port 0)"
            )
    return primary, endpoints


def _primary_service(request: SutRequest) -> str | None:
    """The service ``listen`` stands for: the association's, else the first service."""
    if request.listen is not None:
        return PRIMARY_SERVICE
    return next(iter(request.services), None)


def _address(value: Any) -> tuple[Address | None, str]:
    """An Address from ``{"host": str, "port": 1..65535}``, else None and what is wrong."""
    if not isinstance(value, dict):
        return None, f"must be an object {{host, port}}, not {value!r}"
    host, port = value.get("host"), value.get("port")
    if not isinstance(host, str) or not host:
        return None, f"host must be a non-empty string, not {host!r}"
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        return None, f"port must be an integer 1..65535, not {port!r}"
    return Address(host, port), ""


def parse_result(message: dict[str, Any]) -> SutResult:
    """A SutResult from a result event. A malformed one becomes Status.ERROR whose
    detail names every bad field (``legs[1].cipher_suite: ...``): a leg dropped in
    silence could turn "A ran one MAF handshake" into a false pass."""
    try:
        return _parse_result(message)
    except Exception as exc:  # a parser bug must not crash the case either
        problem = f"shim result could not be read ({exc!r}): {_cut(str(message), 400)}"
        return SutResult(Status.ERROR, detail=problem, problems=[problem])


def _parse_result(message: dict[str, Any]) -> SutResult:
    raw_status = message.get("status")
    if not isinstance(raw_status, str) or raw_status not in set(Status):
        problem = f"shim result has an invalid status: {_cut(str(message), 400)}"
        return SutResult(Status.ERROR, detail=problem, problems=[problem])
    problems: list[str] = []
    outcome = _Outcome(message, "", problems)
    result = SutResult(  # every field read before ``problems`` is looked at
        status=Status(raw_status),
        cipher_suite=outcome.suite(),
        peer_identity=outcome.text("peer_identity"),
        psk_identity=outcome.text("psk_identity"),
        alert=outcome.text("alert"),
        keys=outcome.keys(),
        detail=outcome.text("detail") or "",
        legs=_parse_legs(message.get("legs"), problems),
    )
    if problems:
        result.status = Status.ERROR
        result.problems = list(problems)
        result.detail = "; ".join(
            filter(None, [result.detail, "malformed shim result: " + "; ".join(problems)])
        )
    return result


def _parse_legs(raw: Any, problems: list[str]) -> list[LegResult]:
    """The legs list; a leg without a usable name, peer and status is left out (and
    named in ``problems``), one with another bad field keeps the fields that are good."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(f"legs: must be a list, not {type(raw).__name__}")
        return []
    legs: list[LegResult] = []
    for i, item in enumerate(raw):
        where = f"legs[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be an object, not {item!r}")
            continue
        leg = _Outcome(item, where, problems)
        name, peer, status = leg.name("name"), leg.name("peer"), leg.status()
        fields = item.get("fields") or {}
        if not isinstance(fields, dict):
            problems.append(f"{where}.fields: must be an object, not {fields!r}")
            fields = {}
        if name is None or peer is None or status is None:
            continue
        legs.append(
            LegResult(
                name=name,
                peer=peer,
                status=status,
                cipher_suite=leg.suite(),
                peer_identity=leg.text("peer_identity"),
                psk_identity=leg.text("psk_identity"),
                alert=leg.text("alert"),
                keys=leg.keys(),
                fields=dict(fields),
                detail=leg.text("detail") or "",
            )
        )
    return legs


class _Outcome:
    """Reads the fields a result and a leg share, appending each problem, named by
    its place in the event, to ``problems``."""

    def __init__(self, data: dict[str, Any], where: str, problems: list[str]) -> None:
        self.data = data
        self.where = where
        self.problems = problems

    def _bad(self, key: str, message: str) -> None:
        place = f"{self.where}.{key}" if self.where else key
        self.problems.append(f"{place}: {message}")

    def name(self, key: str) -> str | None:
        value = self.data.get(key)
        if not isinstance(value, str) or not value:
            self._bad(key, f"must be a non-empty string, not {value!r}")
            return None
        return value

    def status(self) -> Status | None:
        value = self.data.get("status")
        if isinstance(value, str) and value in set(Status):
            return Status(value)
        self._bad("status", f"invalid {value!r} (one of {', '.join(Status)})")
        return None

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or isinstance(value, str):
            return value
        self._bad(key, f"must be a string or null, not {value!r}")
        return None

    def suite(self) -> int | None:
        value = self.data.get("cipher_suite")
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            if 0 <= value <= 0xFFFF:
                return value
        elif isinstance(value, str):
            try:
                return parse_suite(value).code
            except ValueError:
                try:
                    code = int(value, 16)
                except ValueError:
                    code = -1
                if 0 <= code <= 0xFFFF:
                    return code
        self._bad("cipher_suite", f'unreadable {value!r} (a code such as "0x00AE" or a name)')
        return None

    def keys(self) -> dict[str, str]:
        raw = self.data.get("keys")
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self._bad("keys", f"must be an object {{label: hex}}, not {raw!r}")
            return {}
        keys: dict[str, str] = {}
        for label, value in raw.items():
            if isinstance(value, str) and _is_hex(value):
                keys[str(label)] = value.lower()
            else:
                self._bad(f"keys.{label}", f"not hex ({value!r})")
        return keys


_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


def _is_hex(text: str) -> bool:
    """A non-empty even run of hex digits: no blanks, no 0x, nothing bytes.fromhex forgives."""
    return _HEX.fullmatch(text) is not None
