"""Framing: TCP is a byte stream; lines must be cut at newlines, whatever the segments."""

from __future__ import annotations

from ..context import Context
from ..failures import Unexpected
from ..messages import L_, sentences
from ..model import Level
from ..registry import check
from .common import error_reply, expect_next, hint, impatient, send_registration

FRAMING = ["segments"]  # messages cut or glued on purpose: newline or length10 framing
LINE_TOO_LONG = "line too long"  # PROTOCOL.md §1
INVALID_UTF8 = "invalid UTF-8, line ignored"


@check("server.framing_two_lines", step=2, points=2, depends=["server.broadcast"],
       needs=FRAMING,
       hint=hint("Several lines in one recv()", "§1", "Keep a buffer; cut every complete"
                 " line out of it, not just the first."))
def two_lines(ctx: Context) -> None:
    """two lines arriving in one TCP segment are two chat lines"""
    ana, bob = ctx.room("ana", "bob")
    ana.send(ana.encode("first of two") + ana.encode("second of two"))
    if ctx.profile.echo:
        ctx.expect_chat(ana, "ana", "first of two")
        ctx.expect_chat(ana, "ana", "second of two")
    why = L_("ana sent the messages 'first of two' and 'second of two' in a single send().")
    expect_next(bob, ctx.chat("ana", "first of two"),
                what=repr(ctx.profile.chat_line("ana", "first of two")),
                forbidden=[(lambda line: line.endswith("second of two")
                            and "first of two" not in line,
                            L_("ana's two lines arrived in reverse order: handle the lines of a"
                               " segment in the order they came."))], why=why)
    ctx.expect_chat(bob, "ana", "second of two", why=why)


@check("server.framing_split", step=2, points=2, depends=["server.broadcast"], needs=FRAMING,
       hint=hint("A line in pieces", "§1", "One recv() can return part of a line: keep"
                 " the rest in a buffer until the '\\n' arrives."))
def split_line(ctx: Context) -> None:
    """one line sent in three pieces arrives as one chat line"""
    ana, bob = ctx.room("ana", "bob")
    raw = ana.encode("this line comes in three pieces")
    start = raw.index(b"this line")  # after a length header, if there is one
    ana.send_pieces([raw[:start + 10], raw[start + 10:start + 19], raw[start + 19:]])
    if ctx.profile.echo:
        ctx.expect_chat(ana, "ana", "this line comes in three pieces")
    ctx.expect_chat(bob, "ana", "this line comes in three pieces",
                    why=L_("ana sent the line in three separate pieces."))


@check("server.framing_bytes", step=2, points=2, depends=["server.broadcast"], needs=FRAMING,
       level=Level.ROBUSTNESS,
       hint=hint("A line in pieces", "§1", "Even a single byte per recv() must work."))
def byte_by_byte(ctx: Context) -> None:
    """a line sent one byte at a time arrives as one chat line"""
    ana, bob = ctx.room("ana", "bob")
    text = "byte by byte"
    ctx.transcript.note(L_("ana sends {text} + '\\n' one byte per send()", text=repr(text)))
    ana.send_pieces([bytes([byte]) for byte in ana.encode(text)], log=False)
    if ctx.profile.echo:
        ctx.expect_chat(ana, "ana", text)
    ctx.expect_chat(bob, "ana", text, why=L_("ana sent it one byte at a time."))


@check("server.utf8_split", step=2, points=2, depends=["server.broadcast"], needs=FRAMING,
       level=Level.ROBUSTNESS,
       hint=hint("Decode whole lines", "§1", "Decode a line only once it is complete: a"
                 " multi-byte character can be cut between two recv() calls."))
def utf8_split(ctx: Context) -> None:
    """a UTF-8 character cut between two segments arrives intact"""
    ana, bob = ctx.room("ana", "bob")
    text = "olá ação 李雷 ✓"
    raw = ana.encode(text)
    cut = raw.index("ç".encode()) + 1  # in the middle of the two bytes of 'ç'
    ana.send_pieces([raw[:cut], raw[cut:]])
    if ctx.profile.echo:
        ctx.expect_chat(ana, "ana", text)
    with impatient(bob):
        ctx.expect_chat(bob, "ana", text,
                        why=L_("ana's line was cut in the middle of the character 'ç'."))


@check("server.nick_and_line", step=2, points=1,
       depends=["server.broadcast", "server.framing_two_lines"], needs=FRAMING,
       level=Level.ROBUSTNESS,
       hint=hint("Several lines in one recv()", "§1 and §2", "The bytes after the"
                 " nickname's '\\n' are the start of the chat: read the nickname from the"
                 " same buffer as the chat lines, and keep that buffer."))
