"""The mission: start, register, broadcast with a prefix, no echo, no replay, leaving."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..actors.fake_client import Closed, Peer
from ..context import Context
from ..failures import Crashed, Missing
from ..harness.servers import HOST
from ..messages import L_
from ..model import Level
from ..probes.counts import thread_ids
from ..profile import log_pattern
from ..registry import check
from .common import (
    await_leave_logged,
    await_threads_gone,
    expect_next,
    hint,
    impatient,
    output_barrier,
    quit_peer,
)

AFTER_THE_LAST_LINE = 0.1  # seconds: how long a close that came with the lines may lag


@check("server.starts", step=1, points=1,
       hint=hint("Listening", "§7", "Run `python server.py --port 5000` yourself and read"
                 " the error it prints."))
def starts(ctx: Context) -> None:
    """the server starts, prints `listening on …` and accepts a connection"""
    probe = ctx.connect("probe")
    probe.close()


@check("server.welcome", step=4, points=2, depends=["server.starts"], needs=["welcome"],
       hint=hint("Welcome, add, log, announce — in this order", "§2",
                 "The welcome is the first line you send a newcomer."))
def welcome(ctx: Context) -> None:
    """a new client's nickname is welcomed with `*** welcome <nick>`"""
    ctx.register("ana")


@check("server.concurrent", step=3, points=3, depends=["server.starts"],
       hint=hint("One thread per client", "§2", "If your server calls recv() for one"
                 " client until it leaves, every other client waits in line."))
def concurrent(ctx: Context) -> None:
    """several clients are served at once (a silent client does not block the others)"""
    # Connected first and never speaks: a server that serves one client at a time is
    # stuck reading it. (It sends nothing at all, so a framing mistake cannot turn it
    # into a registered client and change this check's verdict.)
    ctx.connect("silent")
    # A server that answers only after the soft deadline fails as too slow anyway: a
    # server stuck on the silent client is reported without waiting any longer.
    ctx.timing = ctx.timing.impatient()
    ana, bob = ctx.room("ana", "bob")
    ctx.say(ana, "can you hear me while silent is connected?")
    with impatient(bob):
        ctx.expect_chat(bob, "ana", "can you hear me while silent is connected?",
                        why=L_("Another client is connected but has not finished its nickname;"
                               " it must not stop the others."))


@check("server.join_announced", step=4, points=2, depends=["server.welcome"], needs=["joined"],
       hint=hint("Join announcements", "§2", "Announce to everybody except the newcomer."))
def join_announced(ctx: Context) -> None:
    """a newcomer is announced to the others (not to itself) with `*** <nick> joined the chat`"""
    ctx.lenient = False
    ana = ctx.register("ana")
    bob = ctx.register("bob")
    with impatient(ana):
        ana.expect_line(ctx.profile.joined_line("bob"), what=L_("the announcement that bob"
                                                                " joined"))
    ctx.say(ana, "hi bob")
    expect_next(bob, ctx.chat("ana", "hi bob"), what=repr(ctx.profile.chat_line("ana", "hi bob")),
                forbidden=[(ctx.profile.joined_line("bob"),
                            L_("bob was told that bob joined: announce a newcomer to the others"
                               " only."))],
                why=L_("It is the first line bob receives after its welcome."))


@check("server.broadcast", step=4, points=4, depends=["server.welcome"],
       hint=hint("Broadcast", "§3", "Loop over every registered client except the sender."))
def broadcast(ctx: Context) -> None:
    """a chat line reaches every other client (three receivers)"""
    peers = ctx.room("ana", "bob", "cid", "dan")
    for sender, text in ((peers[0], "hello everyone"), (peers[2], "hi from cid")):
        ctx.say(sender, text)
        for receiver in peers:
            if receiver is not sender:
                receiver.expect_line(
                    accept=lambda line, t=text: line.endswith(t),
                    what=f"{sender.name}'s line {text!r}",
                    why=L_("Every client except {sender} must get it.", sender=sender.name),
                )


@check("server.prefix", step=4, points=2, depends=["server.broadcast"],
       hint=hint("The nick prefix", "§3", "Send exactly nick + ': ' + text, nothing else."))
