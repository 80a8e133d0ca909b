"""The chat protocol as pure functions: framing, nicknames and the lines the server writes.

Nothing in this module touches a socket, so every rule of PROTOCOL.md that is about
*bytes and text* can be tested with plain function calls. The server and the client
import it; the network code stays in ``server.py`` and ``client.py``.

    >>> buffer = LineBuffer()
    >>> buffer.feed(b"hel")
    []
    >>> buffer.feed(b"lo\\nsecond li")
    [b'hello']
    >>> buffer.feed(b"ne\\r\\n")
    [b'second line']
"""

from __future__ import annotations

MAX_LINE_BYTES = 4096  # longest line (without "\n") a peer may send
MAX_NICK_LENGTH = 20
NICK_PUNCTUATION = "_-."


class LineTooLong(Exception):
    """The peer sent more than MAX_LINE_BYTES without a newline."""


class LineBuffer:
    """Turns a stream of byte chunks into complete lines.

    TCP delivers bytes, not messages: one ``recv()`` may hold half a line or three
    lines. We keep what we received in a buffer and hand out only complete lines.
    Lines are returned as *bytes*: decoding must wait until a line is complete,
    because a chunk may end in the middle of a multi-byte UTF-8 character.
    """

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.max_line_bytes = max_line_bytes
        self._pending = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add received bytes; return the lines they completed, without line endings."""
        # TODO(step 02): corte os bytes do buffer em linhas completas. Veja notebooks/pt_BR/02_framing.ipynb.
        raise NotImplementedError('step 02: corte os bytes do buffer em linhas completas (veja notebooks/pt_BR/02_framing.ipynb)')

    @property
    def pending(self) -> bytes:
        """Bytes received after the last complete line."""
        return bytes(self._pending)


def encode_line(text: str) -> bytes:
    """The bytes that carry one line of text on the wire."""
    return (text + "\n").encode("utf-8")


def decode_line(line: bytes) -> str | None:
    """Decode one complete line; None when it is not valid UTF-8."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return None


# Every control character (C0 and C1, and DEL) mapped to its visible escape, tab excepted.
_ESCAPES = {
    code: f"\\x{code:02x}"
    for code in (*range(0x00, 0x20), *range(0x7F, 0xA0))
    if code != ord("\t")
}


def printable(text: str) -> str:
    """Replace control characters with visible escapes such as ``\\x1b``.

    A chat line is shown on other people's terminals. Left raw, ESC starts a terminal
    control sequence (colours, moving the cursor, clearing the screen), so one user
    could rewrite what everybody else sees. Tabs are harmless and kept.
    """
    # str.translate looks each character up in the table in C: a few microseconds for
    # a 4 KiB line, about 100 times faster than a Python loop over its characters.
    return text.translate(_ESCAPES)


def nickname_error(nick: str) -> str | None:
    """Why ``nick`` is not a valid nickname, or None when it is."""
    # TODO(step 07): recuse apelidos vazios, longos demais ou malformados. Veja notebooks/pt_BR/07_extensions.ipynb.
    return None  # every nickname is accepted until you write the rules


# The lines the server writes. Every notice starts with "*** ", which no nickname can,
# so a client can always tell a notice from a chat line.


def chat_line(nick: str, text: str) -> str:
    return f"{nick}: {text}"


def whisper_line(sender: str, text: str) -> str:
    return f"{sender} (whisper): {text}"


def history_line(nick: str, text: str) -> str:
    return f"*** history {nick}: {text}"


def welcome_line(nick: str) -> str:
    return f"*** welcome {nick}"


def joined_line(nick: str) -> str:
    return f"*** {nick} joined the chat"


def left_line(nick: str) -> str:
    return f"*** {nick} left the chat"


def users_line(nicks: list[str]) -> str:
    return "*** online: " + ", ".join(sorted(nicks))


def error_line(reason: str) -> str:
    return f"*** error: {reason}"


SHUTDOWN_LINE = "*** server shutting down"
LINE_TOO_LONG = "line too long"
INVALID_UTF8 = "invalid UTF-8, line ignored"
WHISPER_USAGE = "usage: /w <nick> <text>"
