"""The client program, driven on a pty against a fake server the grader plays.

What the client sends is checked at the fake server; what it shows is checked on its
screen, and only for text the fake server sent (never for what the grader typed, which a
terminal may echo).
"""

from __future__ import annotations

import select
import socket
import struct
import time
from collections.abc import Callable

import pexpect

from ..actors.fake_client import Closed, Peer
from ..actors.student_client import ClientSession
from ..context import Context
from ..failures import Crashed, Hung, Mismatch, Missing, Unexpected
from ..messages import L_
from ..model import Level
from ..registry import check
from .common import hint, impatient, is_chatlab

STEP = 5
# A client check starts real client programs and waits on them, a few tenths of a second
# where most server checks take hundredths: among ready checks it starts first, so that
# the clients run on one core while the server checks go on.
CLIENT_COST = 3


def _no_traceback(client: ClientSession) -> None:
    if client.has_traceback():
        raise Crashed(L_("The client printed a traceback."), expected=L_("no traceback"),
                      actual=client.screen[client.screen.find("Traceback"):][-800:])


def await_exit(client: ClientSession, within: float, after: str) -> None:
    """Wait for the client to exit, at most ``within`` seconds (scaled): what the protocol
    allows, so waiting longer could not change the verdict. A traceback on the screen
    decides at once ("no traceback, ever"), exit or not."""
    start = time.monotonic()
    deadline = start + client.timing.of(within)
    exited = False
    while not exited and not client.has_traceback():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Hung(
                L_("The client was still running {within:g} s after {after}.", within=within,
                   after=after),
                expected=L_("the client exits within {seconds:g} s", seconds=within),
                actual=L_("still running"))
        try:
            client._pump(min(0.1, remaining))  # wakes as soon as the client prints
        except pexpect.EOF:
            exited = True
    if exited:
        client.wait_exit(within)  # the exit has happened: collects the status at once
        return
    quiet_until = time.monotonic() + 0.5  # only so the whole traceback is shown
    try:
        while client._pump(0.1) and time.monotonic() < quiet_until:
            pass
    except pexpect.EOF:
        pass
    raise Crashed(L_("The client printed a traceback after {after}.", after=after),
                  expected=L_("the client exits within {seconds:g} s, no traceback",
                              seconds=within),
                  actual=client.screen[client.screen.find("Traceback"):][-800:])


def connect_client(ctx: Context, nick: str = "ana", *, welcome: bool = True,
                   typed: bool = False) -> tuple[ClientSession, Peer]:
    """Start the client with ``--nick``, accept it, take its registration line and (with
    ``welcome``) welcome it; or take a client an earlier check left in that state
    (``typed``: the check types first, so one the user typed into will do)."""
    if welcome:
        held = ctx.held_client(nick, typed=typed)
        if held is not None:
            return held
    fake = ctx.fake_server()
    client = ctx.client(fake.port, nick)
    conn = ctx.accept(fake, client)
    conn.clock = ctx.profile.clock
    if ctx.profile.greeting:
        conn.send(ctx.profile.greeting)
    if ctx.profile.registers and not ctx.profile.assigned_name:
        conn.expect_line(ctx.profile.register_line(nick),
                         what=L_("the nickname line {value}",
                                 value=repr(ctx.profile.register_line(nick))),
                         why=ctx.rule(L_("it is the first thing the client sends"), "§2"))
    if welcome and ctx.profile.welcome:
        conn.send_line(ctx.profile.welcome_line(nick))
    if welcome:
        ctx.offer_client(client, fake, conn, nick)
    return client, conn


@check("client.connects", step=STEP, cost=CLIENT_COST, points=2, needs=["nick_option"],
       hint=hint("Connecting", "§8", "Connect, then send the nickname as the first line."))
def connects(ctx: Context) -> None:
    """the client connects and sends the `--nick` nickname as its first line"""
    client, _ = connect_client(ctx)
    _no_traceback(client)


@check("client.nick_prompt", step=STEP, cost=CLIENT_COST, points=1, depends=["client.connects"],
       needs=["client_prompt"],
       hint=hint("Asking for the nickname", "§8", "Without --nick, ask with input() and"
                 " send the answer first."))
