"""Starting and stopping the submission's programs.

Every server the grader starts goes through :class:`Program`, which runs it in the
sandbox (:mod:`grader.harness.sandbox`): in its own session, under resource limits (memory,
threads, processes, CPU time, output), watched by a thread that stops it when it goes
over one of them. :meth:`Program.stop` sends SIGTERM, then kills every member after a
grace period, including grandchildren that left the process group. Processes are owned
by PID and process group, never found by name. Output (stdout and stderr merged) is read
by a thread into capped buffers, so a chatty program can neither block on a full pipe
nor eat the grader's memory. :attr:`Program.limit_exceeded` says which limit, if any,
stopped the program; :func:`describe_limit` words it for a student.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence

import psutil

from ..messages import L_, sentences
from ..probes.counts import children, family
from ..streams import LineSplitter, OutputTail
from .isolation import Jail
from .sandbox import (
    CPU_LIMIT,
    FILE_SIZE_LIMIT,
    MEMORY_LIMIT,
    MIB,
    OUTPUT_LIMIT,
    PROCESS_LIMIT,
    THREAD_LIMIT,
    Limits,
    Sandbox,
    SandboxedProcess,
)
from .signals import send_to_main_thread

# What one submission program (with everything it starts) may use. A chat server or
# client needs a few dozen MiB and a few dozen threads; these are far above that.
LIMITS = Limits(
    memory=512 * MIB, threads=256, processes=16, cpu_seconds=60, output_total=64 * MIB
)
OUTPUT_CAP = 64 * 1024  # characters of output kept for display (the tail)
LINES_CAP = 20000  # lines kept for pattern waits
GRACE = 1.0  # seconds between SIGTERM and SIGKILL
START_WAIT = 2.0  # seconds bubblewrap may take to start a jailed program (~20 ms)
class Sandboxes:
    """One :class:`Sandbox` per set of limits, made on first use and kept for the run
    (making one sets this process up as a child subreaper, which takes a moment)."""

    def __init__(self) -> None:
        self._boxes: dict[Limits, Sandbox] = {}
        self._lock = threading.Lock()

    def get(self, limits: Limits) -> Sandbox:
        with self._lock:
            box = self._boxes.get(limits)
            if box is None:
                box = self._boxes[limits] = Sandbox(limits)
            return box


SANDBOXES = Sandboxes()


def sandbox(limits: Limits = LIMITS) -> Sandbox:
    """The sandbox that starts programs under ``limits`` (see :class:`Sandboxes`)."""
    return SANDBOXES.get(limits)


class Program:
    """One child process in its own session, with its output captured."""

    def __init__(
        self,
        argv: Sequence[str],
        cwd: str | os.PathLike[str],
        *,
        env: dict[str, str] | None = None,
        name: str = "server",
        limits: Limits = LIMITS,
        jail: Jail | None = None,
    ) -> None:
        self.argv = list(argv)
        self.cwd = os.fspath(cwd)
        self.name = name
        self.limits = limits
        self.jail = jail
        self._main: int | None = None  # the program's own pid, inside a jail
        self._env = dict(os.environ if env is None else env)
        self._env["PYTHONUNBUFFERED"] = "1"
        self._env.setdefault("PYTHONIOENCODING", "utf-8")
        self._proc: subprocess.Popen[bytes] | None = None
        self._box: SandboxedProcess | None = None
        self._cond = threading.Condition()
        self._lines: list[str] = []
        self._dropped_lines = 0
        self._splitter = LineSplitter(max_line=OUTPUT_CAP)
        self._tail = OutputTail(OUTPUT_CAP)
        self._eof = False

    # -- life cycle ----------------------------------------------------------------

    def start(self) -> None:
        """Start the process in the sandbox; raises OSError if it cannot be run at all."""
        def spawn(argv: list[str]) -> SandboxedProcess:
            return sandbox(self.limits).start(
                argv, self.cwd, self._env, merge_output=True, on_output=self._feed,
                contained=self.jail is not None)

        if self.jail is None:
            self._box = spawn(self.argv)
        else:
            self._box = self.jail.start(lambda: spawn(self.jail.wrap(self.argv, self.cwd)))
        self._proc = self._box.popen

    @property
    def pid(self) -> int:
        """The program's own process: the one to count threads and descriptors of (in
        a jail, the process bubblewrap started for it, not bubblewrap)."""
        assert self._proc is not None, "start() first"
        if self.jail is None:
            return self._proc.pid
        if self._main is None:
            self._main = jailed_program(self._proc.pid, time.monotonic() + START_WAIT)
        return self._main or self._proc.pid

    def poll(self) -> int | None:
        """The exit status if the process has ended, else None (-N: killed by signal N)."""
        return None if self._proc is None else self._status(self._proc.poll())

    def wait_exit(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` seconds for the process to end; its status or None."""
        if self._proc is None:
            return None
        try:
            return self._status(self._proc.wait(timeout=max(0.0, timeout)))
        except subprocess.TimeoutExpired:
            return None

    def _status(self, code: int | None) -> int | None:
        # bubblewrap exits with 128 + N when the program it runs was killed by signal N,
        # as a shell does; report it as Popen does for a program run directly.
        if self.jail is not None and code is not None and 128 < code < 128 + 65:
            return 128 - code
        return code

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the program and to its descendants in its process group
        (ignored if they are gone), each to its main thread (see :mod:`.signals`); in a
        jail, to the program and every descendant, not to bubblewrap, so that
        bubblewrap passes on the program's own exit status."""
        if self._proc is None:
            return
        members = family(self.pid)
        if self.jail is None and hasattr(os, "getpgid"):
            members = [m for m in members if _group_of(m.pid) == self._proc.pid]
        for member in members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                send_to_main_thread(member.pid, signum)

    def stop(self, grace: float = GRACE) -> int | None:
        """SIGTERM the process group, then (after ``grace`` seconds at most) kill every
        member, escaped grandchildren too; the exit status."""
        if self._box is None:
            return None
        status = self._box.stop(grace)
        with self._cond:
            ended = self._eof  # the reader is done with the pipe: close our end
        if ended and self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
        return status

    @property
    def limit_exceeded(self) -> str | None:
        """Which resource limit stopped the program (see grader.harness.sandbox), or None."""
        return None if self._box is None else self._box.limit_exceeded

    def survivors(self) -> list[psutil.Process]:
        """Members still running (normally none after :meth:`stop`)."""
        return [] if self._box is None else self._box.survivors()

    # -- output --------------------------------------------------------------------

    def _feed(self, chunk: bytes) -> None:
        """Called by the sandbox's reader thread with each chunk; ``b""`` at the end."""
        with self._cond:
            if not chunk:
                rest = self._splitter.finish()
                if rest:
                    self._add_line(rest)
                self._eof = True
                self._cond.notify_all()
                return
            self._tail.add(chunk)
            for raw in self._splitter.feed(chunk):
                self._add_line(raw)
            self._cond.notify_all()

    def _add_line(self, raw: bytes) -> None:
        self._lines.append(raw.decode("utf-8", "replace").rstrip("\r"))
        if len(self._lines) > LINES_CAP:
            drop = len(self._lines) - LINES_CAP
            del self._lines[:drop]
            self._dropped_lines += drop

    def output(self) -> str:
        """The last ~64 KiB the program printed (stdout and stderr)."""
        return self._tail.text()

    def lines(self, since: int = 0) -> list[str]:
        """The lines printed from number ``since`` on (those still kept)."""
        with self._cond:
            return self._lines[max(0, since - self._dropped_lines):]

    def line_count(self) -> int:
        """Lines printed so far; pass it to :meth:`wait_line` to look only at later ones."""
        with self._cond:
            return self._dropped_lines + len(self._lines)

    def wait_line(
        self, pattern: str | re.Pattern[str], deadline: float, since: int = 0
    ) -> re.Match[str] | None:
        """The first line (number ``since`` or later) matching ``pattern``, waiting until
        the monotonic ``deadline``; None if it did not come or the output ended."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        index = since  # the next line to look at

        def look() -> re.Match[str] | None:
            nonlocal index
            while index < self._dropped_lines + len(self._lines):
                pos = index - self._dropped_lines
                index += 1
                if pos >= 0 and (found := regex.search(self._lines[pos])):
                    return found
            return None

        return self._wait_for(look, deadline)

    def wait_text(
        self, pattern: str | re.Pattern[str], deadline: float, since: int = 0
    ) -> re.Match[str] | None:
        """Like :meth:`wait_line`, but ``pattern`` is searched in all the lines from
        number ``since`` on, joined by newlines (for a log line that two threads' prints
        may have mixed with another)."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        seen = -1  # lines there were at the last look

        def look() -> re.Match[str] | None:
            nonlocal seen
            count = self._dropped_lines + len(self._lines)
            if count == seen:
                return None
            seen = count
            return regex.search("\n".join(self._lines[max(0, since - self._dropped_lines):]))

        return self._wait_for(look, deadline)

    def _wait_for(self, look: Callable[[], re.Match[str] | None],
                  deadline: float) -> re.Match[str] | None:
        """Call ``look`` (the lines locked) now and whenever lines arrive, until it finds
        something, the output ends or the monotonic ``deadline`` passes."""
        with self._cond:
            while True:
                found = look()
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if self._eof or remaining <= 0:
                    return None
                self._cond.wait(min(remaining, 0.1))

    def wait_output_end(self, deadline: float) -> bool:
        """Wait until everything the program printed has been read (its output ended);
        False if it had not by the monotonic ``deadline``."""
        with self._cond:
            while not self._eof:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.1))
            return True

    def has_traceback(self) -> bool:
        return "Traceback (most recent call last)" in self.output()


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def jailed_program(leader: int, deadline: float) -> int | None:
    """The pid of the program bubblewrap ``leader`` runs: bubblewrap starts an init
    for the PID namespace, which starts the program. None if it is not there by
    ``deadline`` (it exited, or bubblewrap failed)."""
    while True:
        for init in children(leader):
            programs = children(init)
            if programs:
                return programs[0]
        if time.monotonic() >= deadline or not psutil.pid_exists(leader):
            return None
        time.sleep(0.005)  # bubblewrap is setting up the namespaces: a few ms