def nick_and_line(ctx: Context) -> None:
    """a nickname and a first chat line arriving in one TCP segment are both taken"""
    ana, bob = ctx.room("ana", "bob")
    cid = ctx.connect("cid")
    text = "my first line came with my nickname"
    send_registration(ctx, cid, "cid", cid.encode(text))
    ctx.said.append(("cid", text))
    why = L_("cid sent its nickname and its first chat line in a single send().")
    if ctx.profile.welcome:
        cid.expect_line(ctx.profile.welcome_line("cid"), what=L_("the welcome line"), why=why)
    if ctx.profile.echo:
        ctx.expect_chat(cid, "cid", text, why=why)
    optional = [ctx.profile.joined_line("cid")] if ctx.profile.joined else []
    for member in (ana, bob):
        with impatient(member):
            expect_next(member, ctx.chat("cid", text), optional=optional,
                        what=repr(ctx.profile.chat_line("cid", text)),
                        why=sentences(why, L_("The chat line must not be lost with the"
                                              " nickname.")))


@check("server.burst_order", step=3, points=2,
       depends=["server.broadcast", "server.framing_two_lines"], needs=FRAMING,
       level=Level.ROBUSTNESS,
       hint=hint("Order", "§3", "Lines from one sender must keep their order; do not hand"
                 " each line to a new thread."))
def burst_order(ctx: Context) -> None:
    """a burst of 300 lines from one sender arrives complete and in order"""
    ana, bob, cid = ctx.room("ana", "bob", "cid")
    texts = [f"burst line {i:03d}" for i in range(300)]
    ctx.transcript.note(L_("ana sends 300 lines 'burst line 000' … 'burst line 299' at once"))
    ana.send(b"".join(ana.encode(t) for t in texts), log=False)
    for receiver in (bob, cid):
        receiver.quiet = True
        for text in texts:
            ctx.expect_chat(receiver, "ana", text,
                                 why=L_("ana sent 300 numbered lines in one go."))
        receiver.quiet = False
    ctx.transcript.note(L_("bob and cid received all 300 lines in order"))


@check("server.crlf", step=2, points=1, depends=["server.broadcast"],
       needs=["framing", "chatlab:crlf"], level=Level.ROBUSTNESS,
       hint=hint("Your turn: `LineBuffer.feed`", "§1", "telnet and `nc -C` end every line"
                 " with '\\r\\n': drop a '\\r' just before the '\\n', also in the"
                 " nickname's line."))
def crlf(ctx: Context) -> None:
    """lines ending in `\\r\\n` (telnet, `nc -C`) work: the `\\r` is dropped, nickname included"""
    (ana,) = ctx.room("ana")
    cid = ctx.connect("cid")
    why = L_("cid ends its lines with '\\r\\n', as telnet does: the '\\r' is not part of the"
             " line.")
    cid.send(b"cid\r\n")
    cid.expect_line(ctx.profile.welcome_line("cid"), what=L_("the welcome line"), why=why)
    ctx.await_joined(cid, [ana])
    cid.send(b"hello from telnet\r\n")
    ctx.said.append(("cid", "hello from telnet"))
    ana.expect_line(ctx.profile.chat_line("cid", "hello from telnet"), why=why)


@check("server.line_too_long", step=2, points=1,
       depends=["server.broadcast", "server.framing_split"],
       needs=["framing", "max_line"], level=Level.ROBUSTNESS,
       hint=hint("Lines that never end", "§1", "If the buffer passes the limit with no"
                 " '\\n', answer '*** error: line too long' and close."))
def line_too_long(ctx: Context) -> None:
    """a line over the limit gets `*** error: line too long` and only that client is closed"""
    ana, bob, cid = ctx.room("ana", "bob", "cid")
    size = ctx.profile.max_line + 1  # the shortest line that is too long
    ctx.transcript.note(L_("ana sends a line of {size} bytes", size=size))
    ana.send(b"x" * size + b"\n", log=False)
    answer, shown = error_reply(ctx, LINE_TOO_LONG)
    with impatient(ana):
        ana.expect_line(accept=answer, what=shown,
                        why=L_("ana sent a line of {size} bytes, one more than the limit.",
                               size=size))
    ana.expect_closed(L_("After a too-long line the server closes that connection."))
    ctx.say(cid, "still chatting")
    optional = (ctx.profile.left_line("ana"),) if ctx.profile.left else ()
    line = expect_next(bob, ctx.chat("cid", "still chatting"), optional=optional,
                       what=repr(ctx.profile.chat_line("cid", "still chatting")),
                       why=L_("The others must not be affected by ana's long line."))
    if "x" * 100 in line:
        raise Unexpected(L_("The too-long line was delivered to the others."), actual=line)


