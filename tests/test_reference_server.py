"""Every rule of lab/PROTOCOL.md, checked over real sockets against reference_solution/server.py.

Each test waits on events (a line, end of file, a log line, the process exiting) with a
deadline; none sleeps. ``barrier()`` proves that nothing unexpected was queued before a
marker line.
"""

from __future__ import annotations

import signal
import socket
import threading

import pytest
from chatpeer import LISTENING, barrier


@pytest.fixture
def server(clean_shared_server):
    """One server process for this module, its room emptied before each test."""
    return clean_shared_server


# -- the server program ---------------------------------------------------------------------


def test_port_zero_prints_the_real_port(server, connect):
    assert LISTENING.match(server.listening_line)
    assert server.listening_line == f"listening on 127.0.0.1:{server.port}"
    assert server.port != 0
    connect(nick="ana")


def test_ipv6_loopback(start_server, join):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 support")
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            pass
    except OSError:
        pytest.skip("::1 is not available")
    server = start_server(host="::1")
    assert server.listening_line == f"listening on ::1:{server.port}"
    ana, bob = join("ana", "bob", server=server)
    ana.send("over IPv6")
    bob.expect("ana: over IPv6")
    server.wait_for_output(lambda line: line.startswith("[join] bob ::1:"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_tells_every_client_and_exits_0(start_server, join, signum):
    server = start_server()
    clients = join("ana", "bob", "cy", server=server)
    server.signal(signum)
    for client in clients:
        assert client.expect_eof() == ["*** server shutting down"]
    assert server.wait() == 0
    assert not any("Traceback" in line for line in server.stderr), server.stderr


def test_sigint_works_even_if_the_parent_ignored_it(start_server, join):
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by the child
    try:
        server = start_server()
    finally:
        signal.signal(signal.SIGINT, previous)
    (ana,) = join("ana", server=server)
    server.signal(signal.SIGINT)
    assert ana.expect_eof(timeout=2.0) == ["*** server shutting down"]
    assert server.wait() == 0


# -- registration ---------------------------------------------------------------------------


def test_welcome_is_the_first_line(connect):
    ana = connect()
    ana.send("ana")
    assert ana.read_line() == "*** welcome ana"


def test_unicode_nickname(join):
    joao, ana = join("João", "ana")
    joao.send("olá")
    ana.expect("João: olá")


def test_join_order_and_log_line(server, join, connect):
    (ana,) = join("ana")
    bob = connect()
    bob.send("bob")
    bob.expect("*** welcome bob")
    ana.expect("*** bob joined the chat")
    server.wait_for_output(f"[join] bob {bob.local_address()}")
    server.wait_for_output(f"[join] ana {ana.local_address()}")
    # once ana saw the announcement, her lines reach bob
    ana.send("first line after the announcement")
    bob.expect("ana: first line after the announcement")


def test_no_replay_of_earlier_lines(join, connect):
    ana, bob = join("ana", "bob")
    ana.send("before cy")
    bob.expect("ana: before cy")
    cy = connect(nick="cy")
    ana.expect("*** cy joined the chat")
    bob.expect("*** cy joined the chat")
    # bob's marker must be cy's very next line after its welcome
    barrier(bob, cy, ana)


def test_newcomer_receives_every_line_sent_after_the_announcement(join, connect):
    (ana,) = join("ana")
    for round_ in range(10):
        newcomer = connect(nick=f"n{round_}")
        ana.expect(f"*** n{round_} joined the chat")
        ana.send(f"hello n{round_}")
        newcomer.expect(f"ana: hello n{round_}")
        newcomer.send("/quit")
        ana.expect(f"*** n{round_} left the chat")


@pytest.mark.parametrize(
    ("nick", "reason"),
    [
        ("", "nickname must not be empty"),
        ("ana bob", None),
        ("ana:", None),
        ("a*b", None),
        ("\x1b[31mred", None),
        ("tab\there", None),
        ("x" * 21, "nickname longer than 20 characters"),
    ],
    ids=["empty", "space", "colon", "star", "ansi", "tab", "21-chars"],
)
def test_invalid_nickname_gets_an_error_and_is_closed(server, join, connect, nick, reason):
    ana, bob = join("ana", "bob")
    bad = connect()
    bad.send(nick)
    line = bad.read_line()
    assert line is not None and line.startswith("*** error: "), line
    if reason:
        assert line == f"*** error: {reason}"
    assert bad.expect_eof() == []
    barrier(bob, ana)  # nothing was announced to ana
    server.wait_for_output(lambda line: line.startswith("[join] bob "))
    assert len(server.log_lines("[join]")) == 2


def test_twenty_character_nickname_is_accepted(connect):
    connect(nick="x" * 20)


def test_nickname_that_is_not_utf8_is_refused(connect):
    bad = connect()
    bad.send_raw(b"\xff\xfe\n")
    line = bad.read_line()
    assert line is not None and line.startswith("*** error: ")
    assert bad.expect_eof() == []


def test_duplicate_nickname_is_refused(server, join, connect):
    ana, bob = join("ana", "bob")
    twin = connect()
    twin.send("ana")
    twin.expect("*** error: nickname ana is already taken")
    assert twin.expect_eof() == []
    barrier(bob, ana)
    bob.send("/users")
    bob.expect("*** online: ana, bob")
    assert len(server.log_lines("[join] ana")) == 1


# -- chat -----------------------------------------------------------------------------------


def test_broadcast_reaches_every_other_client(join):
    ana, *others = join("ana", "bob", "cy", "dee", "eve")
    ana.send("hello everyone")
    for other in others:
        other.expect("ana: hello everyone")


def test_sender_gets_no_copy(join):
    ana, bob = join("ana", "bob")
    ana.send("hi bob")
    bob.expect("ana: hi bob")
    barrier(bob, ana)


def test_lines_from_one_sender_keep_their_order(join):
    ana, bob, cy = join("ana", "bob", "cy")
    lines = [f"line {n:03d}" for n in range(500)]
    ana.send(*lines)
    for receiver in (bob, cy):
        receiver.expect_lines([f"ana: {line}" for line in lines])


def test_interleaved_senders_keep_their_own_order(join):
    ana, bob, cy = join("ana", "bob", "cy")
    ana_lines = [f"a{n}" for n in range(200)]
    bob_lines = [f"b{n}" for n in range(200)]
    senders = [
        threading.Thread(target=ana.send, args=ana_lines),
        threading.Thread(target=bob.send, args=bob_lines),
    ]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    got = [cy.read_line() for _ in range(400)]
    assert [line for line in got if line.startswith("ana: ")] == [f"ana: {t}" for t in ana_lines]
    assert [line for line in got if line.startswith("bob: ")] == [f"bob: {t}" for t in bob_lines]


def test_empty_lines_are_ignored(join):
    ana, bob = join("ana", "bob")
    ana.send_raw(b"\n\r\n\n")
    barrier(ana, bob)


def test_crlf_line_endings(join):
    ana, bob = join("ana", "bob")
    ana.send_raw(b"windows line\r\n")
    bob.expect("ana: windows line")


def test_utf8_split_across_writes(join):
    ana, bob = join("ana", "bob")
    data = "ação 李 😀\n".encode()
    for cut in (2, 8, 11):  # inside ç, inside 李, inside 😀
        ana.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ana.send_raw(data[:cut])
        ana.send_raw(data[cut:])
        bob.expect("ana: ação 李 😀")


def test_terminal_escapes_arrive_escaped(join):
    ana, bob = join("ana", "bob")
    ana.send("\x1b[2J\x1b[31mred\x07 tab\tkept ação \x9b")
    bob.expect("ana: \\x1b[2J\\x1b[31mred\\x07 tab\tkept ação \\x9b")


def test_line_of_4096_bytes_is_delivered(join):
    ana, bob = join("ana", "bob")
    text = "é" * 2048
    ana.send(text)
    bob.expect(f"ana: {text}")


# -- leaving --------------------------------------------------------------------------------


def _leave(peer, how: str) -> None:
    if how == "quit":
        peer.send("/quit")
        assert peer.expect_eof() == []
    elif how == "close":
        peer.close()
    elif how == "reset":
        peer.reset()
    elif how == "quit-then-close":
        peer.send("/quit")
        peer.close()
    elif how == "shutdown-write":
        peer.sock.shutdown(socket.SHUT_WR)
        assert peer.expect_eof() == []


@pytest.mark.parametrize("how", ["quit", "close", "reset", "quit-then-close", "shutdown-write"])
def test_leave_is_announced_exactly_once(server, join, how):
    ana, bob, cy = join("ana", "bob", "cy")
    address = ana.local_address()
    _leave(ana, how)
    for peer in (bob, cy):
        peer.expect("*** ana left the chat")
    barrier(cy, bob)
    barrier(bob, cy)
    server.wait_for_output(f"[leave] ana {address}")
    assert server.log_lines("[leave]") == [f"[leave] ana {address}"]
    bob.send("/users")
    bob.expect("*** online: bob, cy")


def test_quit_with_trailing_spaces(join):
    ana, bob = join("ana", "bob")
    ana.send("/quit  ")
    bob.expect("*** ana left the chat")


def test_nickname_is_free_again_after_leaving(join, connect):
    ana, bob = join("ana", "bob")
    ana.send("/quit")
    bob.expect("*** ana left the chat")
    connect(nick="ana")
    bob.expect("*** ana joined the chat")


def test_unregistered_client_leaving_is_not_announced(server, join, connect):
    (ana,) = join("ana")
    for how in ("close", "reset"):
        silent = connect()
        _leave(silent, how)
    bob = connect(nick="bob")
    ana.expect("*** bob joined the chat")
    barrier(bob, ana)
    assert server.log_lines("[leave]") == []


# -- commands -------------------------------------------------------------------------------


def test_users_is_sorted_and_includes_the_sender(join):
    bob, *_ = join("bob", "ana", "Zoé", "émile", "_x", "10")
    bob.send("/users")
    bob.expect("*** online: 10, Zoé, _x, ana, bob, émile")


def test_whisper_reaches_only_its_target(join):
    ana, bob, cy = join("ana", "bob", "cy")
    ana.send("/w bob psst: a secret")
    bob.expect("ana (whisper): psst: a secret")
    barrier(bob, ana, cy)  # neither the sender nor a third client got anything


def test_whisper_text_is_escaped(join):
    ana, bob = join("ana", "bob")
    ana.send("/w bob \x1b[31mred")
    bob.expect("ana (whisper): \\x1b[31mred")


def test_whisper_to_unknown_user(join):
    ana, bob = join("ana", "bob")
    ana.send("/w zed hello")
    ana.expect("*** error: no such user zed")
    barrier(ana, bob)


@pytest.mark.parametrize("line", ["/w", "/w bob", "/w bob   ", "/w   "])
def test_whisper_usage(join, line):
    ana, bob = join("ana", "bob")
    ana.send(line)
    ana.expect("*** error: usage: /w <nick> <text>")
    barrier(ana, bob)


@pytest.mark.parametrize(
    ("line", "word"), [("/foo", "/foo"), ("/nick bob", "/nick"), ("/", "/"), ("/USERS", "/USERS")]
)
def test_unknown_command(join, line, word):
    ana, bob = join("ana", "bob")
    ana.send(line)
    ana.expect(f"*** error: unknown command {word}")
    barrier(ana, bob)


# -- protocol errors ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [4097, 5000, 70_000])
def test_line_too_long_closes_only_that_client(join, size):
    ana, bob, cy = join("ana", "bob", "cy")
    bob.send_raw(b"x" * size + b"\n")
    assert bob.expect_eof() == ["*** error: line too long"]
    ana.expect("*** bob left the chat")
    cy.expect("*** bob left the chat")
    barrier(ana, cy)


def test_megabyte_without_newline_closes_only_that_client(join):
    ana, bob, cy = join("ana", "bob", "cy")
    errors: list[OSError] = []

    def flood() -> None:
        try:
            bob.send_raw(b"y" * 1_000_000)
        except OSError as error:  # the server may reset once it stops reading
            errors.append(error)

    sender = threading.Thread(target=flood)
    sender.start()
    assert bob.expect_eof() == ["*** error: line too long"]
    sender.join(10)
    assert not sender.is_alive()
    ana.expect("*** bob left the chat")
    cy.expect("*** bob left the chat")
    barrier(ana, cy)
    barrier(cy, ana)


def test_invalid_utf8_is_reported_and_the_connection_stays(join):
    ana, bob = join("ana", "bob")
    bob.send_raw(b"caf\xe9\n\xff\n")
    bob.expect("*** error: invalid UTF-8, line ignored")
    bob.expect("*** error: invalid UTF-8, line ignored")
    bob.send("still here")
    ana.expect("bob: still here")


# -- history --------------------------------------------------------------------------------


def test_history_replays_only_the_last_public_lines(start_server, join, connect):
    server = start_server("--history", "2")
    ana, bob = join("ana", "bob", server=server)
    ana.send("one", "two", "/w bob secret", "three")
    bob.expect_lines(["ana: one", "ana: two", "ana (whisper): secret", "ana: three"])
    cy = connect(server)
    cy.send("cy")
    cy.expect_lines(["*** history ana: two", "*** history ana: three", "*** welcome cy"])
    barrier(bob, cy)


def test_history_keeps_lines_escaped(start_server, join, connect):
    server = start_server("--history", "5")
    ana, bob = join("ana", "bob", server=server)
    ana.send("\x1b[31mred")
    bob.expect("ana: \\x1b[31mred")
    cy = connect(server)
    cy.send("cy")
    cy.expect_lines(["*** history ana: \\x1b[31mred", "*** welcome cy"])


@pytest.mark.parametrize("args", [(), ("--history", "0")], ids=["default", "zero"])
def test_no_history_without_the_flag(start_server, join, connect, args):
    server = start_server(*args)
    ana, bob = join("ana", "bob", server=server)
    ana.send("old news")
    bob.expect("ana: old news")
    cy = connect(server)
    cy.send("cy")
    cy.expect("*** welcome cy")
    barrier(ana, cy)


# -- nickname timeout (in-process server) ---------------------------------------------------


def test_silent_client_does_not_hold_up_the_others(join, connect):
    connect()  # connected, never sends its nickname (the server waits 60 s for it)
    ana, bob = join("ana", "bob")
    ana.send("hi")
    bob.expect("ana: hi")


def test_client_that_never_sends_a_nickname_is_timed_out(inprocess_server, join, connect):
    server = inprocess_server(nick_timeout=0.5)
    silent = connect(server)
    ana, bob = join("ana", "bob", server=server)
    lines = silent.expect_eof()
    assert len(lines) == 1 and lines[0].startswith("*** error: "), lines
    barrier(bob, ana)
