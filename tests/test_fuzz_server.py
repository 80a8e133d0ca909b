"""Property-based tests of the reference server: random bytes, chunkings and interleavings.

Each test function starts its own reference server and runs every example against it (nicks
are unique per example). Delivery is known to be complete by markers, never by waiting:
a sender's lines arrive in order, so once a receiver has its marker it has the rest.

Invariants: the server stays up; every live client gets every line meant for it exactly
once and in order, and nothing else; joins and leaves balance, in the log and on the wire.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from types import ModuleType

import pytest
from chatpeer import REFERENCE, Peer, ServerProcess
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PEER_TIMEOUT = 3.0  # seconds one expected line may take; only a failing example waits it
_example = itertools.count()


def fresh(*names: str) -> list[str]:
    """Nicknames no earlier example of this server used."""
    number = next(_example)
    return [f"{name}{number}" for name in names]


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """``data`` split at the given offsets (taken modulo its length)."""
    offsets = sorted({p % (len(data) + 1) for p in points} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(offsets) if b > a]


# Every process a test here starts must be gone when it ends (fixture in conftest.py).
pytestmark = pytest.mark.usefixtures("no_process_left")


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    proc = ServerProcess(REFERENCE)
    yield proc
    assert proc.proc.poll() is None, f"server died: {proc.stderr[-10:]}"
    proc.stop()


def join(server: ServerProcess, *nicks: str) -> list[Peer]:
    """Register ``nicks`` one after the other; earlier ones read each join notice."""
    peers: list[Peer] = []
    for nick in nicks:
        peer = server.connect(timeout=PEER_TIMEOUT)
        peer.register(nick)
        for earlier in peers:
            earlier.expect(f"*** {nick} joined the chat")
        peers.append(peer)
    return peers


def leave_all(peers: list[Peer]) -> None:
    """Quit each peer in turn and wait for its end of file, so the server has processed
    every leave before the next example registers anybody (its clients would otherwise
    see this example's leave notices). A peer that cannot quit is just closed."""
    for peer in peers:
        try:
            peer.send("/quit")
            peer.expect_eof()
        except (OSError, TimeoutError, AssertionError):
            pass
        peer.close()


# -- framing -------------------------------------------------------------------------------

# Any character a line can hold (no line ends; no lone surrogates, which cannot be encoded).
TEXT_CHARS = st.characters(exclude_characters="\n\r", exclude_categories=["Cs"])
LINE_BYTES = st.binary(max_size=24).map(lambda b: b.replace(b"\n", b""))


@given(
    lines=st.lists(LINE_BYTES, max_size=12),
    crlf=st.lists(st.booleans(), min_size=12, max_size=12),
    tail=LINE_BYTES,
    points=st.lists(st.integers(min_value=0, max_value=400), max_size=30),
)
def test_line_buffer_random_chunkings(
    reference_protocol: ModuleType, lines: list[bytes], crlf: list[bool], tail: bytes,
    points: list[int],
) -> None:
    pairs = list(zip(lines, crlf, strict=False))
    data = b"".join(line + (b"\r\n" if use else b"\n") for line, use in pairs)
    data += tail
    buffer = reference_protocol.LineBuffer(max_line_bytes=26)
    got: list[bytes] = []
    for chunk in cut(data, points):
        got += buffer.feed(chunk)
    expected = [line[:-1] if line.endswith(b"\r") and not use else line
                for line, use in pairs]
    assert got == expected
    assert buffer.pending == tail


@given(
    lengths=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=6),
    points=st.lists(st.integers(min_value=0, max_value=300), max_size=20),
)
def test_line_buffer_refuses_exactly_the_long_lines(
    reference_protocol: ModuleType, lengths: list[int], points: list[int]
) -> None:
    limit = 16
    data = b"".join(b"x" * n + b"\n" for n in lengths)
    buffer = reference_protocol.LineBuffer(max_line_bytes=limit)
    got: list[bytes] = []
    too_long = max(lengths) > limit
    with pytest.raises(reference_protocol.LineTooLong) if too_long else contextlib.nullcontext():
        for chunk in cut(data, points):
            got += buffer.feed(chunk)
    short = list(itertools.takewhile(lambda n: n <= limit, lengths))
    assert got == [b"x" * n for n in short][: len(got)]


@given(texts=st.lists(st.text(TEXT_CHARS, max_size=10), max_size=8),
       points=st.lists(st.integers(min_value=0, max_value=300), max_size=20))
def test_utf8_survives_any_split(
    reference_protocol: ModuleType, texts: list[str], points: list[int]
) -> None:
    data = b"".join(reference_protocol.encode_line(text) for text in texts)
    buffer = reference_protocol.LineBuffer()
    got: list[bytes] = []
    for chunk in cut(data, points):
        got += buffer.feed(chunk)
    assert [reference_protocol.decode_line(line) for line in got] == texts


