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

import unicodedata

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


# Invisible characters that change how the text around them is shown: Unicode's format
# characters (category Cf) and its line and paragraph separators (Zl, Zp). U+202E
# RIGHT-TO-LEFT OVERRIDE, for one, shows the rest of a line backwards, so "ana: hi" can
# be made to look like anything. The list is written out because asking unicodedata at
# import time would cost a tenth of a second per program start; it includes the Egyptian
# format controls Unicode 15 added, and a test checks that it covers every such
# character known to the Python running it.
_FORMAT_RANGES = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x0600, 0x0605),  # Arabic number signs
    (0x061C, 0x061C),  # Arabic letter mark
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),  # Mongolian vowel separator
    (0x200B, 0x200F),  # zero-width space, (non-)joiner, left-to-right and right-to-left marks
    (0x2028, 0x2029),  # line and paragraph separators (Zl, Zp)
    (0x202A, 0x202E),  # bidirectional embeddings and overrides
    (0x2060, 0x2064),  # word joiner, invisible operators
    (0x2066, 0x206F),  # bidirectional isolates, deprecated format characters
    (0xFEFF, 0xFEFF),  # zero-width no-break space (byte order mark)
    (0xFFF9, 0xFFFB),  # interlinear annotation
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),  # Egyptian hieroglyph format controls
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0001, 0xE0001),  # language tag
    (0xE0020, 0xE007F),  # tag characters
)


def _escape(code: int) -> str:
    """The visible form of one character, as Python writes it: ``\\x1b``, ``\\u202e``."""
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


# Every control character (C0 and C1, and DEL), tab excepted, and every format character
# mapped to its visible escape.
_ESCAPES = {
    code: _escape(code)
    for code in (
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        *(code for first, last in _FORMAT_RANGES for code in range(first, last + 1)),
    )
    if code != ord("\t")
}


def printable(text: str) -> str:
    """Replace control and invisible format characters with visible escapes.

    A chat line is shown on other people's terminals. Left raw, ESC starts a terminal
    control sequence (colours, moving the cursor, clearing the screen), so one user
    could rewrite what everybody else sees; U+202E makes the rest of the line read
    backwards, and zero-width characters hide inside words. They become ``\\x1b``,
    ``\\u202e``, ``\\u200b``. Tabs are harmless and kept.
    """
    # str.translate looks each character up in the table in C. For ASCII text it has a
    # fast path (about 5 microseconds for 4 KiB); for other text it is slower, some 150
    # microseconds, so there we first ask str.isprintable() (also C, a few microseconds).
    # It is false for every character in the table, all of them Unicode "Other" or
    # "Separator", so when it is true there is nothing to escape. (It is false for a
    # few harmless ones too, such as tab and no-break space: translate keeps those.)
    if not text.isascii() and text.isprintable():
        return text
    return text.translate(_ESCAPES)


# Characters that show nothing at all: Unicode's Default_Ignorable_Code_Point property
# (DerivedCoreProperties.txt), which says what a renderer may draw as nothing. Most are
# format characters, but not all: U+3164 HANGUL FILLER is a *letter* (str.isalnum() is
# true), so "ana" and "ana" followed by it look the same. Unassigned code points in
# these ranges are included, as the property does.
_INVISIBLE = frozenset(
    code
    for first, last in (
        (0x00AD, 0x00AD),
        (0x034F, 0x034F),  # combining grapheme joiner
        (0x061C, 0x061C),
        (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
        (0x17B4, 0x17B5),
        (0x180B, 0x180F),  # Mongolian variation selectors
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x206F),
        (0x3164, 0x3164),  # Hangul filler
        (0xFE00, 0xFE0F),  # variation selectors
        (0xFEFF, 0xFEFF),
        (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
        (0xFFF0, 0xFFF8),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0000, 0xE0FFF),  # tags, variation selectors supplement
    )
    for code in range(first, last + 1)
)


def is_mark(char: str) -> bool:
    """True for an accent or vowel sign written as a character of its own.

    Such a *combining mark* is drawn on the character before it: "e" followed by U+0301
    shows as "é", and Devanagari writes most vowels this way ("देव" is three characters,
    the middle one a mark). str.isalnum() is false for marks.
    """
    return unicodedata.category(char) in ("Mn", "Mc")


def nick_key(nick: str) -> str:
    """The form in which two nicknames are compared: equal keys are the same nickname.

    NFKC normalisation makes characters that are only different ways of writing the same
    thing equal (full-width "ｂｏｂ" and "bob", "é" as one character or as "e" plus an
    accent); case folding then makes "Ana", "ANA" and "ana" equal (and "Straße" and
    "STRASSE"). Folding can undo the normalisation, so it is applied once more.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", nick).casefold())


def hidden_character_error(nick: str) -> str | None:
    """Why ``nick`` would not look like what it is, or None.

    Two rules that keep one person from passing as another: no invisible character (an
    "ana" with a HANGUL FILLER after it looks exactly like "ana"), and no combining mark
    at the start, where it has no letter to sit on (a nickname made only of marks shows
    as nothing, or as accents floating over the text before it).
    """
    for char in nick:
        if ord(char) in _INVISIBLE:
            return f"nickname contains an invisible character (U+{ord(char):04X})"
    if nick and is_mark(nick[0]):
        return f"nickname must not start with an accent or other mark (U+{ord(nick[0]):04X})"
    return None


def nickname_error(nick: str) -> str | None:
    """Why ``nick`` is not a valid nickname, or None when it is."""
    # Given: characters that cannot be seen are refused whatever the other rules say.
    hidden = hidden_character_error(nick)
    if hidden is not None:
        return hidden
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
SERVER_FULL = "server full, try again later"
TOO_MANY_UNNAMED = "too many connections from your address have not sent a nickname yet"
LINE_TOO_LONG = "line too long"
INVALID_UTF8 = "invalid UTF-8, line ignored"
WHISPER_USAGE = "usage: /w <nick> <text>"