def describe_limit(reason: str, limits: Limits = LIMITS, who: str = "server") -> str:
    """Sentences for a student: the ``who`` was stopped for going over ``reason``."""
    program = {"server": L_("The server"), "client": L_("The client"),
               "test program": L_("The test program")}.get(who) or L_("The {name}", name=who)
    mib = lambda size: (size or 0) // MIB  # noqa: E731
    what = {
        MEMORY_LIMIT: L_("{program} was stopped because it used more than {mib} MiB of"
                         " memory.", program=program, mib=mib(limits.memory)),
        THREAD_LIMIT: L_("{program} was stopped because it ran more than {count} threads at"
                         " once.", program=program, count=limits.threads),
        PROCESS_LIMIT: L_("{program} was stopped because it ran more than {count} processes"
                          " at once.", program=program, count=limits.processes),
        CPU_LIMIT: L_("{program} was stopped because it used more than {seconds} s of CPU"
                      " time.", program=program, seconds=limits.cpu_seconds),
        OUTPUT_LIMIT: L_("{program} was stopped because it printed more than {mib} MiB.",
                         program=program, mib=mib(limits.output_total)),
        FILE_SIZE_LIMIT: L_("{program} was stopped because it wrote a file larger than {mib}"
                            " MiB.", program=program, mib=mib(limits.file_size)),
    }.get(reason) or L_("{program} was stopped because it went over a resource limit.",
                        program=program)
    need = {"server": L_("A chat server needs far less."),
            "client": L_("A chat client needs far less.")}.get(who, "")
    return sentences(what, need, L_("Look for a loop that never ends (starting threads or"
                                    " processes, growing a list, printing) and for"
                                    " resources that are never released."))


