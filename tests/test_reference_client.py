"""reference_solution/client.py under a pseudo-terminal, against a fake or a real server.

The pty does not echo, so whatever the test types never shows up as client output.
"""

from __future__ import annotations

import io
import os
import socket
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from chatpeer import REFERENCE

STARTUP = 15.0  # seconds for a Python program to start on a loaded machine
DISCONNECTED = "*** disconnected from server"


def exit_limit() -> float:
    """PROTOCOL.md's one second to exit, stretched by how overloaded the machine is.

    On an idle machine this is exactly one second; when there are more runnable
    processes than CPUs, everything is proportionally slower, and a correct client must
    not fail for it.
    """
    load_per_cpu = os.getloadavg()[0] / (os.cpu_count() or 1)
    return 1.0 * max(1.0, load_per_cpu)


class Client:
    """The chat client program running under a pty; ``output`` is everything it printed."""

    def __init__(self, port: int, *args: str, folder: Path = REFERENCE) -> None:
        self.log = io.StringIO()
        env = dict(os.environ, PYTHONUTF8="1", TERM="dumb")
        self.child = pexpect.spawn(
            sys.executable,
            ["-u", "client.py", "--host", "127.0.0.1", "--port", str(port), *args],
            cwd=str(folder),
            env=env,
            encoding="utf-8",
            codec_errors="replace",
            echo=False,
            timeout=STARTUP,
        )
        self.child.logfile_read = self.log

    @property
    def output(self) -> str:
        return self.log.getvalue().replace("\r\n", "\n")

    def expect_line(self, line: str) -> None:
        self.child.expect_exact(line + "\r\n")

    def type(self, line: str) -> None:
        self.child.sendline(line)

    def wait_exit(self, timeout: float = STARTUP) -> int:
        """Wait for end of output and exit; the exit status."""
        self.child.expect(pexpect.EOF, timeout=timeout)
        self.child.close()
        assert self.child.exitstatus is not None, f"killed by signal {self.child.signalstatus}"
        return self.child.exitstatus

    def timed_exit(self) -> tuple[int, float]:
        """Exit status and seconds until the program ended, counted from now."""
        start = time.monotonic()
        status = self.wait_exit()
        return status, time.monotonic() - start

    def stop(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close(force=True)


class FakeServer:
    """A listening socket the test drives by hand: accept one client, read, write, close."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(STARTUP)
        self.port: int = self.listener.getsockname()[1]
        self.conn: socket.socket | None = None
        self._pending = b""

    def accept(self) -> socket.socket:
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(STARTUP)
        return self.conn

    def read_line(self) -> bytes:
        """The next line the client sent, or b"" at end of file."""
        assert self.conn is not None
        while b"\n" not in self._pending:
            chunk = self.conn.recv(4096)
            if not chunk:
                return b""
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line + b"\n"

    def send(self, text: str) -> None:
        assert self.conn is not None
        self.conn.sendall((text + "\n").encode("utf-8"))

    def reset(self) -> None:
        assert self.conn is not None
        self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.conn.close()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.listener.close()


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


@pytest.fixture
def spawn() -> Iterator:
    """Factory: ``spawn(port, "--nick", "ana")`` starts a client; all are killed at teardown."""
    clients: list[Client] = []

    def start(port: int, *args: str) -> Client:
        clients.append(Client(port, *args))
        return clients[-1]

    yield start
    for client in clients:
        client.stop()


def assert_no_traceback(client: Client) -> None:
    assert "Traceback" not in client.output, client.output


# -- against a fake server -------------------------------------------------------------------


def test_asks_for_a_nickname_before_connecting(fake, spawn):
    client = spawn(fake.port)
    client.child.expect_exact("Nickname: ")
    fake.listener.settimeout(0)
    with pytest.raises(BlockingIOError):  # no connection waits on a person typing
        fake.listener.accept()
    fake.listener.settimeout(STARTUP)
    client.type("ana")
    fake.accept()
    assert fake.read_line() == b"ana\n"


def test_nick_option_sends_the_nickname_at_once(fake, spawn):
    client = spawn(fake.port, "--nick", "João")
    fake.accept()
    assert fake.read_line() == "João\n".encode()
    assert "Nickname" not in client.output


def test_shows_lines_that_arrive_while_idle(fake, spawn):
    client = spawn(fake.port, "--nick", "ana")
    fake.accept()
    assert fake.read_line() == b"ana\n"
    fake.send("*** welcome ana")
    client.expect_line("*** welcome ana")
    fake.send("bob: are you there?")  # the user typed nothing
    client.expect_line("bob: are you there?")


def test_shows_utf8_and_escapes_control_characters(fake, spawn):
    client = spawn(fake.port, "--nick", "ana")
    fake.accept()
    fake.send("joão: ação 李 😀")
    client.expect_line("joão: ação 李 😀")
    fake.send("eve: \x1b[2Jgotcha")
    client.expect_line("eve: \\x1b[2Jgotcha")


def test_sends_each_typed_line(fake, spawn):
    client = spawn(fake.port, "--nick", "ana")
    fake.accept()
    assert fake.read_line() == b"ana\n"
    for line in ("hello", "ação 李 😀", "/users", "/w bob hi"):
        client.type(line)
        assert fake.read_line() == (line + "\n").encode()


def test_quit_exits_0_within_a_second(fake, spawn):
    client = spawn(fake.port, "--nick", "ana")
    fake.accept()
    assert fake.read_line() == b"ana\n"
    client.type("/quit")
    status, seconds = client.timed_exit()
    assert fake.read_line() == b"/quit\n"
    assert fake.read_line() == b""  # the client closed its end
    assert status == 0 and seconds < exit_limit(), (status, seconds)
    assert DISCONNECTED not in client.output
    assert_no_traceback(client)


def test_end_of_input_exits_0_within_a_second(fake, spawn):
    client = spawn(fake.port, "--nick", "ana")
    fake.accept()
    assert fake.read_line() == b"ana\n"
    client.child.sendeof()
    status, seconds = client.timed_exit()
    assert fake.read_line() == b""
    assert status == 0 and seconds < exit_limit(), (status, seconds)
    assert_no_traceback(client)


def test_end_of_input_at_the_nickname_prompt_exits_0(fake, spawn):
    client = spawn(fake.port)
    client.child.expect_exact("Nickname: ")
    client.child.sendeof()
    assert client.wait_exit() == 0
    assert_no_traceback(client)


@pytest.mark.parametrize("how", ["close", "reset"])
def test_server_going_away_prints_disconnected_and_exits_1(fake, spawn, how):
    client = spawn(fake.port, "--nick", "ana")
    fake.accept()
    assert fake.read_line() == b"ana\n"
    fake.send("*** welcome ana")
    client.expect_line("*** welcome ana")
    if how == "close":
        fake.conn.close()
    else:
        fake.reset()
    status, seconds = client.timed_exit()
    assert status == 1 and seconds < exit_limit(), (status, seconds)
    assert client.output.endswith(DISCONNECTED + "\n"), client.output
    assert_no_traceback(client)


def test_error_line_is_printed_before_disconnected(fake, spawn):
    client = spawn(fake.port, "--nick", "ana")
    fake.accept()
    assert fake.read_line() == b"ana\n"
    fake.send("*** error: nickname ana is already taken")
    fake.conn.close()
    assert client.wait_exit() == 1
    assert client.output == f"*** error: nickname ana is already taken\n{DISCONNECTED}\n"


def test_connection_refused_is_a_clear_message(spawn):
    # A bound socket that does not listen refuses connections, and keeps its port ours.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        client = spawn(port, "--nick", "ana")
        assert client.wait_exit() == 1
    assert f"*** cannot connect to 127.0.0.1:{port}" in client.output, client.output
    assert "refused" in client.output.lower()
    assert_no_traceback(client)


# -- against the reference server ------------------------------------------------------------


def test_chat_with_the_reference_server(server, spawn, connect):
    ana = spawn(server.port, "--nick", "ana")
    ana.expect_line("*** welcome ana")
    bob = connect(nick="bob")
    ana.expect_line("*** bob joined the chat")
    bob.send("hi ana")
    ana.expect_line("bob: hi ana")
    ana.type("hello bob")
    bob.expect("ana: hello bob")
    ana.type("/w bob psst")
    bob.expect("ana (whisper): psst")
    ana.type("/quit")
    status, seconds = ana.timed_exit()
    assert status == 0 and seconds < exit_limit(), (status, seconds)
    bob.expect("*** ana left the chat")
    assert_no_traceback(ana)


def test_taken_nickname_with_the_reference_server(server, spawn, connect):
    connect(nick="ana")
    twin = spawn(server.port, "--nick", "ana")
    assert twin.wait_exit() == 1
    assert twin.output == f"*** error: nickname ana is already taken\n{DISCONNECTED}\n"


def test_reference_server_shutdown_disconnects_the_client(server, spawn):
    ana = spawn(server.port, "--nick", "ana")
    ana.expect_line("*** welcome ana")
    server.stop()
    assert ana.wait_exit() == 1
    assert ana.output.endswith(f"*** server shutting down\n{DISCONNECTED}\n"), ana.output
    assert_no_traceback(ana)


def test_longest_escaped_chat_line_does_not_disconnect_the_client(server, spawn, connect):
    ana = spawn(server.port, "--nick", "ana")
    ana.expect_line("*** welcome ana")
    bob = connect(nick="bob")
    ana.expect_line("*** bob joined the chat")
    bob.send("\x01" * 4096)  # a legal line: exactly 4096 bytes
    ana.expect_line("bob: " + "\\x01" * 4096)
    bob.send("still there?")
    ana.expect_line("bob: still there?")
    assert DISCONNECTED not in ana.output