def prefix(ctx: Context) -> None:
    """a chat line arrives as `<nick>: <text>`, exactly"""
    ctx.exact_format = True
    joao, bob = ctx.room("João", "bob")
    for text in ("hi: there,  two spaces", "olá — ação ✓"):
        ctx.say(joao, text)
        bob.expect_line(ctx.profile.chat_line("João", text))


@check("server.no_echo", step=4, points=2, depends=["server.broadcast"], needs=["no_echo"],
       hint=hint("No echo", "§3", "Skip the sender when you loop over the clients."))
def no_echo(ctx: Context) -> None:
    """the sender does not get its own line back"""
    ana, bob = ctx.room("ana", "bob")
    ana.send_chat("ping from ana")
    ctx.expect_chat(bob, "ana", "ping from ana")
    bob.send_chat("pong from bob")
    expect_next(ana, ctx.chat("bob", "pong from bob"),
                what=repr(ctx.profile.chat_line("bob", "pong from bob")),
                forbidden=[(ctx.chat("ana", "ping from ana"),
                            L_("ana got its own line back (an echo)."))],
                why=L_("bob answered after ana spoke, so bob's line must be ana's next line."))


@check("server.no_replay", step=4, points=3, depends=["server.broadcast"],
       hint=hint("No replay", "§2", "A newcomer only gets lines sent after it registered;"
                 " do not keep old lines around for it."))
def no_replay(ctx: Context) -> None:
    """a newcomer never receives lines sent before it registered, even if connected before"""
    # Connected before anyone else (so accepted before them) and registered only later: a
    # connection that has not sent its nickname yet is no member and gets no chat line.
    # (Not where the server speaks first: one that asks in its accept loop would wait
    # for the lurker, which is server.concurrent's business.)
    # Nor where there is no registration to wait for: every connection is a member.
    registration = ctx.profile.registers and not ctx.profile.assigned_name
    lurker = (ctx.connect("lurker") if ctx.profile.welcome and not ctx.profile.greeting
              and registration else None)
    ana, bob = ctx.room("ana", "bob")
    old_text = "said before cid came"
    ctx.say(ana, old_text)
    ctx.expect_chat(bob, "ana", old_text)
    if lurker is not None:
        early = [(ctx.chat(nick, text), L_("lurker received a chat line sent while it was"
                                           " connected but had not sent its nickname: only"
                                           " registered clients get chat lines."))
                 for nick, text in ctx.said]
        ctx.handshake(lurker, "lurker")
        expect_next(lurker, ctx.profile.welcome_line("lurker"), forbidden=early,
                    why=L_("The welcome is the first line a newcomer gets."))
        ctx.await_joined(lurker, [ana, bob])
    replay = [(ctx.chat(nick, text), L_("cid received a line sent before it joined (a replay)."))
              for nick, text in ctx.said]
    cid = ctx.connect("cid")
    ctx.handshake(cid, "cid")
    if ctx.profile.welcome:
        expect_next(cid, ctx.profile.welcome_line("cid"), forbidden=replay,
                    why=L_("The welcome is the first line a newcomer gets."))
    ctx.await_joined(cid, [ana, bob])
    ctx.say(ana, "said after cid came")
    expect_next(cid, ctx.chat("ana", "said after cid came"),
                what=repr(ctx.profile.chat_line("ana", "said after cid came")),
                forbidden=replay, why=L_("It is the first chat line sent after cid registered."))


def _leave(ctx: Context, how: str) -> None:
    """ana leaves by ``how``; bob must see the leave once, then cid's arrival."""
    ana, bob = ctx.room("ana", "bob")
    if how == "quit":
        quit_peer(ctx, ana)
    elif how == "close":
        ana.close()
    else:
        ana.reset()
    left = ctx.profile.left_line("ana")
    with impatient(bob):
        bob.expect_line(left, what=L_("the announcement that ana left"))
    cid = ctx.register("cid")
    # Barrier: cid's line comes after any second announcement a buggy server sends.
    duplicate = [(left, L_("ana's leave was announced twice; announce it exactly once."))]
    ctx.say(cid, "cid here")
    optional = [ctx.profile.joined_line("cid")] if ctx.profile.joined else []
    expect_next(bob, ctx.chat("cid", "cid here"), forbidden=duplicate, optional=optional,
                what=repr(ctx.profile.chat_line("cid", "cid here")))


