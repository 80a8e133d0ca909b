"""Robustness: slow readers, leaks, busy loops."""

from __future__ import annotations

import threading
import time

import psutil

from ..actors.fake_client import Closed, Peer
from ..context import Context
from ..failures import CheckFailure, Crashed, Hung, Mismatch, Missing, ResourceLimit
from ..messages import L_, sentences
from ..model import Level
from ..probes.counts import family, poll_until, thread_ids, usage
from ..probes.cpu import Spinner, demand, snapshot
from ..registry import check
from .common import await_leave_logged, await_threads_gone, hint

# Clients that never read, and a burst to them: 8 MB is more than the kernel's buffers
# (a few MB on loopback) and any sensible queue hold for one client, so a server that
# waits for one of them while broadcasting stalls. PROTOCOL.md §4 allows a line 0.5 s;
# the check allows twice that (scaled to the machine's load), and three slow readers
# make a server that waits for each in turn stall three times as long.
SLOW_READERS = 3
SLOW_LINES = 2000
LINE_BYTES = 4000
STALL = 1.0
# Unframed, one message at a time: small enough for a program's recv(1024), and in all
# far more than the buffers towards a slow reader with small segments hold (~200 KB).
UNFRAMED_BYTES = 900
UNFRAMED_TOTAL = 800_000
CYCLES = 100  # connect / register / leave cycles for the leak check
# A busy loop is measured over an interval of idleness. On Linux: the time the server's
# threads spent running *or waiting to run* (grader.probes.cpu), which for a spinning
# thread is the whole interval however loaded the machine, and ~0 for an idle server.
# Elsewhere: its CPU time beside a reference spinner (a process that only loops, see
# grader.timing.Spinner): a busy loop gets about as much CPU as the spinner (one or
# more times it), an idle server ~0. Either way the verdict holds on a loaded machine,
# where a spinning thread may get a small fraction of a core.
DEMAND_INTERVAL = 0.25  # seconds of idleness watched through the scheduler's figures
BUSY_SHARE = 0.25  # share of the interval (or of the spinner's CPU) that is busy
REF_CPU = 0.25  # CPU seconds the spinner must have got before an "idle" verdict
CLEARLY_BUSY = 0.3  # CPU seconds in the interval that are busy whatever the machine does
MIN_EVIDENCE = 0.03  # CPU seconds the server must use at least to be called busy
MAX_MEASURE = 4.0  # seconds (scaled) the interval may stretch on a starved machine
POLL = 0.05  # seconds between two readings of the CPU times


@check("server.slow_reader", step=6, points=2,
       depends=["server.broadcast", "server.framing_two_lines"],
       level=Level.ROBUSTNESS, cost=8,
       hint=hint("A client that never reads", "§4", "Never wait for one client while"
                 " sending to the others: sendall() or a blocking put() on a full queue"
                 " waits as long as that client does not read."))
def slow_reader(ctx: Context) -> None:
    """clients that never read do not hold up the chat between the others"""
    ana, bob = ctx.room("ana", "bob")
    slow = []
    for i in range(SLOW_READERS):
        peer = ctx.connect(f"slow{i}", rcvbuf=4096)
        ctx.handshake(peer, f"slow{i}")
        if ctx.profile.welcome:
            peer.expect_line(ctx.profile.welcome_line(f"slow{i}"), what=L_("the welcome line"))
        ctx.await_joined(peer, [ana, bob])
        slow.append(peer)
    if ctx.profile.framing != "newline":
        _one_at_a_time(ctx, ana, bob, slow)
        return
    # The slow ones never read again. ana sends more than the kernel's buffers and any
    # sensible queue hold for them; bob must get every line, never waiting long.
    pad = "." * (LINE_BYTES - 20)
    texts = [f"{i:05d} {pad}" for i in range(SLOW_LINES)]
    limit = ctx.timing.of(STALL)
    ctx.transcript.note(L_("{slow_readers} clients stop reading; ana sends {slow_lines} lines of"
                           " {line_bytes} bytes; bob must receive each within {limit:.1f} s of"
                           " the one before", slow_readers=SLOW_READERS, slow_lines=SLOW_LINES,
                           line_bytes=LINE_BYTES, limit=limit))
    data = "".join(t + "\n" for t in texts).encode()

    def send_all() -> None:
        try:
            ana.send(data, log=False)
        except CheckFailure:  # ana could not send: the verdict comes from what bob got
            pass

    threading.Thread(target=send_all, daemon=True).start()
    bob.quiet = True
    leaves = {ctx.profile.left_line(p.name) for p in slow} if ctx.profile.left else set()
    longest, last = 0.0, time.monotonic()
    for i, text in enumerate(texts):
        expected = ctx.profile.chat_line("ana", text)
        try:
            line = bob.read_line(last + limit)
            while line in leaves:  # a slow one cut off and announced: as it should be
                leaves.discard(line)
                line = bob.read_line(last + limit)
        except Closed:
            raise Missing(L_("bob's connection ended while ana's burst was on its way (after"
                             " {i} of {slow_lines} lines): {how}.", how=bob.how_it_ended(), i=i,
                             slow_lines=SLOW_LINES),
                          expected=L_("ana's line number {i}", i=i),
                          actual=bob.how_it_ended()) from None
        if line is None:
            raise Hung(L_("bob received nothing for {limit:.1f} s while ana was still sending"
                          " (after {i} of {slow_lines} lines): the chat waited for the clients"
                          " that do not read. PROTOCOL.md §4: no client that does not read may"
                          " delay another's line by more than 0.5 s.", limit=limit, i=i,
                          slow_lines=SLOW_LINES),
                       expected=L_("ana's line number {i} within {limit:.1f} s", i=i,
                                   limit=limit),
                       actual=L_("nothing for {limit:.1f} s", limit=limit))
        if line != expected:
            raise Mismatch(L_("bob expected ana's line number {i}, but got another line.", i=i),
                           expected=_short(expected), actual=_short(line))
        now = time.monotonic()
        longest, last = max(longest, now - last), now
    bob.quiet = False
    ctx.transcript.note(L_("bob received all {slow_lines} lines; the longest wait between two"
                           " was {value:.0f} ms", slow_lines=SLOW_LINES, value=longest * 1000))


