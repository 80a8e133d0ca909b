"""The course's helpers: run the chat's programs from a notebook and talk to them.

Every notebook starts with the same setup cell (``SETUP_CELL`` below)::

    import course

    CODE = "lab"  # the code the demos and checks run; "reference_solution" runs the model answer
    demo = course.Demo(CODE)

A demo cell then reads like the conversation it plays::

    with demo.needs_step(4):               # explains what is missing instead of a traceback
        server = demo.server()             # your server.py, as a program of its own
        ana = demo.connect_as(server, "ana")
        bob = demo.connect_as(server, "bob")
        ana.expect("*** bob joined the chat")
        ana.send("hi bob")
        bob.expect("ana: hi bob")
    # here every program the cell started is stopped, every socket closed

and a check cell asks the grader about the same code: ``check(4, demo.code)``.

Three rules hold everywhere in this file, and they are good rules for your own code too:

* a program started here gets a process group of its own and is stopped through it (by
  its id, never by its name: another ``server.py`` on the machine is not ours to stop);
* sockets connect to 127.0.0.1 only: nothing here leaves your machine;
* every wait has a deadline, so a demo can fail but never hang the notebook.

Importing this module puts the chatlab folder on ``sys.path``, so that
``from grader.api import check`` works even where the kit is not installed.

What this file prints for the student follows the course's language (``grader.i18n``):
English, or Brazilian Portuguese with ``CHATLAB_LANG=pt_BR``, with
``course.Demo(CODE, lang="pt_BR")``, or in ``notebooks/pt_BR/``, whose ``course``
module is this one in Portuguese. The grader's messages follow the same setting.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pexpect

ROOT = Path(__file__).resolve().parent.parent  # the chatlab folder
REFERENCE = ROOT / "reference_solution"
MODULES = ("protocol", "server", "client")  # the files a submission is made of
HOST = "127.0.0.1"
TIMEOUT = 3.0  # seconds a demo waits for a line: plenty on one machine, short when it fails

# The first code cell of every notebook, word for word (the course's tests hold them to it).
SETUP_CELL = """\
# Setup, the same in every notebook: run this cell first.
import course

CODE = "lab"  # the code the demos and checks run; "reference_solution" runs the model answer
demo = course.Demo(CODE)
demo"""

if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from grader.i18n import N_, language, set_language  # noqa: E402
from grader.i18n import gettext as _  # noqa: E402

# -- the code being taught --------------------------------------------------------------


def skeleton_folder(lang: str | None = None) -> Path:
    """The student's code, which ``CODE = "lab"`` names: ``lab/``, or the skeleton of the
    course's language where there is one (``lab_pt_BR/``, its TODOs in Portuguese)."""
    translated = ROOT / f"lab_{language() if lang is None else lang}"
    return translated if translated.is_dir() else ROOT / "lab"


def code_folder(code: str | os.PathLike[str]) -> Path:
    """The folder ``code`` names: a path, or a folder of the chatlab folder ("lab")."""
    folder = Path(code)
    if folder == Path("lab"):
        folder = skeleton_folder()
    if not folder.is_absolute():
        folder = ROOT / folder
    if not folder.is_dir():
        raise FileNotFoundError(_(
            "There is no folder {folder}. CODE should name a folder of {root},"
            ' such as "lab" (your code) or "reference_solution" (the model answer).'
        ).format(folder=folder, root=ROOT))
    return folder.resolve()