# -- a random byte stream from one client --------------------------------------------------

PIECES = [b"\n", b"\r", b"\r\n", b" ", b"/w ", b"/users", b"/quit", b"/nope", b"@obs", b"@me",
          b"hello", b"\xff", b"\xc3", "é李😀".encode(), b"\x1b[2J", b"\x00", b"\t", b"/"]
STREAM = st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=6)), max_size=40)


def model_stream(proto: ModuleType, data: bytes, me: str, obs: str):
    """What the sender and the observer must receive for ``data`` (a whole-lines stream),
    and whether the sender quit."""
    to_me: list[str] = []
    to_obs: list[str] = []
    for raw in data.split(b"\n")[:-1]:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        text = proto.decode_line(raw)
        if text is None:
            to_me.append(proto.error_line(proto.INVALID_UTF8))
        elif not text:
            continue
        elif text.startswith("/"):
            word, _, rest = text.partition(" ")
            if word == "/quit":
                to_obs.append(proto.left_line(me))
                return to_me, to_obs, True
            if word == "/users":
                to_me.append(proto.users_line([me, obs]))
            elif word == "/w":
                nick, _, message = rest.strip().partition(" ")
                message = message.strip()
                if not nick or not message:
                    to_me.append(proto.error_line(proto.WHISPER_USAGE))
                elif nick in (me, obs):
                    line = proto.whisper_line(me, proto.printable(message))
                    (to_me if nick == me else to_obs).append(line)
                else:
                    to_me.append(proto.error_line(f"no such user {proto.printable(nick)}"))
            else:
                to_me.append(proto.error_line(f"unknown command {proto.printable(word)}"))
        else:
            to_obs.append(proto.chat_line(me, proto.printable(text)))
    return to_me, to_obs, False


def test_random_byte_streams(server: ServerProcess, reference_protocol: ModuleType) -> None:
    proto = reference_protocol

    @FUZZ
    @given(pieces=STREAM, points=st.lists(st.integers(min_value=0, max_value=500), max_size=12))
    def run(pieces: list[bytes], points: list[int]) -> None:
        me, obs = fresh("fz", "obs")
        observer, fuzzer = join(server, obs, me)
        try:
            stream = b"".join(pieces).replace(b"@obs", obs.encode()).replace(b"@me", me.encode())
            data = stream + b"\n--end--\n"  # ends any partial line, then a marker
            to_me, to_obs, quit_ = model_stream(proto, data, me, obs)
            for chunk in cut(data, points):
                fuzzer.send_raw(chunk)
            if quit_:
                assert fuzzer.expect_eof() == to_me
                observer.expect_lines(to_obs)
            else:
                fuzzer.expect_lines(to_me)
                observer.expect_lines(to_obs)  # its last line is the marker
                fuzzer.send("/quit")
                assert fuzzer.expect_eof() == []
                observer.expect(proto.left_line(me))
        finally:
            leave_all([fuzzer, observer])

    run()
    assert server.proc.poll() is None


# -- several senders, random chunkings, random interleaving ----------------------------------

CHAT_TEXT = st.text(TEXT_CHARS, min_size=1, max_size=12).filter(
    lambda text: not text.startswith("/")
)


def test_interleaved_senders_get_everything_once_in_order(
    server: ServerProcess, reference_protocol: ModuleType
) -> None:
    proto = reference_protocol

    @FUZZ
    @given(
        scripts=st.lists(st.lists(CHAT_TEXT, max_size=6), min_size=2, max_size=4),
        points=st.lists(st.integers(min_value=0, max_value=400), max_size=30),
        order=st.lists(st.integers(min_value=0, max_value=3), max_size=80),
    )
    def run(scripts: list[list[str]], points: list[int], order: list[int]) -> None:
        nicks = fresh(*(f"s{i}_" for i in range(len(scripts))))
        peers = join(server, *nicks)
        try:
            chunks = [
                cut(b"".join(proto.encode_line(t) for t in [*script, "--end--"]), points)
                for script in scripts
            ]
            # Interleave the senders' chunks in the drawn order, then the rest in turn.
            for who in [*order, *itertools.chain(*([i] * len(c) for i, c in enumerate(chunks)))]:
                who %= len(peers)
                if chunks[who]:
                    peers[who].send_raw(chunks[who].pop(0))
            for index, receiver in enumerate(peers):
                got: dict[str, list[str]] = {nick: [] for nick in nicks}
                ended: set[str] = set()
                while len(ended) < len(peers) - 1:
                    line = receiver.read_line()
                    assert line is not None, f"{receiver!r} closed; saw {receiver.recent()}"
                    nick, sep, text = line.partition(": ")
                    assert sep and nick in got and nick != nicks[index], line
                    assert nick not in ended, f"{line!r} after the end marker of {nick}"
                    if text == "--end--":
                        ended.add(nick)
                    else:
                        got[nick].append(text)
                for sender, script in zip(nicks, scripts, strict=True):
                    if sender != nicks[index]:
                        assert got[sender] == [proto.printable(t) for t in script]
        finally:
            leave_all(peers)

    run()
    assert server.proc.poll() is None


