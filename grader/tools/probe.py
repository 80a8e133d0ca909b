"""A first look at a chat server written to another protocol, and a draft profile.

    python -m grader probe SUBMISSION --server-cmd '{python} server.py {port}'
    python -m grader probe SUBMISSION --server-cmd '{python} server.py' --port 6000
    python -m grader probe SUBMISSION --profile my_course.toml

An instructor with last year's assignment does not know yet how its programs talk. The
probe starts the server (jailed, on a loopback of its own, like a grading run), then
plays a short scene with two raw clients, ana and bob, and prints every byte each side
saw, with times:

1. ana connects and waits: a greeting (``NICK``, a prompt without newline) shows here;
2. ana sends its nickname (the profile's ``register``; else the bare name and a newline);
3. bob does the same: what ana sees now is the join announcement;
4. ana says ``hello from ana``: what bob sees is the chat line, what ana sees an echo;
5. bob leaves: what ana sees is the leave announcement.

From what it saw it drafts a profile (TOML) to start from: the greeting, the welcome,
the chat line format, echo, announcements, framing and the server's log lines, with the
nicknames and the text replaced by ``{nick}`` and ``{text}``. A draft is a guess:
read it, fix it, then grade one known-good submission with it.
"""

from __future__ import annotations

import argparse
import re
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from ..actors.fake_client import frame
from ..harness.interpreter import clean_python
from ..harness.isolation import isolated_run
from ..harness.ports import free_port
from ..harness.programs import Program, wait_listening
from ..harness.servers import HOST, render_command
from ..probes.counts import family
from ..profile import Profile, load_profile

QUIET = 0.4  # seconds of silence that end a step: a server answers in milliseconds
START = 10.0  # seconds the server gets to listen
TEXT = "hello from ana"


@dataclass
class Seen:
    """Bytes one side received in one step, with the time they began to arrive."""

    who: str
    step: str
    data: bytes
    at: float


@dataclass
class Probe:
    """What a probe run saw."""

    command: str
    port: int
    fixed_port: bool
    seen: list[Seen] = field(default_factory=list)
    output: str = ""  # the server's stdout and stderr
    problem: str = ""

    def of(self, who: str, step: str) -> bytes:
        return b"".join(s.data for s in self.seen if s.who == who and s.step == step)


class _Raw:
    """A client socket that records what it receives, step by step."""

    def __init__(self, name: str, port: int, probe: Probe, started: float) -> None:
        self.name, self.probe, self.started = name, probe, started
        self.sock = socket.create_connection((HOST, port), timeout=START)

    def listen(self, step: str, quiet: float = QUIET) -> bytes:
        """Read until nothing came for ``quiet`` seconds; record and return it."""
        got = b""
        first = None
        self.sock.settimeout(quiet)
        while True:
            try:
                chunk = self.sock.recv(65536)
            except (TimeoutError, OSError):
                break
            if not chunk:
                break
            first = first if first is not None else time.monotonic() - self.started
            got += chunk
        if got:
            self.probe.seen.append(Seen(self.name, step, got, first or 0.0))
        return got

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        self.sock.close()


def run_probe(folder: Path, command: str, port: int | None = None,
              profile: Profile | None = None) -> Probe:
    """Start the server of ``folder`` with ``command`` and play the scene."""
    python = clean_python()
    fixed = "{port}" not in command
    with isolated_run(folder.resolve(), python) as (copy, isolation):
        chosen = port or (0 if fixed else free_port(HOST))
        argv = render_command(command, python, host=HOST, port=chosen)
        program = Program(argv, copy, name="server", jail=isolation.jail)
        program.start()
        probe = Probe(command, chosen, fixed_port=fixed)
        try:
            if not chosen:  # hard-coded, and not told: ask the system
                chosen = probe.port = _listening_port(program) or 0
            if not chosen or not wait_listening(program, HOST, chosen,
                                                time.monotonic() + START, None):
                probe.problem = ("the server did not listen (give --port if its port is"
                                 " hard-coded)")
            else:
                _scene(probe, profile or Profile(name="probe"))
        finally:
            program.stop()
            probe.output = program.output()
    return probe


def _listening_port(program: Program) -> int | None:
    """The port a server with a hard-coded one listens on, asked of the system."""
    deadline = time.monotonic() + START
    while time.monotonic() < deadline and program.poll() is None:
        for process in family(program.pid):
            try:
                for conn in process.net_connections(kind="tcp"):
                    if conn.status == "LISTEN":
                        return conn.laddr.port
            except psutil.Error:  # a process that just ended: look again
                continue
        time.sleep(0.05)  # no event for "started listening": polled, with a deadline
    return None


def _scene(probe: Probe, profile: Profile) -> None:
    started = time.monotonic()
    ana = _Raw("ana", probe.port, probe, started)
    bob = None
    try:
        ana.listen("1 connected")
        ana.send(_register(profile, "ana"))
        ana.listen("2 registered")
        bob = _Raw("bob", probe.port, probe, started)
        bob.listen("1 connected")
        bob.send(_register(profile, "bob"))
        bob.listen("2 registered")
        ana.listen("3 bob joined")
        ana.send(frame(TEXT, profile.framing))
        bob.listen("4 ana spoke")
        ana.listen("4 ana spoke")
        bob.close()
        bob = None
        ana.listen("5 bob left", quiet=1.0)
    except OSError as error:
        probe.problem = f"the scene stopped: {error}"
    finally:
        ana.close()
        if bob is not None:
            bob.close()


def _register(profile: Profile, nick: str) -> bytes:
    return frame(profile.register_line(nick), profile.framing)


# -- what it saw, in words and as a draft profile -------------------------------------------