def _one_at_a_time(ctx: Context, ana: Peer, bob: Peer, slow: list[Peer]) -> None:
    """slow_reader where a message is one send(): ana sends one message at a time, each
    once bob has it, until far more than the buffers towards the slow ones hold."""
    limit = ctx.timing.of(STALL)
    pad = "." * (UNFRAMED_BYTES - 20)
    count = UNFRAMED_TOTAL // UNFRAMED_BYTES
    ctx.transcript.note(L_("{count} clients stop reading; ana sends {count2} messages of"
                           " {unframed_bytes} bytes, each once bob has the one before; bob must"
                           " receive each within {limit:.1f} s", count=len(slow), count2=count,
                           unframed_bytes=UNFRAMED_BYTES, limit=limit))
    ana.quiet = bob.quiet = True
    for i in range(count):
        text = f"{i:05d} {pad}"
        ana.send_chat(text, log=False)
        if ctx.profile.echo:
            ana.lines.pending.clear()  # ana's own copies: not what this check is about
        expected = ctx.profile.chat_line("ana", text)
        try:
            deadline = time.monotonic() + limit
            wire = ctx.profile.chat_line(ctx.real_name("ana"), text)
            line = (bob.read_message(expected, deadline, wire=wire)
                    if ctx.profile.framing == "none" else bob.read_line(deadline))
        except Closed:
            raise Missing(L_("bob's connection ended while ana was talking (after {i} of"
                             " {count} messages): {how}.", how=bob.how_it_ended(), i=i,
                             count=count),
                          expected=L_("ana's message number {i}", i=i),
                          actual=bob.how_it_ended()) from None
        if line is None:
            raise Hung(L_("bob received nothing for {limit:.1f} s after ana's message number {i}"
                          " (of {count}, sent one at a time): the chat waited for the clients"
                          " that do not read. No client that does not read may delay the"
                          " others.", limit=limit, i=i, count=count),
                       expected=L_("ana's message number {i} within {limit:.1f} s", i=i,
                                   limit=limit),
                       actual=L_("nothing for {limit:.1f} s", limit=limit))
        if line != expected:
            raise Mismatch(L_("bob expected ana's message number {i}, but got another one.", i=i),
                           expected=_short(expected), actual=_short(line))
    ana.quiet = bob.quiet = False
    ctx.transcript.note(L_("bob received all {count} messages", count=count))


def _short(line: str) -> str:
    """A long line for the report: its start and its length (the padding says nothing)."""
    return line if len(line) <= 60 else f"{line[:40]}… ({len(line)} characters)"


@check("server.no_leak", step=6, points=2, depends=["server.starts", "server.no_busy_loop"],
       level=Level.ROBUSTNESS, cost=3, own_server=True,
       hint=hint("Cleaning up", "§4", "When a client leaves, close its socket and let its"
                 " thread(s) return; remove it from the list under the lock."))
