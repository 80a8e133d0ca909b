"""Framing: TCP is a byte stream; lines must be cut at newlines, whatever the segments."""

from __future__ import annotations

from ..context import Context
from ..failures import Unexpected
from ..model import Level
from ..registry import check
from .common import expect_next, hint, impatient

FRAMING = ["framing"]


@check("server.framing_two_lines", step=2, points=2, depends=["server.broadcast"],
       needs=FRAMING,
       hint=hint("Several lines in one recv()", "§1", "Keep a buffer; cut every complete"
                 " line out of it, not just the first."))
def two_lines(ctx: Context) -> None:
    """two lines arriving in one TCP segment are two chat lines"""
    ana, bob = ctx.room("ana", "bob")
    ana.send(b"first of two\nsecond of two\n")
    if ctx.profile.echo:
        ctx.expect_chat(ana, "ana", "first of two")
        ctx.expect_chat(ana, "ana", "second of two")
    ctx.expect_chat(bob, "ana", "first of two",
                    why="ana sent 'first of two\\nsecond of two\\n' in a single send().")
    ctx.expect_chat(bob, "ana", "second of two",
                    why="ana sent 'first of two\\nsecond of two\\n' in a single send().")


@check("server.framing_split", step=2, points=2, depends=["server.broadcast"], needs=FRAMING,
       hint=hint("A line in pieces", "§1", "One recv() can return part of a line: keep"
                 " the rest in a buffer until the '\\n' arrives."))
def split_line(ctx: Context) -> None:
    """one line sent in three pieces arrives as one chat line"""
    ana, bob = ctx.room("ana", "bob")
    ana.send_pieces([b"this line ", b"comes in ", b"three pieces\n"])
    if ctx.profile.echo:
        ctx.expect_chat(ana, "ana", "this line comes in three pieces")
    ctx.expect_chat(bob, "ana", "this line comes in three pieces",
                    why="ana sent the line in three separate pieces.")


@check("server.framing_bytes", step=2, points=2, depends=["server.broadcast"], needs=FRAMING,
       level=Level.ROBUSTNESS,
       hint=hint("A line in pieces", "§1", "Even a single byte per recv() must work."))
def byte_by_byte(ctx: Context) -> None:
    """a line sent one byte at a time arrives as one chat line"""
    ana, bob = ctx.room("ana", "bob")
    text = "byte by byte"
    ctx.transcript.note(f"ana sends {text!r} + '\\n' one byte per send()")
    ana.send_pieces([bytes([byte]) for byte in (text + "\n").encode()], log=False)
    if ctx.profile.echo:
        ctx.expect_chat(ana, "ana", text)
    ctx.expect_chat(bob, "ana", text, why="ana sent it one byte at a time.")


@check("server.utf8_split", step=2, points=2, depends=["server.broadcast"], needs=FRAMING,
       level=Level.ROBUSTNESS,
       hint=hint("Decode whole lines", "§1", "Decode a line only once it is complete: a"
                 " multi-byte character can be cut between two recv() calls."))
def utf8_split(ctx: Context) -> None:
    """a UTF-8 character cut between two segments arrives intact"""
    ana, bob = ctx.room("ana", "bob")
    text = "olá ação 李雷 ✓"
    raw = (text + "\n").encode()
    cut = raw.index("ç".encode()) + 1  # in the middle of the two bytes of 'ç'
    ana.send_pieces([raw[:cut], raw[cut:]])
    if ctx.profile.echo:
        ctx.expect_chat(ana, "ana", text)
    with impatient(bob):
        ctx.expect_chat(bob, "ana", text,
                        why="ana's line was cut in the middle of the character 'ç'.")


@check("server.burst_order", step=3, points=2,
       depends=["server.broadcast", "server.framing_two_lines"], needs=FRAMING,
       level=Level.ROBUSTNESS,
       hint=hint("Order", "§3", "Lines from one sender must keep their order; do not hand"
                 " each line to a new thread."))
def burst_order(ctx: Context) -> None:
    """a burst of 300 lines from one sender arrives complete and in order"""
    ana, bob, cid = ctx.room("ana", "bob", "cid")
    texts = [f"burst line {i:03d}" for i in range(300)]
    ctx.transcript.note("ana sends 300 lines 'burst line 000' … 'burst line 299' at once")
    ana.send("".join(t + "\n" for t in texts).encode(), log=False)
    for receiver in (bob, cid):
        receiver.quiet = True
        for text in texts:
            ctx.expect_chat(receiver, "ana", text,
                                 why="ana sent 300 numbered lines in one go.")
        receiver.quiet = False
    ctx.transcript.note("bob and cid received all 300 lines in order")


@check("server.line_too_long", step=2, points=1,
       depends=["server.broadcast", "server.framing_split"],
       needs=["framing", "max_line"], level=Level.ROBUSTNESS,
       hint=hint("Lines that never end", "§1", "If the buffer passes the limit with no"
                 " '\\n', answer '*** error: line too long' and close."))
def line_too_long(ctx: Context) -> None:
    """a line over the limit gets `*** error: line too long` and only that client is closed"""
    ana, bob, cid = ctx.room("ana", "bob", "cid")
    size = ctx.profile.max_line + 1000
    ctx.transcript.note(f"ana sends a line of {size} bytes")
    ana.send(b"x" * size + b"\n", log=False)
    prefix = ctx.profile.error_prefix
    with impatient(ana):
        ana.expect_line(accept=lambda line: line.startswith(prefix),
                        what=f"a line starting with {prefix!r}")
    ana.expect_closed("After a too-long line the server closes that connection.")
    ctx.say(cid, "still chatting")
    optional = (ctx.profile.left_line("ana"),) if ctx.profile.left else ()
    line = expect_next(bob, ctx.chat("cid", "still chatting"), optional=optional,
                       what=repr(ctx.profile.chat_line("cid", "still chatting")),
                       why="The others must not be affected by ana's long line.")
    if "x" * 100 in line:
        raise Unexpected("The too-long line was delivered to the others.", actual=line)


@check("server.invalid_utf8", step=2, points=1, depends=["server.broadcast"],
       needs=["framing", "chatlab"], level=Level.ROBUSTNESS,
       hint=hint("Decode whole lines", "§1", "Catch UnicodeDecodeError for that line,"
                 " answer the error, and keep the connection."))
def invalid_utf8(ctx: Context) -> None:
    """a line that is not valid UTF-8 gets an error and the connection stays open"""
    ana, bob = ctx.room("ana", "bob")
    ana.send(b"caf\xe9 au lait\n")
    prefix = ctx.profile.error_prefix
    with impatient(ana):
        ana.expect_line(accept=lambda line: line.startswith(prefix),
                        what=f"a line starting with {prefix!r}",
                        why="ana sent the bytes 'caf\\xe9 au lait\\n', which are not"
                            " UTF-8.")
    ctx.say(ana, "valid again")
    ctx.expect_chat(bob, "ana", "valid again",
                    why="After an invalid line, the connection stays open and works.")
