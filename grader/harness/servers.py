"""The submission's servers: where they run, how one is launched and waited for, and a
small pool that starts a few ahead of time, so checks do not wait for Python to start,
and hands a server that served a check well to the next check, so a grading run starts
a handful of servers instead of one per check.

Sharing is an economy, never a risk to a verdict: a server goes back to the pool only
after a check *passed* on it, printed no traceback, and logged a ``[leave]`` for every
client that joined (so the next check's clients meet an empty room); and a check that
fails on a shared server is run again on a fresh one, whose verdict is the one reported,
and from then on every check gets a fresh server (see :func:`grader.runner.run_one`)."""

from __future__ import annotations

import re
import shlex
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..probes.counts import poll_until, thread_count
from ..profile import Profile, log_pattern
from ..timing import Timing
from .interpreter import clean_python
from .isolation import Jail
from .ports import free_port
from .programs import LIMITS, Program, Reaper, wait_listening
from .sandbox import Limits

HOST = "127.0.0.1"
# Seconds (scaled) a server handed back gets to empty its room and end the threads it
# ran for the check's clients; a correct one needs well under 0.1 s. One that does not
# make it is stopped, and after UNSETTLED such servers a run shares no more servers.
SETTLE = 0.5
UNSETTLED = 2


@dataclass(frozen=True)
class Submission:
    """Where the programs are and how to start them."""

    folder: Path
    server_cmd: str | None = None  # overrides the profile's server command
    client_cmd: str | None = None  # overrides the profile's client command
    reference: Path | None = None  # a correct solution, for cross-play checks
    python: str = field(default_factory=clean_python)  # stdlib only: see .interpreter
    jail: Jail | None = None  # where its programs run (see .isolation); None: unjailed
    origin: Path | None = None  # the folder as given, when ``folder`` is a private copy

    @property
    def original(self) -> Path:
        """The submission's own folder (not the private copy its programs run in)."""
        return self.origin or self.folder


def render_command(template: str, python: str, **values: object) -> list[str]:
    """Split a command template like a shell would, then fill ``{python}``, ``{port}``…"""
    return [token.format(python=python, **values) for token in shlex.split(template)]


def without_nick(template: str) -> str:
    """A client command template with its ``--nick {nick}`` (or ``{nick}``) removed."""
    tokens = shlex.split(template)
    out: list[str] = []
    for token in tokens:
        if "{nick}" in token:
            if out and out[-1].startswith("-"):
                out.pop()
            continue
        out.append(token)
    return shlex.join(out)


class Server:
    """A running submission server: its program and where it listens."""

    def __init__(self, program: Program, port: int) -> None:
        self.program = program
        self.host = HOST
        self.port = port
        self.checks_served = 0  # checks that passed on it before the current one
        self.first_line = 0  # the current check's first line of the server's output
        self.threads = 0  # its threads when the current check began

    def taken(self) -> None:
        """Note where the server stands as a check begins on it."""
        self.first_line = self.program.line_count()
        self.threads = thread_count(self.program.pid)


def await_threads_back(server: Server, deadline: float) -> bool:
    """Event: the server runs no more threads than when the current check began (the
    threads it started for the check's clients have ended); False at ``deadline`` or
    if the server exits."""
    back = poll_until(lambda: thread_count(server.program.pid) <= server.threads,
                      deadline, server.program)
    return bool(back)


def _log_regex(template: str) -> re.Pattern[str] | None:
    """A regex for a log line template, capturing the port (which tells the connections
    apart); None without a template that names the port."""
    if not template or "{port}" not in template:
        return None
    return re.compile(log_pattern(template))


def await_empty_room(server: Server, profile: Profile, deadline: float) -> bool:
    """Event: every client the server logged as joining since the current check began
    has been logged as leaving. False if some has not by ``deadline``, or the server
    does not log joins and leaves (then nothing says the room is empty)."""
    join, leave = _log_regex(profile.log_join), _log_regex(profile.log_leave)
    if join is None or leave is None:
        return False
    program = server.program
    while True:
        count = program.line_count()
        lines = program.lines(server.first_line)
        joined = {m.group(1) for m in map(join.search, lines) if m}
        left = {m.group(1) for m in map(leave.search, lines) if m}
        if not joined - left:
            return True
        # Wait for the next line the server prints (no event is missed: we look from
        # the count taken before reading).
        if program.poll() is not None or not program.wait_line("", deadline, since=count):
            return False


def launch_server(
    submission: Submission, profile: Profile, timing: Timing, template: str,
    folder: Path | None = None, extra: tuple[str, ...] = (), note=None, started=None,
    limits: Limits = LIMITS,
) -> tuple[Server | None, Program, str]:
    """Start one server and wait until it listens. Returns (server or None, program,
    the port tried); retries when another program took the port first. ``note(cmd)`` is
    called before and ``started(program)`` right after each start, so the caller owns
    the process even while this waits."""
    for attempt in range(3):
        port = profile.fixed_port or free_port(HOST)
        argv = render_command(template, submission.python, host=HOST, port=port) + list(extra)
        program = Program(argv, folder or submission.folder, name="server", limits=limits,
                          jail=submission.jail)
        if note is not None:
            note(shlex.join(argv))
        program.start()
        if started is not None:
            started(program)
        deadline = time.monotonic() + timing.start
        if wait_listening(program, HOST, port, deadline, profile.server_ready or None):
            return Server(program, port), program, ""
        status = program.poll()
        output = program.output()
        if status is not None and "in use" in output and attempt < 2:
            program.stop()
            continue  # another program took the port we picked: pick again
        return None, program, f"{port}"
    return None, program, f"{port}"


