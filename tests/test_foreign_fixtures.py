"""The foreign fixtures (tests/foreign/): chat programs written to other courses'
protocols, each with the profile that describes it and the verdicts a correct grader
gives it (see tests/foreign/README.md).

These tests do not run the grader. They check the ground truth itself: every fixture's
server is started as a real process and driven over loopback with raw sockets the way
its own profile says (framing, handshake, chat line formats), so a correct fixture is
shown to chat, and every planted defect is shown to be there. Every wait has a deadline;
every process runs in its own process group and is killed by that group at the end.
"""

from __future__ import annotations

import ast
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from grader.checks import all_checks
from grader.profile import load_profile

FOREIGN = Path(__file__).resolve().parent / "foreign"
FIXTURES = sorted(p.name for p in FOREIGN.iterdir() if (p / "profile.toml").is_file())
HOST = "127.0.0.1"
WAIT = 3.0  # seconds any expected event may take, even on a loaded machine
QUIET = 0.5  # seconds in which an event that must not happen is watched for
VERDICTS = {"passed", "failed", "not_applicable", "skipped"}


# -- what a fixture says about itself ------------------------------------------------


def read_toml(path: Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        return tomllib.load(f)


@dataclass
class Proto:
    """A fixture's protocol, read from its profile.toml."""

    name: str
    data: dict[str, Any]

    @classmethod
    def of(cls, name: str) -> Proto:
        return cls(name, read_toml(FOREIGN / name / "profile.toml"))

    @property
    def folder(self) -> Path:
        return FOREIGN / self.name

    def key(self, section: str, key: str, default: Any = "") -> Any:
        """A key of the profile, from ``section`` (or, for ``""``, whichever section
        holds it)."""
        if section:
            return self.data.get(section, {}).get(key, default)
        for value in self.data.values():
            if isinstance(value, dict) and key in value:
                return value[key]
        return default

    @property
    def framing(self) -> str:
        framing = self.key("chat", "framing", "newline")
        return "unframed" if framing == "none" else framing

    def encode(self, text: str) -> bytes:
        """One message on the wire, as this protocol frames it."""
        data = text.encode()
        if self.framing == "newline":
            return data + b"\n"
        if self.framing == "length10":
            return f"{len(data):<10}".encode() + data
        assert self.framing == "unframed", self.framing
        return data

    def line(self, key: str, **fields: Any) -> str:
        section = "handshake" if key in ("register", "welcome") else "chat"
        return self.key(section, key).format(**fields)

    def chat(self, nick: str, text: str) -> str:
        """A chat line as the others receive it (``{time}`` stays for Wire.expect)."""
        return self.key("chat", "format").replace("{time}", "{{time}}").format(
            nick=nick, text=text)

    def chat_out(self, nick: str, text: str) -> str:
        """What a client sends for a chat message."""
        return self.key("", "chat_out", "{text}").format(nick=nick, text=text)

    @property
    def port(self) -> int:
        return self.key("server", "fixed_port", 0)


# -- one connection, speaking the fixture's framing -----------------------------------


OPEN_WIRES: list[Wire] = []  # closed after each test (see close_wires)


@pytest.fixture(autouse=True)
def close_wires() -> Iterator[None]:
    yield
    while OPEN_WIRES:
        OPEN_WIRES.pop().sock.close()


class NothingCame(AssertionError):
    """An expected message did not (fully) arrive in time, or the stream ended first."""


class Wire:
    """A raw socket that sends and expects whole messages of one protocol."""

    def __init__(self, proto: Proto, sock: socket.socket) -> None:
        self.proto = proto
        self.sock = sock
        self.buf = bytearray()
        self.eof = False
        OPEN_WIRES.append(self)

    @classmethod
    def connect(cls, proto: Proto, port: int, *, slow: bool = False) -> Wire:
        """``slow``: a client that will stop reading. Its small receive buffer and
        segment size (set before connect) keep the server's socket buffers towards it
        at ~200 KB, where loopback otherwise lets them grow to 4 MB."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if slow:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
        sock.settimeout(WAIT)
        sock.connect((HOST, port))
        return cls(proto, sock)

    def __repr__(self) -> str:
        return f"Wire({self.proto.name}, pending {bytes(self.buf[:200])!r})"

    def send(self, text: str) -> None:
        """One message, in one send() (for unframed protocols: one message = one send)."""
        self.sock.sendall(self.proto.encode(text))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> bool:
        """Receive more bytes; False at the deadline or at end of stream."""
        remaining = deadline - time.monotonic()
        if self.eof or remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return False
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _take(self, size: int, deadline: float) -> bytes | None:
        while len(self.buf) < size:
            if not self._fill(deadline):
                return None
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    def message(self, timeout: float = WAIT) -> str | None:
        """The next whole message (newline and length10 framing); None if none came."""
        deadline = time.monotonic() + timeout
        if self.proto.framing == "newline":
            while b"\n" not in self.buf:
                if not self._fill(deadline):
                    return None
            raw = self._take(self.buf.index(b"\n") + 1, deadline) or b""
            return raw[:-1].removesuffix(b"\r").decode()
        assert self.proto.framing == "length10", "unframed streams have no messages"
        header = self._take(10, deadline)
        if header is None:
            return None
        body = self._take(int(header.decode().strip()), deadline)
        return None if body is None else body.decode()

    def expect(self, text: str, timeout: float = WAIT) -> None:
        """The next message must be ``text`` (``{time}`` matches any HH:MM:SS).

        Unframed: the next bytes of the stream must be exactly it, so two messages that
        arrive glued in one segment are still told apart, as a reader of the stream would."""
        pattern = re.escape(text).replace(re.escape("{time}"), r"\d\d:\d\d:\d\d")
        if self.proto.framing == "unframed":
            size = len(text.replace("{time}", "00:00:00").encode())
            got = self._take(size, time.monotonic() + timeout)
            if got is None:
                raise NothingCame(f"expected {text!r} next, got only {bytes(self.buf)!r}"
                                  f" (end of stream: {self.eof})")
            assert re.fullmatch(pattern, got.decode(errors="replace")), (
                f"expected {text!r} next, got {got!r}")
            return
        got_line = self.message(timeout)
        if got_line is None:
            raise NothingCame(f"expected {text!r} next, got only {bytes(self.buf[:120])!r}"
                              f" (end of stream: {self.eof})")
        assert re.fullmatch(pattern, got_line), f"expected {text!r} next, got {got_line!r}"

    def expect_until(self, text: str, timeout: float = WAIT) -> bytes:
        """Skip the stream up to and including ``text`` (its next occurrence); return
        what came before it."""
        wanted, deadline = text.encode(), time.monotonic() + timeout
        while (at := self.buf.find(wanted)) < 0:
            if not self._fill(deadline):
                raise NothingCame(f"no {text!r} in {bytes(self.buf[-200:])!r}")
        before = bytes(self.buf[:at])
        del self.buf[:at + len(wanted)]
        return before

    def expect_raw(self, data: bytes, timeout: float = WAIT) -> None:
        got = self._take(len(data), time.monotonic() + timeout)
        assert got == data, f"expected {data!r}, got {got!r} then {bytes(self.buf)!r}"

    def nothing(self, timeout: float = QUIET) -> None:
        """Nothing arrives within ``timeout`` (and the connection stays open)."""
        self._fill(time.monotonic() + timeout)
        assert not self.buf and not self.eof, f"unexpected {bytes(self.buf)!r}, eof={self.eof}"

    def closed(self, timeout: float = WAIT) -> bytes:
        """Wait for the end of the stream; returns what came before it."""
        deadline = time.monotonic() + timeout
        while self._fill(deadline):
            pass
        assert self.eof, f"still open after {timeout} s; pending {bytes(self.buf)!r}"
        return bytes(self.buf)

    def close(self) -> None:
        self.sock.close()

    def reset(self) -> None:
        """Close with a TCP reset, as a killed program's connection ends."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


# -- programs --------------------------------------------------------------------------


class Program:
    """A fixture program in its own process group, its output collected as it comes."""

    def __init__(self, folder: Path, argv: list[str]) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
        self.proc = subprocess.Popen(
            argv, cwd=folder, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.text = ""
        self.done = False  # the output has ended
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := self.proc.stdout.read1(65536):
            with self.cond:
                self.text += chunk.decode(errors="replace")
                self.cond.notify_all()
        with self.cond:
            self.done = True
            self.cond.notify_all()

    def wait_text(self, pattern: str, timeout: float = WAIT) -> re.Match[str]:
        """Wait until the output (from the start) contains ``pattern``."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not (found := re.search(pattern, self.text)):
                remaining = deadline - time.monotonic()
                assert remaining > 0 and not self.done, (
                    f"no {pattern!r} in the output within {timeout} s: {self.text[-800:]!r}")
                self.cond.wait(min(remaining, 0.1))
        return found

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def end_input(self) -> None:
        """Ctrl-D: the program's standard input ends."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def wait_exit(self, timeout: float) -> int | None:
        """Wait for the exit status and for the end of the output, so that ``text``
        holds everything the program printed (the reader thread may lag the exit)."""
        deadline = time.monotonic() + timeout
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        with self.cond:
            while not self.done and (remaining := deadline - time.monotonic()) > 0:
                self.cond.wait(min(remaining, 0.1))
        return status

    def cpu(self) -> float:
        """CPU seconds used so far (every thread)."""
        times = psutil.Process(self.pid).cpu_times()
        return times.user + times.system

    def threads(self) -> int:
        return psutil.Process(self.pid).num_threads()

    def descriptors(self) -> int:
        return psutil.Process(self.pid).num_fds()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(WAIT)
        self.reader.join(WAIT)  # the output ends with the process group
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except BrokenPipeError:  # input it never read
                    pass


def free_port() -> int:
    """A free loopback port below the kernel's ephemeral range (from 32768), so that no
    outgoing connection takes it before the server binds it."""
    for _ in range(200):
        port = random.randint(24000, 31999)
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port between 24000 and 31999")


def render(template: str, **fields: Any) -> list[str]:
    """A profile command as argv: ``{python}`` is this Python without site-packages
    (the grader runs submissions on a package-free interpreter)."""
    argv: list[str] = []
    for word in template.split():
        if word == "{python}":
            argv += [sys.executable, "-S"]
        else:
            argv.append(word.format(**fields))
    return argv


@contextmanager
def server(proto: Proto) -> Iterator[tuple[Program, int]]:
    """The fixture's server, started by its profile's command, ready by its ``ready``
    line; on its fixed port if it has one, else on a free one."""
    port = proto.port or free_port()
    program = Program(proto.folder, render(proto.key("server", "command"), host=HOST,
                                           port=port))
    try:
        program.wait_text(proto.key("server", "ready"))
        yield program, port
    finally:
        program.stop()


@contextmanager
def fake_server(proto: Proto) -> Iterator[tuple[socket.socket, int]]:
    """A listening socket where the fixture's client will connect."""
    port = proto.port or free_port()
    listener = socket.create_server((HOST, port))
    listener.settimeout(WAIT)
    try:
        yield listener, port
    finally:
        listener.close()


@contextmanager
def client(proto: Proto, port: int, nick: str) -> Iterator[Program]:
    """The fixture's client, started by its profile's command, its start-up questions
    (``stdin``) answered."""
    program = Program(proto.folder, render(proto.key("client", "command"), host=HOST,
                                           port=port, nick=nick))
    try:
        for answer in proto.key("", "stdin", []):
            program.type(answer.format(host=HOST, port=port, nick=nick))
        yield program
    finally:
        program.stop()


# -- chat scenarios --------------------------------------------------------------------


def join(proto: Proto, port: int, nick: str, *, slow: bool = False,
         wire: Wire | None = None, srv: Program | None = None) -> Wire:
    """Connect and register ``nick`` the profile's way; wait for what the newcomer gets
    (its own join notice, its welcome). ``wire``: connected already, greeting read.
    With ``srv``, also wait for the server's log of this registration, where the
    profile has one: without a welcome, or with one sent before the newcomer is added,
    nothing else says the server has taken the nickname before the next client comes."""
    greeted = wire is not None
    wire = wire or Wire.connect(proto, port, slow=slow)
    greeting = proto.key("handshake", "greeting")
    if greeting and not greeted:
        wire.expect_raw(greeting.encode())
    if proto.key("", "registers", True) and not proto.key("", "assigned_name"):
        wire.send(proto.line("register", nick=nick))
    if proto.key("", "self_join", False):
        wire.expect(proto.line("joined", nick=nick))
    if proto.key("handshake", "welcome"):
        wire.expect(proto.line("welcome", nick=nick))
    logged = proto.key("log", "join")
    if srv is not None and "{nick}" in logged and "{port}" in logged:
        srv.wait_text(re.escape(logged).replace(re.escape("{nick}"), re.escape(nick))
                      .replace(re.escape("{ip}"), re.escape("127.0.0.1"))
                      .replace(re.escape("{port}"), str(wire.sock.getsockname()[1])))
    return wire


def room(proto: Proto, port: int, *nicks: str, srv: Program | None = None) -> list[Wire]:
    """Register ``nicks`` one by one; each is seen by those before it (its join notice,
    or, without one, a line it says), so the server has taken it before the next. The
    first has nobody to see it: ``srv``'s log says it (see :func:`join`)."""
    wires: list[Wire] = []
    for nick in nicks:
        wire = join(proto, port, nick, srv=srv)
        if proto.key("chat", "joined"):
            for other in wires:
                other.expect(proto.line("joined", nick=nick))
        elif wires:
            say(proto, wire, nick, f"{nick} is here", wires)
        wires.append(wire)
    return wires


def say(proto: Proto, wire: Wire, nick: str, text: str, others: list[Wire]) -> None:
    """``nick`` says ``text``; every one of ``others`` gets it (and the sender its echo,
    where the profile says so)."""
    wire.send(proto.chat_out(nick, text))
    for other in others:
        other.expect(proto.chat(nick, text))
    if proto.key("chat", "echo", False):
        wire.expect(proto.chat(nick, text))


def cpu_over(program: Program, seconds: float) -> float:
    """CPU seconds the program uses in the next ``seconds`` (it must not exit)."""
    before, start = program.cpu(), time.monotonic()
    assert program.wait_exit(seconds) is None, "the server exited"
    used = program.cpu() - before
    return used * seconds / max(time.monotonic() - start, seconds)


def demand(pid: int) -> float | None:
    """Seconds the process's threads have run *or waited for a CPU to run on*, from
    /proc/PID/task/*/schedstat (Linux); None elsewhere. A thread that never blocks adds
    about one second per second to it, however loaded the machine, where its CPU time
    alone may grow by a small fraction of that (the grader's no_busy_loop measures
    the same way)."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                ran, waited = (task / "schedstat").read_text().split()[:2]
            except (OSError, ValueError):
                continue  # that thread has just ended
            total += int(ran) + int(waited)
    except OSError:
        return None
    return total / 1e9


def spins(program: Program, cpu: float = 0.5, within: float = 1.0) -> bool:
    """Whether the program busy-loops: within ``within`` seconds its CPU time grows by
    more than ``cpu``, or (on a loaded machine, where a spinning thread gets a fraction
    of a core) what its threads ran or waited to run grows by more than ``cpu`` while
    its CPU time grows too."""
    cpu_before, demand_before = program.cpu(), demand(program.pid)
    deadline = time.monotonic() + within
    while True:
        used = program.cpu() - cpu_before
        wanted = demand(program.pid)
        if used > cpu or (wanted is not None and demand_before is not None
                          and wanted - demand_before > cpu and used > 0.05):
            return True
        if time.monotonic() >= deadline:
            return False
        program.wait_exit(0.05)  # one reading every 50 ms until the deadline


SLOW_TEXT = 700  # characters per message: under every fixture's recv(1024)
SLOW_COUNT = 500  # messages: ~350 KB, more than the buffers towards a slow Wire hold


def chat_freezes(proto: Proto, sender: Wire, nick: str, receivers: list[Wire], *,
                 echo: bool | None = None) -> int | None:
    """Once a client that never reads is connected: ``nick`` sends SLOW_COUNT messages,
    each once the last arrived. The index of the first that did not reach
    ``receivers`` within a second (the chat froze; on loopback a message takes well
    under a millisecond), or None if all came through. The sender reads its echo
    (``echo``, by default the profile's), so only the slow client stops reading."""
    echo = proto.key("chat", "echo", False) if echo is None else echo
    for i in range(SLOW_COUNT):
        text = f"{i:05d} " + "." * (SLOW_TEXT - 6)
        sender.send(proto.chat_out(nick, text))
        for receiver in receivers:
            try:
                receiver.expect(proto.chat(nick, text), timeout=1.0)
            except NothingCame:
                return i
        if echo:
            sender.expect(proto.chat(nick, text))
    return None


def threads_settle(program: Program, count: int, timeout: float = WAIT) -> int:
    """Wait until the server runs at most ``count`` threads; the number it runs then."""
    deadline = time.monotonic() + timeout
    while (now := program.threads()) > count and time.monotonic() < deadline:
        program.wait_exit(0.02)
    return now


# -- client scenarios ------------------------------------------------------------------


@contextmanager
def client_session(proto: Proto, nick: str = "ana") -> Iterator[tuple[Program, Wire]]:
    """The fixture's client connected to a fake server that plays the handshake: the
    greeting, the registration it must send, the welcome (shown on its screen)."""
    with fake_server(proto) as (listener, port), client(proto, port, nick) as program:
        sock, _ = listener.accept()
        conn = Wire(proto, sock)
        greeting = proto.key("handshake", "greeting")
        if greeting:
            conn.send_raw(greeting.encode())
        if proto.key("", "registers", True) and not proto.key("", "assigned_name"):
            conn.expect(proto.line("register", nick=nick))
        if proto.key("handshake", "welcome"):
            welcome = proto.line("welcome", nick=nick)
            conn.send(welcome)
            program.wait_text(re.escape(welcome))
        try:
            yield program, conn
        finally:
            conn.close()


def client_chats(proto: Proto, program: Program, conn: Wire, nick: str = "ana") -> None:
    """A typed line reaches the server as the profile's chat message, and a message
    from the server is shown while the user types nothing."""
    program.type("olá, ação ✓")
    conn.expect(proto.chat_out(nick, "olá, ação ✓"))
    incoming = proto.chat("zoe", "are you there?").replace("{time}", "12:00:00")
    conn.send(incoming)
    program.wait_text(re.escape(incoming))


def client_leaves(proto: Proto, program: Program, conn: Wire, how: str) -> None:
    """The user leaves (``how``: "eof", or the quit word): the client exits with status
    0 and closes its connection (after sending the quit word, if it has one)."""
    if how == "eof":
        program.end_input()
    else:
        program.type(how)
    status = program.wait_exit(WAIT)
    assert status == 0, f"exit status {status}; output {program.text[-500:]!r}"
    assert "Traceback" not in program.text, program.text
    rest = conn.closed()
    quit_word = proto.key("commands", "quit")
    assert rest in (b"", proto.encode(quit_word) if quit_word else b""), rest


def client_sees_end(proto: Proto, program: Program, conn: Wire, how: str) -> None:
    """The server closes (``how`` "close") or resets the connection: the client says so
    (on a close) and exits with status 1, no traceback."""
    if how == "close":
        conn.close()
        program.wait_text(re.escape(proto.key("client", "disconnected")))
    else:
        conn.reset()
    status = program.wait_exit(WAIT)
    assert status == 1, f"exit status {status}; output {program.text[-500:]!r}"
    assert "Traceback" not in program.text, program.text


# -- the fixtures' own files -------------------------------------------------------------

CHECKS = {spec.id: spec for spec in all_checks()}
README = (FOREIGN / "README.md").read_text()


def expected_of(name: str) -> dict[str, Any]:
    return read_toml(FOREIGN / name / "expected.toml")


def test_there_are_enough_fixtures() -> None:
    correct = [name for name in FIXTURES if expected_of(name)["correct"]]
    assert len(FIXTURES) >= 8 and len(correct) >= 3, (FIXTURES, correct)


@pytest.mark.parametrize("name", FIXTURES)
def test_programs_are_small_and_plain(name: str) -> None:
    """server.py and client.py of 40-120 lines; standard library only, except what the
    fixture's expected.toml declares as its defect (``third_party``, ``syntax_error``)."""
    expected = expected_of(name)
    for file in ("server.py", "client.py"):
        source = (FOREIGN / name / file).read_text()
        assert 40 <= len(source.splitlines()) <= 120, (file, len(source.splitlines()))
        if file in expected.get("syntax_error", []):
            with pytest.raises(SyntaxError):
                compile(source, file, "exec")
            continue
        imported = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
        foreign = imported - set(sys.stdlib_module_names)
        assert foreign == set(expected.get("third_party", [])) & imported, (file, foreign)


@pytest.mark.parametrize("name", FIXTURES)
def test_profile_loads(name: str) -> None:
    """The grader loads every fixture's profile (unknown keys would be refused)."""
    profile = load_profile(FOREIGN / name / "profile.toml")
    assert profile.name == name


@pytest.mark.parametrize("name", FIXTURES)
def test_expected_verdicts_are_complete_and_consistent(name: str) -> None:
    """A verdict for every check the grader has; a check the profile can express is
    skipped exactly when a check it depends on fails or is skipped; every failure names
    a planted defect, and every defect lists exactly the checks that name it."""
    expected = expected_of(name)
    checks, defects = expected["checks"], expected.get("defects", {})
    assert expected["fixture"] == name
    assert set(checks) == set(CHECKS), set(checks) ^ set(CHECKS)
    named: dict[str, set[str]] = {defect: set() for defect in defects}
    for check_id, entry in checks.items():
        verdict = entry["verdict"]
        assert verdict in VERDICTS, (check_id, verdict)
        blocked = [dep for dep in CHECKS[check_id].depends
                   if checks[dep]["verdict"] in ("failed", "skipped")]
        if verdict == "skipped":
            assert entry["after"] in blocked, (check_id, blocked)
            assert entry["alone"] in VERDICTS - {"skipped"}, check_id
        elif verdict != "not_applicable":  # decided before any dependency
            assert not blocked, f"{check_id} must be skipped: {blocked} do not pass"
        if entry.get("alone", verdict) == "failed":
            assert entry["defect"] in defects, check_id
            named[entry["defect"]].add(check_id)
        else:
            assert "defect" not in entry, check_id
        assert verdict == "passed" or entry.get("why"), f"{check_id}: say why"
    for defect, info in defects.items():
        assert info["what"] and set(info["checks"]) == named[defect], defect
    assert expected["correct"] is (not defects)


# -- the fixtures, one by one ------------------------------------------------------------


def test_nick_token_spin_server() -> None:
    proto = Proto.of("nick_token_spin")
    with server(proto) as (srv, port):
        # The nickname is asked in the accept loop: a silent connection holds it up.
        silent = Wire.connect(proto, port)
        silent.expect_raw(b"NICK")
        ana = Wire.connect(proto, port)
        ana.nothing()  # not even asked for a nickname while silent says nothing
        join(proto, port, "silent", wire=silent)
        ana.expect_raw(b"NICK")
        join(proto, port, "ana", wire=ana)
        silent.expect("ana joined!")
        bob = join(proto, port, "bob")
        for other in (silent, ana):
            other.expect("bob joined!")
        say(proto, ana, "ana", "hello", [bob, silent])  # relayed to all, ana too (echo)
        # Broadcast blocks: a client that never reads freezes the chat between others.
        slow = join(proto, port, "slow", slow=True)  # and never reads again
        for other in (silent, ana, bob):
            other.expect("slow joined!")
        assert (chat_freezes(proto, ana, "ana", [bob, silent]) or 0) > 10
        slow.close()
    with server(proto) as (srv, port):
        base = srv.threads()
        ana, bob, cid = room(proto, port, "ana", "bob", "cid", srv=srv)
        # A reset is announced (recv() raises, the except branch cleans up) ...
        cid.reset()
        for other in (ana, bob):
            other.expect("cid left!")
        assert threads_settle(srv, base + 2) == base + 2  # cid's thread ended
        # ... but a close is not: recv() returns b'' and the loop relays b'' forever.
        ana.close()
        assert spins(srv), "the server's CPU time did not grow after a client closed"
        bob.nothing()  # no "ana left!", ever
        assert srv.threads() == base + 2  # ana's thread never ends


def test_nick_token_spin_client() -> None:
    proto = Proto.of("nick_token_spin")
    with client_session(proto) as (program, conn):
        client_chats(proto, program, conn)
        # Ctrl-D: input() raises EOFError in the writing thread, which dies with a
        # traceback; the receiving thread goes on, so the client never exits.
        program.end_input()
        program.wait_text("EOFError")
        assert program.wait_exit(1.0) is None
        conn.nothing()
    for how, notice in (("close", "Server closed the connection"), ("reset", "An error occured!")):
        with client_session(proto) as (program, conn):
            # The server goes away: the receiving thread says so and ends, but the
            # writing thread still waits in input(), so the client does not exit.
            conn.close() if how == "close" else conn.reset()
            program.wait_text(notice)
            assert program.wait_exit(1.0) is None


def test_nick_token_ok_server() -> None:
    proto = Proto.of("nick_token_ok")
    with server(proto) as (srv, port):
        base = srv.threads()
        silent = Wire.connect(proto, port)  # never answers NICK: blocks nobody
        silent.expect_raw(b"NICK")
        ana, bob = room(proto, port, "ana", "bob", srv=srv)
        srv.wait_text(r"Connected with 127\.0\.0\.1:\d+ as ana")
        say(proto, ana, "ana", "olá bob ✓", [bob])
        say(proto, bob, "bob", "hi ana", [ana])
        slow = join(proto, port, "slow", slow=True)
        for other in (ana, bob):
            other.expect("slow joined!")
        assert chat_freezes(proto, ana, "ana", [bob]) is None
        cid = join(proto, port, "cid")
        for other in (ana, bob):
            other.expect("cid joined!")
        # Leaves by close and by reset are announced, once.
        bob.close()
        ana.expect("bob left!")
        cid.reset()
        ana.expect("cid left!")
        srv.wait_text(r"bob left \(127\.0\.0\.1:\d+\)")
        slow.close()
        ana.expect("slow left!")
        silent.close()
        ana.close()
        srv.wait_text(r"ana left \(127\.0\.0\.1:\d+\)")
        assert threads_settle(srv, base) == base  # every client's threads ended
        assert cpu_over(srv, 0.5) < 0.1  # and nothing spins


def test_nick_token_ok_client() -> None:
    proto = Proto.of("nick_token_ok")
    with client_session(proto) as (program, conn):
        client_chats(proto, program, conn)
        client_leaves(proto, program, conn, "eof")
    for how in ("close", "reset"):
        with client_session(proto) as (program, conn):
            client_sees_end(proto, program, conn, how)


def test_nickname_kv_server() -> None:
    proto = Proto.of("nickname_kv")
    with server(proto) as (srv, port):
        base = srv.threads()
        ana, bob = room(proto, port, "ana", "bob", srv=srv)
        srv.wait_text(r"bob conectou de 127\.0\.0\.1:\d+")
        ana.send("mensagem=oi bob, ação ✓")
        bob.expect("ana: oi bob, ação ✓")
        ana.expect("ana: oi bob, ação ✓")  # the echo the assignment forbids
        bob.send("mensagem=oi ana")
        ana.expect("bob: oi ana")
        bob.expect("bob: oi ana")
        cid = join(proto, port, "cid")
        for other in (ana, bob):
            other.expect("cid entrou no chat")
        bob.close()
        for other in (ana, cid):
            other.expect("bob saiu do chat")
        cid.reset()
        ana.expect("cid saiu do chat")
        srv.wait_text("cid saiu")
        assert threads_settle(srv, base + 1) == base + 1  # only ana's thread is left
        assert cpu_over(srv, 0.5) < 0.1
        # Broadcast blocks under the lock: a client that never reads freezes the chat.
        dan = join(proto, port, "dan")
        ana.expect("dan entrou no chat")
        slow = join(proto, port, "slow", slow=True)  # and never reads again
        for other in (ana, dan):
            other.expect("slow entrou no chat")
        assert (chat_freezes(proto, ana, "ana", [dan], echo=True) or 0) > 10
        slow.close()


def test_nickname_kv_client() -> None:
    proto = Proto.of("nickname_kv")
    with client_session(proto) as (program, conn):
        client_chats(proto, program, conn)
        client_leaves(proto, program, conn, "eof")
    for how in ("close", "reset"):
        with client_session(proto) as (program, conn):
            client_sees_end(proto, program, conn, how)


def test_stdin_sair_server() -> None:
    proto = Proto.of("stdin_sair")
    with server(proto) as (srv, port):
        base = srv.threads()
        ana = join(proto, port, "ana")
        srv.wait_text(r"ana entrou \(127\.0\.0\.1:\d+\)")  # no welcome: the log says it
        bob, cid = room(proto, port, "bob", "cid", srv=srv)
        for nick in ("bob", "cid"):
            ana.expect(f"{nick} entrou")
        say(proto, ana, "ana", "olá, ação ✓", [bob, cid])
        # "sair" is answered with BYE, closed and announced at once.
        cid.send("sair")
        cid.expect("BYE")
        cid.closed()
        for other in (ana, bob):
            other.expect("cid saiu")
        # A close is not noticed: nothing is announced until a send to bob fails.
        dan = join(proto, port, "dan")
        for other in (ana, bob):
            other.expect("dan entrou")
        bob.close()
        dan.nothing()
        say(proto, ana, "ana", "um", [dan])  # reaches bob's closed socket; RST comes back
        dan.nothing()
        say(proto, ana, "ana", "dois", [dan])  # this send to bob fails
        for other in (ana, dan):
            other.expect("bob saiu")
        srv.wait_text(r"\nbob saiu")
        # A reset is noticed at the next send too, not before.
        eve = join(proto, port, "eve")
        for other in (ana, dan):
            other.expect("eve entrou")
        eve.reset()
        dan.nothing()
        say(proto, ana, "ana", "três", [dan])
        for other in (ana, dan):
            other.expect("eve saiu")
        assert threads_settle(srv, base + 2) == base + 2  # ana's and dan's
        assert cpu_over(srv, 0.5) < 0.1
        # Broadcast blocks under the lock: a client that never reads freezes the chat.
        slow = join(proto, port, "slow", slow=True)  # and never reads again
        for other in (ana, dan):
            other.expect("slow entrou")
        assert (chat_freezes(proto, ana, "ana", [dan]) or 0) > 10
        slow.close()
    with server(proto) as (srv, port):
        # Yet sockets do not pile up: a departed client is dropped when a later join
        # announcement fails to reach it (the second one after a close, the first after
        # a reset), so clients coming and going leave only the last one or two open
        # (server.no_leak allows two more than before).
        keeper = join(proto, port, "keeper")
        srv.wait_text(r"keeper entrou \(")
        descriptors = srv.descriptors()
        for i in range(12):
            peer = join(proto, port, f"u{i}")
            keeper.expect_until(f"u{i} entrou")
            if i % 3 == 0:
                peer.send("sair")
                peer.closed()
            elif i % 3 == 1:
                peer.close()
            else:
                peer.reset()
        srv.wait_text(r"u9 saiu\n(.*\n)*u11 entrou")  # u7 and u8 were dropped before u9
        assert srv.descriptors() <= descriptors + 2  # u10's and u11's, still open


def test_stdin_sair_client() -> None:
    proto = Proto.of("stdin_sair")
    for how in ("sair", "eof"):
        with client_session(proto) as (program, conn):
            program.wait_text("Host: Porta: Apelido: ")
            client_chats(proto, program, conn)
            client_leaves(proto, program, conn, how)
    for how in ("close", "reset"):
        with client_session(proto) as (program, conn):
            client_sees_end(proto, program, conn, how)


def test_from_all_server() -> None:
    proto = Proto.of("from_all")
    with server(proto) as (srv, port):
        base = srv.threads()
        silent = Wire.connect(proto, port)  # connected, never answers USERNAME
        silent.expect_raw(b"USERNAME\n")
        zed, ana, bob = room(proto, port, "Zed", "ana", "bob", srv=srv)
        srv.wait_text(r"\[\+\] Zed 127\.0\.0\.1:\d+")
        say(proto, ana, "ana", "olá, ação ✓", [zed, bob])
        say(proto, bob, "bob", "hi", [zed, ana])  # ana's next line: no echo came first
        # Framing: two lines in one segment, a line in pieces, a character cut in two.
        ana.send_raw(b"first\nsecond\n")
        ana.send_raw(b"in thr")
        bob.expect("FROM ana [all]: first")
        bob.expect("FROM ana [all]: second")
        bob.nothing()  # a line without its newline is not relayed yet
        ana.send_raw(b"ee pieces, ol\xc3")
        bob.nothing()
        ana.send_raw(b"\xa1\n")
        bob.expect("FROM ana [all]: in three pieces, olá")
        zed.expect("FROM ana [all]: first")
        zed.expect("FROM ana [all]: second")
        zed.expect("FROM ana [all]: in three pieces, olá")
        # Commands.
        ana.send("/list")
        ana.expect("ONLINE: Zed ana bob")
        ana.send("/msg bob psst")
        bob.expect("FROM ana [private]: psst")
        ana.send("/dance now")
        ana.expect("ERROR unknown command /dance")
        twin = Wire.connect(proto, port)
        twin.expect_raw(b"USERNAME\n")
        twin.send("ana")
        twin.expect("ERROR name taken")
        twin.closed()
        say(proto, ana, "ana", "still me", [zed, bob])  # nothing announced, nothing leaked
        # A client that never reads does not hold up the others.
        slow = join(proto, port, "slow", slow=True)  # and never reads again
        for other in (zed, ana, bob):
            other.expect("SERVER [all]: slow joined")
        assert chat_freezes(proto, ana, "ana", [zed, bob]) is None
        # Leaving by /EXIT, close and reset: announced once each.
        bob.send("/EXIT")
        bob.closed()
        for other in (zed, ana):
            other.expect("SERVER [all]: bob left")
        ana.close()
        zed.expect("SERVER [all]: ana left")
        slow.reset()
        zed.expect("SERVER [all]: slow left")
        srv.wait_text(r"\[-\] slow 127\.0\.0\.1:\d+")
        silent.close()
        zed.close()
        srv.wait_text(r"\[-\] Zed 127\.0\.0\.1:\d+")
        assert threads_settle(srv, base) == base
        assert cpu_over(srv, 0.5) < 0.1


def test_from_all_client() -> None:
    proto = Proto.of("from_all")
    for how in ("/EXIT", "eof"):
        with client_session(proto) as (program, conn):
            client_chats(proto, program, conn)
            client_leaves(proto, program, conn, how)
    for how in ("close", "reset"):
        with client_session(proto) as (program, conn):
            client_sees_end(proto, program, conn, how)


def test_assigned_names_server() -> None:
    proto = Proto.of("assigned_names")
    with server(proto) as (srv, port):
        base = srv.threads()
        # Names are given in the order the server accepts connections.
        u1, u2, u3 = room(proto, port, "user1", "user2", "user3", srv=srv)
        srv.wait_text(r"user3 connected from 127\.0\.0\.1:\d+")
        say(proto, u1, "user1", "hi: there,  two spaces", [u2, u3])
        say(proto, u2, "user2", "olá ✓", [u1, u3])  # u1's next message: no echo first
        u3.send("quit")
        u3.closed()
        for other in (u1, u2):
            other.expect("user3 left")
        u2.close()
        u1.expect("user2 left")
        u4 = join(proto, port, "user4")
        u1.expect("user4 joined")
        u4.reset()
        u1.expect("user4 left")
        u5 = join(proto, port, "user5")
        u1.expect("user5 joined")
        slow = join(proto, port, "user6", slow=True)  # and never reads again
        for other in (u1, u5):
            other.expect("user6 joined")
        assert chat_freezes(proto, u1, "user1", [u5]) is None
        slow.close()
        for other in (u1, u5):
            other.expect("user6 left")
        u5.close()
        u1.close()
        srv.wait_text(r"user1 disconnected from 127\.0\.0\.1:\d+")
        assert threads_settle(srv, base) == base
        assert cpu_over(srv, 0.5) < 0.1


def test_assigned_names_client() -> None:
    proto = Proto.of("assigned_names")
    for how in ("quit", "eof"):
        with client_session(proto, "user1") as (program, conn):
            client_chats(proto, program, conn, "user1")
            client_leaves(proto, program, conn, how)
    for how in ("close", "reset"):
        with client_session(proto, "user1") as (program, conn):
            client_sees_end(proto, program, conn, how)


def test_no_register_clock_server() -> None:
    proto = Proto.of("no_register_clock")
    with server(proto) as (srv, port):
        base = srv.threads()
        wires = []
        for _ in range(3):  # no registration: being connected is being in the chat
            wire = Wire.connect(proto, port)
            srv.wait_text(rf"Nova conexão: \('127\.0\.0\.1', {wire.sock.getsockname()[1]}\)")
            wires.append(wire)
        ana, bob, cid = wires
        say(proto, ana, "ana", "olá, ação ✓", [bob, cid])
        say(proto, bob, "bob", "oi", [ana, cid])  # ana's next message: no echo first
        bob.close()
        srv.wait_text(r"Conexão encerrada: \('127\.0\.0\.1', \d+\)")
        say(proto, ana, "ana", "bob saiu sem aviso", [cid])  # nothing announced
        assert threads_settle(srv, base + 2) == base + 2
        assert cpu_over(srv, 0.5) < 0.1
        # Broadcast blocks under the lock: a client that never reads freezes the chat.
        slow = Wire.connect(proto, port, slow=True)  # and never reads
        srv.wait_text(rf"Nova conexão: \('127\.0\.0\.1', {slow.sock.getsockname()[1]}\)")
        assert (chat_freezes(proto, ana, "ana", [cid]) or 0) > 10
        slow.close()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the defect is Python 3.11's")
def test_no_register_clock_client_does_not_compile() -> None:
    proto = Proto.of("no_register_clock")
    with fake_server(proto) as (listener, port), client(proto, port, "ana") as program:
        assert program.wait_exit(WAIT) == 1
        assert "SyntaxError" in program.text, program.text
        listener.settimeout(0)
        with pytest.raises(BlockingIOError):
            listener.accept()  # it never connected


def test_length10_server() -> None:
    proto = Proto.of("length10")
    with server(proto) as (srv, port):
        base = srv.threads()
        wires = []
        for nick in ("ana", "bob", "cid"):  # no welcome: the log says it took the name
            wires.append(join(proto, port, nick))
            srv.wait_text(rf"Accepted new connection from 127\.0\.0\.1:\d+, username: {nick}")
        ana, bob, cid = wires
        say(proto, ana, "ana", "olá, ação ✓", [bob, cid])
        say(proto, bob, "bob", "hi", [ana, cid])  # ana's next frame: no echo first
        # Framing: two frames in one segment; a frame in pieces, its header cut too; a
        # frame cut inside a UTF-8 character; 300 frames at once.
        ana.send_raw(proto.encode("first") + proto.encode("second"))
        frame = proto.encode("in pieces, olá")
        ana.send_raw(frame[:4])
        for text in ("first", "second"):
            bob.expect(f"ana > {text}")
            cid.expect(f"ana > {text}")
        bob.nothing()
        ana.send_raw(frame[4:-1])
        bob.nothing()
        ana.send_raw(frame[-1:])
        for other in (bob, cid):
            other.expect("ana > in pieces, olá")
        ana.send_raw(b"".join(proto.encode(f"burst {i:03d}") for i in range(300)))
        for other in (bob, cid):
            for i in range(300):
                other.expect(f"ana > burst {i:03d}")
        slow = join(proto, port, "slow", slow=True)  # and never reads again
        srv.wait_text(r"username: slow")
        assert chat_freezes(proto, ana, "ana", [bob, cid]) is None
        slow.close()
        bob.reset()
        cid.close()
        for nick in ("slow", "bob", "cid"):
            srv.wait_text(f"Closed connection from: {nick}")
        say(proto, ana, "ana", "alone now", [])
        assert threads_settle(srv, base + 2) == base + 2  # ana's reader and writer
        assert cpu_over(srv, 0.5) < 0.1


def test_length10_client() -> None:
    proto = Proto.of("length10")
    with client_session(proto) as (program, conn):
        client_chats(proto, program, conn)
        frame = proto.encode("zoë: olá 李雷 ✓")
        cut = frame.index("李".encode()) + 1
        conn.send_raw(frame[:cut])
        conn.send_raw(frame[cut:])
        program.wait_text("zoë: olá 李雷 ✓")
        client_leaves(proto, program, conn, "eof")
    for how in ("close", "reset"):
        with client_session(proto) as (program, conn):
            client_sees_end(proto, program, conn, how)


def test_crash_on_reset_server() -> None:
    proto = Proto.of("crash_on_reset")
    with server(proto) as (srv, port):
        # The name is asked in the accept loop: a silent connection holds it up.
        silent = Wire.connect(proto, port)
        silent.expect_raw(b"Digite seu nome: ")
        ana = Wire.connect(proto, port)
        ana.nothing()
        join(proto, port, "silent", wire=silent)
        ana.expect_raw(b"Digite seu nome: ")
        join(proto, port, "ana", wire=ana)
        silent.expect("ana entrou na sala")
        bob, cid = room(proto, port, "bob", "cid", srv=srv)
        for nick in ("bob", "cid"):
            for other in (silent, ana):
                other.expect(f"{nick} entrou na sala")
        say(proto, ana, "ana", "olá, ação ✓", [silent, bob, cid])
        cid.send("/sair")
        cid.closed()
        for other in (silent, ana, bob):
            other.expect("cid saiu da sala")
        bob.close()
        for other in (silent, ana):
            other.expect("bob saiu da sala")
        srv.wait_text("bob desconectou")
        # Broadcast blocks: a client that never reads freezes whoever talks next.
        slow = join(proto, port, "slow", slow=True)  # and never reads again
        for other in (silent, ana):
            other.expect("slow entrou na sala")
        assert (chat_freezes(proto, ana, "ana", [silent]) or 0) > 10
        slow.close()
    with server(proto) as (srv, port):
        ana, bob = room(proto, port, "ana", "bob", srv=srv)
        bob.reset()
        srv.wait_text("ConnectionResetError")  # bob's thread died, bob is still listed
        ana.nothing()  # and no leave is announced
        # The next join is announced from the accept loop, to bob too: the server dies.
        join(proto, port, "cid")
        ana.expect("cid entrou na sala")
        assert srv.wait_exit(WAIT) is not None, "the server should have crashed"
        assert "BrokenPipeError" in srv.text, srv.text
        ana.closed()


def test_crash_on_reset_client() -> None:
    proto = Proto.of("crash_on_reset")
    for how in ("/sair", "eof"):
        with client_session(proto) as (program, conn):
            program.wait_text("Digite seu nome: ")
            client_chats(proto, program, conn)
            client_leaves(proto, program, conn, how)
    for how in ("close", "reset"):
        with client_session(proto) as (program, conn):
            client_sees_end(proto, program, conn, how)


def test_leaky_threads_server() -> None:
    proto = Proto.of("leaky_threads")
    with server(proto) as (srv, port):
        base = srv.threads()
        ana, bob = room(proto, port, "ana", "bob", srv=srv)
        srv.wait_text(r"join bob 127\.0\.0\.1:\d+")
        say(proto, ana, "ana", "olá, ação ✓", [bob])
        say(proto, bob, "bob", "hi", [ana])  # ana's next message: no echo first
        slow = join(proto, port, "slow", slow=True)  # and never reads again
        for other in (ana, bob):
            other.expect("* slow joined")
        assert chat_freezes(proto, ana, "ana", [bob]) is None
        slow.close()
        for other in (ana, bob):
            other.expect("* slow left")
        # ana's and bob's reader and writer (slow's writer ended: its send failed)
        assert threads_settle(srv, base + 4) == base + 4
        descriptors = srv.descriptors()
        # Ten clients come and go (by /quit, close, reset): each leaves a writer behind.
        for i in range(10):
            peer = join(proto, port, f"u{i}")
            for other in (ana, bob):
                other.expect(f"* u{i} joined")
            if i % 3 == 0:
                peer.send("/quit")
                peer.closed()
            elif i % 3 == 1:
                peer.close()
            else:
                peer.reset()
            for other in (ana, bob):
                other.expect(f"* u{i} left")
        assert threads_settle(srv, base + 14) == base + 14  # ten more threads, for ever
        assert srv.descriptors() == descriptors  # the sockets themselves are closed
        assert cpu_over(srv, 0.5) < 0.1  # the leaked writers only wait


def test_leaky_threads_client() -> None:
    proto = Proto.of("leaky_threads")
    for how in ("/quit", "eof"):
        with client_session(proto) as (program, conn):
            client_chats(proto, program, conn)
            client_leaves(proto, program, conn, how)
    for how in ("close", "reset"):
        with client_session(proto) as (program, conn):
            client_sees_end(proto, program, conn, how)


def test_colorama_server_does_not_start_without_the_package() -> None:
    proto = Proto.of("colorama_server")
    assert "colorama" not in sys.stdlib_module_names
    program = Program(proto.folder, render(proto.key("server", "command"), port=free_port()))
    try:
        assert program.wait_exit(WAIT) not in (None, 0)
        program.wait_text("ModuleNotFoundError: No module named 'colorama'")
    finally:
        program.stop()


def test_colorama_server_client() -> None:
    proto = Proto.of("colorama_server")
    for how in ("/quit", "eof"):
        with client_session(proto) as (program, conn):
            client_chats(proto, program, conn)
            client_leaves(proto, program, conn, how)
    for how in ("close", "reset"):
        with client_session(proto) as (program, conn):
            client_sees_end(proto, program, conn, how)
