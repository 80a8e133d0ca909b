"""Extensions: commands, nickname rules, history."""

from __future__ import annotations

from ..actors.fake_client import Peer
from ..context import Context
from ..failures import Mismatch
from ..messages import L_
from ..model import Level
from ..registry import check
from .common import error_reply, expect_next, hint, impatient, quit_peer

EXT = Level.EXTENSION
WHISPER_USAGE = "usage: /w <nick> <text>"  # PROTOCOL.md §5

# Valid nicknames of every kind PROTOCOL.md §2 allows, each with what makes it valid.
VALID_NICKS = {
    "João": L_("Latin letters with an accent"),
    "Ωμέγα": L_("Greek letters"),
    "李雷": L_("Chinese characters"),
    "Мария": L_("Cyrillic letters"),
    "2024": L_("digits only"),
    "R2-D2": L_("letters, digits and '-'"),
    "dr.who_2": L_("letters, '.', '_' and a digit"),
    "x": L_("a single letter"),
    "Ωμέγα_Ωμέγα-Ωμέγα.42": L_("exactly 20 characters (38 bytes in UTF-8)"),
}
assert len("Ωμέγα_Ωμέγα-Ωμέγα.42") == 20
# Invalid ones: what PROTOCOL.md §2 rules out, "nothing else" included.
INVALID_NICKS = ("", "has space", "x" * 21, "Ω" * 21, "colon:nick", "star*", "slash/",
                 "tab\tnick", "bell\x07", "esc\x1b[2J", "smile😀", "at@home", "comma,")


def _expect_error(ctx: Context, peer: Peer, why: str, reason: str | None = None) -> str:
    """An error line: exactly ``*** error: <reason>`` under chatlab when a reason is
    given (PROTOCOL.md §5 fixes it), else any line with the error prefix."""
    if reason is not None:  # an answer to a command: it comes at once or it is too slow
        answer, shown = error_reply(ctx, reason)
        with impatient(peer):
            return peer.expect_line(accept=answer, what=shown, why=why)
    prefix = ctx.profile.error_prefix
    return peer.expect_line(accept=lambda line: line.startswith(prefix),
                            what=L_("an error line starting with {prefix}",
                                    prefix=repr(prefix)), why=why)


@check("server.users", step=7, points=1, depends=["server.broadcast"], level=EXT,
       needs=["users", "left", "quit"],
       hint=hint("Who is online? `/users`", "§5",
                 "sorted(nicks), joined with ', ', sender included."))
def users(ctx: Context) -> None:
    """`/users` lists every registered nickname, sorted, and no one who left"""
    ctx.connect("lurker")  # connected, no nickname yet: not registered, not listed
    bob, ana, zed = ctx.room("bob", "ana", "Zed")
    ana.send_line(ctx.profile.users_command)
    online = ctx.profile.users.format
    nicks = ctx.profile.users_separator.join(sorted(["bob", "ana", "Zed"]))
    ana.expect_line(online(nicks=nicks),
                    why=L_("Sorted with Python's sorted(): capitals come before lowercase. A"
                           " connection that has not sent its nickname is not listed."))
    quit_peer(ctx, zed)
    for peer in (ana, bob):
        peer.expect_line(ctx.profile.left_line("Zed"), what=L_("the announcement that Zed left"))
    ana.send_line(ctx.profile.users_command)
    ana.expect_line(online(nicks=ctx.profile.users_separator.join(["ana", "bob"])),
                    why=L_("Zed has left: only the clients still connected are listed."))


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
    for peer in (ana, bob):
        leak = (f"{peer.name} got the whisper ana sent to cid: " +
                ("the sender of a whisper gets nothing back." if peer is ana else
                 "a whisper goes to the named client only."))
        expect_next(peer, ctx.chat("cid", "marker after the whisper"),
                    what=repr(ctx.profile.chat_line("cid", "marker after the whisper")),
                    forbidden=[(private, leak)],
                    why=L_("cid spoke after the whisper; nothing else should come first."))


@check("server.whisper_errors", step=7, points=1, depends=["server.whisper"], level=EXT,
       needs=["whisper", "chatlab:whisper_errors"],
       hint=hint("Whispers: `/w <nick> <text>`", "§5",
                 "Answer the sender with '*** error: …' and keep going."))
def whisper_errors(ctx: Context) -> None:
    """`/w` to an unknown nick, or without a nick or a text, answers the sender with an error"""
    ana, bob = ctx.room("ana", "bob")
    ana.send_line("/w nobody hello?")
    _expect_error(ctx, ana, L_("There is nobody called 'nobody'."), "no such user nobody")
    for line, why in (("/w", L_("'/w' (without a nick and a text) is a usage error.")),
                      ("/w bob", L_("'/w bob' (without a text) is a usage error."))):
        ana.send_line(line)
        _expect_error(ctx, ana, why, WHISPER_USAGE)
    ctx.say(ana, "still here")
    empty = ctx.profile.whisper_line.format(sender="ana", text="")
    expect_next(bob, ctx.chat("ana", "still here"),
                what=repr(ctx.profile.chat_line("ana", "still here")),
                forbidden=[(lambda got: got.rstrip() == empty.rstrip(),
                            L_("bob got an empty whisper: '/w bob' has no text, so it is a usage"
                               " error and nothing is sent."))],
                why=L_("The failed whispers must not reach bob."))