def no_leak(ctx: Context) -> None:
    """no thread or descriptor leak after 100 clients connect and leave"""
    process = psutil.Process(ctx.server.program.pid)
    keeper = ctx.register("keeper")
    keeper.quiet = True

    def cycle(i: int) -> None:
        peer = ctx.register(f"u{i}", log=False)
        if i % 3 == 0 and ctx.profile.quit:  # without a quit command: close and reset
            peer.send_line(ctx.profile.quit, log=False)
            peer.drain_closed(time.monotonic() + ctx.timing.hard)
            peer.close(log=False)
        elif i % 3 != 2:
            peer.close(log=False)
        else:
            peer.reset()

    cycle(0)
    samples = [usage(process.pid)]

    def steady() -> bool:  # the warm-up client's threads have ended: two equal looks
        samples.append(usage(process.pid))
        return samples[-1] == samples[-2]

    poll_until(steady, time.monotonic() + ctx.timing.hard, ctx.server.program, interval=0.02)
    base = samples[-1]
    ctx.transcript.note(f"baseline: {base[0]} threads, {base[1]} descriptors")
    ctx.transcript.note(L_("{cycles} clients register and leave (/quit, close or reset)",
                           cycles=CYCLES))
    for i in range(1, CYCLES + 1):
        cycle(i)
    after = [usage(process.pid)]

    def back() -> bool:
        after.append(usage(process.pid))
        return after[-1][0] <= base[0] + 2 and after[-1][1] <= base[1] + 2

    if poll_until(back, time.monotonic() + ctx.timing.hard, ctx.server.program,
                  interval=0.02) is None:
        raise Crashed(L_("The server exited while {cycles} clients came and left.", cycles=CYCLES))
    now = after[-1]
    ctx.transcript.note(f"after: {now[0]} threads, {now[1]} descriptors")
    if now[0] > base[0] + 2:
        raise ResourceLimit(
            L_("After {cycles} clients came and left, the server still runs {now} threads (it"
               " ran {base} before): threads of departed clients never end.", cycles=CYCLES,
               now=now[0], base=base[0]),
            expected=L_("about {count} threads", count=base[0]),
            actual=L_("{count} threads", count=now[0]))
    if now[1] > base[1] + 2:
        raise ResourceLimit(
            L_("After {cycles} clients came and left, the server holds {now} open descriptors"
               " (it held {base} before): sockets are not closed.", cycles=CYCLES, now=now[1],
               base=base[1]),
            expected=L_("about {count} descriptors", count=base[1]),
            actual=L_("{count} descriptors", count=now[1]))
    if ctx.profile.quit:
        keeper.send_line(ctx.profile.quit, log=False)


@check("server.no_busy_loop", step=6, points=2, depends=["server.starts"],
       level=Level.ROBUSTNESS, cost=4, own_server=True,
       hint=hint("When recv() returns b''", "§4", "b'' means the client is gone: leave"
                 " the loop. Looping on it burns a whole CPU core."))
def no_busy_loop(ctx: Context) -> None:
    """the server uses no CPU while idle after clients left (no busy loop)"""
    # Only connections and departures: no chat line is needed to see a busy loop, so
    # it is found even where broadcasting is broken. First one client closes while the
    # others stay (a thread spinning on recv() == b'' may be stopped by the error a
    # later departure causes), then the others leave by reset and quit (or close).
    program = ctx.server.program
    process = psutil.Process(program.pid)
    base = thread_ids(program.pid)
    ana, bob, cid = (ctx.register(nick) for nick in ("ana", "bob", "cid"))
    clients = thread_ids(program.pid) - base  # the threads that serve them, if any
    port, since = ana.local_port, program.line_count()
    # Half-closed: a join notice still on its way to ana would otherwise come back as a
    # reset, and a reset stops a thread that spins on recv() == b'' before it is measured.
    ana.half_close()
    # Barrier: a thread of the server has ended (ana's), or the server logged ana's leave
    # (no thread per client), or the soft deadline passed.
    deadline = time.monotonic() + ctx.timing.soft
    if clients:
        poll_until(lambda: len(clients & thread_ids(program.pid)) < len(clients), deadline,
                   program, interval=0.02)
    else:
        await_leave_logged(ctx, "ana", port, since, deadline)
    _require_idle(ctx, process, L_("ana closed its connection; bob and cid stayed connected,"
                                   " silent."))
    since = program.line_count()
    bob.reset()
    # Barrier: once the server has handled cid's quit command (and closed cid), it has
    # seen bob's reset, which came first; and the threads that served them have ended,
    # unless they never do (then the soft deadline ends the wait). Without a thread per
    # client, the server's log of cid's leave says it is done.
    if ctx.profile.quit:
        cid.send_line(ctx.profile.quit)
        cid.drain_closed(time.monotonic() + ctx.timing.hard)
    port = cid.local_port
    cid.close()
    deadline = time.monotonic() + ctx.timing.soft
    if clients:
        await_threads_gone(ctx, clients, deadline)
    else:
        await_leave_logged(ctx, "cid", port, since, deadline)
    _require_idle(ctx, process, L_("No client was connected."))