@check("server.leave_quit", step=4, points=2, depends=["server.broadcast"],
       needs=["left", "quit"],
       hint=hint("Leaving", "§4", "On /quit: close, remove the client, announce once."))
def leave_quit(ctx: Context) -> None:
    """`/quit` closes the connection and the leave is announced exactly once"""
    _leave(ctx, "quit")


@check("server.leave_close", step=6, points=2, depends=["server.broadcast"], needs=["left"],
       hint=hint("When recv() returns b''", "§4", "An empty recv() means the client"
                 " closed: leave the loop and announce the leave."))
def leave_close(ctx: Context) -> None:
    """a client that closes its connection is announced as leaving exactly once"""
    _leave(ctx, "close")


@check("server.leave_reset", step=6, points=2, depends=["server.broadcast"], needs=["left"],
       hint=hint("Connection reset", "§4", "ConnectionResetError is an OSError: catch it"
                 " and treat it as the client leaving."))
def leave_reset(ctx: Context) -> None:
    """a client whose connection is reset is announced as leaving exactly once"""
    _leave(ctx, "reset")


@check("server.survives_reset", step=6, points=3, depends=["server.starts"],
       hint=hint("Connection reset", "§4", "Sending to a client that just vanished raises"
                 " an error too: catch it, so the sender's thread keeps going."))
def survives_reset(ctx: Context) -> None:
    """after a client's connection is reset, the server keeps serving the others"""
    program = ctx.server.program
    bob, cid = ctx.register("bob"), ctx.register("cid")
    left = ctx.profile.left_line
    for peer in (bob, cid):  # leaves are server.leave_reset's business, not this check's
        for nick in ("ana", "dan"):
            peer.ignore.append((lambda line, n=nick: bool(ctx.profile.left) and line == left(n),
                                L_("{nick}'s leave (server.leave_reset grades that)", nick=nick)))

    def newcomer(nick: str) -> tuple[Peer, set[int]]:
        """Register ``nick``; also the server threads that appeared for it."""
        before = thread_ids(program.pid)
        peer = ctx.register(nick)
        return peer, thread_ids(program.pid) - before

    # 1. ana's connection is reset while nobody writes to it: the server's read on it
    #    fails (a write first would take the error and leave the read an end-of-file).
    ana, ana_threads = newcomer("ana")
    port, since = ana.local_port, program.line_count()
    ana.reset()
    settled = await_threads_gone(ctx, ana_threads, time.monotonic() + ctx.timing.hard)
    if not ana_threads:  # no thread per client: the log says
        await_leave_logged(ctx, "ana", port, since, time.monotonic() + ctx.timing.soft)
    # 2. dan's connection is reset and bob talks at once: one line at a time, each
    #    received before the next is sent; the first makes the server write to dan's
    #    broken connection.
    #    Whether cid gets the lines is server.broadcast's business: this check needs
    #    only that the server, and bob's connection, live on.
    dan, dan_threads = newcomer("dan")
    dan.reset()
    last = "after the reset 9"
    for i in range(10):
        bob.send_chat(f"after the reset {i}")
    # Barrier: cid hears bob's last line, so the server has handled all ten (and its
    # writes to dan's broken connection) without ending bob's session; a moment more
    # lets a close that came with them arrive. A server that does not pass the lines on
    # is given the soft deadline to close bob's connection instead.
    deadline = time.monotonic() + ctx.timing.soft
    if _hears(cid, ctx.chat("bob", last), ctx.profile.chat_line("bob", last), deadline):
        deadline = time.monotonic() + ctx.timing.of(AFTER_THE_LAST_LINE)
    if bob.closed_by_other(deadline):
        raise Missing(L_("The server closed bob's connection after bob talked right after dan's"
                         " connection was reset: an error sending to dan must not end bob's"
                         " session."), expected=L_("bob's connection open"),
                      actual=bob.how_it_ended())
    if settled:  # a server whose threads never end is server.no_leak's business
        await_threads_gone(ctx, dan_threads, time.monotonic() + ctx.timing.hard)
    # Barrier: the server's threads for ana and dan have ended (a thread that dies of an
    # exception prints its traceback first) and its output has been read up to eve's join.
    output_barrier(ctx, "eve") or ctx.register("eve")
    if program.has_traceback():
        raise Crashed(L_("The server printed a traceback (see its output below)."),
                      expected=L_("no traceback"), actual=L_("a traceback"))


