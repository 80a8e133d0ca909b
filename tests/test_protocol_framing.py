"""Unit tests of reference_solution/protocol.py: framing, nicknames, escaping, line formats."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st


@pytest.fixture(scope="session")
def proto(reference_protocol):
    return reference_protocol


def feed_all(buffer, chunks) -> list[bytes]:
    lines: list[bytes] = []
    for chunk in chunks:
        lines += buffer.feed(chunk)
    return lines


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


MULTIBYTE = "ação 李 😀"


# -- LineBuffer ----------------------------------------------------------------------------


def test_every_split_point_of_a_multibyte_line(proto):
    data = (MULTIBYTE + "\n").encode()
    for cut in range(len(data) + 1):
        buffer = proto.LineBuffer()
        lines = feed_all(buffer, [data[:cut], data[cut:]])
        assert lines == [MULTIBYTE.encode()], f"split at byte {cut}"
        assert proto.decode_line(lines[0]) == MULTIBYTE
        assert buffer.pending == b""


def test_every_chunk_size(proto):
    text = f"{MULTIBYTE}\nsecond\r\n\nthird {MULTIBYTE}\n"
    data = text.encode()
    for size in range(1, len(data) + 1):
        lines = feed_all(proto.LineBuffer(), chunked(data, size))
        assert lines == [MULTIBYTE.encode(), b"second", b"", f"third {MULTIBYTE}".encode()], size


def test_byte_by_byte_keeps_a_partial_line_pending(proto):
    buffer = proto.LineBuffer()
    assert feed_all(buffer, [bytes([b]) for b in b"hel"]) == []
    assert buffer.pending == b"hel"
    assert buffer.feed(b"lo\nwor") == [b"hello"]
    assert buffer.pending == b"wor"


def test_carriage_return_before_newline_is_dropped(proto):
    assert proto.LineBuffer().feed(b"hi\r\n") == [b"hi"]
    # split between \r and \n
    buffer = proto.LineBuffer()
    assert buffer.feed(b"hi\r") == []
    assert buffer.feed(b"\n") == [b"hi"]


def test_only_the_last_carriage_return_is_dropped(proto):
    assert proto.LineBuffer().feed(b"a\rb\r\r\n") == [b"a\rb\r"]


def test_several_lines_in_one_chunk(proto):
    assert proto.LineBuffer().feed(b"one\ntwo\r\nthree\n\nfour") == [b"one", b"two", b"three", b""]


def test_empty_chunk_returns_nothing(proto):
    assert proto.LineBuffer().feed(b"") == []


# Any text that UTF-8 can carry (no lone surrogates), without line endings.
LINE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=40
)


@given(
    lines=st.lists(LINE_TEXT),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=30),
    crlf=st.booleans(),
)
def test_random_chunkings_reassemble_the_same_lines(proto, lines, cuts, crlf):
    ending = "\r\n" if crlf else "\n"
    data = "".join(line + ending for line in lines).encode()
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    buffer = proto.LineBuffer()
    received = feed_all(buffer, chunks)
    assert [proto.decode_line(line) for line in received] == lines
    assert buffer.pending == b""


def test_line_of_exactly_the_limit_is_accepted(proto):
    limit = proto.MAX_LINE_BYTES
    assert limit == 4096
    assert proto.LineBuffer().feed(b"a" * limit + b"\n") == [b"a" * limit]
    assert proto.LineBuffer().feed(b"a" * limit + b"\r\n") == [b"a" * limit]


def test_limit_counts_bytes_not_characters(proto):
    two_bytes = "é" * (proto.MAX_LINE_BYTES // 2)  # 4096 bytes
    assert proto.LineBuffer().feed((two_bytes + "\n").encode()) == [two_bytes.encode()]
    with pytest.raises(proto.LineTooLong):
        proto.LineBuffer().feed((two_bytes + "é\n").encode())


def test_line_one_byte_over_the_limit_is_an_error(proto):
    with pytest.raises(proto.LineTooLong):
        proto.LineBuffer().feed(b"a" * (proto.MAX_LINE_BYTES + 1) + b"\n")


def test_line_over_the_limit_in_small_chunks_is_an_error(proto):
    buffer = proto.LineBuffer()
    with pytest.raises(proto.LineTooLong):
        feed_all(buffer, chunked(b"a" * (proto.MAX_LINE_BYTES + 1) + b"\n", 100))


def test_limit_without_newline_waits_for_a_possible_carriage_return(proto):
    buffer = proto.LineBuffer()
    assert buffer.feed(b"a" * proto.MAX_LINE_BYTES + b"\r") == []
    assert buffer.feed(b"\n") == [b"a" * proto.MAX_LINE_BYTES]


def test_too_many_bytes_without_newline_is_an_error(proto):
    buffer = proto.LineBuffer()
    assert buffer.feed(b"a" * proto.MAX_LINE_BYTES) == []
    with pytest.raises(proto.LineTooLong):
        buffer.feed(b"aa")


def test_4097_bytes_without_newline_are_already_an_error(proto):
    with pytest.raises(proto.LineTooLong):
        proto.LineBuffer().feed(b"a" * (proto.MAX_LINE_BYTES + 1))


def test_one_megabyte_without_newline_is_an_error_and_not_kept(proto):
    buffer = proto.LineBuffer()
    with pytest.raises(proto.LineTooLong):
        feed_all(buffer, chunked(b"x" * 1_000_000, 4096))


def test_custom_limit(proto):
    buffer = proto.LineBuffer(max_line_bytes=3)
    assert buffer.feed(b"abc\n") == [b"abc"]
    with pytest.raises(proto.LineTooLong):
        buffer.feed(b"abcd\n")


def test_lines_are_bytes_and_invalid_utf8_decodes_to_none(proto):
    (line,) = proto.LineBuffer().feed(b"\xff\xfe bad\n")
    assert isinstance(line, bytes)
    assert proto.decode_line(line) is None
    assert proto.decode_line("ação".encode()) == "ação"


def test_encode_line(proto):
    assert proto.encode_line("李 😀") == "李 😀\n".encode()


# -- nicknames -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nick",
    [
        *("ana", "João", "Ωμέγα", "李雷", "a", "x" * 20, "a_b-c.d", "R2D2", "Ünïcødé"),
        *("R2-D2", "dr.who_2", "Straße", "ｂｏｂ", "10", "_", "देव", "สมศักดิ์", "e\u0301mile"),
    ],
)
def test_valid_nicknames(proto, nick):
    assert proto.nickname_error(nick) is None


@pytest.mark.parametrize(
    ("nick", "reason"),
    [
        ("", "nickname must not be empty"),
        ("x" * 21, "nickname longer than 20 characters"),
        ("ana bob", "nickname may only contain letters, digits, _ - ."),
        (" ana", "nickname may only contain letters, digits, _ - ."),
        ("ana:", "nickname may only contain letters, digits, _ - ."),
        ("a*b", "nickname may only contain letters, digits, _ - ."),
        ("a/b", "nickname may only contain letters, digits, _ - ."),
        ("ana\tb", "nickname may only contain letters, digits, _ - ."),
        ("ana\x00", "nickname may only contain letters, digits, _ - ."),
        ("ana\x7f", "nickname may only contain letters, digits, _ - ."),
        ("ana\x9b", "nickname may only contain letters, digits, _ - ."),
        ("\x1b[31mred", "nickname may only contain letters, digits, _ - ."),
        ("***", "nickname may only contain letters, digits, _ - ."),
        ("\u20ddana", "nickname may only contain letters, digits, _ - ."),  # enclosing mark
        ("\u3164", "nickname contains an invisible character (U+3164)"),
        ("ana\u3164", "nickname contains an invisible character (U+3164)"),
        ("\uffa0", "nickname contains an invisible character (U+FFA0)"),
        ("ana\u200b", "nickname contains an invisible character (U+200B)"),
        ("an\u202ea", "nickname contains an invisible character (U+202E)"),
        ("ana\ufe0f", "nickname contains an invisible character (U+FE0F)"),
        ("ana\U000e0041", "nickname contains an invisible character (U+E0041)"),
        ("\u0301", "nickname must not start with an accent or other mark (U+0301)"),
        ("\u0301\u0308\u0301", "nickname must not start with an accent or other mark (U+0301)"),
        ("\u0947ana", "nickname must not start with an accent or other mark (U+0947)"),
    ],
)
def test_invalid_nicknames(proto, nick, reason):
    assert proto.nickname_error(nick) == reason


def test_nickname_length_counts_characters_not_bytes(proto):
    assert proto.nickname_error("李" * 20) is None
    assert proto.nickname_error("李" * 21) is not None


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Ana", "ana"),
        ("ANA", "ana"),
        ("ｂｏｂ", "bob"),  # full-width letters
        ("Ｂｏｂ", "BOB"),
        ("Straße", "STRASSE"),
        ("João", "Jo\u0061\u0303o"),  # ã as one character, and as a + combining tilde
        ("Ωμέγα", "ΩΜΈΓΑ"),
        ("ℌ", "h"),
    ],
)
def test_nick_key_makes_look_alikes_equal(proto, one, other):
    assert proto.nick_key(one) == proto.nick_key(other)


@pytest.mark.parametrize(("one", "other"), [("ana", "anna"), ("ana", "ana_"), ("bob", "b0b")])
def test_nick_key_keeps_different_nicknames_apart(proto, one, other):
    assert proto.nick_key(one) != proto.nick_key(other)


# -- printable -----------------------------------------------------------------------------


def test_printable_escapes_escape_and_c0(proto):
    assert proto.printable("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert proto.printable("a\x00b\x07c\rd") == "a\\x00b\\x07c\\x0dd"


def test_printable_escapes_del_and_c1(proto):
    assert proto.printable("\x7f\x80\x9b\x9f") == "\\x7f\\x80\\x9b\\x9f"


def test_printable_keeps_tabs_and_non_ascii(proto):
    text = f"tab\there {MULTIBYTE} \xa0nbsp Ωμέγα"
    assert proto.printable(text) == text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("abc\u202edcba", "abc\\u202edcba"),
        ("\u202a\u202b\u202c\u202d", "\\u202a\\u202b\\u202c\\u202d"),
        ("\u2066\u2067\u2068\u2069", "\\u2066\\u2067\\u2068\\u2069"),
        ("\u200b\u200c\u200d\u200e\u200f", "\\u200b\\u200c\\u200d\\u200e\\u200f"),
        ("a\u2028b\u2029c", "a\\u2028b\\u2029c"),
        ("\ufeffbom", "\\ufeffbom"),
        ("soft\xadhyphen", "soft\\xadhyphen"),
        ("tag\U000e0001\U000e0041", "tag\\U000e0001\\U000e0041"),
        ("mixed é \x1b[1m \u202e 李", "mixed é \\x1b[1m \\u202e 李"),
    ],
)
def test_printable_escapes_invisible_format_characters(proto, text, shown):
    assert proto.printable(text) == shown


def test_printable_escapes_every_format_and_separator_character_of_this_python(proto):
    # The table in protocol.py is written out; Unicode may add such characters later.
    missed = [
        f"U+{code:04X}"
        for code in range(0x110000)
        if unicodedata.category(chr(code)) in ("Cf", "Zl", "Zp")
        and proto.printable(chr(code)) == chr(code)
    ]
    assert missed == [], f"add these to _FORMAT_RANGES (Unicode {unicodedata.unidata_version})"


def test_printable_keeps_emoji_variation_selectors_and_no_break_spaces(proto):
    text = "❤\ufe0f ok\xa0then 👍🏽 \u3000"
    assert proto.printable(text) == text


@given(st.text())
def test_printable_output_has_no_control_or_format_characters(proto, text):
    out = proto.printable(text)
    assert all(c == "\t" or unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp") for c in out)


# -- line formats --------------------------------------------------------------------------


def test_line_formats(proto):
    assert proto.chat_line("ana", "hi: there") == "ana: hi: there"
    assert proto.whisper_line("bob", "psst") == "bob (whisper): psst"
    assert proto.history_line("ana", "old") == "*** history ana: old"
    assert proto.welcome_line("João") == "*** welcome João"
    assert proto.joined_line("bob") == "*** bob joined the chat"
    assert proto.left_line("bob") == "*** bob left the chat"
    assert proto.users_line(["bob", "ana", "Zed", "Éva"]) == "*** online: Zed, ana, bob, Éva"
    assert proto.error_line("line too long") == "*** error: line too long"
    assert proto.SHUTDOWN_LINE == "*** server shutting down"
    assert proto.error_line(proto.LINE_TOO_LONG) == "*** error: line too long"
    assert proto.error_line(proto.INVALID_UTF8) == "*** error: invalid UTF-8, line ignored"
    assert proto.error_line(proto.WHISPER_USAGE) == "*** error: usage: /w <nick> <text>"


def test_notices_cannot_be_mistaken_for_chat_lines(proto):
    # A chat line starts with a nickname, and no valid nickname starts with "*".
    assert proto.nickname_error("***") is not None
    for notice in (proto.welcome_line("a"), proto.left_line("a"), proto.history_line("a", "b")):
        assert notice.startswith("*** ")