def wait_listening(
    program: Program,
    host: str,
    port: int,
    deadline: float,
    ready: str | None = r"listening on",
) -> bool:
    """Wait until ``program`` prints ``ready`` or ``host:port`` accepts a connection.

    Returns False if the program exits first or the deadline passes. The port is probed
    only after a moment of silence, and only if no ready line came, because a probe is
    a real (empty) connection the server must handle.
    """
    probe_after = time.monotonic() + 0.3
    pattern = re.compile(ready) if ready else None
    while time.monotonic() < deadline:
        if program.poll() is not None:
            return False
        if pattern is not None:
            if program.wait_line(pattern, min(deadline, time.monotonic() + 0.05)):
                return True
        else:
            time.sleep(0.02)
        if time.monotonic() >= probe_after:
            # Ask the system whether *our* program holds the port: a bare connection
            # test could be answered by another grader's server that took the same
            # port, and would count a stranger as ready.
            owned = _listens_on(program.pid, port)
            if owned or (owned is None and _accepts(host, port)):
                return True
    return False


def _listens_on(pid: int, port: int) -> bool | None:
    """Whether ``pid`` or one of its descendants listens on TCP ``port``; None if the
    system will not tell (then the caller falls back to a connection test)."""
    try:
        root = psutil.Process(pid)
        for process in (root, *root.children(recursive=True)):
            connections = (
                process.net_connections(kind="tcp")
                if hasattr(process, "net_connections")
                else process.connections(kind="tcp")
            )
            for connection in connections:
                if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
                    return True
        return False
    except psutil.NoSuchProcess:
        return False
    except (psutil.AccessDenied, OSError):
        return None


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Reaper:
    """Stops programs in the background and can wait until all of them are gone."""

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def stop_later(self, program: Program) -> None:
        thread = threading.Thread(target=program.stop, name="reaper", daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def join(self, timeout: float = 10.0) -> None:
        """Wait for every stop started so far (each ends within its grace + 5 s)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