def report(probe: Probe) -> str:
    """Every byte each side saw, step by step, then the draft profile."""
    lines = [f"server: {probe.command}  (port {probe.port}"
             f"{', hard-coded' if probe.fixed_port else ''})"]
    for seen in probe.seen:
        lines.append(f"  {seen.at:6.3f} s  {seen.who:<4} {seen.step:<14} {seen.data!r}")
    if probe.problem:
        lines.append(f"  ! {probe.problem}")
    if probe.output.strip():
        lines.append("server output:")
        lines += [f"  | {line}" for line in probe.output.strip().splitlines()[-20:]]
    lines += ["", "# A draft profile, guessed from the above: read it before you use it.",
              draft_profile(probe)]
    return "\n".join(lines)


def draft_profile(probe: Probe) -> str:
    """A TOML profile that matches what the probe saw, as far as one scene can tell."""
    greeting = probe.of("ana", "1 connected").decode(errors="replace")
    welcome = _first(probe.of("bob", "2 registered")).replace("bob", "{nick}")
    joined = _first(probe.of("ana", "3 bob joined")).replace("bob", "{nick}")
    chat_line = _first(probe.of("bob", "4 ana spoke"))
    chat = chat_line.replace(TEXT, "{text}").replace("ana", "{nick}") if TEXT in chat_line else ""
    echo = TEXT.encode() in probe.of("ana", "4 ana spoke")
    left = _first(probe.of("ana", "5 bob left")).replace("bob", "{nick}")
    received = b"".join(s.data for s in probe.seen)
    framing = "newline" if received.endswith(b"\n") or b"\n" in received else "none"
    ready = _first(probe.output.encode())
    log_join, log_leave = _log_lines(probe.output, "bob")
    command = probe.command
    lines = [
        'name = "draft"',
        f'description = "drafted by python -m grader probe from {_toml(command)}"',
        "", "[server]", f"command = {_quote(command)}",
        f"ready = {_quote(_ready_pattern(ready))}",
    ]
    if probe.fixed_port:
        lines.append(f"fixed_port = {probe.port}")
    lines += [
        'history_option = ""',
        "", "[client]  # not probed: how this course's client is started, to edit",
        'command = "{python} client.py {host} {port} {nick}"',
        'command_without_nick = ""', 'prompt = ""', 'disconnected = ""',
        "", "[handshake]", f"greeting = {_quote(greeting)}", 'register = "{nick}"',
        f"welcome = {_quote(welcome)}",
        "", "[chat]", f"format = {_quote(chat or '{nick}: {text}')}"
        + ("" if chat else "  # not seen: bob received no line with the text"),
        f"echo = {'true' if echo else 'false'}",
        f"joined = {_quote(joined)}", f"left = {_quote(left)}",
        f'framing = "{framing}"', "max_line = 0", 'error_prefix = ""',
        "", "[log]", f"join = {_quote(log_join)}", f"leave = {_quote(log_leave)}",
        "", "[commands]", 'quit = ""', 'users = ""', 'whisper = ""',
        "unknown_command_errors = false", "nickname_rules = false",
    ]
    return "\n".join(lines) + "\n"


def _ready_pattern(line: str) -> str:
    """A regex for the server's first line, its address and port left out."""
    words = re.split(r"\s*\S*\d+\.\d+\.\d+\.\d+\S*|\s*\b\d{4,5}\b", line, maxsplit=1)
    return re.escape(words[0].strip()).replace("\\ ", " ") if line.strip() else ""


def _first(data: bytes) -> str:
    """The first message in ``data``: up to a newline, else all of it."""
    text = data.decode("utf-8", "replace")
    return text.split("\n", 1)[0].rstrip("\r")


def _log_lines(output: str, nick: str) -> tuple[str, str]:
    """The server's log lines about ``nick`` joining and leaving, as templates: the
    first and the last line that name it ("" where there is none)."""
    about = [line for line in output.splitlines() if re.search(rf"\b{nick}\b", line)]
    templates = [_template(line, nick) for line in about]
    if not templates:
        return "", ""
    return templates[0], templates[-1] if len(templates) > 1 else ""


def _template(line: str, nick: str) -> str:
    template = re.sub(rf"\b{nick}\b", "{nick}", line)
    template = re.sub(r"127\.0\.0\.1", "{ip}", template)
    return re.sub(r"(?<=\{ip\}[:, ])\d+|(?<=port )\d+", "{port}", template)


def _quote(text: str) -> str:
    return '"' + _toml(text) + '"'


def _toml(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


# -- command line ---------------------------------------------------------------------------


def _probe(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile) if args.profile else None
    command = args.server_cmd or (profile.server_command if profile else None)
    if not command:
        print("chatlab-grader probe: give --server-cmd or --profile", file=sys.stderr)
        return 2
    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"chatlab-grader probe: {folder} is not a folder", file=sys.stderr)
        return 2
    probe = run_probe(folder, command, args.port, profile)
    print(report(probe))
    return 1 if probe.problem else 0


def add_probe_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``probe`` subcommand."""
    p = subparsers.add_parser(
        "probe", help="see how a chat server talks, and draft a profile for it",
        description="Start the server, play a short scene with two raw clients, print the"
                    " bytes each saw and a draft profile. Loopback only.")
    p.add_argument("folder", help="the submission folder (its server is started)")
    p.add_argument("--server-cmd", help="how to start the server, e.g. '{python} server.py"
                   " {port}'; a command without {port} is taken to hard-code its port")
    p.add_argument("--port", type=int, help="the port a hard-coded server uses (else the"
                   " probe asks the system which one it listens on)")
    p.add_argument("--profile", help="a profile to register and frame messages by")
    p.set_defaults(func=_probe, runs_submissions=True)
