"""notebooks/course.py: the notebooks' helpers stop what they start, wait with deadlines,
and count a step done when its checks pass.

The programs these tests start are tiny ``server.py`` stand-ins written into a temporary
folder, or the reference server; every wait is for an event (a line, an exit) with a
deadline.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path
from textwrap import dedent
from types import SimpleNamespace

import psutil
import pytest
from chatpeer import LAB, REFERENCE, ROOT, load_module

course = load_module(ROOT / "notebooks" / "course.py", "course_under_test")

# A server that ignores SIGTERM and starts a helper that ignores it too: only the process
# group's SIGKILL ends them. signal.pause() waits without spinning.
STUBBORN_SERVER = """\
import signal, subprocess, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)
helper = subprocess.Popen([sys.executable, "-c",
    "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); signal.pause()"])
print(f"helper {helper.pid}", flush=True)
print("listening on 127.0.0.1:9", flush=True)
while True:
    signal.pause()
"""


def write_server(folder: Path, text: str) -> Path:
    (folder / "server.py").write_text(dedent(text), encoding="utf-8")
    return folder


def gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie nobody reaped yet counts as exited)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def clean_imports():
    """Demo.load() puts a code folder first on sys.path and imports its modules: undo it."""
    path = list(sys.path)
    modules = {name: sys.modules.get(name) for name in course.MODULES}
    yield
    sys.path[:] = path
    for name, module in modules.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module


@pytest.fixture
def demo_of(tmp_path):
    """Factory: a Demo of a folder; whatever its demos started is stopped at teardown."""
    demos = []

    def make(folder: Path = tmp_path):
        demos.append(course.Demo(folder))
        return demos[-1]

    yield make
    for demo in demos:
        demo.stop_all()


# -- the server program ------------------------------------------------------------------


def test_a_server_and_what_it_started_are_stopped_through_its_process_group(tmp_path, demo_of):
    server = demo_of(write_server(tmp_path, STUBBORN_SERVER)).server()
    helper = int(server.wait_for(r"^helper (\d+)$", timeout=5).group(1))
    assert server.port == 9
    assert os.getpgid(helper) == server.pid  # the helper is in the server's group
    start = time.monotonic()
    server.stop(timeout=1.0)
    assert time.monotonic() - start < 5.0
    assert server.process.returncode == -signal.SIGKILL  # SIGTERM was ignored
    assert course.wait_until(lambda: gone(helper), timeout=5.0), "the helper survived"
    assert not server._reader.is_alive()  # its output was read to the end
    server.stop()  # a second stop does nothing


def test_a_polite_server_gets_sigterm_and_says_goodbye(demo_of):
    demo = demo_of(REFERENCE)
    server = demo.server()
    ana = demo.connect_as(server, "ana")
    server.stop()
    assert server.process.returncode == 0  # it ended by itself, on SIGTERM
    assert ana.read_line() == "*** server shutting down"
    assert server.wait_for(r"^\[join\] ana ", timeout=0)  # the log was kept


def test_a_server_that_never_listens_is_reported_with_its_last_words(tmp_path, demo_of):
    write_server(tmp_path, 'print("cannot listen: no luck", flush=True)\n')
    with pytest.raises(RuntimeError, match="its last words: cannot listen: no luck"):
        demo_of(tmp_path).server()


def test_wait_for_gives_up_at_its_deadline(demo_of):
    server = demo_of(REFERENCE).server()
    start = time.monotonic()
    assert server.wait_for("a line it never prints", timeout=0.2) is None
    assert 0.2 <= time.monotonic() - start < 2.0


# -- needs_step: explain, then stop everything ---------------------------------------------


def test_needs_step_explains_a_failure_and_stops_everything(demo_of, capsys):
    demo = demo_of(REFERENCE)
    with demo.needs_step(4):
        server = demo.server()
        bob = demo.connect_as(server, "bob")
        ana = demo.client(server, "ana")
        ana.expect_exact("*** welcome ana")
        bob.expect("a line that never comes", timeout=0.2)
    shown = capsys.readouterr().out
    assert shown.startswith("✋ This demo did not work yet (TimeoutError: waited 0.2 s for")
    assert "Finish TODO(step 04) (and the steps before it)" in shown
    assert server.process.returncode is not None
    assert bob.sock.fileno() == -1
    assert not ana.isalive()


def test_needs_step_stops_everything_after_a_demo_that_worked(demo_of, capsys):
    demo = demo_of(REFERENCE)
    with demo.needs_step(4):
        server = demo.server()
        demo.connect_as(server, "ana")
    assert capsys.readouterr().out == ""
    assert server.process.returncode is not None


def test_needs_step_names_a_syntax_error(tmp_path, demo_of, capsys):
    demo = demo_of(write_server(tmp_path, "def broken(:\n"))
    with demo.needs_step(3):
        demo.server()
    shown = capsys.readouterr().out
    assert "Python cannot read your file" in shown
    assert "Finish TODO" not in shown


# -- raw sockets ---------------------------------------------------------------------------


def test_a_peer_waits_for_a_whole_line_with_a_deadline():
    with socket.create_server((course.HOST, 0)) as listener:
        peer = course.Peer(listener.getsockname()[1], name="ana")
        server_side, _ = listener.accept()
        with server_side, peer.sock:
            start = time.monotonic()
            with pytest.raises(TimeoutError, match="ana: nothing arrived within 0.2 s"):
                peer.read_line(timeout=0.2)
            assert time.monotonic() - start < 2.0
            server_side.sendall("olá\nhalf a l".encode())
            assert peer.read_line() == "olá"
            server_side.close()
            assert peer.read_line() is None  # closed: the unfinished line never counts
            assert peer.received == ["olá"]


def test_connected_pair_carries_bytes_both_ways():
    client, server_side = course.connected_pair()
    with client, server_side:
        client.sendall(b"ping\n")
        assert server_side.recv(16) == b"ping\n"
        server_side.sendall(b"pong\n")
        assert client.recv(16) == b"pong\n"


# -- the student's code, imported and served in a thread ------------------------------------


def test_load_reads_the_file_again_and_leaves_no_bytecode(tmp_path, demo_of, clean_imports):
    demo = demo_of(tmp_path)
    (tmp_path / "protocol.py").write_text("VALUE = 1\n", encoding="utf-8")
    assert demo.load("protocol").VALUE == 1
    (tmp_path / "protocol.py").write_text("VALUE = 2\n", encoding="utf-8")
    assert demo.load("protocol").VALUE == 2
    assert not (tmp_path / "__pycache__").exists()


@pytest.mark.parametrize("folder", [REFERENCE, LAB], ids=["reference", "skeleton"])
def test_a_server_thread_returns_from_serve_forever_when_stopped(folder, demo_of, clean_imports):
    demo = demo_of(folder)
    server = demo.server_thread()
    with socket.create_connection(server.address, timeout=5):
        assert course.wait_until(lambda: len(server.served_ports()) == 1, timeout=5)
    demo.stop_all()
    assert not server.thread.is_alive()


def test_a_code_folder_that_does_not_exist_is_named():
    with pytest.raises(FileNotFoundError, match='such as "lab"'):
        course.Demo("no_such_folder")
    assert course.Demo("lab").code == LAB.resolve()


# -- progress: a step is done when its checks pass --------------------------------------------


def test_todos_are_read_from_the_code():
    found = course.todos(LAB)
    written = sum(path.read_text("utf-8").count("TODO(step") for path in LAB.glob("*.py"))
    assert len(found) == written > 0
    assert [todo.step for todo in found] == sorted(todo.step for todo in found)
    step_02 = [todo for todo in found if todo.step == 2]
    assert [todo.what for todo in step_02] == ["split the buffered bytes into complete lines"]
    assert step_02[0].where.startswith("protocol.py:")
    assert course.todos(REFERENCE) == []


def checked(step: int, status: str) -> SimpleNamespace:
    """A stand-in for one check's result, as grader.api.grade returns them."""
    return SimpleNamespace(step=step, status=status, passed=status == "passed")


def test_a_step_is_done_when_all_its_checks_pass_whatever_its_todos():
    result = SimpleNamespace(checks=[
        checked(4, "passed"), checked(2, "passed"), checked(2, "passed"),
        checked(4, "failed"), checked(5, "passed"), checked(5, "not_applicable"),
    ])
    todos = [course.Todo(2, "protocol.py:42", "split lines"), course.Todo(7, "server.py:9", "x")]
    steps = {progress.step: progress for progress in course.step_progress(result, todos)}
    assert list(steps) == [2, 4, 5, 7]
    assert steps[2].done and steps[2].todos == todos[:1]  # its TODO comment does not matter
    assert (steps[4].passed, steps[4].total, steps[4].done) == (1, 2, False)
    assert (steps[5].passed, steps[5].total, steps[5].done) == (1, 1, True)
    assert not steps[7].done and steps[7].todos == todos[1:]  # no check ran: not done
