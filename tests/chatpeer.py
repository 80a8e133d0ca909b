"""Test helpers that speak the chat protocol over real sockets.

``Peer`` is a raw-socket chat client that waits on *events* (a line, end of file) with
deadlines, never on the clock. ``ServerProcess`` runs a chat server program as a child
process and collects its standard output line by line. ``load_module`` imports one file
of ``reference_solution/`` or ``lab/`` under a unique name, so the two ``protocol.py``
files never shadow each other in ``sys.modules``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

from grader.harness.signals import send_to_main_thread

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference_solution"
LAB = ROOT / "lab"

DEADLINE = 5.0  # seconds any single expected event may take, even on a loaded machine
LISTENING = re.compile(r"^listening on (?P<host>\S+):(?P<port>\d+)$")


def load_module(path: Path, name: str, siblings: dict[str, ModuleType] | None = None) -> ModuleType:
    """Import ``path`` as module ``name``; ``siblings`` are visible to its own imports.

    ``server.py`` does ``from protocol import ...``: passing ``{"protocol": module}``
    makes that import find the right ``protocol.py``. ``sys.modules`` is restored after.
    """
    saved = {key: sys.modules.get(key) for key in siblings or {}}
    sys.modules.update(siblings or {})
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        for key, value in saved.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value


def load_solution(folder: Path, prefix: str) -> tuple[ModuleType, ModuleType]:
    """The ``(protocol, server)`` modules of ``folder``, named ``<prefix>_protocol`` etc."""
    protocol = load_module(folder / "protocol.py", f"{prefix}_protocol")
    server = load_module(folder / "server.py", f"{prefix}_server", {"protocol": protocol})
    return protocol, server


def _short(line: str | None, limit: int = 120) -> str | None:
    if line is None or len(line) <= limit:
        return line
    return f"{line[:limit]}...({len(line)} chars)"


class Peer:
    """A chat client made of one socket; every read waits with a deadline.

    Lines are returned as ``str`` without the newline; ``None`` means end of file.
    ``seen`` keeps every line received, for failure messages.
    """

    def __init__(
        self, host: str, port: int, timeout: float = DEADLINE, rcvbuf: int = 0, source: str = ""
    ) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            if rcvbuf:  # set before connect so the TCP window stays small
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            if source:  # connect from this local address (say 127.0.0.2) instead
                self.sock.bind((source, 0))
            self.sock.connect((host, port))
        except OSError:
            self.sock.close()
            raise
        self.timeout = timeout
        self.nick = ""
        self.seen: list[str] = []
        self._pending = b""
        self._eof = False

    def __repr__(self) -> str:
        return f"Peer({self.nick or '?'} at {self.local_address()})"

    def local_address(self) -> str:
        """``ip:port`` of our end, as the server logs it."""
        try:
            host, port = self.sock.getsockname()[:2]
        except OSError:
            return "closed"
        return f"{host}:{port}"

    def recent(self, count: int = 5) -> list[str]:
        """The last lines received, shortened for failure messages."""
        return [_short(line) for line in self.seen[-count:]]

    # -- sending -----------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, *lines: str) -> None:
        """Send each text line followed by ``\\n``, in one write."""
        self.sock.sendall("".join(line + "\n" for line in lines).encode("utf-8"))

    def register(self, nick: str) -> Peer:
        """Send ``nick`` and wait for its welcome line."""
        self.nick = nick
        self.send(nick)
        self.expect(f"*** welcome {nick}")
        return self

    # -- receiving ---------------------------------------------------------------------

    def read_line(self, timeout: float | None = None) -> str | None:
        """The next line, or None at end of file; TimeoutError after ``timeout``."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b"\n" not in self._pending:
            if self._eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self!r}: no complete line in time; saw {self.recent()}")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                chunk = b""
            finally:
                self.sock.settimeout(self.timeout)  # sends keep the full timeout
            if not chunk:
                self._eof = True
            self._pending += chunk
        raw, _, self._pending = self._pending.partition(b"\n")
        line = raw.decode("utf-8", errors="replace")
        self.seen.append(line)
        return line

    def take_unread(self) -> bytes:
        """The bytes received after the last line returned, for a reader of its own."""
        data, self._pending = self._pending, b""
        return data

    def expect(self, expected: str, timeout: float | None = None) -> None:
        """The next line must be exactly ``expected``."""
        line = self.read_line(timeout)
        assert line == expected, f"{self!r}: expected {_short(expected)!r}, got {_short(line)!r}"

    def expect_lines(self, expected: Iterable[str], timeout: float | None = None) -> None:
        for line in expected:
            self.expect(line, timeout)

    def read_until(
        self, wanted: str | Callable[[str], bool], timeout: float | None = None
    ) -> list[str]:
        """Read lines up to and including the first matching one; return those before it."""
        match = wanted if callable(wanted) else (lambda line: line == wanted)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        skipped: list[str] = []
        while True:
            line = self.read_line(max(deadline - time.monotonic(), 0.001))
            assert line is not None, f"{self!r}: end of file before {wanted!r}; saw {self.recent()}"
            if match(line):
                return skipped
            skipped.append(line)

    def expect_eof(self, timeout: float | None = None) -> list[str]:
        """Read until end of file; return the lines that came before it."""
        lines: list[str] = []
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while (line := self.read_line(max(deadline - time.monotonic(), 0.001))) is not None:
            lines.append(line)
        return lines

    # -- ending ------------------------------------------------------------------------

    def close(self) -> None:
        self.sock.close()

    def reset(self) -> None:
        """Close with a TCP reset (RST) instead of a normal close (FIN)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def barrier(talker: Peer, *listeners: Peer, marker: str = "--barrier--") -> None:
    """``talker`` sends ``marker``; it must be the very next line of every listener.

    Proves that nothing else (an echo, a replayed or duplicated line) was queued for the
    listeners before it, without waiting on the clock.
    """
    talker.send(marker)
    for listener in listeners:
        listener.expect(f"{talker.nick}: {marker}")


class ServerProcess:
    """A chat server program running as a child process in its own process group."""

    def __init__(
        self,
        folder: Path = REFERENCE,
        *args: str,
        host: str = "127.0.0.1",
        timeout: float = 10.0,
    ) -> None:
        command = [sys.executable, "-u", "server.py", "--host", host, "--port", "0", *args]
        self.host = host
        self.proc = subprocess.Popen(
            command,
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.log_from = 0  # log_lines() and wait_for_output() ignore stdout lines before this
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._collect, args=(stream, lines), daemon=True)
            for stream, lines in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr))
        ]
        for reader in self._readers:
            reader.start()
        try:
            line = self.wait_for_output(lambda text: LISTENING.match(text) is not None, timeout)
        except BaseException:
            self.stop()
            raise
        match = LISTENING.match(line)
        assert match is not None
        self.listening_line = line
        self.port = int(match["port"])

    def _collect(self, stream, lines: list[str]) -> None:
        for raw in stream:
            with self._changed:
                lines.append(raw.decode("utf-8", errors="replace").rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_output(
        self, wanted: str | Callable[[str], bool], timeout: float = DEADLINE
    ) -> str:
        """Wait until the server prints a matching stdout line; return it."""
        match = wanted if callable(wanted) else (lambda line: line == wanted)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.stdout[self.log_from :]:
                    if match(line):
                        return line
                remaining = deadline - time.monotonic()
                finished = self.proc.poll() is not None and not self._readers[0].is_alive()
                if remaining <= 0 or finished:
                    raise AssertionError(
                        f"server never printed {wanted!r}; stdout={self.stdout[-10:]} "
                        f"stderr={self.stderr[-10:]}"
                    )
                self._changed.wait(min(remaining, 0.5))

    def log_lines(self, prefix: str) -> list[str]:
        """Stdout lines so far (from ``log_from`` on) that start with ``prefix``."""
        with self._changed:
            return [line for line in self.stdout[self.log_from :] if line.startswith(prefix)]

    def empty_room(self, timeout: float = 15.0) -> None:
        """Wait until no client is registered, then start the log afresh.

        A probe client asks ``/users`` until it is alone, then quits; ``log_from`` moves
        past the probe's ``[leave]`` line, so the next user of this server sees a log
        and a room without anybody from before.
        """
        self._probes = getattr(self, "_probes", 0) + 1
        nick = f"probe{self._probes}"
        probe = self.connect()
        try:
            probe.register(nick)
            end = time.monotonic() + timeout
            while True:
                probe.send("/users")
                probe.read_until(lambda line: line.startswith("*** online: "))
                if probe.seen[-1] == f"*** online: {nick}":
                    break
                assert time.monotonic() < end, f"clients left from before: {probe.seen[-1]}"
                time.sleep(0.02)  # polling interval of a deadline-bounded wait
            address = probe.local_address()
            probe.send("/quit")
            probe.expect_eof()
        finally:
            probe.close()
        last = self.wait_for_output(f"[leave] {nick} {address}")
        with self._changed:
            self.log_from = len(self.stdout) - self.stdout[::-1].index(last)

    def connect(self, timeout: float = DEADLINE, **options) -> Peer:
        return Peer(self.host, self.port, timeout, **options)

    def signal(self, signum: int) -> None:
        """Send ``signum`` as the grader does: to the main thread, where Python handles it."""
        send_to_main_thread(self.pid, signum)

    def wait(self, timeout: float = DEADLINE) -> int:
        """Wait for the program to exit and for its output to be read; its status."""
        status = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(timeout)
        return status

    def stop(self) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            for signum in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.pid, signum)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(DEADLINE)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.proc.wait()
        for reader in self._readers:
            reader.join(DEADLINE)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
