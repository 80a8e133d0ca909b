"""Grading every student of a submissions folder in parallel, resumably.

Each student is graded in a worker process of its own, forked from the batch for that
student alone (at most ``jobs`` at once), on a private temporary copy of their work,
from a working directory of its own. Each worker draws the loopback ports of the
programs it starts from its own share of the grader's port range, so parallel gradings
never pick the same port.

**Only the parent writes.** A worker sends its outcome (the whole result) to the parent
through a pipe, in memory, as JSON with an HMAC-SHA256 tag under a key the parent made
for that worker alone before forking it: a message anyone else writes into the pipe
(a program can open another process's pipes through ``/proc``) does not verify and is
ignored. Before sending, the worker stops every process the submission left running
(it is their child subreaper, so it is the ancestor of all of them). The parent writes
``results/<student>.json``, sealed (:mod:`.store`), once the worker is gone, the moment
the outcome arrives: a batch killed at any point (Ctrl-C, crash, power cut) keeps every
grade finished so far, and the next run skips those students unless ``regrade`` is set
(and their stored result verifies). At the end the parent compares every result file
with the text it wrote, or read and verified at the start, and restores any that
changed meanwhile: that needs no key, so even a program that read the key cannot
change a grade while the batch runs. A student whose worker's pipe was interfered
with is graded again, once, after the others.

**Some students only.** ``students`` (folder names) grades exactly those again, and
``not_graded`` those the results folder records as not graded (an error in
``errors/``, or a stored result that no longer verifies); both need an earlier batch
in the folder. Every other student keeps their stored result, which counts only if its
seal verifies under the folder's key with the same settings, as on any resumed run
(and is compared with what was read at the start, at the end); one that does not
verify is reported as not graded, not graded again unless selected. A folder whose
key is missing or unusable is refused, rather than given a new key that would make
every stored result count as forged.

**Not graded.** A student whose worker died, was killed, ran past the per-student
wall-clock limit (``student_timeout``), or hit a grader error (an exception, or a check
failing as ``grader_error``) gets no grade: the reason is recorded in ``errors/``, the
student is graded again on the next run, and the batch exits non-zero. Such a student
never gets a score.

Ctrl-C: workers drop SIGINT, so the first Ctrl-C stops handing out work and lets the
students being graded finish and be saved; a second Ctrl-C terminates the workers (SIGTERM,
which each worker turns into a normal exit, so the grader still stops the programs it
started). Either way nothing half-written is left and no grade is counted twice.

The workers are forks of the batch process, so they run isolated (``python -I``) when it
does, as the ``batch`` command does; they inherit every module it imported
(:func:`.integrity.preload` runs before the first fork).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import multiprocessing
import multiprocessing.connection
import os
import secrets
import shutil
import signal
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ..harness.isolation import remove_orphaned_folders
from ..harness.ports import PORTS
from ..harness.sandbox import enable_subreaper
from ..model import FailureKind, SubmissionResult
from .commands import DEFAULT_STUDENT_TIMEOUT
from .discover import Submission, UnsafeArchive, discover, materialize
from .integrity import Descendants, environment_findings, preload, stop_family
from .progress import Progress
from .store import ABSENT, ResultStore, StoreBusy, write_atomic

GradeFn = Callable[..., SubmissionResult]

MESSAGE_LIMIT = 64 * 1024 * 1024  # bytes of one worker's report
HEADER = 4  # a report's frame: its length (4 bytes, big-endian), the HMAC tag, the JSON
TAG = hashlib.sha256().digest_size
LOOK = 1.0  # seconds between looks at whether the workers still run
FORGED_LIMIT = 3  # messages not from the worker before its pipe counts as interfered with
WORKER_DIED = "the grading process died before it reported a result"
TIMED_OUT = "grading took longer than {limit:g} s (--student-timeout) and was stopped"
INTERFERED = "its grading process's report to the batch was interfered with"
INTERRUPTED = "interrupted before it was graded"


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


@dataclass
class Outcome:
    """What a worker reports about one student (sent to the parent as JSON)."""

    student: str
    ok: bool  # graded (whatever the score); False: could not be graded
    result: SubmissionResult | None = None
    error: str = ""
    detail: str = ""  # a traceback, for errors/
    fatal: bool = False  # the settings are wrong: stop the whole batch
    stopped: list[str] = field(default_factory=list)  # processes left running, stopped
    environment: list[str] = field(default_factory=list)  # undone in the submissions' Python

    @property
    def score(self) -> float:
        return self.result.score if self.result is not None else 0.0

    @property
    def max_score(self) -> float:
        return self.result.max_score if self.result is not None else 0.0

    def summary(self) -> str:
        return f"{self.score:g}/{self.max_score:g}" if self.ok else self.error

    def to_json(self) -> bytes:
        data = asdict(self)
        data["result"] = self.result.to_dict() if self.result is not None else None
        return json.dumps(data, default=str).encode()

    @classmethod
    def from_json(cls, payload: bytes) -> Outcome:
        data = json.loads(payload)
        result = data.pop("result")
        return cls(**data, result=SubmissionResult.from_dict(result) if result else None)


@dataclass
class BatchSummary:
    """What a batch run did."""

    out: Path
    students: list[str]  # every student found, sorted
    skipped: int  # already graded by an earlier run
    todo: list[str] = field(default_factory=list)  # the students this run set out to grade
    graded: list[str] = field(default_factory=list)  # graded by this run
    failed: dict[str, str] = field(default_factory=dict)  # student -> why it was not graded
    elapsed: float = 0.0
    interrupted: bool = False  # stopped by Ctrl-C; what finished is saved
    results: dict[str, SubmissionResult] = field(default_factory=dict)  # every verified grade
    events: list[str] = field(default_factory=list)  # what the grader stopped or undid

    @property
    def total(self) -> int:
        return len(self.students)

    @property
    def complete(self) -> bool:
        """Every student has a stored grade."""
        return not self.interrupted and not self.not_graded

    @property
    def not_graded(self) -> dict[str, str]:
        """Every student found without a grade at the end, and why."""
        return {s: self.failed.get(s, "not graded yet")
                for s in self.students if s not in self.results}


def default_jobs() -> int:
    """Submissions graded at once: one more than the cores this process may use. A
    grading waits part of its time (for answers, and for deadlines where a submission is
    broken), and a third worker on two cores fills those waits: 93% of the CPU busy
    instead of 82%, a class graded in 15% less time, the same verdicts
    (docs/bench/GRADING.md)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    return cores + 1