@check("server.unknown_command", step=7, points=1, depends=["server.broadcast"], level=EXT,
       needs=["unknown_command"],
       hint=hint("Commands", "§5", "A line starting with '/' is never chat: answer"
                 " '*** error: unknown command /word'."))
def unknown_command(ctx: Context) -> None:
    """an unknown `/command` gets an error and is not broadcast"""
    ana, bob = ctx.room("ana", "bob")
    ana.send_line("/dance now")
    _expect_error(ctx, ana, L_("'/dance' is not a command."), "unknown command /dance")
    ctx.say(ana, "after the dance")
    expect_next(bob, ctx.chat("ana", "after the dance"),
                what=repr(ctx.profile.chat_line("ana", "after the dance")),
                forbidden=[(ctx.chat("ana", "/dance now"),
                            L_("The unknown command was broadcast as chat."))])


@check("server.nick_taken", step=7, points=1, depends=["server.broadcast"], level=EXT,
       needs=["nickname_rules", "quit"],
       hint=hint("Nicknames", "§2", "Check under the lock whether the nick is taken;"
                 " if so send the error and close, announce nothing. A nick is free again"
                 " once its owner has left."))
def nick_taken(ctx: Context) -> None:
    """a nickname in use is refused with an error, nothing announced; free again once it left"""
    ana, bob = ctx.room("ana", "bob")
    twin = ctx.connect("ana#2")
    ctx.handshake(twin, "ana")
    _expect_error(ctx, twin, L_("The nickname ana is already taken."))
    twin.expect_closed(L_("The server closes a connection whose nickname it refused."))
    ctx.say(ana, "the real ana")
    bad = []
    if ctx.profile.joined:
        bad.append((ctx.profile.joined_line("ana"),
                    L_("A refused nickname was announced as joining.")))
    if ctx.profile.left:
        bad.append((ctx.profile.left_line("ana"),
                    L_("A refused nickname was announced as leaving.")))
    expect_next(bob, ctx.chat("ana", "the real ana"), forbidden=bad,
                what=repr(ctx.profile.chat_line("ana", "the real ana")),
                why=L_("The first ana must keep working."))
    # Taken means used by a *connected* client: once ana has left, the name is free.
    quit_peer(ctx, ana)
    if ctx.profile.left:
        bob.expect_line(ctx.profile.left_line("ana"), what=L_("the announcement that ana left"))
    again = ctx.connect("ana#3")
    ctx.handshake(again, "ana")
    if ctx.profile.welcome:
        line = again.expect_line(what=L_("the welcome line"))
        if line != ctx.profile.welcome_line("ana"):
            raise Mismatch(L_("ana left, so the nickname ana is free again (taken means used by"
                              " a connected client), but a new ana was not welcomed."),
                           expected=repr(ctx.profile.welcome_line("ana")), actual=line)


@check("server.nick_invalid", step=7, points=1, depends=["server.broadcast"], level=EXT,
       needs=["nickname_rules", "chatlab:nicknames"],
       hint=hint("Nicknames", "§2", "1–20 characters: letters, digits, _ - . only. Test"
                 " what each character *is* (allowed kinds), not a list of bad ones."))
def nick_invalid(ctx: Context) -> None:
    """invalid nicknames (empty, over 20 characters, space, `:`, `*`, `/`, controls…) are refused"""
    (bob,) = ctx.room("bob")
    for bad in INVALID_NICKS:
        peer = ctx.connect(f"nick {bad!r}")
        peer.send_line(bad)
        _expect_error(ctx, peer, L_("The nickname {nick} is not allowed (PROTOCOL.md §2: 1 to"
                                    " 20 letters, digits, _ - . and nothing else).",
                                    nick=repr(bad)))
        peer.expect_closed(L_("The server closes a connection whose nickname it refused."))
    cid = ctx.register("cid")  # and nothing was announced to bob before cid's arrival
    ctx.await_joined(cid, [bob])


@check("server.nick_valid", step=7, points=1, depends=["server.welcome"], level=EXT,
       needs=["nickname_rules", "chatlab:nicknames"],
       hint=hint("Nicknames: the rules", "§2", "Letters of *any* alphabet (str.isalnum()),"
                 " digits, _ - and ., up to 20 characters: count characters, not bytes."))
def nick_valid(ctx: Context) -> None:
    """nicknames of every allowed kind (`João`, `李雷`, `R2-D2`, 20 characters…) are welcomed"""
    for nick, kind in VALID_NICKS.items():
        peer = ctx.connect(nick)
        ctx.handshake(peer, nick)
        welcome = ctx.profile.welcome_line(nick)
        line = peer.expect_line(what=L_("the welcome line"))
        if line != welcome:
            refused = line.startswith(ctx.profile.error_prefix)
            raise Mismatch(L_("The nickname {nick} ({kind}) is valid by PROTOCOL.md §2, but the"
                              " server refused it.", nick=repr(nick), kind=kind) if refused else
                           L_("The nickname {nick} ({kind}) is valid by PROTOCOL.md §2, but the"
                              " server did not welcome it.", nick=repr(nick), kind=kind),
                           expected=repr(welcome), actual=line)