class Demo:
    """What one notebook runs: the code folder, and every program and socket its demos open.

    Whatever a demo starts through this object (servers, clients, raw sockets) is
    registered here, so that :meth:`stop_all` (called at the end of every
    :meth:`needs_step` block, and when the kernel shuts down) can end it.
    """

    def __init__(self, code: str | os.PathLike[str], lang: str | None = None) -> None:
        if lang is not None:  # this notebook's language, and the grader's in this kernel
            set_language(lang)
        self.code = code_folder(code)
        self._servers: list[ServerProgram] = []
        self._threads: list[ServerThread] = []
        self._peers: list[Peer] = []
        self._terminals: list[pexpect.spawn] = []
        atexit.register(self.stop_all)

    def __repr__(self) -> str:
        return _("demos and checks run the code in {folder}").format(folder=self.code)

    @property
    def known_good(self) -> Path:
        """A folder whose server works: the model answer, or your code if it is absent."""
        return REFERENCE if (REFERENCE / "server.py").is_file() else self.code

    def load(self, name: str) -> ModuleType:
        """Import ``name``.py from the code folder, freshly read from disk.

        Python imports a module once and then keeps it; after you edit and save a file,
        run the cell that calls ``load`` again to get your latest version.
        """
        folder = str(self.code)
        if folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)
        for module in MODULES:  # forget old versions: server.py imports protocol.py
            sys.modules.pop(module, None)
        writes_bytecode = sys.dont_write_bytecode
        sys.dont_write_bytecode = True  # keep the code folder free of __pycache__
        try:
            return importlib.import_module(name)
        finally:
            sys.dont_write_bytecode = writes_bytecode

    # -- starting things -----------------------------------------------------------------

    def server(self, *args: object, folder: str | os.PathLike[str] | None = None) -> ServerProgram:
        """Start ``server.py --port 0 ARGS`` from ``folder`` (default: the code folder)."""
        server = ServerProgram(self.code if folder is None else code_folder(folder), args)
        self._servers.append(server)
        return server

    def server_thread(self) -> ServerThread:
        """Your ``ChatServer`` inside this notebook, serving in a background thread."""
        server = ServerThread(self.load("server"))
        self._threads.append(server)
        return server

    def peer(
        self, server: ServerProgram, nick: str | None = None, *, name: str = "", show: bool = False
    ) -> Peer:
        """A raw-socket client of ``server``; it sends ``nick`` first if given."""
        peer = Peer(server.port, name=name or nick or "peer", show=show)
        self._peers.append(peer)
        if nick is not None:
            peer.send(nick)
        return peer

    def connect_as(self, server: ServerProgram, nick: str) -> Peer:
        """A raw-socket client that has sent its nickname and received its welcome."""
        peer = self.peer(server, nick)
        peer.expect(f"*** welcome {nick}")
        return peer

    def terminal(
        self, argv: list[str], cwd: str | os.PathLike[str] | None = None
    ) -> pexpect.spawn:
        """Run ``argv`` in a pretend terminal (a pty), as a person would in a real one.

        The result is a ``pexpect`` child: ``expect_exact(text)`` waits for output,
        ``sendline(text)`` types a line, ``sendeof()`` is Ctrl-D. Its ``screen``
        holds everything the terminal showed, typed text included.
        """
        child = pexpect.spawn(
            argv[0], argv[1:], cwd=None if cwd is None else str(cwd),
            encoding="utf-8", timeout=TIMEOUT,
        )
        child.screen = io.StringIO()
        child.logfile_read = child.screen
        self._terminals.append(child)
        return child

    def client(
        self,
        server: ServerProgram,
        nick: str | None = None,
        folder: str | os.PathLike[str] | None = None,
    ) -> pexpect.spawn:
        """``client.py --port PORT [--nick NICK]`` from ``folder`` in a pretend terminal."""
        argv = [sys.executable, "-u", "client.py", "--port", str(server.port)]
        if nick is not None:
            argv += ["--nick", nick]
        return self.terminal(argv, self.code if folder is None else code_folder(folder))

    # -- ending things -------------------------------------------------------------------

    def stop_all(self) -> None:
        """End every client, socket and server the demos started and did not end yet."""
        while self._terminals:
            self._terminals.pop().close(force=True)  # by its process id
        while self._peers:
            self._peers.pop().close()
        while self._threads:
            self._threads.pop().stop()
        while self._servers:
            self._servers.pop().stop()

    @contextlib.contextmanager
    def needs_step(self, step: int) -> Iterator[None]:
        """Run a demo that needs ``TODO(step NN)``; if it fails, explain instead of crashing.

        Whatever happens, everything the demo started is stopped at the end.
        """
        try:
            yield
        except Exception as error:  # a demo never breaks the notebook: it explains
            self._explain(error, step)
        finally:
            self.stop_all()

    def _explain(self, error: Exception, step: int) -> None:
        message = (str(error).strip().splitlines() or [""])[0]
        if type(error).__module__.startswith("pexpect"):  # its own messages are cryptic
            message = _(PEXPECT_WORDS.get(type(error).__name__, message))
        print(_("✋ This demo did not work yet ({error}: {message}).").format(
            error=type(error).__name__, message=message))
        said = [message]
        for child in self._terminals:
            child.close(force=True)
            for line in child.screen.getvalue().splitlines():
                if "Error" in line and not line.startswith(" "):
                    print("  ", _("The client said:"), line.strip())
                    said.append(line)
        for peer in self._peers:
            peer.close()  # a server thread blocked on this client now gets to its error
        for server in self._servers:
            # A crashing program closes its sockets a moment before it prints why.
            server.wait_for(ERROR_LINE, timeout=1.0)
            server.stop()
            for line in server.errors()[:3]:
                print("  ", _("The server said:"), line)
                said.append(line)
        if isinstance(error, SyntaxError) or SYNTAX_ERROR.search(" ".join(said)):
            advice = _("Python cannot read your file: fix the line it names, save the file,\n"
                       "then run this cell again.")
        else:
            advice = _("Finish TODO(step {step:02d}) (and the steps before it), save the"
                       " file,\nthen run this cell again.").format(step=step)
        for line in advice.splitlines():
            print("  ", line)


