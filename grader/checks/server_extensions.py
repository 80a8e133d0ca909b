"""Extensions: commands, nickname rules, history."""

from __future__ import annotations

from ..actors.fake_client import Peer
from ..context import Context
from ..model import Level
from ..registry import check
from .common import expect_next, hint

EXT = Level.EXTENSION


def _expect_error(ctx: Context, peer: Peer, why: str, contains: str = "") -> str:
    prefix = ctx.profile.error_prefix
    return peer.expect_line(
        accept=lambda line: line.startswith(prefix) and contains in line,
        what=f"an error line starting with {prefix!r}" + (f" naming {contains!r}"
                                                           if contains else ""),
        why=why,
    )


@check("server.users", step=7, points=1, depends=["server.broadcast"], level=EXT,
       needs=["users"],
       hint=hint("Who is online? `/users`", "§5",
                 "sorted(nicks), joined with ', ', sender included."))
def users(ctx: Context) -> None:
    """`/users` lists every connected nickname, sorted"""
    bob, ana, zed = ctx.room("bob", "ana", "Zed")
    ana.send_line("/users")
    nicks = ctx.profile.users_separator.join(sorted(["bob", "ana", "Zed"]))
    ana.expect_line(ctx.profile.users.format(nicks=nicks),
                    why="Sorted with Python's sorted(): capitals come before lowercase.")


@check("server.whisper", step=7, points=1, depends=["server.broadcast"], level=EXT,
       needs=["whisper"],
       hint=hint("Whispers: `/w <nick> <text>`", "§5",
                 "Only the named client gets the line; the sender and the others get nothing."))
def whisper(ctx: Context) -> None:
    """`/w <nick> <text>` reaches only that client"""
    ana, bob, cid = ctx.room("ana", "bob", "cid")
    ana.send_line(ctx.profile.whisper.format(nick="cid", text="psst, a secret"))
    private = ctx.profile.whisper_line.format(sender="ana", text="psst, a secret")
    cid.expect_line(private)
    ctx.say(cid, "marker after the whisper")
    leak = [(private, "The whisper reached someone else than cid.")]
    for peer in (ana, bob):
        expect_next(peer, ctx.chat("cid", "marker after the whisper"),
                    what=repr(ctx.profile.chat_line("cid", "marker after the whisper")),
                    forbidden=leak,
                    why="cid spoke after the whisper; nothing else should come first.")


@check("server.whisper_errors", step=7, points=1, depends=["server.whisper"], level=EXT,
       needs=["whisper", "chatlab"],
       hint=hint("Whispers: `/w <nick> <text>`", "§5",
                 "Answer the sender with '*** error: …' and keep going."))
def whisper_errors(ctx: Context) -> None:
    """`/w` to an unknown nick, or without text, answers the sender with an error"""
    ana, bob = ctx.room("ana", "bob")
    ana.send_line("/w nobody hello?")
    _expect_error(ctx, ana, "There is nobody called 'nobody'.", contains="nobody")
    ana.send_line("/w")
    _expect_error(ctx, ana, "'/w' without a nick and a text is a usage error.")
    ctx.say(ana, "still here")
    ctx.expect_chat(bob, "ana", "still here",
                    why="The failed whispers must not reach bob.")


@check("server.unknown_command", step=7, points=1, depends=["server.broadcast"], level=EXT,
       needs=["unknown_command"],
       hint=hint("Commands", "§5", "A line starting with '/' is never chat: answer"
                 " '*** error: unknown command /word'."))
def unknown_command(ctx: Context) -> None:
    """an unknown `/command` gets an error and is not broadcast"""
    ana, bob = ctx.room("ana", "bob")
    ana.send_line("/dance now")
    _expect_error(ctx, ana, "'/dance' is not a command.", contains="/dance")
    ctx.say(ana, "after the dance")
    expect_next(bob, ctx.chat("ana", "after the dance"),
                what=repr(ctx.profile.chat_line("ana", "after the dance")),
                forbidden=[(ctx.chat("ana", "/dance now"),
                            "The unknown command was broadcast as chat.")])


@check("server.nick_taken", step=7, points=1, depends=["server.broadcast"], level=EXT,
       needs=["nickname_rules"],
       hint=hint("Nicknames", "§2", "Check under the lock whether the nick is taken;"
                 " if so send the error and close, announce nothing."))
def nick_taken(ctx: Context) -> None:
    """a nickname already in use is refused with an error, and nothing is announced"""
    ana, bob = ctx.room("ana", "bob")
    twin = ctx.connect("ana#2")
    ctx.handshake(twin, "ana")
    _expect_error(ctx, twin, "The nickname ana is already taken.")
    twin.expect_closed("The server closes a connection whose nickname it refused.")
    ctx.say(ana, "the real ana")
    bad = []
    if ctx.profile.joined:
        bad.append((ctx.profile.joined_line("ana"),
                    "A refused nickname was announced as joining."))
    if ctx.profile.left:
        bad.append((ctx.profile.left_line("ana"), "A refused nickname was announced as leaving."))
    expect_next(bob, ctx.chat("ana", "the real ana"), forbidden=bad,
                what=repr(ctx.profile.chat_line("ana", "the real ana")),
                why="The first ana must keep working.")


@check("server.nick_invalid", step=7, points=1, depends=["server.broadcast"], level=EXT,
       needs=["nickname_rules", "chatlab"],
       hint=hint("Nicknames", "§2", "1–20 characters: letters, digits, _ - . only."))
def nick_invalid(ctx: Context) -> None:
    """invalid nicknames (empty, too long, space, `:`, `*`) are refused with an error"""
    (bob,) = ctx.room("bob")
    for bad in ("", "has space", "x" * 21, "colon:nick", "star*", "slash/"):
        peer = ctx.connect(f"nick {bad!r}")
        peer.send_line(bad)
        _expect_error(ctx, peer, f"The nickname {bad!r} is not allowed (PROTOCOL.md §2).")
        peer.expect_closed("The server closes a connection whose nickname it refused.")
    cid = ctx.register("cid")  # and nothing was announced to bob before cid's arrival
    ctx.await_joined(cid, [bob])


@check("server.history", step=7, points=1, depends=["server.broadcast"], level=EXT,
       needs=["history", "chatlab"],
       hint=hint("History", "§6", "Keep the last N chat lines in a deque(maxlen=N); send"
                 " them to a newcomer just before its welcome."))
def history(ctx: Context) -> None:
    """with `--history 3` a newcomer first gets the last 3 chat lines, marked `*** history`"""
    server = ctx.start_server(history=3)
    ana, bob = ctx.room("ana", "bob", server=server)
    for i in range(1, 6):
        ctx.say(ana, f"old line {i}")
        ctx.expect_chat(bob, "ana", f"old line {i}")
    cid = ctx.connect("cid", server=server)
    ctx.handshake(cid, "cid")
    for i in range(3, 6):
        cid.expect_line(f"*** history ana: old line {i}",
                        why="With --history 3, the last 3 chat lines come first, oldest first.")
    if ctx.profile.welcome:
        cid.expect_line(ctx.profile.welcome_line("cid"), why="The welcome comes after history.")