def default_grade() -> GradeFn:
    """The real grader, imported only when a batch needs it."""
    from ..api import grade

    return grade


def claim_ports(slot: int, count: int) -> tuple[int, int]:
    """Give this worker slot ``slot`` of ``count`` equal shares of the grader's port range.

    The grader picks a random free port and the server binds it a moment later; two
    workers drawing from one range could pick the same port in that moment. Disjoint
    shares rule that out within a batch; give batches run at the same time ranges of
    their own with ``CHATLAB_PORT_RANGE``.
    """
    return PORTS.claim_share(slot, count)


# -- in the worker ---------------------------------------------------------------------


def _drop_signal(signum: int, frame: Any) -> None:
    """A handler that does nothing (see _worker_main)."""


def _exit_on_term(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def grade_one(submission: Submission, grade: GradeFn, kwargs: dict[str, Any],
              workdir: Path | None = None) -> Outcome:
    """Grade one student in a temporary copy, from a working directory of its own, and
    stop whatever the submission left running; runs in a worker. ``workdir`` (empty)
    is that directory when the caller owns it (and removes it, even if this process is
    killed); otherwise one is made here and removed."""
    student = submission.student
    programs = Descendants()  # a worker starts with no child: all it will have are ours
    environment = environment_findings("before grading")
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(
                prefix=f"chatlab-{student}-", ignore_cleanup_errors=True)))
        os.chdir(workdir)
        try:
            outcome = _grade_in(submission, workdir, grade, kwargs)
        finally:
            stopped = programs.stop()
            os.chdir(os.sep)
    outcome.stopped = stopped
    outcome.environment = environment + environment_findings("after grading")
    return outcome