PEXPECT_WORDS = {
    "EOF": N_("the program ended before it printed what we waited for"),
    "TIMEOUT": N_("the program did not print what we waited for in time"),
}
ERROR_LINE = re.compile(r"^[A-Za-z]*Error\b")  # how a traceback's last line starts
SYNTAX_ERROR = re.compile(r"SyntaxError|IndentationError")


def show_screen(child: pexpect.spawn, title: str) -> None:
    """Print what a pretend terminal showed, under a title."""
    print(f"--- {title} ---")
    print(child.screen.getvalue().replace("\r\n", "\n").rstrip())
    print("-" * (len(title) + 8))


# -- a server as a program of its own ---------------------------------------------------


class ServerProgram:
    """``server.py`` running as a separate program, as if started in a terminal."""

    def __init__(self, folder: Path, args: Iterable[object] = (), timeout: float = 5.0) -> None:
        argv = [sys.executable, "-u", "server.py", "--port", "0", *map(str, args)]
        self.output: list[str] = []  # every line it printed, stdout and stderr: its log
        self._changed = threading.Condition()
        self._ended = False
        self.process = subprocess.Popen(
            argv, cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace",
            # A session of its own: Ctrl-C in the notebook is not meant for it, and its
            # process group (id = its pid) holds whatever it starts, for stop().
            start_new_session=True,
        )
        self.pid = self.process.pid
        # A thread reads what it prints, so that its pipe never fills up and blocks it.
        self._reader = threading.Thread(target=self._read, name=f"output of {self.pid}",
                                        daemon=True)
        self._reader.start()
        found = self.wait_for(r"listening on \S*:(\d+)", timeout)
        if found is None:
            self.stop()
            said = [line for line in self.output if line.strip()][-1:] or [_("nothing")]
            raise RuntimeError(
                _("the server did not print 'listening on ...'; its last words: {said}")
                .format(said=said[0])
            )
        self.port = int(found.group(1))

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.output.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def wait_for(
        self, pattern: str | re.Pattern[str], timeout: float = TIMEOUT
    ) -> re.Match[str] | None:
        """Wait until the server prints a line matching ``pattern``: the match, or None."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self.output[seen:]:
                    if found := re.search(pattern, line):
                        return found
                seen = len(self.output)
                left = deadline - time.monotonic()
                if self._ended or left <= 0:
                    return None
                self._changed.wait(left)

    def errors(self) -> list[str]:
        """The last lines of the tracebacks it printed, each once."""
        return list(dict.fromkeys(line for line in self.output if ERROR_LINE.match(line)))

    def stop(self, timeout: float = 2.0) -> None:
        """Stop it like Ctrl-C would (SIGTERM), then for sure (SIGKILL); wait until it is gone."""
        if self.process.returncode is None:
            _signal_group(self.pid, signal.SIGTERM)  # it says goodbye to its clients
            _exited(self.process, timeout)
            # Not reaped yet, the server keeps its group id ours: SIGKILL reaches what it
            # left behind (and the server itself if it ignored SIGTERM).
            _signal_group(self.pid, signal.SIGKILL)
            self.process.wait(timeout)
        self._reader.join(timeout)  # collect the rest of what it printed


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # nobody left in the group
        os.killpg(pgid, signum)


def _exited(process: subprocess.Popen, timeout: float) -> bool:
    """Wait until ``process`` has exited, without reaping it; False at the deadline."""
    if not hasattr(os, "waitid"):  # not on every system: reap it, the group id goes with it
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
        return process.returncode is not None
    deadline = time.monotonic() + timeout
    while True:
        try:
            if os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                return True
        except ChildProcessError:  # reaped already
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)  # no portable call waits for a child with a deadline, unreaped


class ServerThread:
    """Your ``ChatServer`` running ``serve_forever()`` in a thread of this notebook.

    Unlike :class:`ServerProgram`, we can look inside it while clients connect.
    """

    def __init__(self, server_module: ModuleType) -> None:
        self.chat = server_module.ChatServer(HOST, 0)  # port 0: any free port
        self.address: tuple[str, int] = self.chat.address[:2]
        self.thread = threading.Thread(target=self._serve, name="serve_forever", daemon=True)
        self.thread.start()
        self._stopped = False

    def _serve(self) -> None:
        try:
            self.chat.serve_forever()
        except OSError:
            pass  # accept() failed because stop() closed the listening socket: we are done
        except NotImplementedError as error:
            print(_("serve_forever stopped:"), error)

    def served_ports(self) -> set[int]:
        """Ports of the clients the server has accepted and is serving right now."""
        # Connection.run() starts the client's writer thread first thing: if that thread
        # is alive, run() is running for this client.
        with self.chat._connections_lock:
            return {connection.address[1] for connection in self.chat._connections
                    if connection.writer.is_alive()}

    def stop(self, timeout: float = 3.0) -> None:
        """Shut the server down the way Ctrl-C does, and wait for serve_forever to return."""
        if self._stopped:
            return
        self._stopped = True
        self.chat.shutdown()  # sets `stopping`, closes the listening socket: accept() fails
        self.thread.join(timeout)
        if self.thread.is_alive():
            print(_("⚠ serve_forever() did not return after shutdown() closed its listening"
                    " socket. It should `return` when accept() raises OSError and"
                    " self.stopping is set (TODO(step 03), point 5). Restart the kernel to"
                    " stop it."))


# -- clients on raw sockets -------------------------------------------------------------


class Peer:
    """A bare-bones chat client on a raw socket: send lines, read lines, with deadlines."""

    def __init__(self, port: int, name: str = "peer", show: bool = False) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=TIMEOUT)
        self.name = name
        self.show = show  # print every line sent (→) and received (←)
        self.pending = bytearray()  # received bytes not yet cut into lines
        self.received: list[str] = []  # every line read so far

    def send(self, text: str) -> None:
        if self.show:
            print(f"{self.name:>5} → {text}")
        self.sock.sendall((text + "\n").encode("utf-8"))

    def read_line(self, timeout: float = TIMEOUT) -> str | None:
        """The next line from the server, or None once it closed the connection."""
        deadline = time.monotonic() + timeout
        while (end := self.pending.find(b"\n")) < 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(self._nothing_arrived(timeout))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                raise TimeoutError(self._nothing_arrived(timeout)) from None
            except ConnectionResetError:
                chunk = b""  # a reset ends the conversation like a close does
            if not chunk:
                if self.show:
                    print(f"{self.name:>5} ←", _("(the server closed the connection)"))
                return None
            self.pending += chunk
        text = self.pending[:end].decode("utf-8", "replace")
        del self.pending[: end + 1]
        self.received.append(text)
        if self.show:
            print(f"{self.name:>5} ← {text}")
        return text

    def _nothing_arrived(self, timeout: float) -> str:
        return _("{name}: nothing arrived within {timeout} s").format(name=self.name,
                                                                       timeout=timeout)

    def expect(self, wanted: str, timeout: float = TIMEOUT) -> list[str]:
        """Read until the line ``wanted`` arrives; return the lines that came before it."""
        before: list[str] = []
        while True:
            try:
                line = self.read_line(timeout)
            except TimeoutError:
                raise TimeoutError(_("waited {timeout} s for {wanted}, got {before}").format(
                    timeout=timeout, wanted=repr(wanted), before=before)) from None
            if line is None:
                raise ConnectionError(_("the connection closed; expected {wanted}, got {before}")
                                      .format(wanted=repr(wanted), before=before))
            if line == wanted:
                return before
            before.append(line)

    def close(self) -> None:
        self.sock.close()


def connected_pair() -> tuple[socket.socket, socket.socket]:
    """Two connected TCP sockets: (client, the server's socket for that client).

    The same helper notebook 01 builds, section "One recv() is not one message".
    """
    with socket.create_server((HOST, 0)) as listener:
        client = socket.create_connection(listener.getsockname(), timeout=5)
        server_side, _ = listener.accept()
    server_side.settimeout(5)
    # TCP_NODELAY: send small pieces at once instead of waiting to bundle them together.
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client, server_side


class PretendConnection:
    """Looks like a Connection to the Room: a nick, an address and send().

    Its ``send`` writes the line into ``screen``, a list, instead of the network: the
    Room cannot tell the difference, so we can try a Room without any sockets.
    """

    def __init__(self, port: int) -> None:
        self.nick = ""  # Room.join fills it in
        self.address = (HOST, port)
        self.screen: list[str] = []  # every line the room sent to this client

    def send(self, line: str) -> None:
        self.screen.append(line)


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Check ``condition()`` often until it is true (True) or ``timeout`` s passed (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


# -- progress: which steps are done -----------------------------------------------------

# "See" in lab/, "Veja" in lab_pt_BR/ (scripts/make_lab.py --lang pt_BR).
TODO_COMMENT = re.compile(r"TODO\(step (\d+)\):\s*(.*?)\.?\s*(?:(?:See|Veja) \S+\.)?\s*$")


@dataclass(frozen=True)
class Todo:
    """One ``TODO(step NN)`` comment in the code."""

    step: int
    where: str  # file:line, e.g. "server.py:112"
    what: str  # what to write there


@dataclass
class StepProgress:
    """How far one step is, by the grader's checks of that step."""

    step: int
    passed: int = 0  # checks of this step that passed
    total: int = 0  # checks of this step that apply to the code
    todos: list[Todo] = field(default_factory=list)  # its TODO comments still in the code

    @property
    def done(self) -> bool:
        """Every check of the step passes (a TODO comment left in place does not matter)."""
        return self.total > 0 and self.passed == self.total


def todos(folder: str | os.PathLike[str]) -> list[Todo]:
    """Every ``TODO(step NN)`` comment in the Python files of ``folder``, by step."""
    found = []
    for path in sorted(Path(folder).glob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if match := TODO_COMMENT.search(line):
                found.append(Todo(int(match[1]), f"{path.name}:{number}", match[2]))
    return sorted(found, key=lambda todo: todo.step)


def step_progress(result: Any, todo_list: Iterable[Todo] = ()) -> list[StepProgress]:
    """Group a grading result's checks by step: one StepProgress per step, in order.

    ``result`` is what ``grader.api.grade`` returns; a check that does not apply to the
    code (status "not_applicable") counts for neither side.
    """
    steps: dict[int, StepProgress] = {}
    for check in result.checks:
        progress = steps.setdefault(check.step, StepProgress(check.step))
        if check.status != "not_applicable":
            progress.total += 1
            progress.passed += check.passed
    for todo in todo_list:
        steps.setdefault(todo.step, StepProgress(todo.step)).todos.append(todo)
    return [steps[step] for step in sorted(steps)]


def show_progress(folder: str | os.PathLike[str]) -> None:
    """Run every check on ``folder`` and print, step by step, what is done and what is left."""
    from grader.api import grade

    folder = code_folder(folder)
    steps = step_progress(grade(folder), todos(folder))
    for progress in steps:
        step = _("step {step:02d}").format(step=progress.step)
        counts = _("{passed} of {total} checks pass").format(passed=progress.passed,
                                                               total=progress.total)
        if progress.done:
            print(f"{step}  ✓ {_('done'):<10}{counts}")
            continue
        print(f"{step}  · {_('to do'):<10}{counts}")
        for todo in progress.todos:
            print(f"           TODO {todo.where:<15} {todo.what}")
        if not progress.todos:
            print("          ", _("no TODO left here: check({step}) in notebook {step:02d}"
                                 " tells you what is still wrong").format(step=progress.step))
    done = sum(progress.done for progress in steps)
    print("\n" + _("{done} of {total} steps done, in {folder}").format(
        done=done, total=len(steps), folder=folder))
