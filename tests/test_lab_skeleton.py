"""The student skeleton in lab/: it runs (server listens, client connects) and each
unfinished step fails with a NotImplementedError that names its step."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import pytest
from chatpeer import DEADLINE, LAB, Peer, load_solution

STEP_MESSAGE = re.compile(r"NotImplementedError\((?P<quote>['\"])step (?P<step>\d\d): ")


@pytest.fixture(scope="module")
def lab_modules():
    return load_solution(LAB, "lab")


def test_every_stub_raise_names_its_step():
    raises = 0
    for path in sorted(LAB.glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "raise NotImplementedError" in line:
                raises += 1
                assert STEP_MESSAGE.search(line), f"{path.name}:{number}: {line.strip()}"
    assert raises > 0


def test_every_todo_names_a_step_and_a_notebook():
    todo = re.compile(r"# TODO\(step (\d\d)\): .+\. See notebooks/\1_\w+\.ipynb\.$")
    for path in sorted(LAB.glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "TODO(" in line:
                assert todo.search(line.strip()), f"{path.name}:{number}: {line.strip()}"


def test_skeleton_has_no_solution_fences():
    for path in sorted(LAB.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path.name


def test_line_buffer_stub_raises_step_02(lab_modules):
    protocol, _ = lab_modules
    with pytest.raises(NotImplementedError, match=r"^step 02: .*notebooks/02_framing\.ipynb"):
        protocol.LineBuffer().feed(b"hello\n")


def test_room_stubs_raise_step_04(lab_modules):
    _, server = lab_modules
    room = server.Room()
    with pytest.raises(NotImplementedError, match=r"^step 04: "):
        room.join(object(), "ana")
    with pytest.raises(NotImplementedError, match=r"^step 04: "):
        room.broadcast(object(), "hi")


def test_pure_helpers_are_given(lab_modules):
    protocol, _ = lab_modules
    assert protocol.printable("\x1b[1m") == "\\x1b[1m"
    assert protocol.encode_line("hi") == b"hi\n"
    assert protocol.chat_line("ana", "hi") == "ana: hi"


def test_skeleton_server_listens_and_accepts(start_server):
    server = start_server(folder=LAB)
    assert server.listening_line == f"listening on 127.0.0.1:{server.port}"
    peer = Peer(server.host, server.port)
    try:
        # The skeleton accepts, reads the nickname and reaches the unfinished framing step.
        peer.send("ana")
        peer.expect_eof(timeout=15.0)
    finally:
        peer.close()
    status = server.wait(15.0)
    stderr = "\n".join(server.stderr)
    assert status != 0
    assert "NotImplementedError: step 02: split the buffered bytes" in stderr, stderr


def test_skeleton_client_connects_and_sends_its_nickname():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(15.0)
        port = listener.getsockname()[1]
        client = subprocess.Popen(
            [sys.executable, "-u", "client.py", "--port", str(port), "--nick", "ana"],
            cwd=LAB,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(DEADLINE)
                assert conn.recv(100) == b"ana\n"
                _, stderr = client.communicate(timeout=15.0)
        finally:
            client.kill()
            client.communicate()
    assert client.returncode != 0
    # One traceback, the input loop's: the receiving thread prints a notice instead of
    # raising (whether it prints before the process ends is up to the scheduler).
    assert stderr.count("Traceback (most recent call last)") == 1, stderr
    assert "NotImplementedError: step 05: send every typed line" in stderr, stderr