def _grade_in(submission: Submission, tmp: Path, grade: GradeFn,
              kwargs: dict[str, Any]) -> Outcome:
    student = submission.student
    try:
        folder = materialize(submission, tmp)
    except (UnsafeArchive, OSError) as exc:
        return Outcome(student, ok=False, error=f"could not unpack the submission: {exc}")
    try:
        result = grade(folder, **kwargs)
    except (ValueError, FileNotFoundError) as exc:
        # grade() raises these for bad settings (an unknown --only, a missing
        # rubric), never for a bad submission: no student can be graded.
        return Outcome(student, ok=False, error=str(exc), fatal=True)
    except Exception as exc:  # recorded in errors/ and reported: this student only
        return Outcome(student, ok=False, error=f"grader error: {type(exc).__name__}: {exc}",
                       detail=traceback.format_exc())
    result.submission = student
    broken = [c for c in result.checks
              if c.failure is not None and c.failure.kind is FailureKind.GRADER_ERROR]
    if broken:
        first = broken[0]
        return Outcome(student, ok=False, error=f"grader error in {first.id}:"
                       f" {first.failure.message}", detail=first.failure.actual or "")
    return Outcome(student, ok=True, result=result)


def _worker_main(report: int, key: bytes, others: list[int], submission: Submission,
                 grade: GradeFn, kwargs: dict[str, Any], slot: int, count: int,
                 workdir: Path) -> None:
    # The terminal's Ctrl-C goes to the whole process group; only the parent decides.
    # Caught and dropped, not ignored: an ignored signal stays ignored across exec, so
    # the checks would take every program to ignore Ctrl-C (see server.shutdown_sigint).
    signal.signal(signal.SIGINT, _drop_signal)
    signal.signal(signal.SIGTERM, _exit_on_term)
    for other in others:  # the parent's ends of the workers' pipes: not ours to hold
        with contextlib.suppress(OSError):
            os.close(other)
    enable_subreaper()  # orphans of the submission's programs come back to us
    claim_ports(slot, count)
    try:
        outcome = grade_one(submission, grade, kwargs, workdir)
    except BaseException as exc:  # noqa: BLE001 - SystemExit on SIGTERM too: say nothing
        if isinstance(exc, SystemExit):
            raise
        outcome = Outcome(submission.student, ok=False,
                          error=f"grader error: {type(exc).__name__}: {exc}",
                          detail=traceback.format_exc())
    payload = outcome.to_json()
    message = hmac.new(key, payload, hashlib.sha256).digest() + payload
    frame = memoryview(len(message).to_bytes(HEADER, "big") + message)
    while frame:
        frame = frame[os.write(report, frame):]
    os.close(report)


# -- in the parent ---------------------------------------------------------------------


@dataclass
class _Job:
    submission: Submission
    process: Any  # multiprocessing.Process
    fd: int  # the parent's (reading) end of the worker's pipe, non-blocking
    key: bytes
    slot: int
    deadline: float
    workdir: Path  # the worker's working directory: ours to remove once it is gone
    outcome: Outcome | None = None
    broken: bool = False  # the pipe carried something that was not a message
    forged: int = 0  # messages that were not the worker's
    ended: bool = False  # the pipe reached its end (every writer closed it)
    buffer: bytearray = field(default_factory=bytearray)


WORKDIR_PREFIX = "chatlab-batch-"  # + the batch's pid + the student: a worker's folder


