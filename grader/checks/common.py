"""Helpers shared by the check modules: hints and small scenario pieces."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..actors.fake_client import Peer
from ..actors.student_client import ClientSession
from ..context import Context
from ..failures import Hung, Mismatch, Unexpected
from ..harness.servers import HOST
from ..messages import L_
from ..probes.counts import poll_until, thread_ids
from ..profile import log_pattern
from ..registry import Hint


def hint(section: str, protocol: str = "", extra: str = "", *, step: int | None = None) -> Hint:
    """What to read when the check fails: a section of its step's notebook (or of
    ``step``'s), a PROTOCOL.md paragraph, a tip (see :class:`grader.registry.Hint`)."""
    return Hint(section, protocol, extra, step)


Matcher = str | Callable[[str], bool]


@contextmanager
def impatient(*peers: Peer | ClientSession) -> Iterator[None]:
    """Within the block, the ``peers`` (fake clients, or a client program's screen) wait
    for a line only until the soft deadline (see
    :meth:`grader.timing.Timing.impatient`): a line that comes later fails as too
    slow anyway, so a missing announcement is reported without waiting any longer."""
    saved = [peer.timing for peer in peers]
    for peer in peers:
        peer.timing = peer.timing.impatient()
    try:
        yield
    finally:
        for peer, timing in zip(peers, saved, strict=True):
            peer.timing = timing


def _pred(m: Matcher) -> Callable[[str], bool]:
    return (lambda line: line == m) if isinstance(m, str) else m


def expect_next(
    peer: Peer,
    expected: Matcher,
    *,
    forbidden: list[tuple[Matcher, str]] = (),
    optional: list[Matcher] = (),
    what: str | None = None,
    why: str = "",
) -> str:
    """Require ``expected`` as the next line, skipping lines matching ``optional`` (each
    at most once). A line matching a ``forbidden`` entry fails as Unexpected with its
    message: that is how a check tells "an echo came first" from "a wrong line"."""
    accept = _pred(expected)
    desc = what or (repr(expected) if isinstance(expected, str) else None)
    bad = [(_pred(m), msg) for m, msg in forbidden]
    optional_left = [_pred(m) for m in optional]
    if peer.framing == "none" and optional_left:
        # Unframed, an optional line may come glued to the one expected: the peer
        # passes over it (once) as it cuts the two apart.
        extra = [(test, L_("a line that may come here")) for test in optional_left]
        peer.ignore[:0] = extra
        try:
            return expect_next(peer, expected, forbidden=forbidden, what=what, why=why)
        finally:
            peer.ignore = [entry for entry in peer.ignore if entry not in extra]
    while True:
        try:
            return peer.expect_line(accept=accept, what=desc, why=why)
        except Mismatch as mismatch:
            line = mismatch.actual or ""
            for test, message in bad:
                if test(line):
                    raise Unexpected(message, expected=mismatch.expected, actual=line) from None
            for i, test in enumerate(optional_left):
                if test(line):
                    del optional_left[i]
                    break
            else:
                raise


def is_chatlab(ctx: Context) -> bool:
    """Whether the profile is this kit's own protocol, whose every line PROTOCOL.md fixes."""
    return ctx.profile.missing("chatlab") is None


def error_reply(ctx: Context, reason: str) -> tuple[Callable[[str], bool], str]:
    """How to recognise the server's answer ``*** error: <reason>``, and how to name it.

    Under the chatlab profile the whole line is the one PROTOCOL.md gives; under another
    profile, whose wording this kit does not know, any line with its error prefix."""
    prefix = ctx.profile.error_prefix
    if is_chatlab(ctx):
        line = prefix + reason
        return (lambda got: got == line), repr(line)
    return (lambda got: got.startswith(prefix)), L_("a line starting with {prefix}",
                                                    prefix=repr(prefix))


def send_registration(ctx: Context, peer: Peer, nick: str, more: bytes = b"") -> None:
    """Like :meth:`Context.handshake`, with ``more`` bytes in the same ``send()`` right
    after the registration line (the first chat line, say)."""
    greeting = ctx.profile.greeting
    if greeting and not peer.read_until(greeting, time.monotonic() + ctx.timing.hard):
        raise Hung(L_("{peer} waited for the server's greeting {greeting}.", peer=peer.name,
                      greeting=repr(greeting)),
                   expected=repr(greeting), actual="nothing")
    peer.send(peer.encode(ctx.profile.register_line(nick)) + more)


def quit_peer(ctx: Context, peer: Peer) -> None:
    """Leave with the profile's quit command and require the server to close."""
    peer.send_line(ctx.profile.quit)
    if ctx.profile.quit_reply:
        peer.expect_line(ctx.profile.quit_reply, what=L_("the answer to {quit}",
                                                         quit=repr(ctx.profile.quit)))
    peer.expect_closed(L_("After {quit} the server should close the connection.",
                          quit=repr(ctx.profile.quit)))
    peer.close()


def await_threads_gone(ctx: Context, threads: set[int], deadline: float) -> bool:
    """Event: every thread in ``threads`` has ended (or the server has exited). A thread
    that dies of an exception ends only after printing its traceback, so once this is
    True any such traceback is written. False if some still run at ``deadline``."""
    program = ctx.server.program
    gone = poll_until(lambda: not threads & thread_ids(program.pid), deadline, program)
    return gone is not False


def await_leave_logged(ctx: Context, nick: str, port: int, since: int,
                       deadline: float) -> bool:
    """Event: the server logged ``nick``'s leave (from ``port``), in a line numbered
    ``since`` or later. False at ``deadline``, or when the profile has no leave log."""
    if not ctx.profile.log_leave:
        return False
    pattern = log_pattern(ctx.profile.log_leave, nick=ctx.real_name(nick), ip=HOST, port=port)
    return ctx.server.program.wait_line(pattern, deadline, since=since) is not None


def output_barrier(ctx: Context, nick: str) -> Peer | None:
    """Register ``nick`` and wait for the server's ``[join]`` line for it. Output is one
    pipe read in order, so everything the server printed before (a traceback of a thread
    that has ended, say) has been read by then. Returns the peer (None without a log)."""
    if not (ctx.profile.log_join and ctx.profile.log_leave):
        return None
    program = ctx.server.program
    since = program.line_count()
    peer = ctx.register(nick)
    pattern = log_pattern(ctx.profile.log_join, nick=ctx.real_name(nick), ip=HOST,
                          port=peer.local_port)
    program.wait_line(pattern, time.monotonic() + ctx.timing.hard, since=since)
    return peer