@check("server.history", step=7, points=1, depends=["server.broadcast"], level=EXT,
       needs=["history", "chatlab:history"],
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
                        why=L_("With --history 3, the last 3 chat lines come first, oldest"
                               " first."))
    if ctx.profile.welcome:
        cid.expect_line(ctx.profile.welcome_line("cid"), why=L_("The welcome comes after"
                                                                " history."))


@check("server.history_only_chat", step=7, points=1, depends=["server.history"], level=EXT,
       needs=["history", "chatlab:history"],
       hint=hint("History", "§6", "Remember a line where you broadcast public chat, as it"
                 " was broadcast: never in the whisper, command or notice code."))
def history_only_chat(ctx: Context) -> None:
    """history keeps only public chat lines, as broadcast: no whispers, commands or notices"""
    server = ctx.start_server(history=5)
    ana, bob = ctx.room("ana", "bob", server=server)  # bob says "bob is here": public chat
    kept = [ctx.profile.chat_line("bob", "bob is here")]
    ctx.transcript.note(L_("ana sends 'public line \\x1b[1m in bold' (an ESC in it)"))
    ana.send(b"public line \x1b[1m in bold\n", log=False)
    kept.append(bob.expect_line(accept=lambda line: line.endswith("in bold"),
                                what=L_("ana's line 'public line … in bold'")))
    secret = "a secret for bob"
    ana.send_line(ctx.profile.whisper.format(nick="bob", text=secret))
    bob.expect_line(ctx.profile.whisper_line.format(sender="ana", text=secret))
    ana.send(b"/users\n/dance\n\ncaf\xe9 refused\n")
    for answer in ("/users", "/dance", "the line that is not UTF-8"):  # graded elsewhere
        ana.expect_line(accept=lambda line: line.startswith("*** "),
                        what=L_("the server's answer to {answer}", answer=answer))
    ctx.say(ana, "the last public line")
    kept.append(ctx.expect_chat(bob, "ana", "the last public line"))
    cid = ctx.connect("cid", server=server)  # a join, a chat line and a leave: notices
    ctx.handshake(cid, "cid")
    welcome = ctx.profile.welcome_line("cid")
    while cid.expect_line(accept=lambda line: line == welcome or line.startswith("*** history "),
                          what=L_("its history, then its welcome")) != welcome:
        pass
    ctx.await_joined(cid, [ana, bob])
    kept.append(ctx.profile.chat_line("cid", "cid is here"))
    quit_peer(ctx, cid)
    bob.expect_line(ctx.profile.left_line("cid"), what=L_("the announcement that cid left"))
    dan = ctx.connect("dan", server=server)
    ctx.handshake(dan, "dan")
    leaks = [(lambda line: secret in line,
              L_("The whisper was kept in the history: only public chat lines are, whispers"
                 " stay private.")),
             (lambda line: "/users" in line or "/dance" in line,
              L_("A command was kept in the history: only public chat lines are.")),
             (lambda line: "joined the chat" in line or "left the chat" in line,
              L_("A notice (a join or a leave) was kept in the history: only chat lines are.")),
             (lambda line: "caf" in line,
              L_("A line that is not UTF-8 was kept in the history: it was refused, not"
                 " chat."))]
    for i, line in enumerate(kept, 1):
        expect_next(dan, f"*** history {line}", forbidden=leaks,
                    why=L_("History line {i} of {count}: the public chat lines said so far,"
                           " oldest first, each exactly as it was broadcast.", i=i,
                           count=len(kept)))
    expect_next(dan, ctx.profile.welcome_line("dan"), forbidden=leaks,
                why=L_("After the history comes the welcome."))


@check("server.history_off", step=7, points=1, depends=["server.broadcast"], level=EXT,
       needs=["history", "chatlab:history"],
       hint=hint("History", "§6", "--history 0 means no history at all, like no option:"
                 " keep nothing and replay nothing."))
def history_off(ctx: Context) -> None:
    """with `--history 0` nothing is replayed: the welcome is a newcomer's first line"""
    server = ctx.start_server(history=0)
    ana, bob = ctx.room("ana", "bob", server=server)
    ctx.say(ana, "nobody later should see this")
    ctx.expect_chat(bob, "ana", "nobody later should see this")
    cid = ctx.connect("cid", server=server)
    ctx.handshake(cid, "cid")
    replay = [(lambda line: line.startswith("*** history "), L_("cid got a history line: with"
                                                                " --history 0 nothing is kept,"
                                                                " nothing is replayed."))]
    replay += [(ctx.chat(nick, text), L_("cid got a line sent before it joined (a replay)."))
               for nick, text in ctx.said]
    expect_next(cid, ctx.profile.welcome_line("cid"), forbidden=replay,
                why=L_("With --history 0 the welcome is the first line a newcomer gets."))