@functools.cache
def sweep_workdirs() -> None:
    """Remove the workers' folders of batches that were killed before they could (once
    per process): each holds a copy of a student's code, and is named after its batch."""
    remove_orphaned_folders(WORKDIR_PREFIX)


class _Pool:
    """One round of worker processes over some students, with the Ctrl-C protocol.

    At most ``jobs`` workers run at once, each grading one student; a Ctrl-C has
    nothing queued to cancel, and a worker dying takes only its own student along.
    ``on_done(outcome)`` is called once the worker is gone and nothing it started
    runs any more.
    """

    def __init__(self, jobs: int, timeout: float, progress: Progress,
                 on_done: Callable[[Outcome], None], grade: GradeFn, kwargs: dict[str, Any],
                 programs: Descendants, events: list[str]) -> None:
        self.jobs = jobs
        self.timeout = timeout
        self.progress = progress
        self.on_done = on_done
        self.grade = grade
        self.kwargs = kwargs
        self.programs = programs  # the parent's descendants before the batch
        self.events = events
        self.context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        sweep_workdirs()
        self.running: list[_Job] = []
        self.retry: list[Submission] = []  # students whose report was interfered with

    def run(self, todo: list[Submission]) -> None:
        """Grade ``todo``; raises BatchInterrupted on Ctrl-C once what ran is saved."""
        queue = list(todo)
        try:
            try:
                while queue or self.running:
                    while queue and len(self.running) < self.jobs:
                        self.running.append(self._start(queue.pop(0)))
                    self._step()
            except KeyboardInterrupt:
                self.progress.message(
                    f"interrupted: saving the {len(self.running)} submission(s) being graded "
                    "(Ctrl-C again to stop them now)"
                )
                try:
                    while self.running:
                        self._step()
                except KeyboardInterrupt:
                    self.terminate()
                raise BatchInterrupted from None
        except BaseException:
            self.terminate()
            raise

    def _start(self, submission: Submission) -> _Job:
        slot = min(set(range(self.jobs)) - {job.slot for job in self.running})
        receive, send = os.pipe()
        os.set_blocking(receive, False)  # read what came, never wait for the rest of it
        key = secrets.token_bytes(32)
        others = [receive, *(job.fd for job in self.running)]
        # Made here, not in the worker: a worker that is killed (or kills itself) cannot
        # remove it, and the copy of the submission in it must not outlive the batch.
        workdir = Path(tempfile.mkdtemp(
            prefix=f"{WORKDIR_PREFIX}{os.getpid()}-{submission.student}-"))
        process = self.context.Process(
            target=_worker_main, name=f"grade {submission.student}", daemon=False,
            args=(send, key, others, submission, self.grade, self.kwargs, slot, self.jobs,
                  workdir),
        )
        try:
            process.start()
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        finally:
            os.close(send)  # the worker's end: once it exits, ours reads end-of-file
        return _Job(submission, process, receive, key, slot, time.monotonic() + self.timeout,
                    workdir)

    def _step(self) -> None:
        """Wait for a report, an exit or a deadline, and finish what is over.

        Only the pipes are waited on (a worker's end closes when it exits), never the
        process sentinels, which a program could fill with bytes to make this loop
        spin; exits are also looked at every :data:`LOOK` seconds."""
        soonest = min(job.deadline for job in self.running)
        waitables = [job.fd for job in self.running if not (job.broken or job.ended)]
        timeout = max(0.0, min(soonest, time.monotonic() + LOOK) - time.monotonic())
        multiprocessing.connection.wait(waitables, timeout=timeout)
        for job in list(self.running):
            self._read(job)
            if job.outcome is not None or not job.process.is_alive() or job.broken:
                self._finish(job)
            elif time.monotonic() >= job.deadline:
                stop_family(job.process.pid)
                limit = TIMED_OUT.format(limit=self.timeout)
                job.outcome = Outcome(job.submission.student, ok=False, error=limit)
                self._finish(job)

    def _read(self, job: _Job) -> None:
        """Take what the pipe holds, and the worker's report if it is complete; a
        message that is not the worker's (its tag does not verify) is ignored, bytes
        that are not a message make the pipe count as interfered with."""
        while not (job.broken or job.ended):
            try:
                chunk = os.read(job.fd, 1 << 20)
            except BlockingIOError:
                break
            except OSError:
                job.broken = True
                break
            if not chunk:
                job.ended = True
            job.buffer += chunk
            job.broken = len(job.buffer) > HEADER + MESSAGE_LIMIT
        while job.outcome is None and not job.broken and len(job.buffer) >= HEADER:
            size = int.from_bytes(job.buffer[:HEADER], "big")
            if not TAG < size <= MESSAGE_LIMIT:
                job.broken = True
                break
            if len(job.buffer) < HEADER + size:
                job.broken = job.ended  # the rest will never come
                break
            message = bytes(job.buffer[HEADER:HEADER + size])
            del job.buffer[:HEADER + size]
            self._accept(job, message[:TAG], message[TAG:])
        if job.outcome is None and job.ended and job.buffer:
            job.broken = True

    def _accept(self, job: _Job, tag: bytes, payload: bytes) -> None:
        outcome = None
        if hmac.compare_digest(tag, hmac.new(job.key, payload, hashlib.sha256).digest()):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                outcome = Outcome.from_json(payload)
        if outcome is not None and outcome.student == job.submission.student:
            job.outcome = outcome
            return
        job.forged += 1
        if job.forged == 1:
            self.events.append(
                f"{job.submission.student}: a message that did not come from its grading"
                " process arrived on its pipe to the batch; it was ignored."
            )
        job.broken = job.forged >= FORGED_LIMIT

    def _finish(self, job: _Job) -> None:
        """Make sure the worker and everything it started are gone, then report."""
        student = job.submission.student
        job.process.join(timeout=5.0 if job.outcome is not None else 0.0)
        left = stop_family(job.process.pid) if job.process.is_alive() else []
        job.process.join()
        self._read(job)  # a report may have come just before it ended
        left += self.sweep()
        shutil.rmtree(job.workdir, ignore_errors=True)
        os.close(job.fd)
        self.running.remove(job)
        outcome = job.outcome  # a verified report counts, whatever came after it
        if outcome is None and job.broken:
            self.events.append(f"{student}: {INTERFERED}; graded again after the others.")
            self.retry.append(job.submission)
            self.progress.message(f"  {student}: {INTERFERED}; it will be graded again")
            return
        if outcome is None:
            status = job.process.exitcode
            outcome = Outcome(student, ok=False, error=f"{WORKER_DIED} (exit status {status})")
        if left and outcome.ok:
            outcome.stopped += left
        self.on_done(outcome)

    def sweep(self) -> list[str]:
        """Stop processes re-parented to the batch (orphans of a worker that died)."""
        return self.programs.stop(spare={job.process.pid for job in self.running})

    def terminate(self) -> None:
        """SIGTERM every worker (each stops its programs and exits), then make sure."""
        for job in self.running:
            with contextlib.suppress(OSError):
                job.process.terminate()
        deadline = time.monotonic() + 15.0
        for job in self.running:
            job.process.join(max(0.0, deadline - time.monotonic()))
            if job.process.is_alive():
                stop_family(job.process.pid)
                job.process.join()
            os.close(job.fd)
        self.sweep()
        for job in self.running:
            shutil.rmtree(job.workdir, ignore_errors=True)
        self.running.clear()


