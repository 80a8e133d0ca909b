"""What the server lets through: control characters only as visible escapes; commands,
empty lines and the lines of a refused nickname never reach anybody."""

from __future__ import annotations

import time
import unicodedata

from ..actors.fake_client import Peer
from ..context import Context
from ..failures import Mismatch
from ..messages import L_, sentences
from ..model import Level
from ..registry import check
from .common import expect_next, hint, send_registration

# A chat line with control characters between visible pieces: a colour sequence (ESC),
# a bell, DEL, a C1 control (CSI), a carriage return and a NUL in the middle, and a tab,
# which is kept. Each control must arrive as *something visible*, never raw, never dropped.
SEGMENTS = (("colour:", "\x1b"), ("[31mred bell:", "\x07"), (" del:", "\x7f"),
            (" c1:", "\x9b"), (" cr:", "\r"), (" nul:", "\x00"))
TAIL = " tab:\tend"
CONTROL_TEXT = "".join(piece + control for piece, control in SEGMENTS) + TAIL
PIECES = (*(piece for piece, _ in SEGMENTS), TAIL)  # what must arrive as it was, in order
CONTROLS = {"\x1b": "ESC", "\x07": "BEL", "\x7f": "DEL", "\x9b": "CSI", "\r": "CR",
            "\x00": "NUL"}


def visible(text: str) -> str:
    """``text`` with its control characters written as ``\\xNN``, safe to show."""
    return "".join(f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" else c for c in text)


def _escaped_problem(body: str) -> tuple[str, str] | None:
    """What is wrong with how ``body`` (the received text) shows CONTROL_TEXT, as
    (message, what was expected), or None when every control is a visible escape."""
    raw = [c for c in body if unicodedata.category(c) == "Cc" and c != "\t"]
    if raw:
        names = ", ".join(f"\\x{ord(c):02x} ({CONTROLS.get(c, 'a control')})"
                          for c in dict.fromkeys(raw))
        return (L_("The line reached the others with raw control characters in it: {names}."
                   " A raw ESC lets one user repaint everybody's terminal.", names=names),
                L_("every control character except tab replaced by a visible escape such as"
                   " \\x1b"))
    if TAIL not in body:
        return (L_("The tab in the line did not arrive as a tab: tabs are kept, only the"
                   " other control characters are escaped."),
                L_("the text ending in {tail}", tail=repr(TAIL)))
    at = 0
    for before, after in zip(PIECES, PIECES[1:], strict=False):
        start = body.find(before, at)
        end = body.find(after, start + len(before)) if start >= 0 else -1
        if start < 0 or end < 0:
            return (L_("The visible text of the line did not arrive whole."),
                    L_("the pieces {pieces}, in order, each control between them escaped",
                       pieces=repr(list(PIECES))))
        if end == start + len(before):
            return (L_("A control character was removed instead of escaped: replace each"
                       " one with a visible escape such as \\x1b, so the reader sees it was"
                       " there."),
                    L_("something visible where each control character was"))
        at = end
    return None


def _expect_escaped(peer: Peer, prefix: str, what: str) -> None:
    line = peer.expect_line(accept=lambda got: got.startswith(prefix), what=what)
    problem = _escaped_problem(line[len(prefix):])
    if problem is not None:
        message, expected = problem
        raise Mismatch(sentences(L_("{peer} got {what}.", peer=peer.name, what=what),
                                 message), expected=expected,
                       actual=visible(line))


@check("server.control_chars", step=4, points=1, depends=["server.broadcast"],
       needs=["chatlab:control_chars"], level=Level.ROBUSTNESS,
       hint=hint("Broadcast", "§1", "Pass the text through printable() from protocol.py"
                 " before you build the line others receive (whispers too)."))
def control_chars(ctx: Context) -> None:
    """control characters in a chat line arrive as visible escapes such as `\\x1b`; tabs stay"""
    ana, bob = ctx.room("ana", "bob")
    ctx.transcript.note(f"ana's line: {visible(CONTROL_TEXT)!r}")
    ana.send(CONTROL_TEXT.encode() + b"\n", log=False)
    _expect_escaped(bob, ctx.profile.chat_line("ana", ""), L_("ana's chat line"))
    if ctx.profile.whisper:
        ana.send((ctx.profile.whisper.format(nick="bob", text=CONTROL_TEXT) + "\n").encode(),
                 log=False)
        _expect_escaped(bob, ctx.profile.whisper_line.format(sender="ana", text=""),
                        L_("ana's whisper"))


def _refused(ctx: Context, name: str, nick: str, text: str) -> Peer:
    """A connection whose nickname ``nick`` is refused, sending ``text`` right after it
    in the same segment; returns once the refusal came."""
    peer = ctx.connect(name)
    send_registration(ctx, peer, nick, text.encode() + b"\n")
    prefix = ctx.profile.error_prefix
    peer.expect_line(accept=lambda line: line.startswith(prefix),
                     what=L_("an error line starting with {prefix}", prefix=repr(prefix)),
                     why=L_("The nickname {nick} cannot be used.", nick=repr(nick)))
    return peer


@check("server.never_broadcast", step=7, points=1, depends=["server.users"],
       needs=["chatlab:commands"], level=Level.EXTENSION,
       hint=hint("Commands: lines that start with `/`", "§2, §3 and §5", "Only a registered"
                 " client's non-empty line that does not start with '/' is chat; stop"
                 " reading a connection as soon as its nickname is refused."))
def never_broadcast(ctx: Context) -> None:
    """commands, empty lines and the lines of a refused nickname reach nobody"""
    ana, bob = ctx.room("ana", "bob")
    # Empty lines and commands, then /users: its answer comes after any answer to them.
    commands = ["/users", "/w", "/w nobody hi", "/dance now"]
    ana.send(b"\n\r\n" + "".join(c + "\n" for c in commands).encode())
    online = ctx.profile.users.format(nicks=ctx.profile.users_separator.join(["ana", "bob"]))
    prefix = ctx.profile.error_prefix
    expect_next(ana, online, forbidden=[(lambda line: line.startswith(prefix),
                                         L_("ana's empty line was answered with an error: empty"
                                            " lines are ignored, nothing is sent back."))],
                why=L_("ana sent '\\n' and '\\r\\n' (two empty lines), then '/users'."))
    # Refused nicknames, each with a chat line in the same segment: taken, then invalid.
    twin = _refused(ctx, "ana#2", "ana", "a line from the refused twin")
    bad = _refused(ctx, "bad nick", "bad nick", "a line from a refused nickname")
    deadline = time.monotonic() + ctx.timing.soft
    for peer in (twin, bad):  # barrier: the server is done with them (nick_* grade the close)
        peer.drain_closed(deadline)
    ctx.say(ana, "only chat gets through")
    leaks = [(lambda line, c=c: c in line,
              L_("bob received ana's command {command}: a line starting with '/' is a"
                 " command, never chat.", command=repr(c))) for c in commands]
    leaks += [(lambda line: line.rstrip() == ctx.profile.chat_line("ana", "").rstrip(),
               L_("bob received an empty chat line from ana: empty lines are ignored."))]
    leaks += [(lambda line, t=t: t in line,
               L_("bob received {line}, sent by a connection whose nickname was refused: a"
                  " refused connection is closed, its lines reach nobody.", line=repr(t)))
              for t in ("a line from the refused twin", "a line from a refused nickname")]
    expect_next(bob, ctx.chat("ana", "only chat gets through"), forbidden=leaks,
                what=repr(ctx.profile.chat_line("ana", "only chat gets through")),
                why=L_("Before it ana sent only empty lines and commands, and two refused"
                       " connections sent a line each."))
