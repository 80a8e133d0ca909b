"""A fake chat client on a raw socket, recording everything into a transcript.

The checks drive the server through peers::

    ana = Peer("ana", transcript, timing).connect("127.0.0.1", port)
    ana.send_line("ana")
    ana.expect_line("*** welcome ana")

Every wait has a deadline (see :mod:`grader.timing`); waiting past ``soft`` but
getting the answer before ``hard`` fails as *too slow*, nothing by ``hard`` as *hung*.
The same class wraps the grader's end of a connection in the fake server.
"""

from __future__ import annotations

import errno
import re
import socket
import struct
import time
from collections.abc import Callable

from ..failures import Hung, Mismatch, Missing, TooSlow, Unexpected
from ..messages import L_, Text, sentences
from ..probes.tcp_queue import wait_read
from ..profile import CLOCK_SHOWN, FRAMINGS
from ..streams import LineSplitter
from ..timing import Timing
from .transcript import Transcript

# Pause between two pieces of a line when the system cannot tell whether the other end
# has read the first (see grader.probes.tcp_queue): usually long enough for it to.
PIECE_GAP = 0.03
# Without framing a message is what one send() wrote; on the receiving side, what comes
# until the line goes quiet this long. A program that answers sends its whole message at
# once, in microseconds on loopback; 50 ms of silence is far beyond that, and short
# enough that a scenario of a dozen messages loses well under a second.
QUIET_GAP = 0.05
LENGTH_HEADER = 10  # bytes of the "length10" framing: the length, as digits, padded
SMALL_SEGMENT = 536  # TCP segment size of a slow reader: the smallest every IPv4 host takes
CLOCK = re.compile(r"\b\d\d:\d\d:\d\d\b")  # a {time} in a line: HH:MM:SS
# The other end of a peer's connection, in messages: as an object, and as the subject
# that starts a sentence.
SERVER, CLIENT = L_("the server"), L_("the client")
SUBJECTS = {SERVER.msgid: L_("The server"), CLIENT.msgid: L_("The client")}


class Closed(Exception):  # noqa: N818 - an event, not an error
    """The other side closed (or reset) the connection."""

    def __init__(self, how: str) -> None:
        super().__init__(how)
        self.how = how


def show(data: bytes) -> str:
    """Bytes as a readable one-liner for the transcript (``\\n`` shown)."""
    text = data.decode("utf-8", "backslashreplace")
    return text.replace("\r", "\\r").replace("\n", "\\n")


def frame(text: str, framing: str) -> bytes:
    """``text`` as one message on the wire under ``framing`` (see FRAMINGS)."""
    raw = text.encode()
    if framing == "length10":
        return f"{len(raw):<{LENGTH_HEADER}}".encode() + raw
    return raw if framing == "none" else raw + b"\n"


def _length(header: bytes | bytearray) -> int:
    """The length a ``length10`` header gives (0 if it is not a number)."""
    text = bytes(header[:LENGTH_HEADER]).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else 0