def _check_selection(store: ResultStore, students: set[str] | None, not_graded: bool,
                     regrade: bool, found: list[str]) -> None:
    """Refuse a partial regrade that could not keep the other students' results."""
    if students is None and not not_graded:
        return
    what = "--student" if students is not None else "--not-graded"
    if regrade:
        raise BatchError(f"{what} regrades some students and --regrade all of them;"
                         " pass one of the two")
    if store.read_manifest() is None:
        raise BatchError(f"{what} regrades students of an earlier batch, but {store.root}"
                         " holds none (no batch.json); grade the class first, without"
                         f" {what}")
    if store.students() and not store.has_key():
        raise BatchError(f"{store.root / '.key'} is missing or readable by others, so the"
                         " stored results cannot be verified; restore it (mode 0600) or"
                         " grade everyone again with --regrade")
    unknown = sorted(set(students or ()) - set(found))
    if unknown:
        raise BatchError(f"unknown student(s) for --student: {', '.join(unknown)}; no"
                         " submission folder has that name; nothing was graded")


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
    student_timeout: float = DEFAULT_STUDENT_TIMEOUT,
    students: Iterable[str] | None = None,
    not_graded: bool = False,
) -> BatchSummary:
    """Grade every student in ``submissions_dir`` into ``out``; see the module docstring.
    ``students`` (folder names) or ``not_graded``: grade only those again.

    ``grade`` defaults to :func:`grader.api.grade`; tests pass a fake one. On Ctrl-C it
    returns early with ``interrupted`` set, once what was being graded is saved.
    """
    started = time.monotonic()
    out_path = Path(out).resolve()
    # Workers grade in folders of their own: every path they are given is absolute.
    submissions_dir = Path(submissions_dir).resolve()
    store = ResultStore(out_path)
    preload()  # the workers are forks: they inherit every module imported here
    enable_subreaper()  # orphans of a worker that dies come to us, to be stopped
    try:
        with store.lock():
            batch = _Batch(store, settings or GradeSettings(), regrade,
                           set(students) if students is not None else None, not_graded)
            summary = batch.run(
                submissions_dir, max(1, jobs or default_jobs()), grade or default_grade(),
                student_timeout, stream, tty,
            )
    except StoreBusy as exc:
        raise BatchError(str(exc)) from None
    summary.elapsed = time.monotonic() - started
    return summary