@check("server.line_limit_exact", step=2, points=1,
       depends=["server.broadcast", "server.framing_split"],
       needs=["framing", "max_line"], level=Level.ROBUSTNESS,
       hint=hint("Lines that never end", "§1", "The limit is on the line without its"
                 " ending: drop the '\\r' of '\\r\\n' first, then refuse only a line"
                 " *longer* than the limit."))
def line_limit_exact(ctx: Context) -> None:
    """a line of exactly 4096 bytes is delivered, ending in `\\n` or in `\\r\\n`"""
    ana, bob = ctx.room("ana", "bob")
    size = ctx.profile.max_line
    left = ctx.profile.left_line("ana") if ctx.profile.left else None
    for letter, ending, shown in (("a", b"\n", "\\n"), ("b", b"\r\n", "\\r\\n")):
        text = letter * size
        ctx.transcript.note(L_("ana sends a line of {size} bytes ('{letter}' × {size}) + {shown}",
                               size=size, letter=letter, shown=shown))
        ana.send(text.encode() + ending, log=False)
        ctx.said.append(("ana", text))
        if ctx.profile.echo:
            ctx.expect_chat(ana, "ana", text)
        forbidden = [(left, L_("ana was disconnected for a line of exactly {size} bytes ending"
                               " in {shown}; only a longer line is too long.", size=size,
                               shown=shown))] if left else []
        expect_next(bob, ctx.chat("ana", text), forbidden=forbidden,
                    what=L_("ana's line of exactly {size} bytes ('{letter}' × {size})", size=size,
                            letter=letter),
                    why=L_("The limit is {size} bytes, not counting the line ending ({shown}).",
                           size=size, shown=shown))


@check("server.line_unended", step=2, points=1,
       depends=["server.broadcast", "server.framing_split"],
       needs=["framing", "max_line"], level=Level.ROBUSTNESS,
       hint=hint("Lines that never end", "§1", "Check the size of what is buffered after"
                 " every recv(), not only when a '\\n' comes: it may never come."))
def line_unended(ctx: Context) -> None:
    """bytes passing the limit with no `\\n` yet get `*** error: line too long` and a close"""
    (ana,) = ctx.room("ana")
    size = ctx.profile.max_line + 100
    ctx.transcript.note(L_("ana sends {size} bytes and no newline, then waits", size=size))
    ana.send(b"y" * size, log=False)
    answer, shown = error_reply(ctx, LINE_TOO_LONG)
    why = (L_("ana has sent {size} bytes without a '\\n': the line is already longer than"
              " {max_line} bytes, whatever comes next.", size=size, max_line=ctx.profile.max_line))
    with impatient(ana):
        ana.expect_line(accept=answer, what=shown, why=why)
    ana.expect_closed(L_("After a too-long line the server closes that connection."))


@check("server.invalid_utf8", step=2, points=1, depends=["server.broadcast"],
       needs=["framing", "chatlab:invalid_utf8"], level=Level.ROBUSTNESS,
       hint=hint("Decode whole lines", "§1", "Catch UnicodeDecodeError for that line,"
                 " answer the error, and keep the connection."))
def invalid_utf8(ctx: Context) -> None:
    """a line that is not valid UTF-8 gets an error and the connection stays open"""
    ana, bob = ctx.room("ana", "bob")
    ana.send(b"caf\xe9 au lait\n")
    answer, shown = error_reply(ctx, INVALID_UTF8)
    with impatient(ana):
        ana.expect_line(accept=answer, what=shown,
                        why=L_("ana sent the bytes 'caf\\xe9 au lait\\n', which are not UTF-8."))
    ctx.say(ana, "valid again")
    closed = [(ctx.profile.left_line("ana"), L_("ana was disconnected for a line that is not"
                                                " UTF-8; the line is ignored and the connection"
                                                " stays open."))
              ] if ctx.profile.left else []
    expect_next(bob, ctx.chat("ana", "valid again"),
                what=repr(ctx.profile.chat_line("ana", "valid again")),
                forbidden=[(lambda line: "au lait" in line,
                            L_("bob received ana's invalid line (decoded somehow): a line that"
                               " is not UTF-8 is ignored, it reaches nobody.")), *closed],
                why=L_("After an invalid line, the connection stays open and works."))