class Peer:
    """One end of a TCP connection, speaking lines, with deadlines."""

    def __init__(
        self,
        name: str,
        transcript: Transcript,
        timing: Timing,
        sock: socket.socket | None = None,
        *,
        other: str = SERVER,
        framing: str = "newline",
    ) -> None:
        if framing not in FRAMINGS:
            raise ValueError(f"unknown framing {framing!r}: one of {', '.join(FRAMINGS)}")
        self.name = name
        # The peer in messages: its nickname, or (the fake server's end) the words for it.
        self.who: str = Text("server") if name == "server" else name
        self.framing = framing  # how a message is delimited on the wire (see FRAMINGS)
        self._sent = False  # something was sent already (unframed: wait until it is read)
        self.transcript = transcript
        self.timing = timing
        self.other = other
        self.sock = sock
        self.lines = LineSplitter()  # what arrived and was not read yet
        self.eof: str | None = None  # how the connection ended, once it has
        self._broken = ""  # the error that broke it, if one did
        self.quiet = False  # stop recording received lines (bulk transfers)
        # Lines to skip once each when expecting: side effects of a mistake that another
        # check grades (an echo, a self-announcement), so each check fails for one reason.
        self.ignore: list[tuple[Callable[[str], bool], str]] = []  # (line test, why)
        # What a chat message is on the wire when it is not the bare text (a profile's
        # chat_out, "mensagem={text}"); the nickname is this peer's name.
        self.chat_out = "{text}"
        # The protocol puts the server's clock in lines ({time}): every HH:MM:SS in a
        # received line reads as the placeholder, so lines compare as the profile says.
        self.clock = False
        # Where the server names connections itself (user1, user2…): its name for each
        # peer, read off the peer's welcome (``named`` matches it, group 1 the name),
        # shared by the peers of a check; received lines read with the peers' own names.
        self.named: re.Pattern[str] | None = None
        self.aliases: dict[str, str] = {}

    # -- connecting ----------------------------------------------------------------

    def connect(
        self, host: str, port: int, *, rcvbuf: int | None = None, log: bool = True
    ) -> Peer:
        """Connect, retrying a refused connection until the soft deadline."""
        deadline = time.monotonic() + self.timing.soft
        while True:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if rcvbuf:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
                # Small segments keep the buffers towards a slow reader small too (a
                # few hundred KB on loopback, not several MB): set before connecting.
                if hasattr(socket, "TCP_MAXSEG"):
                    try:
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, SMALL_SEGMENT)
                    except OSError:
                        pass  # the system does not allow it: the buffers are bigger
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                sock.connect((host, port))
                break
            except OSError as error:
                sock.close()
                if time.monotonic() >= deadline:
                    raise Hung(
                        L_("{name} could not connect to {host}:{port} ({error}).",
                           name=self.who, host=host, port=port, error=str(error)),
                        expected=L_("the server accepts a connection on port {port}",
                                    port=port),
                    ) from None
                time.sleep(0.02)  # refused: the server is not listening yet; poll again
        self.sock = sock
        if log:
            self.transcript.add(self.name, "connected", f"{host}:{port}")
        return self

    @property
    def local_port(self) -> int:
        assert self.sock is not None
        return self.sock.getsockname()[1]

    # -- sending -------------------------------------------------------------------

    def send(self, data: bytes | str, *, log: bool = True) -> None:
        """Send raw bytes (or text as UTF-8) exactly as given, in one send call."""
        assert self.sock is not None
        raw = data.encode() if isinstance(data, str) else data
        if log:
            self.transcript.add(self.name, "sent", show(raw))
        self.sock.settimeout(self.timing.hard)
        try:
            self.sock.sendall(raw)
        except TimeoutError:
            raise Hung(L_("{name} could not send: {other} stopped reading from it.",
                          name=self.who, other=self.other)) from None
        except OSError as error:
            raise Missing(L_("{name} could not send because the connection is gone ({error}).",
                             name=self.who, error=str(error)),
                          expected=L_("{other} to keep {name}'s connection open",
                                      other=self.other, name=self.who)) from None

    def send_line(self, text: str, *, log: bool = True) -> None:
        """Send one message, framed as the protocol frames them: ``text`` and a newline;
        unframed, ``text`` alone in one send(), once the other end has read what came
        before (as a program that takes one recv() as one message needs); or after a
        10-byte length header."""
        if self.framing == "none" and self._sent and self.sock is not None:
            wait_read(self.sock, time.monotonic() + self.timing.soft, fallback=PIECE_GAP)
        self.send(self.encode(text), log=log)
        self._sent = True

    def encode(self, text: str) -> bytes:
        """``text`` as one framed message on the wire (see :meth:`send_line`)."""
        return frame(text, self.framing)

    def send_chat(self, text: str, *, log: bool = True) -> None:
        """Send the chat message ``text`` the way the protocol's client does."""
        self.send_line(self.chat_out.format(nick=self.name, text=text), log=log)

    def closed_by_other(self, deadline: float) -> bool:
        """Read (and drop) what arrives until ``deadline``; True if the other side
        closed or reset the connection by then."""
        try:
            while self._fill(deadline):
                self.lines.finish()
        except Closed:
            return True
        return False

    def send_pieces(self, pieces: list[bytes], *, log: bool = True) -> None:
        """Send ``pieces`` one by one, each once the other end has read (``recv()``
        returned) the one before, so no ``recv()`` there can return two pieces at once.

        A correct program passes however its reads fall; this only makes a program that
        treats one ``recv()`` as one message fail every time, not only when the machine
        is quick. If the other end stops reading, the rest follow after short pauses.
        """
        assert self.sock is not None
        patient = True
        for i, piece in enumerate(pieces):
            if i and patient:
                deadline = time.monotonic() + self.timing.soft
                patient = wait_read(self.sock, deadline, fallback=PIECE_GAP)
            elif i:
                time.sleep(PIECE_GAP)
            self.send(piece, log=log)

    # -- receiving -----------------------------------------------------------------

    def _fill(self, deadline: float) -> bool:
        """Receive more bytes; False on timeout. Raises Closed at end of stream."""
        assert self.sock is not None
        if self.eof:
            raise Closed(self.eof)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return False
        except ConnectionResetError:
            self.eof = "reset"
        except OSError as error:
            self.eof = f"broken ({error})"
            self._broken = str(error)
        else:
            if chunk:
                self.lines.buffer(chunk)
                return True
            self.eof = "closed"
        self.transcript.add(self.name, "connection",
                            L_("closed by {other}", other=self.other) if self.eof == "closed"
                            else L_("reset by {other}", other=self.other)
                            if self.eof == "reset" else L_("broken ({error})", error=self._broken))
        raise Closed(self.eof)

    def how_it_ended(self) -> str:
        """How the connection ended, for a failure's *Actual* ("connection reset")."""
        if self.eof == "closed":
            return L_("connection closed")
        if self.eof == "reset":
            return L_("connection reset")
        if self.eof:
            return L_("connection broken ({error})", error=self._broken)
        return L_("connection open")

    def _ignored(self, line: str) -> bool:
        for i, (skip, why) in enumerate(self.ignore):
            if skip(line):
                del self.ignore[i]
                self.transcript.add(self.name, "note", L_("ignores that line here: {why}",
                                                          why=why))
                return True
        return False

    def read_line(self, deadline: float, *, expected: str | None = None) -> str | None:
        """The next complete message (a line, without ``\\n``/``\\r\\n``) before the
        monotonic ``deadline``, or None. Raises Closed if the stream ends first.

        Unframed, two messages sent quickly arrive glued together: when the message
        starts with ``expected``, only that is taken, and the rest is the next one."""
        raw = self._take_message(deadline, expected)
        if raw is None:
            return None
        line = raw.removesuffix(b"\r").decode("utf-8", "backslashreplace")
        if self.clock:
            line = CLOCK.sub(CLOCK_SHOWN, line)
        if self.named is not None:
            line = self._with_own_names(line)
        if (self.framing == "none" and expected and line != expected
                and line.startswith(expected)):
            self.unread(line[len(expected):])
            line = expected
        if not self.quiet:
            self.transcript.add(self.name, "received", line)
        return line

    def _with_own_names(self, line: str) -> str:
        """``line`` with the server's names for the peers replaced by the peers' own;
        the first welcome this peer gets tells the server's name for it."""
        assert self.named is not None
        if self.name not in self.aliases.values():
            match = self.named.match(line)  # a message may be glued after it
            if match:
                self.aliases[match.group(1)] = self.name
                self.transcript.add(self.name, "note", L_("the server calls it {name}",
                                                          name=match.group(1)))
        for theirs, ours in self.aliases.items():
            line = re.sub(rf"{re.escape(theirs)}(?!\d)", ours, line)  # user1, not user12
        return line

    def _take_message(self, deadline: float, expected: str | None = None) -> bytes | None:
        if self.framing == "length10":
            return self._take_counted(deadline)
        wanted = expected.encode() if expected and self.framing == "none" else b""
        while True:
            pending = self.lines.pending
            if wanted and pending.startswith(wanted) and b"\n" not in pending[:len(wanted)]:
                # Unframed, the message wanted is there: no need to wait for quiet.
                del pending[:len(wanted)]
                return wanted
            raw = self.lines.take_line()
            if raw is not None:
                return raw  # a newline ends a message in every framing that has one
            if self.framing == "none" and self.lines.pending:
                # Unframed: the message is what arrived until the line went quiet (or
                # the connection ended: what came before the end is still a message).
                try:
                    while self._fill(min(deadline, time.monotonic() + QUIET_GAP)):
                        if b"\n" in self.lines.pending or (
                                wanted and self.lines.pending.startswith(wanted)):
                            break
                except Closed:
                    return self.lines.finish()
                if wanted and self.lines.pending.startswith(wanted):
                    continue
                if b"\n" not in self.lines.pending:
                    return self.lines.finish()
                continue
            if not self._fill(deadline):
                return None

    def _take_counted(self, deadline: float) -> bytes | None:
        pending = self.lines.pending
        while len(pending) < LENGTH_HEADER or len(pending) < LENGTH_HEADER + _length(pending):
            if not self._fill(deadline):
                return None
        size = _length(pending)
        message = bytes(pending[LENGTH_HEADER:LENGTH_HEADER + size])
        del pending[:LENGTH_HEADER + size]
        return message

    def _unglue(self, line: str, accept: Callable[[str], bool], deadline: float
                ) -> tuple[str, bool]:
        """Unframed, two messages sent quickly arrive as one: if a front part of
        ``line`` is the message wanted, or one to pass over, take it and leave the rest
        to be read next. Returns the line to judge and whether it is the one wanted."""
        for cut in range(1, len(line)):
            front = line[:cut]
            if accept(front):
                self.unread(line[cut:])
                return front, True
            if any(skip(front) for skip, _ in self.ignore):
                self._ignored(front)
                self.unread(line[cut:])
                rest = self.read_line(deadline)
                if rest is None:
                    return line, False
                return (rest, True) if accept(rest) else self._unglue(rest, accept, deadline)
        return line, False

    def read_message(self, expected: str, deadline: float, *, wire: str | None = None
                     ) -> str | None:
        """Unframed, when the message coming is known: as many bytes as ``expected``
        has on the wire (``wire``, where the server's names differ from the peers'),
        with no wait for the line to go quiet; None if they did not come by
        ``deadline``. Raises Closed if the stream ends first."""
        size = len((wire or expected).encode())
        while len(self.lines.pending) < size:
            if not self._fill(deadline):
                return None
        raw = bytes(self.lines.pending[:size])
        del self.lines.pending[:size]
        line = raw.decode("utf-8", "backslashreplace")
        if self.clock:
            line = CLOCK.sub(CLOCK_SHOWN, line)
        if self.named is not None:
            line = self._with_own_names(line)
        if not self.quiet:
            self.transcript.add(self.name, "received", line)
        return line

    def unread(self, text: str) -> None:
        """Put ``text`` back in front of what is still to be read (the rest of two
        unframed messages that arrived glued together)."""
        self.lines.pending[:0] = text.encode()

    def read_until(self, text: str, deadline: float) -> bool:
        """Consume bytes up to and including ``text`` (a prompt needs no newline)."""
        wanted = text.encode()
        while True:
            pending = self.lines.pending
            at = pending.find(wanted)
            if at >= 0:
                end = at + len(wanted)
                self.transcript.add(self.name, "received", show(bytes(pending[:end])))
                del pending[:end]
                return True
            if not self._fill(deadline):
                return False

    def expect_line(
        self,
        expected: str | None = None,
        *,
        accept: Callable[[str], bool] | None = None,
        what: str | None = None,
        why: str = "",
    ) -> str:
        """Wait for the next line and require it to equal ``expected`` (or satisfy
        ``accept``). ``what`` describes it for the student (a message, or the line's
        repr); ``why``, a sentence, is added to the failure's message."""
        desc = what or (repr(expected) if expected is not None else L_("a line"))
        shown = repr(expected) if expected is not None else desc  # the Expected: field
        start = time.monotonic()
        try:
            line = self.read_line(start + self.timing.hard, expected=expected)
            while line is not None and self._ignored(line):
                line = self.read_line(start + self.timing.hard, expected=expected)
        except Closed as closed:
            if closed.how == "closed":
                happened = L_("{name} expected {what}, but {other} closed the connection"
                              " first.", name=self.who, what=desc, other=self.other)
            elif closed.how == "reset":
                happened = L_("{name} expected {what}, but {other} reset the connection"
                              " first.", name=self.who, what=desc, other=self.other)
            else:
                happened = L_("{name} expected {what}, but the connection broke first"
                              " ({error}).", name=self.who, what=desc, error=self._broken)
            raise Missing(sentences(happened, why), expected=shown,
                          actual=self.how_it_ended()) from None
        if line is None:
            raise Hung(
                sentences(L_("{name} waited {seconds:.1f} s for {what}, but nothing arrived.",
                             name=self.who, seconds=self.timing.hard, what=desc), why),
                expected=shown,
                actual=L_("nothing"),
            )
        ok = (expected is None or line == expected) and (accept is None or accept(line))
        if not ok and self.framing == "none":
            wanted = accept or (lambda got: got == expected)
            try:
                line, ok = self._unglue(line, wanted, start + self.timing.hard)
            except Closed:
                ok = False
        if not ok:
            raise Mismatch(sentences(L_("{name} expected {what} as its next line, but got"
                                        " another line.", name=self.who, what=desc), why),
                           expected=shown, actual=line)
        elapsed = time.monotonic() - start
        if elapsed > self.timing.soft:
            raise TooSlow(
                sentences(L_("{name} got {what} only after {elapsed:.1f} s; it should take"
                             " well under {soft:.1f} s.", name=self.who, what=desc,
                             elapsed=elapsed, soft=self.timing.soft), why),
                expected=shown,
                actual=line,
            )
        return line

    def expect_closed(self, why: str = "") -> None:
        """Require the connection to end (close or reset) with no more lines first;
        ``why``, a sentence, is added to the failure's message."""
        deadline = time.monotonic() + self.timing.hard
        while True:
            try:
                line = self.read_line(deadline)
            except Closed:
                return
            if line is not None and self._ignored(line):
                continue
            if line is None:
                other = SUBJECTS.get(getattr(self.other, "msgid", None), self.other)
                raise Hung(
                    sentences(L_("{other} did not close {name}'s connection within"
                                 " {seconds:.1f} s.", other=other, name=self.who,
                                 seconds=self.timing.hard), why),
                    expected=L_("the connection closed"),
                    actual=L_("still open"),
                )
            raise Unexpected(
                sentences(L_("{name} got a line where the connection should have closed.",
                             name=self.who), why),
                expected=L_("the connection closed"), actual=line)

    def drain_closed(self, deadline: float) -> bool:
        """Read and discard until the stream ends; False if it did not by ``deadline``."""
        while True:
            try:
                if not self._fill(deadline):
                    return False
                self.lines.finish()
            except Closed:
                return True

    # -- ending --------------------------------------------------------------------

    def _discard_unread(self) -> None:
        """Read what has arrived and not been read: closing a socket with unread data
        sends a reset, not an end-of-stream, and a close must be a close."""
        if self.sock is None or self.sock.fileno() == -1 or self.eof:
            return
        try:
            self.sock.setblocking(False)
            while self.sock.recv(65536):
                pass
        except OSError:
            pass  # nothing more has arrived (or the connection is already gone)

    def reset(self) -> None:
        """Abort the connection with a TCP reset (what a killed process may cause)."""
        if self.sock is None:
            return
        self.transcript.add(self.name, "reset", L_("the connection (RST)"))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
        self.eof = "reset"

    def half_close(self) -> None:
        """End our side as :meth:`close` does (the server reads the end of the stream)
        but go on receiving. What the server sends afterwards then arrives, where after
        a close it would be answered with a reset, and a reset ends the server's reading
        thread whatever that thread does with the end of the stream."""
        if self.sock is None or self.sock.fileno() == -1 or self.eof:
            return
        self.transcript.add(self.name, "closed", L_("its side of the connection (FIN);"
                                                    " it still receives"))
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # already gone: the server has seen the end anyway

    def close(self, *, log: bool = True) -> None:
        if self.sock is None:
            return
        if log and self.sock.fileno() != -1 and not self.eof:
            self.transcript.add(self.name, "closed", L_("the connection"))
        self._discard_unread()
        try:
            self.sock.close()
        except OSError as error:  # pragma: no cover - close of a socket hardly fails
            if error.errno != errno.EBADF:
                raise
        if not self.eof:
            self.eof = "closed"
