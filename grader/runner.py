"""Running checks: dependency order, skips with reasons, timing, and never a silent error.

Checks run in worker threads, each as soon as the checks it depends on have finished;
a check whose dependency did not pass is skipped with the reason. A check the protocol
profile cannot express is not applicable, with its reason, before any of that. A check may run on a
server that earlier checks passed on (:mod:`grader.harness.servers`), and a client check on
the client program an earlier one passed with (:mod:`grader.actors.client_pool`); if it
fails there, it is run again on a fresh server or client and that verdict is the one
reported, so sharing saves process starts and never changes a grade. A check marked
``alone`` (it measures CPU time or resources) runs while nothing else runs. Every wait
inside a check has its own deadline; on top of that the runner gives each check a budget
and, past it, tears the check's processes and sockets down, which unblocks it.
Timeouts never use signals, so the runner works from any thread (a notebook, a batch).
Any exception that is not a :class:`~grader.failures.CheckFailure` is a grader bug and is
reported as ``grader_error`` with its traceback; it is never swallowed.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

from . import tracebacks
from .actors.client_pool import ClientPool
from .actors.fake_client import Closed
from .context import Context, ServerPool, Submission
from .failures import CheckFailure, Crashed, Missing, NotApplicable
from .harness.isolation import Isolation, Jail, isolated_run, private_loopback
from .harness.programs import Reaper
from .messages import L_
from .model import CheckResult, Failure, FailureKind, Status
from .profile import Profile
from .registry import CheckSpec
from .timing import Timing

POOL_AFTER = "server.starts"  # once this passes, servers are started ahead of time
WORKERS = 3  # checks at once: mostly waiting on sockets, so a bit more than 2 cores
BUDGET = 12.0  # seconds (scaled) one check may take before the runner stops it
# After a failure, the output is read once no program printed for OUTPUT_QUIET seconds
# (a traceback is printed in one go, in well under 0.1 s), at most OUTPUT_SETTLE after.
OUTPUT_QUIET = 0.15
OUTPUT_SETTLE = 1.0
# A server that closed a connection it should not have may be dying; the reference
# lingers up to 1 s on a close before it exits, so it gets a little more.
CRASH_SETTLE = 1.5

Progress = Callable[[CheckResult], None]


def _not_applicable(spec: CheckSpec, profile: Profile) -> str | None:
    """Why the profile cannot express ``spec`` (its first missing feature), or None.
    Decided before any dependency: a check this protocol has no use for is not
    applicable whatever the checks before it did, and its points leave the maximum."""
    for feature in spec.needs:
        why = profile.missing(feature)
        if why:
            return why
    return None


def _skip_reason(spec: CheckSpec, results: dict[str, CheckResult],
                 titles: dict[str, str]) -> str | None:
    for dep in spec.depends:
        result = results[dep]
        # A dependency the profile cannot express is no obstacle: that feature is
        # simply not part of this protocol.
        if result.status not in (Status.PASSED, Status.NOT_APPLICABLE):
            if tracebacks.is_unwritten_reason(result.reason):
                return result.reason  # the same step is missing for this one
            special = {
                "server.starts": L_("skipped: the server never accepted a connection"),
                "client.connects": L_("skipped: the client never connected to the server"),
            }
            return special.get(dep) or L_("skipped: it needs '{title}' ({id}) to pass first",
                                          title=titles[dep], id=dep)
    return None


def run_one(
    spec: CheckSpec, submission: Submission, profile: Profile, timing: Timing,
    pool: ServerPool | None = None, reaper: Reaper | None = None,
    live: set[Context] | None = None, clients: ClientPool | None = None,
) -> CheckResult:
    """Run one check in the calling thread and return its result (never raises)."""
    result, ctx = _attempt(spec, submission, profile, timing, pool, reaper, live, clients,
                           share=True)
    if ctx is not None and result.status is Status.FAILED and (
            ctx.shared_server or ctx.shared_client):
        # What failed on a shared server or client may be a trace of an earlier check:
        # only a fresh one's verdict counts, and the checks still to come get fresh ones.
        if ctx.shared_server and pool is not None:
            pool.stop_sharing()
        if ctx.shared_client and clients is not None:
            clients.stop_sharing()
        result, _ = _attempt(spec, submission, profile, timing, pool, reaper, live, clients,
                             share=False)
    return result


def _attempt(
    spec: CheckSpec, submission: Submission, profile: Profile, timing: Timing,
    pool: ServerPool | None, reaper: Reaper | None, live: set[Context] | None,
    clients: ClientPool | None, *, share: bool,
) -> tuple[CheckResult, Context | None]:
    """One run of ``spec``: its result, and its context (which says whether it ran on
    a shared server or client; None if it did not run: not applicable)."""
    result = CheckResult(
        id=spec.id, title=spec.title, level=spec.level, step=spec.step,
        status=Status.PASSED, max_points=spec.points, hint=spec.hint,
    )
    why = _not_applicable(spec, profile)
    if why:
        result.status, result.reason, result.points = Status.NOT_APPLICABLE, why, 0.0
        return result, None
    ctx = Context(submission, profile, timing, pool=pool, reaper=reaper,
                  share=share and not spec.own_server, clients=clients, share_client=share,
                  # The first check starts the server itself (the pool is not started
                  # before the server is known to start) and hands it on if it passes.
                  from_pool=spec.id != POOL_AFTER)
    if live is not None:
        live.add(ctx)  # so an interrupted run can still stop what this check started
    start = time.monotonic()
    worker = threading.Thread(target=_call, args=(spec, ctx, result), name=spec.id, daemon=True)
    worker.start()
    worker.join(timing.of(BUDGET))
    if worker.is_alive():
        ctx.cleanup()  # closing its sockets and processes wakes the blocked check
        worker.join(timing.hard)
        if result.status is not Status.FAILED:
            result.status = Status.FAILED
            result.failure = _failure(ctx, TimeoutError("still running"))
        result.failure.message = L_("The scenario did not finish within {seconds:.0f} s and"
                                    " was stopped: the program was too slow or stopped"
                                    " responding.", seconds=timing.of(BUDGET))
    result.duration = round(time.monotonic() - start, 3)
    kept, kept_client = None, None
    try:
        if result.status is Status.FAILED:
            # A thread that died prints its traceback after its connection closed:
            # wait for the output to go quiet before reading it.
            now = time.monotonic()
            ctx.settle_output(quiet=timing.of(OUTPUT_QUIET),
                              deadline=now + timing.of(OUTPUT_SETTLE),
                              crash_deadline=now + timing.of(CRASH_SETTLE))
            result.program_output = ctx.program_output()
            _explain(result)
        elif result.status is Status.PASSED:
            kept = None if spec.own_server else ctx.keep_server()
            kept_client = ctx.keep_client()
    finally:
        ctx.cleanup()  # closes this check's clients: the room empties
        if live is not None:
            live.discard(ctx)
    if kept is not None and pool is not None:
        pool.give_back(kept)
    if kept_client is not None and clients is not None:
        clients.give_back(kept_client)
    result.transcript = tracebacks.fold_transcript(ctx.transcript.entries())
    result.points = spec.points if result.status is Status.PASSED else 0.0
    return result, ctx


def _explain(result: CheckResult) -> None:
    """A failure caused by an unwritten step is a skip that names the step; otherwise
    the traceback, if any, is shown once, in the program output."""
    step = tracebacks.unwritten_step(result.program_output)
    if step is not None and result.failure is not None and (
            result.failure.kind is not FailureKind.GRADER_ERROR):
        result.status, result.reason = Status.SKIPPED, tracebacks.unwritten_reason(step)
        result.failure = None
        return
    if result.failure is not None:
        result.failure.actual = tracebacks.shorten_actual(result.failure.actual,
                                                          result.program_output)


def _call(spec: CheckSpec, ctx: Context, result: CheckResult) -> None:
    try:
        spec.func(ctx)
    except NotApplicable as na:
        result.status, result.reason = Status.NOT_APPLICABLE, na.reason
    except Exception as error:  # noqa: BLE001 - sorted out below, never swallowed
        result.status = Status.FAILED
        result.failure = _failure(ctx, error)


def _failure(ctx: Context, error: Exception) -> Failure:
    """The student-facing failure for what a check raised."""
    if isinstance(error, Closed):
        # A connection the scenario was still using ended: something the server did,
        # however the check came across it (the crash is looked for below).
        error = Missing(L_("The server reset a connection in the middle of the scenario,"
                           " which went on using it.") if error.how == "reset" else
                        L_("The server closed a connection in the middle of the scenario,"
                           " which went on using it."),
                        expected=L_("the connection stays open"),
                        actual=L_("connection reset") if error.how == "reset"
                        else L_("connection closed"))
    if isinstance(error, CheckFailure) or ctx.closed:
        over = ctx.limit_exceeded()  # the real story behind a hang, a crash or an EOF
        if over is not None:
            return over.to_failure()
    if ctx.closed:  # the runner tore the scenario down after its budget: that is the story
        return Failure(FailureKind.HUNG, L_("The scenario took too long and was stopped;"
                                            " the program was too slow or stopped"
                                            " responding."),
                       actual=getattr(error, "message", str(error)))
    if not isinstance(error, CheckFailure):
        return Failure(
            FailureKind.GRADER_ERROR,
            L_("The grader itself failed ({error_type}: {error}). This is not your fault;"
               " please report it with the text below.", error_type=type(error).__name__,
               error=str(error)),
            actual="".join(traceback.format_exception(error))[-4000:],
        )
    crashed = ctx.crashed_server(grace=0.2)
    if crashed is not None and not isinstance(error, Crashed):
        message = L_("The server exited (status {status}) during the scenario; before"
                     " that: {message}", status=crashed.program.poll(), message=error.message)
        return Failure(FailureKind.CRASHED, message, error.expected, error.actual)
    return error.to_failure()


def run_checks(
    specs: Iterable[CheckSpec],
    submission: Submission,
    profile: Profile,
    timing: Timing,
    *,
    workers: int = WORKERS,
    progress: Progress | None = None,
    notes: list[str] | None = None,
) -> list[CheckResult]:
    """Run ``specs`` (dependencies must be included) and return results in their order.

    The run is isolated (:func:`grader.harness.isolation.isolated_run`): its programs
    see a private copy of the submission, in a jail, on a loopback of their own where
    the system allows; what was not protected is appended to ``notes``."""
    # Titles and hints in the profile's words (its lines, not chatlab's).
    specs = [replace(s, title=profile.speak(s.title), hint=profile.speak(s.hint))
             for s in specs]
    with isolated_run(submission.folder, submission.python) as (copy, isolation):
        if notes is not None and isolation.note:
            notes.append(f"Isolation: {isolation.note}.")
        submission = replace(submission, folder=copy, jail=isolation.jail,
                             origin=submission.original)
        # A server that always binds one port: each check gets a loopback of its own
        # where the run has one (so checks still run side by side), else one at a time.
        own_loopbacks = bool(profile.fixed_port) and isolation.private_network
        if profile.fixed_port and not own_loopbacks:
            workers = 1
        scheduler = _Scheduler(specs, submission, profile, timing, workers, progress,
                               own_loopbacks=own_loopbacks)
        try:
            scheduler.run()
        finally:
            scheduler.close()
    return [scheduler.results[s.id] for s in specs]


class _Scheduler:
    """Starts each check once its dependencies are done, at most ``workers`` at once."""

    def __init__(self, specs: list[CheckSpec], submission: Submission, profile: Profile,
                 timing: Timing, workers: int, progress: Progress | None, *,
                 own_loopbacks: bool = False) -> None:
        self.args = (submission, profile, timing)
        self.own_loopbacks = own_loopbacks
        self.jails: list[Jail] = []  # the checks' own, stopped once their programs are
        self.one_port = threading.Lock()  # a check without a loopback of its own
        self.workers = workers
        self.progress = progress
        self.titles = {s.id: s.title for s in specs}
        self.results: dict[str, CheckResult] = {}
        # Costly checks first among those ready; declaration order among equals.
        self.pending = sorted(specs, key=lambda s: -s.cost)
        self.running: set[str] = set()
        self.alone_running = False
        self.cond = threading.Condition()
        self.reaper = Reaper()
        self.live: set[Context] = set()
        self.threads: list[threading.Thread] = []
        self.pool: ServerPool | None = None
        if not profile.fixed_port and POOL_AFTER in self.titles:
            self.pool = ServerPool(submission, profile, timing, self.reaper)
        # Clients are not handed on where one must reach a fixed address (its fake
        # server is there, one check at a time) or each check has a loopback of its own.
        self.clients = None if profile.fixed_host or own_loopbacks else ClientPool()

    def run(self) -> None:
        with self.cond:
            while self.pending or self.running:
                if not self._dispatch():
                    self.cond.wait(0.5)

    def _dispatch(self) -> bool:
        """Start or skip what can be; True if anything changed. Holds the lock."""
        changed = False
        for spec in list(self.pending):
            why = _not_applicable(spec, self.args[1])
            if why is not None:  # before any dependency: nothing to wait for
                self.pending.remove(spec)
                self._record(spec, CheckResult(
                    id=spec.id, title=spec.title, level=spec.level, step=spec.step,
                    status=Status.NOT_APPLICABLE, max_points=spec.points, points=0.0,
                    reason=why, hint=spec.hint,
                ))
                changed = True
                continue
            if any(d not in self.results for d in spec.depends):
                continue
            reason = _skip_reason(spec, self.results, self.titles)
            if reason is not None:
                self.pending.remove(spec)
                self._record(spec, CheckResult(
                    id=spec.id, title=spec.title, level=spec.level, step=spec.step,
                    status=Status.SKIPPED, max_points=spec.points, reason=reason,
                    hint=spec.hint,
                ))
                changed = True
                continue
            if self.alone_running or len(self.running) >= self.workers:
                break
            if spec.alone and self.running:
                break  # let the others finish; nothing overtakes it
            self.pending.remove(spec)
            self.running.add(spec.id)
            self.alone_running = spec.alone
            thread = threading.Thread(target=self._work, args=(spec,), name=f"run {spec.id}",
                                      daemon=True)
            self.threads.append(thread)
            thread.start()
            changed = True
        return changed

    def _record(self, spec: CheckSpec, result: CheckResult) -> None:
        self.results[spec.id] = result
        if self.progress is not None:
            self.progress(result)

    def _work(self, spec: CheckSpec) -> None:
        try:
            with self._loopback_for_check() as submission:
                result = run_one(spec, submission, *self.args[1:], self.pool, self.reaper,
                                 self.live, self.clients)
        except BaseException as error:  # noqa: BLE001 - report it, never lose a check
            result = CheckResult(
                id=spec.id, title=spec.title, level=spec.level, step=spec.step,
                status=Status.FAILED, max_points=spec.points, hint=spec.hint,
                failure=Failure(FailureKind.GRADER_ERROR,
                                L_("The grader itself failed: {error}", error=repr(error)),
                                actual=traceback.format_exc()[-4000:]),
            )
        if spec.id == POOL_AFTER and result.passed and self.pool is not None:
            self.pool.start()  # the server starts: from now on keep a couple ready
        with self.cond:
            self.running.discard(spec.id)
            if spec.alone:
                self.alone_running = False
            self._record(spec, result)
            self.cond.notify_all()

    @contextlib.contextmanager
    def _loopback_for_check(self) -> Iterator[Submission]:
        """The submission as this check runs it: on the run's loopback, or (a server
        with one fixed port) on a loopback of the check's own, with a jail whose
        programs are started there."""
        submission = self.args[0]
        if not self.own_loopbacks:
            yield submission
            return
        isolation = Isolation()
        with private_loopback(isolation):
            if not isolation.private_network:  # could not make one now: take turns
                with self.one_port:
                    yield submission
                return
            jail = submission.jail.fresh() if submission.jail is not None else None
            if jail is not None:
                with self.cond:
                    self.jails.append(jail)
            yield replace(submission, jail=jail)

    def close(self) -> None:
        """Stop everything still running (after an interrupt) and wait for it to end."""
        if self.pool is not None:
            self.pool.close()
        for ctx in list(self.live):
            ctx.cleanup()  # wakes the checks: their sockets close, their programs stop
        deadline = time.monotonic() + 5.0
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for ctx in list(self.live):
            ctx.cleanup()
        if self.clients is not None:
            self.clients.close()  # the checks are over: nobody gives one back now
        self.reaper.join()
        for jail in self.jails:  # every program is stopped: now their starting threads
            jail.starter.shutdown(wait=True)