# -- joins, leaves and resets in random order ----------------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("join")),
        st.tuples(st.sampled_from(["quit", "close", "reset", "users"]), st.integers(0, 9)),
        st.tuples(st.just("say"), st.integers(0, 9), CHAT_TEXT,
                  st.lists(st.integers(0, 60), max_size=4)),
        st.tuples(st.just("whisper"), st.integers(0, 9), st.integers(0, 9), CHAT_TEXT),
    ),
    max_size=14,
)


class Room:
    """The test's model of who is in the chat; every operation is read back in full
    by every client it concerns before the next one starts."""

    def __init__(self, server: ServerProcess, proto: ModuleType) -> None:
        self.server, self.proto = server, proto
        (self.obs_nick,) = fresh("obs")
        self.observer = join(server, self.obs_nick)[0]
        self.members: list[Peer] = [self.observer]
        self.everyone: list[Peer] = [self.observer]
        self.joins = 1
        self.leaves = 0

    def others(self, peer: Peer) -> list[Peer]:
        return [member for member in self.members if member is not peer]

    def pick(self, index: int) -> Peer:
        """A member other than the observer if there is one."""
        choices = self.members[1:] or self.members
        return choices[index % len(choices)]

    def apply(self, op: tuple) -> None:
        proto, kind = self.proto, op[0]
        if kind == "join":
            (nick,) = fresh("u")
            peer = self.server.connect(timeout=PEER_TIMEOUT)
            peer.register(nick)
            for other in self.members:
                other.expect(proto.joined_line(nick))
            self.members.append(peer)
            self.everyone.append(peer)
            self.joins += 1
        elif kind == "say":
            speaker, text, points = self.pick(op[1]), op[2], op[3]
            for chunk in cut(proto.encode_line(text), points):
                speaker.send_raw(chunk)
            for other in self.others(speaker):
                other.expect(proto.chat_line(speaker.nick, proto.printable(text)))
            if not self.others(speaker):  # nobody to read it: a round trip proves it done
                speaker.send("/users")
                speaker.expect(proto.users_line([speaker.nick]))
        elif kind == "whisper":
            speaker, target, text = self.pick(op[1]), self.members[op[2] % len(self.members)], op[3]
            speaker.send(f"/w {target.nick} {text}")
            if text.strip():
                target.expect(proto.whisper_line(speaker.nick, proto.printable(text.strip())))
            else:
                speaker.expect(proto.error_line(proto.WHISPER_USAGE))
        elif kind == "users":
            asker = self.pick(op[1])
            asker.send("/users")
            asker.expect(proto.users_line([member.nick for member in self.members]))
        elif len(self.members) > 1:  # quit, close or reset; the observer stays
            leaver = self.pick(op[1])
            if kind == "quit":
                leaver.send("/quit")
                assert leaver.expect_eof() == []
            elif kind == "close":
                leaver.close()
            else:
                leaver.reset()
            self.members.remove(leaver)
            self.leaves += 1
            for other in self.members:
                other.expect(proto.left_line(leaver.nick))

    def finish(self) -> None:
        """Nothing else is queued for anybody; everybody leaves, announced once each."""
        marker = "--final--"
        self.observer.send(marker)
        for member in self.others(self.observer):
            member.expect(self.proto.chat_line(self.obs_nick, marker))
        remaining = self.others(self.observer)
        while remaining:
            member = remaining.pop(0)
            member.send("/quit")
            assert member.expect_eof() == []
            self.leaves += 1
            for other in [self.observer, *remaining]:
                other.expect(self.proto.left_line(member.nick))
        self.observer.send("/quit")
        assert self.observer.expect_eof() == []
        self.leaves += 1
        # The server logs a leave before announcing it; the observer's own is the last.
        self.server.wait_for_output(lambda line: line.startswith(f"[leave] {self.obs_nick} "))


def test_random_joins_leaves_and_resets(server: ServerProcess, reference_protocol: ModuleType
                                        ) -> None:
    @FUZZ
    @given(ops=OPS)
    def run(ops: list[tuple]) -> None:
        room = Room(server, reference_protocol)
        try:
            for op in ops:
                room.apply(op)
            room.finish()
        finally:
            leave_all(room.everyone)
        nicks = {peer.nick for peer in room.everyone}
        joined = [line for line in server.log_lines("[join] ") if line.split()[1] in nicks]
        left = [line for line in server.log_lines("[leave] ") if line.split()[1] in nicks]
        assert len(joined) == room.joins == len(nicks)
        assert len(left) == room.leaves == len(nicks)

    run()
    assert server.proc.poll() is None