def nick_prompt(ctx: Context) -> None:
    """without `--nick` the client asks for a nickname and sends it first"""
    fake = ctx.fake_server()
    client = ctx.client(fake.port, None)
    prompt = ctx.profile.client_prompt
    # The client may ask first and connect then, or connect first (the server speaking
    # first): whichever it does, the grader answers, as a user and as the server would.
    conn = None
    asked = False
    deadline = time.monotonic() + ctx.timing.start
    while not asked:
        if prompt in client.screen:
            client.type_line("bea")
            asked = True
            break
        if conn is None and select.select([fake.listener], [], [], 0)[0]:
            conn = ctx.accept(fake, client)
            if ctx.profile.greeting:
                conn.send(ctx.profile.greeting)
        if time.monotonic() > deadline:
            # Fails, and says so.
            client.expect_screen(prompt, what=L_("the prompt {prompt}", prompt=repr(prompt)))
        try:
            client._pump(0.05)
        except pexpect.EOF:
            # It exited.
            client.expect_screen(prompt, what=L_("the prompt {prompt}", prompt=repr(prompt)))
    if conn is None:
        conn = ctx.accept(fake, client)
        if ctx.profile.greeting:
            conn.send(ctx.profile.greeting)
    conn.expect_line(ctx.profile.register_line("bea"),
                     why=L_("The nickname typed at the prompt is the first line sent."))
    _no_traceback(client)


@check("client.sends_lines", step=STEP, cost=CLIENT_COST, points=2, depends=["client.connects"],
       hint=hint("The input loop", "§8", "Read a line with input(), send it with '\\n'."))
def sends_lines(ctx: Context) -> None:
    """each typed line is sent to the server as one line, exactly as typed"""
    client, conn = connect_client(ctx)
    for text in ("hello from the keyboard", "olá, ação ✓", "  spaces  kept  ", "/users"):
        client.type_line(text)
        conn.expect_line(ctx.profile.chat_sent("ana", text),
                         why=L_("The user typed it and pressed Enter; it is sent as it is"
                                " (spaces and commands too: the server handles those)."))
    _no_traceback(client)


@check("client.shows_incoming", step=STEP, cost=CLIENT_COST, points=3, depends=["client.connects"],
       hint=hint("A receiving thread", "§8", "input() blocks; a second thread must print"
                 " what arrives meanwhile."))
def shows_incoming(ctx: Context) -> None:
    """a line from the server is shown while the user types nothing (receiving thread)"""
    client, conn = connect_client(ctx)
    for text in ("zoe: are you there?", "*** zoe left the chat"):
        conn.send_line(text)
        with impatient(client):
            client.expect_screen(text, what=L_("the line {text} the server sent",
                                               text=repr(text)))
    _no_traceback(client)


@check("client.utf8", step=STEP, cost=CLIENT_COST, points=1, depends=["client.shows_incoming"],
       level=Level.ROBUSTNESS, needs=["segments"],
       hint=hint("Decoding", "§1", "Buffer bytes and decode complete lines only."))
def utf8(ctx: Context) -> None:
    """a UTF-8 line cut between two segments is shown correctly"""
    client, conn = connect_client(ctx)
    text = "zoë: olá ação 李雷 ✓"
    raw = conn.encode(text)
    cut = raw.index("李".encode()) + 1
    conn.send_pieces([raw[:cut], raw[cut:]])
    with impatient(client):
        client.expect_screen(text, what=L_("the line {text}", text=repr(text)))
    _no_traceback(client)


def _in_input_loop(ctx: Context, client: ClientSession, conn: Peer) -> None:
    """Barrier: a typed line reaches the server, so the client is in its input loop (and
    has started whatever runs beside it)."""
    client.type_line("just checking")
    conn.expect_line(ctx.profile.chat_sent("ana", "just checking"),
                     why=L_("The user typed it and pressed Enter."))


def _ends_connection(conn: Peer, ctx: Context, why: str) -> None:
    """The client must close: accept a last '/quit' line, then end of stream."""
    deadline = time.monotonic() + ctx.timing.hard
    line = None
    try:
        line = conn.read_line(deadline)
    except Closed:
        return  # that is what we want
    if line is not None and line != ctx.profile.quit:
        raise Unexpected(why, expected=L_("the connection closed"), actual=line)
    if not conn.drain_closed(time.monotonic() + ctx.timing.hard):
        raise Hung(why, expected=L_("the connection closed"), actual=L_("still open"))