class ServerPool:
    """Servers started with the default command, ahead of time, and servers handed back
    by a check that passed, ready for the next one. Empty of fresh servers (get() is
    None) once a pooled server fails to start: the check then starts its own and reports
    why."""

    def __init__(self, submission: Submission, profile: Profile, timing: Timing,
                 reaper: Reaper, size: int = 1, keep: int = 3) -> None:
        self._args = (submission, profile, timing)
        self._reaper = reaper
        self._size = size  # servers kept ready (fresh or handed back)
        self._keep = keep  # handed-back servers kept at most
        self._ready: list[Server] = []  # fresh: no check has used them
        self._used: list[Server] = []  # handed back after a check passed on them
        self._lock = threading.Condition()
        self._closed = False
        self._broken = False
        self._starting = 0
        self._settling = 0
        self._sharing = True
        self._unsettled = 0  # servers handed back that did not settle
        self._template = submission.server_cmd or profile.server_command

    def start(self) -> None:
        with self._lock:
            self._fill()

    def _fill(self) -> None:
        while (not self._closed and not self._broken
               and len(self._ready) + len(self._used) + self._starting < self._size):
            self._starting += 1
            threading.Thread(target=self._launch, daemon=True).start()

    def _launch(self) -> None:
        try:
            server, program, _ = launch_server(*self._args, self._template)
        except OSError:
            server, program = None, None
        with self._lock:
            self._starting -= 1
            if server is None or self._closed:
                self._broken = self._broken or server is None
                if program is not None:
                    self._reaper.stop_later(program)
            else:
                self._ready.append(server)
            self._lock.notify_all()

    def get(self, shared: bool = True) -> Server | None:
        """A ready server (it is yours to stop or give back), waiting for one being
        started. ``shared``: one that served earlier checks will do (and is preferred)."""
        with self._lock:
            shared = shared and self._sharing
            while True:
                if shared:
                    self._drop_dead(self._used)
                    if self._used:
                        return self._used.pop(0)
                self._drop_dead(self._ready)
                if self._ready:
                    server = self._ready.pop(0)
                    self._fill()
                    return server
                if self._broken or self._closed:
                    return None
                if not (self._starting or (shared and self._settling)):
                    self._fill()  # nothing on its way: start one, or give up
                    if not self._starting:
                        return None
                self._lock.wait(0.5)

    def stop_sharing(self) -> None:
        """From now on hand out fresh servers only (a check failed on a shared one: the
        submission has a bug, and each of its checks is better judged on its own)."""
        with self._lock:
            self._sharing = False
            for server in self._used:
                self._reaper.stop_later(server.program)
            self._used.clear()
            self._fill()
            self._lock.notify_all()

    def _drop_dead(self, servers: list[Server]) -> None:
        for server in [s for s in servers if s.program.poll() is not None]:
            servers.remove(server)
            self._reaper.stop_later(server.program)

    def give_back(self, server: Server) -> None:
        """Take back the server of a check that passed on it: once its room is empty it
        serves the next check; otherwise (or if enough are kept) it is stopped."""
        with self._lock:
            if (self._closed or not self._sharing
                    or len(self._used) + self._settling >= self._keep):
                self._reaper.stop_later(server.program)
                return
            self._settling += 1
        threading.Thread(target=self._settle, args=(server,), daemon=True).start()

    def _settle(self, server: Server) -> None:
        profile, timing = self._args[1], self._args[2]
        program = server.program
        deadline = time.monotonic() + timing.of(SETTLE)
        clean = (not program.has_traceback() and await_empty_room(server, profile, deadline)
                 and await_threads_back(server, deadline))
        with self._lock:
            self._settling -= 1
            if clean and self._sharing and not self._closed and program.poll() is None:
                server.checks_served += 1
                self._used.append(server)
            else:
                self._reaper.stop_later(program)
                self._unsettled += not clean
                if self._unsettled >= UNSETTLED:
                    self._sharing = False
            self._lock.notify_all()

    def close(self) -> None:
        """Stop the unused servers, after waiting for those still starting or settling
        (each is handed to the reaper, so a Reaper.join() afterwards leaves nothing)."""
        timing = self._args[2]
        deadline = time.monotonic() + timing.start + 5.0
        with self._lock:
            self._closed = True
            while (self._starting or self._settling) and time.monotonic() < deadline:
                self._lock.wait(0.1)
            for server in self._ready + self._used:
                self._reaper.stop_later(server.program)
            self._ready.clear()
            self._used.clear()