def _require_idle(ctx: Context, process: psutil.Process, when: str) -> None:
    """Fail as a busy loop if the server's threads run while nothing happens; ``when``
    is a sentence that says what the server was left with."""
    measured = _idle_demand(ctx, process)
    if measured is not None:
        wanted, elapsed = measured
        ctx.transcript.note(L_("over {elapsed:.2f} s of idleness the server's threads were"
                               " running or ready to run for {wanted:.3f} s", elapsed=elapsed,
                               wanted=wanted))
        if wanted > max(MIN_EVIDENCE, BUSY_SHARE * elapsed):
            raise ResourceLimit(
                sentences(when, L_("Then the server's threads kept running (or waiting for a"
                                   " CPU to run on) for {wanted:.2f} s of {elapsed:.2f} s: some"
                                   " thread loops without waiting (a busy loop).",
                                   wanted=wanted, elapsed=elapsed)),
                expected=L_("under {seconds:.2f} s",
                            seconds=max(MIN_EVIDENCE, BUSY_SHARE * elapsed)),
                actual=f"{wanted:.2f} s")
        return
    spent, ref, elapsed = _idle_cpu(ctx, process)
    ctx.transcript.note(L_("server CPU time over {elapsed:.2f} s of idleness: {spent:.3f} s (a"
                           " reference busy loop got {ref:.3f} s meanwhile)", elapsed=elapsed,
                           spent=spent, ref=ref))
    if spent > max(MIN_EVIDENCE, BUSY_SHARE * ref) or spent >= CLEARLY_BUSY:
        raise ResourceLimit(
            sentences(when, L_("Then the server used {spent:.2f} s of CPU in {elapsed:.2f} s"
                               " (a program that does nothing but loop got {ref:.2f} s"
                               " meanwhile): some thread loops without waiting (a busy loop).",
                               spent=spent, elapsed=elapsed, ref=ref)),
            expected=L_("under {seconds:.2f} s of CPU",
                        seconds=max(MIN_EVIDENCE, BUSY_SHARE * ref)),
            actual=f"{spent:.2f} s")


def _cpu(process: psutil.Process) -> float:
    """CPU seconds used by ``process`` and its children so far."""
    total = 0.0
    for proc in family(process.pid):
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _idle_demand(ctx: Context, process: psutil.Process) -> tuple[float, float] | None:
    """(seconds the server's threads ran or waited to run, seconds watched) over
    DEMAND_INTERVAL; None where the system does not report it.

    The per-thread figures of a thread that is running right now may lag (the kernel
    adds its latest stretch of CPU time only at the next scheduling event), so the
    process's CPU time, which includes it, is measured too and the larger counts."""
    pids = [proc.pid for proc in family(process.pid)]
    before = snapshot(pids)
    if before is None:
        return None
    cpu_before = _cpu(process)
    start = time.monotonic()
    # The one inherent wait: what the threads want is measured over an interval.
    ctx.server.program.wait_exit(DEMAND_INTERVAL)
    after = snapshot(pids) or {}
    wanted = max(demand(before, after), _cpu(process) - cpu_before)
    return wanted, time.monotonic() - start


def _idle_cpu(ctx: Context, process: psutil.Process) -> tuple[float, float, float]:
    """(server CPU, spinner CPU, seconds) over an interval that lasts until the verdict
    is clear: the server clearly busy, or the spinner has had enough CPU to compare
    with. Short on an idle machine (~0.3 s), longer only when the machine is starved."""
    program = ctx.server.program
    with Spinner(ctx.submission.python) as spinner:
        before = _cpu(process)
        start = time.monotonic()
        deadline = start + ctx.timing.of(MAX_MEASURE)
        while True:
            # The one inherent wait: CPU use is measured over an interval.
            exited = program.wait_exit(POLL) is not None
            spent, ref = _cpu(process) - before, spinner.cpu()
            now = time.monotonic()
            if exited or spent >= CLEARLY_BUSY or ref >= REF_CPU or now >= deadline:
                return spent, ref, now - start