@check("client.quit", step=STEP, cost=CLIENT_COST, points=2, depends=["client.sends_lines"],
       needs=["quit"],
       hint=hint("Quitting", "§8", "After sending /quit, close the socket and exit(0)."))
def quit_(ctx: Context) -> None:
    """`/quit` closes the connection and the client exits with status 0 within a second"""
    _user_leaves(ctx, lambda client: client.type_line(ctx.profile.quit),
                 L_("typing {quit}", quit=repr(ctx.profile.quit)), "/quit")


@check("client.eof", step=STEP, cost=CLIENT_COST, points=1, depends=["client.sends_lines"],
       hint=hint("Quitting", "§8", "input() raises EOFError on Ctrl-D: quit like /quit."))
def eof(ctx: Context) -> None:
    """end of input (Ctrl-D) closes the connection and exits with status 0 within a second"""
    _user_leaves(ctx, ClientSession.type_eof, "Ctrl-D", "Ctrl-D")


def _user_leaves(ctx: Context, leave: Callable[[ClientSession], None], action: str,
                 after: str) -> None:
    """The user ends the session with ``leave``: the client exits with status 0 within
    a second (waiting for it is described as ``action``), with no traceback, and closes
    its connection."""
    client, conn = connect_client(ctx, typed=True)
    _in_input_loop(ctx, client, conn)
    leave(client)
    await_exit(client, 1.0, action)
    _no_traceback(client)
    if client.exitstatus != 0:
        raise Mismatch(L_("The client did not exit with status 0 after {after}.", after=after),
                       expected=L_("exit status {status}", status=0),
                       actual=L_("exit status {status}", status=client.exitstatus))
    _ends_connection(conn, ctx, L_("After {after} the client closes its connection.",
                                   after=after))


@check("client.server_closes", step=STEP, cost=CLIENT_COST, points=2,
       depends=["client.shows_incoming"],
       needs=["client_disconnected"],
       hint=hint("When the server goes away", "§8", "recv() returning b'' means the server"
                 " closed: print the notice and exit(1), from any thread (os._exit or"
                 " interrupt the input loop)."))
def server_closes(ctx: Context) -> None:
    """when the server closes, the client shows its last line, says so and exits (status 1)"""
    client, conn = connect_client(ctx, welcome=False)
    last = f"{ctx.profile.error_prefix}nickname ana is already taken"
    conn.send_line(last)
    conn.close()
    client.expect_screen(last, what=L_("the server's last line {last}", last=repr(last)))
    client.expect_screen(ctx.profile.client_disconnected,
                         what=f"{ctx.profile.client_disconnected!r}")
    await_exit(client, 1.0, L_("the server closed the connection"))
    _no_traceback(client)
    if client.exitstatus != 1:
        raise Mismatch(L_("When the server goes away the client exits with status 1."),
                       expected=L_("exit status {status}", status=1),
                       actual=L_("exit status {status}", status=client.exitstatus))


@check("client.server_reset", step=STEP, cost=CLIENT_COST, points=1,
       depends=["client.shows_incoming"],
       level=Level.ROBUSTNESS,
       hint=hint("When the server goes away", "§8", "A reset raises ConnectionResetError"
                 " in recv(): treat it like a close."))
def server_reset(ctx: Context) -> None:
    """when the connection is reset, the client says so and exits (status 1), no traceback"""
    client, conn = connect_client(ctx)
    assert conn.sock is not None
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.reset()
    await_exit(client, 1.0, L_("the server reset the connection"))
    _no_traceback(client)
    # The same notice as for a close is chatlab's rule; another course's client may
    # word a broken connection differently.
    notice = ctx.profile.client_disconnected if is_chatlab(ctx) else ""
    if notice and notice not in client.screen:  # it has exited: the screen is complete
        raise Missing(L_("The client exited without showing {notice} after the server reset"
                         " the connection: a reset is a disconnection like a close.",
                         notice=repr(notice)),
                      expected=repr(notice), actual=client._last_lines())
    if notice and client.exitstatus != 1:
        raise Mismatch(L_("When the connection breaks the client exits with status 1."),
                       expected=L_("exit status {status}", status=1),
                       actual=L_("exit status {status}", status=client.exitstatus))
    if client.exitstatus == 0:
        raise Mismatch(L_("A broken connection is an error: exit with status 1."),
                       expected=L_("a non-zero exit status"),
                       actual=L_("exit status {status}", status=0))
