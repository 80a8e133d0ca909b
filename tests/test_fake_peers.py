"""The fake peers speak every framing a chat assignment uses: newline, none, length10."""

from __future__ import annotations

import select
import socket
import threading
import time

import pytest

from grader.actors.fake_client import Peer
from grader.actors.transcript import Transcript
from grader.failures import Mismatch
from grader.timing import Timing

TIMING = Timing(1.0)


@pytest.fixture
def pair():
    """(our socket, the other end) over real TCP on loopback."""
    listener = socket.create_server(("127.0.0.1", 0))
    ours = socket.create_connection(listener.getsockname())
    theirs, _ = listener.accept()
    listener.close()
    yield ours, theirs
    ours.close()
    theirs.close()


def peer(sock: socket.socket, framing: str) -> Peer:
    return Peer("ana", Transcript(), TIMING, sock, framing=framing)


def test_unframed_messages_are_one_send_each_read_before_the_next(pair) -> None:
    ours, theirs = pair
    chunks: list[bytes] = []
    done = threading.Event()

    def read_slowly() -> None:  # a program that takes each recv() as one message
        while len(chunks) < 3:
            chunks.append(theirs.recv(4096))
        done.set()

    threading.Thread(target=read_slowly, daemon=True).start()
    ana = peer(ours, "none")
    for text in ("one", "two", "three"):
        ana.send_line(text)
    assert done.wait(10)
    assert chunks == [b"one", b"two", b"three"]  # no newline, never two in one recv()


def test_unframed_messages_glued_together_are_told_apart(pair) -> None:
    ours, theirs = pair
    ana = peer(ours, "none")
    theirs.sendall(b"bob: hicid: yo")  # two quick sends of a server arrive as one
    assert ana.expect_line("bob: hi") == "bob: hi"
    assert ana.expect_line("cid: yo") == "cid: yo"
    received = [e.text for e in ana.transcript.entries() if e.action == "received"]
    assert received == ["bob: hi", "cid: yo"]  # each logged once, as taken


def test_a_message_to_pass_over_glued_to_the_one_wanted_leaves_it_whole(pair) -> None:
    ours, theirs = pair
    bob = peer(ours, "none")
    bob.ignore.append((lambda line: line == "João entrou", "a late join notice"))
    theirs.sendall("João entrouJoão: olá".encode())
    assert bob.expect_line("João: olá") == "João: olá"
    assert not bob.ignore  # passed over once


def test_an_unframed_message_is_what_comes_until_the_line_goes_quiet(pair) -> None:
    ours, theirs = pair
    ana = peer(ours, "none")
    theirs.sendall(b"bob: ")
    threading.Timer(0.01, theirs.sendall, args=(b"a message in two sends",)).start()
    assert ana.read_line(time.monotonic() + 5) == "bob: a message in two sends"
    theirs.sendall(b"with a newline\n")  # a newline, where a program sends one, ends it too
    assert ana.read_line(time.monotonic() + 5) == "with a newline"
    theirs.sendall(b"something else")
    with pytest.raises(Mismatch):
        ana.expect_line("bob: hi")


def test_length_prefixed_messages(pair) -> None:
    ours, theirs = pair
    ana = peer(ours, "length10")
    ana.send_line("olá")
    assert theirs.recv(64) == b"4         ol\xc3\xa1"  # the length in bytes, padded to 10
    theirs.sendall(b"7         bob: hi" + b"3         yo!")
    assert ana.expect_line("bob: hi") == "bob: hi"
    assert ana.expect_line("yo!") == "yo!"


def test_an_unknown_framing_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown framing 'lines'"):
        Peer("ana", Transcript(), TIMING, framing="lines")


def test_a_half_close_ends_the_stream_even_with_lines_unread(pair) -> None:
    """What the server sends just before a client leaves may still be unread: a close
    would then reset the connection (the server's recv() raises), a half-close ends the
    stream (recv() returns b'', as a correct server expects) and keeps receiving."""
    ours, theirs = pair
    ana = peer(ours, "newline")
    theirs.sendall(b"*** cid joined the chat\n")
    assert poll_readable(ours)
    ana.half_close()
    theirs.settimeout(10)
    assert theirs.recv(4096) == b""  # the end of the stream, not ConnectionResetError
    theirs.sendall(b"*** bob left the chat\n")  # still taken in: no reset comes back
    assert ana.expect_line("*** cid joined the chat") == "*** cid joined the chat"
    assert ana.expect_line("*** bob left the chat") == "*** bob left the chat"


def test_a_close_with_lines_unread_would_reset(pair) -> None:
    """Why the half-close: the kernel answers a close with unread data with a reset."""
    ours, theirs = pair
    theirs.sendall(b"*** cid joined the chat\n")
    assert poll_readable(ours)
    ours.close()
    theirs.settimeout(10)
    with pytest.raises(ConnectionResetError):
        theirs.recv(4096)


def poll_readable(sock: socket.socket) -> bool:
    """Event: data has arrived on ``sock`` (unread), within 10 s."""
    return bool(select.select([sock], [], [], 10)[0])
