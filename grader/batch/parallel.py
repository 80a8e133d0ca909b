"""Grading every student of a submissions folder in parallel, resumably.

Each student is graded in a worker process (:class:`~concurrent.futures.ProcessPoolExecutor`,
one worker per core by default) on a private temporary copy of their work, so nothing a
submission writes can reach another one; each worker draws the loopback ports of the
programs it starts from its own share of the grader's port range, so parallel gradings
never pick the same port.

The worker writes the student's result file itself, atomically, the moment grading ends
(:mod:`.store`): a batch killed at any point (Ctrl-C, crash, power cut) keeps every grade
finished so far, and the next run skips those students unless ``regrade`` is set.

Ctrl-C: workers ignore SIGINT, so the first Ctrl-C stops handing out work and lets the
students being graded finish and be saved; a second Ctrl-C terminates the workers (SIGTERM,
which each worker turns into a normal exit, so the grader still stops the programs it
started). Either way nothing half-written is left and no grade is counted twice.

If a worker process dies (killed by the OOM killer, a crash in C code), every student it
was grading is retried alone in a fresh worker; one that kills its worker again is
recorded as an error instead of stopping the batch.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, as_completed, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..harness.ports import PORTS
from ..model import SubmissionResult
from .discover import Submission, UnsafeArchive, discover, materialize
from .progress import Progress
from .store import ResultStore, StoreBusy

GradeFn = Callable[..., SubmissionResult]

WORKER_DIED = "the grading process died twice on this submission (out of memory, or a crash)"


class BatchError(Exception):
    """The batch cannot start or go on (bad settings); the message says what to change."""


class BatchInterrupted(Exception):
    """Raised inside a round on Ctrl-C, once every grade finished so far is saved."""


@dataclass(frozen=True)
class GradeSettings:
    """What every student is graded with; forwarded to ``grade()`` as keyword arguments."""

    only: str | None = None  # check ids or a level, as for ``grader check --only``
    rubric: str | None = None  # path of a rubric TOML file
    profile: str | None = None  # profile name or path of a profile TOML file
    server_cmd: str | None = None
    client_cmd: str | None = None

    def kwargs(self) -> dict[str, Any]:
        """The non-default settings, with file paths made absolute."""
        out: dict[str, Any] = {}
        for name in ("only", "rubric", "profile", "server_cmd", "client_cmd"):
            value = getattr(self, name)
            if value is None:
                continue
            if name in ("rubric", "profile") and Path(value).exists():
                value = str(Path(value).resolve())
            out[name] = value
        return out

    def fingerprint(self) -> dict[str, Any]:
        """What must not change between a run and its resumption (file contents hashed)."""
        out: dict[str, Any] = {}
        for name, value in self.kwargs().items():
            if name in ("rubric", "profile") and Path(value).is_file():
                value = "sha256:" + hashlib.sha256(Path(value).read_bytes()).hexdigest()
            out[name] = value
        return out


@dataclass(frozen=True)
class Outcome:
    """What a worker reports back about one student (the full result is on disk)."""

    student: str
    ok: bool  # graded (whatever the score); False: could not be graded
    score: float = 0.0
    max_score: float = 0.0
    error: str = ""
    fatal: bool = False  # the settings are wrong: stop the whole batch

    def summary(self) -> str:
        return f"{self.score:g}/{self.max_score:g}" if self.ok else self.error


@dataclass
class BatchSummary:
    """What a batch run did."""

    out: Path
    students: list[str]  # every student found, sorted
    skipped: int  # already graded by an earlier run
    graded: list[str] = field(default_factory=list)  # graded by this run
    failed: dict[str, str] = field(default_factory=dict)  # student -> why it was not graded
    elapsed: float = 0.0
    interrupted: bool = False  # stopped by Ctrl-C; what finished is saved

    @property
    def total(self) -> int:
        return len(self.students)

    @property
    def complete(self) -> bool:
        """Every student has a stored grade."""
        return not self.interrupted and not self.failed


def default_jobs() -> int:
    return os.cpu_count() or 1


def default_grade() -> GradeFn:
    """The real grader, imported only when a batch needs it."""
    from ..api import grade

    return grade


def _exit_on_term(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _init_worker(slots: Any, count: int) -> None:
    # The terminal's Ctrl-C goes to the whole process group; only the parent decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_term)
    with slots.get_lock():
        slot = slots.value % count
        slots.value += 1
    claim_ports(slot, count)


def claim_ports(slot: int, count: int) -> tuple[int, int]:
    """Give this worker slot ``slot`` of ``count`` equal shares of the grader's port range.

    The grader picks a random free port and the server binds it a moment later; two
    workers drawing from one range could pick the same port in that moment. Disjoint
    shares rule that out within a batch; give batches run at the same time ranges of
    their own with ``CHATLAB_PORT_RANGE``.
    """
    return PORTS.claim_share(slot, count)


def grade_one(submission: Submission, out: str, grade: GradeFn, kwargs: dict[str, Any]) -> Outcome:
    """Grade one student in a temporary copy and store the result; runs in a worker."""
    store = ResultStore(out)
    student = submission.student
    with tempfile.TemporaryDirectory(
        prefix=f"chatlab-{student}-", ignore_cleanup_errors=True
    ) as tmp:
        try:
            folder = materialize(submission, tmp)
        except (UnsafeArchive, OSError) as exc:
            message = f"could not unpack the submission: {exc}"
            store.save_error(student, message)
            return Outcome(student, ok=False, error=message)
        try:
            result = grade(folder, **kwargs)
        except (ValueError, FileNotFoundError) as exc:
            # grade() raises these for bad settings (an unknown --only, a missing
            # rubric), never for a bad submission: no student can be graded.
            return Outcome(student, ok=False, error=str(exc), fatal=True)
        except Exception as exc:  # recorded in errors/ and reported: this student only
            message = f"grader error: {type(exc).__name__}: {exc}"
            store.save_error(student, message, traceback.format_exc())
            return Outcome(student, ok=False, error=message)
    result.submission = student
    store.save_result(student, result)
    return Outcome(student, ok=True, score=result.score, max_score=result.max_score)


def _check_settings(store: ResultStore, settings: GradeSettings, regrade: bool) -> None:
    current = settings.fingerprint()
    previous = store.read_manifest()
    if previous is not None and previous != current and store.students() and not regrade:
        changed = sorted(
            set(previous) ^ set(current)
            | {k for k in set(previous) & set(current) if previous[k] != current[k]}
        )
        raise BatchError(
            f"{store.root} holds results graded with other settings ({', '.join(changed)} "
            "changed); pass --regrade to grade everyone again, or choose another --out"
        )
    store.write_manifest(current)


class _Pool:
    """One round of worker processes over some students, with the Ctrl-C protocol.

    Students are handed out one at a time, never more than ``jobs`` at once, so at any
    moment the only work in flight is what the workers are grading: a Ctrl-C has
    nothing queued to cancel, and a worker dying takes at most ``jobs`` students with it.
    """

    def __init__(self, jobs: int, progress: Progress, on_done: Callable[[Outcome], None]):
        self.jobs = jobs
        self.progress = progress
        self.on_done = on_done

    def run(self, todo: list[Submission], args: tuple) -> tuple[list[Submission], list[Submission]]:
        """Grade ``todo`` (``grade_one(sub, *args)``).

        Returns the students whose worker died under them, and those not started
        because the pool broke.
        """
        queue = list(reversed(todo))
        broken: list[Submission] = []
        in_flight: dict[Future[Outcome], Submission] = {}
        slots = multiprocessing.Value("i", 0)
        executor = ProcessPoolExecutor(
            max_workers=self.jobs, initializer=_init_worker, initargs=(slots, self.jobs)
        )
        try:
            try:
                while queue or in_flight:
                    while queue and len(in_flight) < self.jobs and not broken:
                        sub = queue.pop()
                        try:
                            in_flight[executor.submit(grade_one, sub, *args)] = sub
                        except BrokenProcessPool:
                            queue.append(sub)
                            break
                    if not in_flight:
                        break
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for fut in done:
                        self._finish(fut, in_flight.pop(fut), broken)
            except KeyboardInterrupt:
                self.progress.message(
                    f"interrupted: saving the {len(in_flight)} submission(s) being graded "
                    "(Ctrl-C again to stop them now)"
                )
                try:
                    for fut in as_completed(in_flight):
                        self._finish(fut, in_flight[fut], broken)
                except KeyboardInterrupt:
                    _terminate_workers()
                raise BatchInterrupted from None
        finally:
            executor.shutdown(wait=True)
        return broken, list(reversed(queue))

    def _finish(self, fut: Future[Outcome], sub: Submission, broken: list[Submission]) -> None:
        try:
            outcome = fut.result()
        except BrokenProcessPool:
            broken.append(sub)
            return
        self.on_done(outcome)


def _terminate_workers() -> None:
    # Our own pool's processes, by PID (they are this process's children).
    for child in multiprocessing.active_children():
        child.terminate()
    for child in multiprocessing.active_children():
        child.join(timeout=10)


def run_batch(
    submissions_dir: Path | str,
    out: Path | str,
    *,
    jobs: int | None = None,
    regrade: bool = False,
    settings: GradeSettings | None = None,
    grade: GradeFn | None = None,
    stream: TextIO | None = None,
    tty: bool | None = None,
) -> BatchSummary:
    """Grade every student in ``submissions_dir`` into ``out``; see the module docstring.

    ``grade`` defaults to :func:`grader.api.grade`; tests pass a fake one (it must be a
    module-level function, as it is sent to worker processes). On Ctrl-C it returns
    early with ``interrupted`` set, once what was being graded is saved.
    """
    started = time.monotonic()
    out_path = Path(out).resolve()
    store = ResultStore(out_path)
    try:
        with store.lock():
            summary = _run_locked(
                submissions_dir,
                store,
                jobs,
                regrade,
                settings or GradeSettings(),
                grade or default_grade(),
                stream,
                tty,
            )
    except StoreBusy as exc:
        raise BatchError(str(exc)) from None
    summary.elapsed = time.monotonic() - started
    return summary


def _run_locked(
    submissions_dir: Path | str,
    store: ResultStore,
    jobs: int | None,
    regrade: bool,
    settings: GradeSettings,
    grade: GradeFn,
    stream: TextIO | None,
    tty: bool | None,
) -> BatchSummary:
    jobs = max(1, jobs or default_jobs())
    out_path = store.root
    submissions = discover(submissions_dir, exclude=out_path)
    store.prepare()
    _check_settings(store, settings, regrade)

    todo = [s for s in submissions if regrade or not store.is_graded(s.student)]
    summary = BatchSummary(
        out_path, [s.student for s in submissions], skipped=len(submissions) - len(todo)
    )
    progress = Progress(len(submissions), already_done=summary.skipped, stream=stream, tty=tty)
    progress.start()

    def on_done(outcome: Outcome) -> None:
        if outcome.fatal:
            raise BatchError(outcome.error)
        if outcome.ok:
            summary.graded.append(outcome.student)
        else:
            summary.failed[outcome.student] = outcome.error
        progress.update(outcome.student, ok=outcome.ok, summary=outcome.summary())

    args = (str(out_path), grade, settings.kwargs())
    try:
        pending = todo
        while pending:
            broken, pending = _Pool(min(jobs, len(pending)), progress, on_done).run(pending, args)
            for sub in broken:  # alone this time, so one crash cannot take others along
                if _Pool(1, progress, on_done).run([sub], args)[0]:
                    store.save_error(sub.student, WORKER_DIED)
                    on_done(Outcome(sub.student, ok=False, error=WORKER_DIED))
    except BatchInterrupted:
        summary.interrupted = True
    finally:
        progress.close()
    return summary
