"""The submission's servers: where they run, how one is launched and waited for, and a
small pool that starts a few ahead of time so checks do not wait for Python to start."""

from __future__ import annotations

import shlex
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .calibrate import Timing
from .procs import Program, Reaper, free_port, wait_listening
from .profile import Profile

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Submission:
    """Where the programs are and how to start them."""

    folder: Path
    server_cmd: str | None = None  # overrides the profile's server command
    client_cmd: str | None = None  # overrides the profile's client command
    reference: Path | None = None  # a correct solution, for cross-play checks
    python: str = field(default=sys.executable)


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


def launch_server(
    submission: Submission, profile: Profile, timing: Timing, template: str,
    folder: Path | None = None, extra: tuple[str, ...] = (), note=None, started=None,
) -> tuple[Server | None, Program, str]:
    """Start one server and wait until it listens. Returns (server or None, program,
    the port tried); retries when another program took the port first. ``note(cmd)`` is
    called before and ``started(program)`` right after each start, so the caller owns
    the process even while this waits."""
    for attempt in range(3):
        port = profile.fixed_port or free_port(HOST)
        argv = render_command(template, submission.python, host=HOST, port=port) + list(extra)
        program = Program(argv, folder or submission.folder, name="server")
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
    raise AssertionError("unreachable")


class ServerPool:
    """A few servers started ahead of time with the default command, so a check that
    needs one does not wait for Python to start. Empty (get() is None) once a pooled
    server fails to start: the check then starts its own and reports why."""

    def __init__(self, submission: Submission, profile: Profile, timing: Timing,
                 reaper: Reaper, size: int = 2) -> None:
        self._args = (submission, profile, timing)
        self._reaper = reaper
        self._size = size
        self._ready: list[Server] = []
        self._lock = threading.Condition()
        self._closed = False
        self._broken = False
        self._starting = 0
        self._template = submission.server_cmd or profile.server_command

    def start(self) -> None:
        with self._lock:
            self._fill()

    def _fill(self) -> None:
        while (not self._closed and not self._broken
               and len(self._ready) + self._starting < self._size):
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

    def get(self) -> Server | None:
        """A ready server (it is yours to stop), waiting for one being started."""
        with self._lock:
            while not self._ready and self._starting and not self._broken:
                self._lock.wait(0.5)
            server = self._ready.pop(0) if self._ready else None
            self._fill()
            if server is not None and server.program.poll() is not None:
                self._reaper.stop_later(server.program)
                return None
            return server

    def close(self) -> None:
        """Stop the unused servers, after waiting for those still starting (each is
        handed to the reaper, so a Reaper.join() afterwards leaves nothing behind)."""
        timing = self._args[2]
        deadline = time.monotonic() + timing.start + 5.0
        with self._lock:
            self._closed = True
            while self._starting and time.monotonic() < deadline:
                self._lock.wait(0.1)
            for server in self._ready:
                self._reaper.stop_later(server.program)
            self._ready.clear()
