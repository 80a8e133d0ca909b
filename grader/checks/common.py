"""Helpers shared by the check modules: hints and small scenario pieces."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psutil

from ..client_session import ClientSession
from ..context import Context
from ..failures import Mismatch, Unexpected
from ..peers import Peer
from ..procs import family
from ..profile import log_pattern
from ..servers import HOST

NOTEBOOKS = {
    0: "00_tour", 1: "01_sockets", 2: "02_framing", 3: "03_threads", 4: "04_broadcast",
    5: "05_client", 6: "06_robustness", 7: "07_extensions",
}


def hint(step: int, section: str, protocol: str = "", extra: str = "") -> str:
    """'Read notebooks/NN_x.ipynb, section 'S'; PROTOCOL.md §P.' plus an optional tip."""
    text = f"Read notebooks/{NOTEBOOKS[step]}.ipynb, section '{section}'"
    if protocol:
        text += f", and PROTOCOL.md {protocol}"
    text += "."
    if extra:
        text += " " + extra
    return text


Matcher = str | Callable[[str], bool]


@contextmanager
def impatient(*peers: Peer | ClientSession) -> Iterator[None]:
    """Within the block, the ``peers`` (fake clients, or a client program's screen) wait
    for a line only until the soft deadline (see
    :meth:`grader.calibrate.Timing.impatient`): a line that comes later fails as too
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
    while True:
        try:
            return peer.expect_line(accept=accept, what=desc, why=why)
        except Mismatch as mismatch:
            line = mismatch.actual or ""
            for test, message in bad:
                if test(line):
                    raise Unexpected(line, message, expected=mismatch.expected) from None
            for i, test in enumerate(optional_left):
                if test(line):
                    del optional_left[i]
                    break
            else:
                raise


def quit_peer(ctx: Context, peer: Peer) -> None:
    """Leave with the profile's quit command and require the server to close."""
    peer.send_line(ctx.profile.quit)
    peer.expect_closed(f"After {ctx.profile.quit!r} the server should close the connection.")
    peer.close()


def thread_ids(pid: int) -> set[int]:
    """The ids of every thread of process ``pid`` and of its children (empty if gone)."""
    ids: set[int] = set()
    for proc in family(pid):
        try:
            ids.update(t.id for t in proc.threads())
        except psutil.Error:
            continue
    return ids


def await_threads_gone(ctx: Context, threads: set[int], deadline: float) -> bool:
    """Event: every thread in ``threads`` has ended (or the server has exited). A thread
    that dies of an exception ends only after printing its traceback, so once this is
    True any such traceback is written. False if some still run at ``deadline``."""
    program = ctx.server.program
    while True:
        if not threads or program.poll() is not None:
            return True
        alive = threads & thread_ids(program.pid)
        if not alive:
            return True
        if time.monotonic() >= deadline:
            return False
        if program.wait_exit(0.01) is not None:  # polling thread lists: no event for them
            return True
        threads = alive


def output_barrier(ctx: Context, nick: str) -> Peer | None:
    """Register ``nick`` and wait for the server's ``[join]`` line for it. Output is one
    pipe read in order, so everything the server printed before (a traceback of a thread
    that has ended, say) has been read by then. Returns the peer (None without a log)."""
    if not (ctx.profile.log_join and ctx.profile.log_leave):
        return None
    program = ctx.server.program
    since = program.line_count()
    peer = ctx.register(nick)
    pattern = log_pattern(ctx.profile.log_join, nick=nick, ip=HOST, port=peer.local_port)
    program.wait_line(pattern, time.monotonic() + ctx.timing.hard, since=since)
    return peer