class _Batch:
    """One run over a results folder: what it graded, wrote, and found."""

    def __init__(self, store: ResultStore, settings: GradeSettings, regrade: bool,
                 students: set[str] | None = None, not_graded: bool = False) -> None:
        self.store = store
        self.settings = settings
        self.regrade = regrade
        self.students = students  # grade only these again (None: everyone not graded)
        self.not_graded = not_graded  # grade only those recorded as not graded again
        self.untouched: set[str] = set()  # not graded, and not this run's to grade
        self.fingerprint = settings.fingerprint()
        self.texts: dict[str, str] = {}  # student -> the result file's text, as it must stay
        self.details: dict[str, str] = {}  # student -> the detail of this run's error
        self.summary: BatchSummary | None = None
        self.progress: Progress | None = None

    def run(self, submissions_dir: Path | str, jobs: int, grade: GradeFn, timeout: float,
            stream: TextIO | None, tty: bool | None) -> BatchSummary:
        store = self.store
        submissions = discover(submissions_dir, exclude=store.root)
        _check_selection(store, self.students, self.not_graded, self.regrade,
                         [s.student for s in submissions])
        store.prepare()
        _check_settings(store, self.settings, self.regrade)
        summary = BatchSummary(store.root, [s.student for s in submissions], skipped=0)
        self.summary = summary
        todo = []
        for sub in submissions:
            forced = self.regrade or sub.student in (self.students or ())
            result, why, text = (None, "", None) if forced else store.check_text(
                sub.student, self.fingerprint)
            if result is not None and text is not None:
                summary.results[sub.student] = result
                self.texts[sub.student] = text
                continue
            if not forced and not self._selected(sub.student, why):
                self.untouched.add(sub.student)
                summary.failed[sub.student] = (
                    f"the stored result {why}" if why not in ("", ABSENT)
                    else store.load_error(sub.student) or "not graded yet")
                if why not in ("", ABSENT):
                    summary.events.append(f"{sub.student}: the stored result {why}; not"
                                          " graded again in this run (--not-graded or"
                                          f" --student {sub.student} would).")
                continue
            todo.append(sub)
            if why and why != ABSENT:
                summary.events.append(f"{sub.student}: the stored result {why}; it is graded"
                                      " again.")
        summary.skipped = len(summary.results)
        summary.todo = [sub.student for sub in todo]
        self.progress = Progress(len(todo) + summary.skipped, already_done=summary.skipped,
                                 stream=stream, tty=tty)
        self.progress.start()
        programs = Descendants.snapshot()
        kwargs = self.settings.kwargs()

        def pool(count: int) -> _Pool:
            assert self.progress is not None
            return _Pool(count, timeout, self.progress, self._record, grade, kwargs, programs,
                         summary.events)

        try:
            first = pool(min(jobs, max(1, len(todo))))
            first.run(todo)
            if first.retry:  # once: what was interfered with while others ran
                self.progress.message(f"grading {len(first.retry)} submission(s) again")
                second = pool(min(jobs, len(first.retry)))
                second.run(first.retry)
                for sub in second.retry:
                    self._record(Outcome(sub.student, ok=False, error=INTERFERED))
            self._verify(submissions)
        except BatchInterrupted:
            summary.interrupted = True
            self._verify(submissions)
        finally:
            self.progress.close()
            left = programs.stop()
            if left:
                summary.events.append(f"{len(left)} process(es) still running at the end of the"
                                      f" batch were stopped: {'; '.join(left[:3])}")
        return summary

    def _selected(self, student: str, why: str) -> bool:
        """Whether this run grades ``student``, who has no stored result that counts
        (``why`` says why not)."""
        if self.students is not None:
            return student in self.students
        if self.not_graded:
            return why != ABSENT or self.store.error_path(student).exists()
        return True

    def _record(self, outcome: Outcome) -> None:
        """Write what a worker reported (the worker and its programs are gone)."""
        summary, store, progress = self.summary, self.store, self.progress
        assert summary is not None and progress is not None
        student = outcome.student
        if outcome.fatal:
            raise BatchError(outcome.error)
        for line in outcome.stopped:
            summary.events.append(f"{student}: {line} was still running after grading; it"
                                  " was stopped before the result was written.")
        for line in outcome.environment:
            summary.events.append(f"{student}: the submissions' Python, {line} (removed or"
                                  " made anew before any other grading used it).")
        if outcome.ok and outcome.result is not None:
            outcome.result.submission = student
            self.texts[student] = store.save_result(student, outcome.result, self.fingerprint)
            summary.results[student] = outcome.result
            summary.failed.pop(student, None)
            if student not in summary.graded:
                summary.graded.append(student)
        else:
            store.save_error(student, outcome.error, outcome.detail)
            self.details[student] = outcome.detail
            summary.failed[student] = outcome.error
            summary.results.pop(student, None)
            self.texts.pop(student, None)
        progress.update(student, ok=outcome.ok, summary=outcome.summary())

    def _verify(self, submissions: list[Submission]) -> None:
        """At the end: every result file must hold what this run wrote, or what it read
        (and verified) at the start; one that changed meanwhile is restored from memory,
        which needs no key. Error files are made to match what this run found."""
        summary, store = self.summary, self.store
        assert summary is not None
        for sub in submissions:
            student = sub.student
            if student in self.texts:
                if store.read_text(student) != self.texts[student]:
                    write_atomic(store.result_path(student), self.texts[student])
                    summary.events.append(f"{student}: the stored result was changed while the"
                                          " batch ran; it was restored from the grader's"
                                          " memory.")
                store.error_path(student).unlink(missing_ok=True)
            elif student in self.untouched:
                continue  # left as an earlier run recorded it
            elif student in summary.failed and store.load_error(student) != summary.failed[student]:
                store.save_error(student, summary.failed[student], self.details.get(student, ""))
