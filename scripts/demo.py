"""Show the reference chat in action, then grade it.

Starts ``reference_solution/server.py`` on a free port and three real
``reference_solution/client.py`` processes whose keyboard is this script. Each step
waits until the line it needs has appeared on a screen, so the conversation is the
same on any machine. Finally runs the grader on ``reference_solution/``. Its own words
and the grader's report follow ``CHATLAB_LANG`` (see grader/i18n.py); what the programs
print is the protocol, the same in every language.

    python scripts/demo.py
    CHATLAB_LANG=pt_BR python scripts/demo.py
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.i18n import gettext as _  # noqa: E402

REFERENCE = ROOT / "reference_solution"
DEADLINE = 10.0  # seconds to wait for any one line before giving up

_print_lock = threading.Lock()
_started = time.monotonic()


def say(who: str, text: str) -> None:
    with _print_lock:
        print(f"{time.monotonic() - _started:6.2f}s  {who:<16} {text}", flush=True)


class Program:
    """A child process whose output lines are echoed and can be waited for."""

    def __init__(self, label: str, args: list[str]) -> None:
        self.label = label
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, *args],
            cwd=REFERENCE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            line = line.rstrip("\n")
            say(self.label, line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, fragment: str) -> str:
        """Block until a line containing ``fragment`` appears; return it."""
        deadline = time.monotonic() + DEADLINE
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise SystemExit(_("{label} ended before showing {fragment!r}").format(
                    label=self.label, fragment=fragment))
            if fragment in line:
                return line
        raise SystemExit(_("{label} did not show {fragment!r} within {seconds} s").format(
            label=self.label, fragment=fragment, seconds=DEADLINE))

    def type(self, text: str) -> None:
        say(self.label, _("(types) {text}").format(text=text))
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def conversation() -> None:
    server = Program(_("server log"), ["server.py", "--host", "127.0.0.1", "--port", "0"])
    programs = [server]
    try:
        port = server.wait_for("listening on").rsplit(":", 1)[1]
        clients = {}
        for nick in ("ana", "bob", "chen"):
            label = _("{nick}'s screen").format(nick=nick)
            client = Program(label, ["client.py", "--port", port, "--nick", nick])
            programs.append(client)
            client.wait_for(f"*** welcome {nick}")
            clients[nick] = client
        ana, bob, chen = clients["ana"], clients["bob"], clients["chen"]
        ana.wait_for("chen joined the chat")
        ana.type("hello everyone!")
        bob.wait_for("ana: hello everyone!")
        chen.wait_for("ana: hello everyone!")
        chen.type("olá! ação — 你好")
        ana.wait_for("chen: olá")
        bob.type("/w ana lunch later?")
        ana.wait_for("bob (whisper): lunch later?")
        ana.type("/users")
        ana.wait_for("*** online:")
        chen.type("/quit")
        ana.wait_for("chen left the chat")
        bob.wait_for("chen left the chat")
        ana.type("bye bob")
        bob.wait_for("ana: bye bob")
    finally:
        for program in reversed(programs):
            program.stop()


def grade_reference() -> int:
    print("\n" + _("Grading reference_solution/ with the autograder:") + "\n", flush=True)
    command = [sys.executable, "-m", "grader", "check", str(REFERENCE)]
    return subprocess.call(command, cwd=ROOT)


def main() -> int:
    print(_("A global chat: three clients talk through the reference server.") + "\n",
          flush=True)
    conversation()
    return grade_reference()


if __name__ == "__main__":
    sys.exit(main())