def _hears(peer: Peer, wanted: Callable[[str], bool], exact: str, deadline: float) -> bool:
    """Whether ``peer`` receives a line that ``wanted`` accepts before ``deadline``
    (passing over any other); False if its connection ends first."""
    try:
        while (line := peer.read_line(deadline, expected=exact)) is not None:
            if wanted(line):
                return True
    except Closed:
        pass
    return False


@check("server.log_lines", step=4, points=1, depends=["server.welcome"], needs=["log"],
       level=Level.CORE,
       hint=hint("The server log", "§2 and §4", "print() the line with the client's"
                 " address from accept(): f'[join] {nick} {ip}:{port}', and the [leave]"
                 " line wherever a client leaves (/quit, close, reset)."))
def log_lines(ctx: Context) -> None:
    """the server prints `[join]` and `[leave]` lines with the nick and the client's IP:port"""
    program = ctx.server.program
    before = thread_ids(program.pid)
    ports: dict[str, int] = {}

    def expect_log(template: str, nick: str, how: str) -> None:  # how: a message
        port = ports[nick]
        wanted = template.format(nick=ctx.real_name(nick), ip=HOST, port=port)
        # Within the soft deadline, the time any answer is given (grader.timing).
        if not program.wait_line(log_pattern(template, nick=ctx.real_name(nick), ip=HOST,
                                             port=port),
                                 time.monotonic() + ctx.timing.soft):
            label = template.split()[0]
            lines = [ln for ln in program.output().splitlines() if label in ln]
            raise Missing(L_("The server's output has no line {wanted} ({nick} {how}, from port"
                             " {port}).", wanted=repr(wanted), nick=nick, how=how, port=port),
                          expected=wanted,
                          actual=lines[-1] if lines else L_("no such line in the output"))
        ctx.transcript.add("server", "printed", wanted)

    peers = []
    for nick in ("ana", "bob", "cid"):
        # One at a time: each join is logged before the next client comes, so two of the
        # server's threads never print at once (print() writes its pieces one by one, and
        # two joins printed together can come out mixed).
        peers.append(ctx.register(nick))
        ports[nick] = peers[-1].local_port
        expect_log(ctx.profile.log_join, nick, L_("registered"))
    threads = thread_ids(program.pid) - before
    ana, bob, cid = peers
    if ctx.profile.quit:
        ana.send_line(ctx.profile.quit)
        expect_log(ctx.profile.log_leave, "ana",
                   L_("left with {quit}", quit=repr(ctx.profile.quit)))
        # A client that quit reads to the end and closes (the server may wait for that).
        ana.drain_closed(time.monotonic() + ctx.timing.soft)
        ana.close()
    # Read what came for bob first: closing with unread bytes makes the kernel reset the
    # connection instead, and this step is about a plain close.
    while bob.read_line(time.monotonic() + ctx.timing.of(0.1)) is not None:
        pass
    bob.close()
    expect_log(ctx.profile.log_leave, "bob", L_("closed its connection"))
    cid.reset()
    expect_log(ctx.profile.log_leave, "cid", L_("reset its connection"))
    # Barrier: their threads have ended and the output is read up to dan's join, so a
    # traceback printed while a leave was handled is in it.
    await_threads_gone(ctx, threads, time.monotonic() + ctx.timing.soft)
    output_barrier(ctx, "dan")
    if program.has_traceback():
        raise Crashed(L_("The server printed a traceback."), actual=L_("a traceback"))
