"""The figures of the class report, computed from graded results (no HTML here).

Every function takes :class:`~grader.model.SubmissionResult` objects (the graded
students; those not graded never reach these functions, so they are left out of every
statistic and counted apart by the report) and returns plain dataclasses:

- :func:`describe`: count, mean, standard deviation and quartiles of some numbers;
- :func:`score_statistics`: those of the scores, in points and as a share of the maximum;
- :func:`step_rollup`: per notebook step, who passed all its checks, the mean share;
- :func:`failure_clusters`: failures grouped by check, kind and message pattern;
- :func:`discrimination`: per check, how well passing it agrees with the rest of the score;
- :func:`grading_times`: how long each submission took to grade, slowest first.

Conventions, said once: a *share* is points over the points available (checks that do
not apply left out); the standard deviation is the population one
(:func:`statistics.pstdev`), since a class is all the students, not a sample of them;
quartiles are the inclusive ones (:func:`statistics.quantiles` with
``method="inclusive"``), so Q0 is the minimum and Q4 the maximum.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..i18n import N_
from ..model import CheckResult, Status, SubmissionResult
from ..steps import NOTEBOOKS, notebook

# Discrimination: a check is flagged when at least MIN_STUDENTS ran it and passing it
# correlates with the rest of the score below FLAG_BELOW. Item-analysis practice calls
# a discrimination under 0.2 weak and under 0 a sign of a faulty item; 0.1 keeps the
# flag for checks that tell almost nothing, and 10 students keep one odd result from
# deciding it alone.
FLAG_BELOW = 0.1
MIN_STUDENTS = 10

ROLES = frozenset({"server", "client", "grader"})  # transcript actors that are no nickname
SERVER_NAMES = re.compile(r"the server calls it (\S+)")  # fake_client's note


@dataclass(frozen=True)
class Summary:
    """Count, mean, standard deviation and the five quartiles of some numbers."""

    count: int
    mean: float
    stdev: float
    minimum: float
    q1: float
    median: float
    q3: float
    maximum: float


def describe(values: Iterable[float]) -> Summary | None:
    """The summary of ``values``; None when there are none."""
    data = sorted(values)
    if not data:
        return None
    if len(data) == 1:  # quantiles() needs two points on Python 3.11
        q1 = median = q3 = data[0]
    else:
        q1, median, q3 = statistics.quantiles(data, n=4, method="inclusive")
    return Summary(len(data), statistics.fmean(data), statistics.pstdev(data),
                   data[0], q1, median, q3, data[-1])


def share(result: SubmissionResult) -> float:
    """The student's score as a share of the points available to them (0 when none)."""
    return result.score / result.max_score if result.max_score else 0.0


@dataclass(frozen=True)
class ScoreStatistics:
    points: Summary | None  # of the scores in points
    shares: Summary | None  # of the scores as a share of each student's maximum
    not_graded: int  # students left out: no grade, no statistic


def score_statistics(results: Sequence[SubmissionResult], not_graded: int = 0
                     ) -> ScoreStatistics:
    """The statistics of the graded students' scores; ``not_graded`` is passed through."""
    return ScoreStatistics(describe(r.score for r in results),
                           describe(share(r) for r in results), not_graded)


@dataclass(frozen=True)
class StatusCounts:
    """One student's checks by verdict."""

    passed: int
    failed: int
    skipped: int
    not_applicable: int


def status_counts(result: SubmissionResult) -> StatusCounts:
    statuses = [c.status for c in result.checks]
    return StatusCounts(*(statuses.count(s) for s in (
        Status.PASSED, Status.FAILED, Status.SKIPPED, Status.NOT_APPLICABLE)))


# -- per step --------------------------------------------------------------------------


@dataclass
class StepRollup:
    """One notebook step across the class."""

    step: int
    notebook: str | None  # the notebook's path from the project root; None if unknown
    checks: list[str]  # ids, in grading order
    max_points: float  # the step's points where every check applies
    students: int = 0  # students for whom at least one of its checks applies
    all_passed: int = 0  # of those, students who passed every applicable check
    mean_share: float | None = None  # mean of points/available over them (None: no points)


def step_rollup(results: Sequence[SubmissionResult]) -> list[StepRollup]:
    """Per step (ascending): how many students passed all its checks, the mean share of
    its points. A skipped check counts as not passed; one that does not apply, as absent."""
    steps: dict[int, StepRollup] = {}
    shares: dict[int, list[float]] = {}
    for result in results:
        mine: dict[int, list[CheckResult]] = {}
        for c in result.checks:
            roll = steps.get(c.step)
            if roll is None:
                roll = steps[c.step] = StepRollup(
                    c.step, notebook(c.step) if c.step in NOTEBOOKS else None, [], 0.0)
            if c.id not in roll.checks:
                roll.checks.append(c.id)
                roll.max_points += c.max_points
            if c.status is not Status.NOT_APPLICABLE:
                mine.setdefault(c.step, []).append(c)
        for step, checks in mine.items():
            roll = steps[step]
            roll.students += 1
            roll.all_passed += all(c.status is Status.PASSED for c in checks)
            available = sum(c.max_points for c in checks)
            if available:
                shares.setdefault(step, []).append(sum(c.points for c in checks) / available)
    for step, values in shares.items():
        steps[step].mean_share = statistics.fmean(values)
    return [steps[s] for s in sorted(steps)]


# -- failure clusters ------------------------------------------------------------------

DOUBLE_QUOTED = re.compile(r'"(?:[^"\\\n]|\\.)*"')
# A Python repr: b'…' or '…', the opening quote not inside a word (bob's is no quote).
SINGLE_QUOTED = re.compile(r"(?<!\w)b?'(?:[^'\\\n]|\\.)*'(?!\w)")
BACKQUOTED = re.compile(r"`[^`\n]*`")
NUMBER = re.compile(r"\d+(?:\.\d+)*")
VALUE, NICK, NUM = "<value>", "<nick>", "<n>"


def nicknames(check: CheckResult) -> set[str]:
    """The nicknames in a check's scenario: its transcript's actors other than the
    server, the client and the grader, and the names a server gave them."""
    names = {e.actor for e in check.transcript if e.actor not in ROLES}
    for e in check.transcript:
        if e.action == "note":
            names.update(m.group(1) for m in SERVER_NAMES.finditer(e.text))
    return {n for n in names if n.strip()}


def normalise_message(message: str, nicks: Iterable[str] = ()) -> str:
    """``message`` with what differs between students of one mistake taken out: quoted
    values become ``<value>``, the scenario's nicknames ``<nick>``, numbers (ports,
    times, counts, addresses) ``<n>``; runs of white space become one space."""
    text = DOUBLE_QUOTED.sub(VALUE, message)
    text = SINGLE_QUOTED.sub(VALUE, text)
    text = BACKQUOTED.sub(VALUE, text)
    for nick in sorted(set(nicks), key=len, reverse=True):  # "anabel" before "ana"
        text = re.sub(rf"(?<!\w){re.escape(nick)}(?!\w)", NICK, text)
    text = NUMBER.sub(NUM, text)
    return " ".join(text.split())


@dataclass
class Cluster:
    """Students whose check failed the same way: one check, one kind, one pattern."""

    check: str
    kind: str  # a FailureKind value ("unknown" for a failure without a record)
    pattern: str  # the normalised message
    example: str  # the first student's message, as written
    students: list[str] = field(default_factory=list)
    nicknames: frozenset[str] = frozenset()  # those taken out of the pattern

    @property
    def count(self) -> int:
        return len(self.students)


def failure_clusters(results: Sequence[SubmissionResult]) -> list[Cluster]:
    """The failures of the class grouped by (check, kind, normalised message), the most
    common first (ties: by check, kind and pattern). Students within one are sorted.

    The nicknames taken out are those of every transcript in the class: a peer that
    never connected is in no transcript of its own run (``dan could not connect``), but
    it is in the runs where it did."""
    clusters: dict[tuple[str, str, str], Cluster] = {}
    class_nicks = frozenset(n for r in results for c in r.checks for n in nicknames(c))
    for result in sorted(results, key=lambda r: r.submission):
        for c in result.checks:
            if c.status is not Status.FAILED:
                continue
            kind = str(c.failure.kind) if c.failure is not None else "unknown"
            message = c.failure.message if c.failure is not None else ""
            pattern = normalise_message(message, class_nicks)
            key = (c.id, kind, pattern)
            cluster = clusters.get(key)
            if cluster is None:
                cluster = clusters[key] = Cluster(c.id, kind, pattern, message,
                                                  nicknames=class_nicks)
            cluster.students.append(result.submission)
    return sorted(clusters.values(), key=lambda k: (-k.count, k.check, k.kind, k.pattern))


# -- item discrimination ---------------------------------------------------------------

# Why r is undefined: English, marked for translation (the report shows them translated).
NO_STUDENTS = N_("no student ran it")
ONE_STUDENT = N_("one student ran it")
ALL_PASSED = N_("everyone who ran it passed")
ALL_FAILED = N_("everyone who ran it failed")
FLAT_REST = N_("the rest of the score is the same for everyone")


@dataclass
class Discrimination:
    """How well passing one check agrees with the rest of the score."""

    check: str
    students: int  # students who ran it (passed or failed) and have other points
    passed: int
    r: float | None  # point-biserial correlation; None when undefined (see ``why``)
    why: str = ""  # why r is undefined
    flagged: bool = False  # enough students, r below FLAG_BELOW: flaky or mis-weighted?


def point_biserial(passed: Sequence[bool], rest: Sequence[float]) -> float | None:
    """Pearson's correlation between a pass (1) / fail (0) and ``rest``; None when either
    does not vary or there are fewer than two students."""
    if len(passed) < 2 or len(set(passed)) < 2 or len(set(rest)) < 2:
        return None
    try:
        return statistics.correlation([float(p) for p in passed], list(rest))
    except statistics.StatisticsError:  # constant after all (rounding)
        return None


def discrimination(results: Sequence[SubmissionResult], *, flag_below: float = FLAG_BELOW,
                   min_students: int = MIN_STUDENTS) -> list[Discrimination]:
    """Per check, in grading order: the point-biserial correlation between passing it
    and the rest of the score, the share of the other checks' points (the total minus
    this check's points, over the maximum minus this check's maximum: when every student
    has the same maximum this is the total minus the check, scaled).

    Students for whom the check was skipped or does not apply have no verdict of their
    own on it and are left out, as are those with no other points available."""
    order: list[str] = []
    data: dict[str, tuple[list[bool], list[float]]] = {}
    for result in results:
        for c in result.checks:
            if c.id not in data:
                order.append(c.id)
                data[c.id] = ([], [])
            if c.status not in (Status.PASSED, Status.FAILED):
                continue
            other = result.max_score - c.max_points
            if other <= 0:
                continue
            data[c.id][0].append(c.status is Status.PASSED)
            data[c.id][1].append((result.score - c.points) / other)
    items = []
    for cid in order:
        passed, rest = data[cid]
        r = point_biserial(passed, rest)
        why = "" if r is not None else (
            NO_STUDENTS if not passed else ONE_STUDENT if len(passed) == 1
            else ALL_PASSED if all(passed) else ALL_FAILED if not any(passed) else FLAT_REST)
        items.append(Discrimination(
            cid, len(passed), sum(passed), r, why,
            r is not None and len(passed) >= min_students and r < flag_below))
    return items


# -- grading time ----------------------------------------------------------------------


@dataclass(frozen=True)
class GradingTime:
    """How long one submission took to grade (``SubmissionResult.duration``)."""

    student: str
    seconds: float
    slowest_check: str  # "" when no check recorded a duration
    slowest_check_seconds: float


@dataclass(frozen=True)
class GradingTimes:
    summary: Summary | None  # of the recorded times
    slowest_first: list[GradingTime]
    unrecorded: list[str]  # graded students whose result has no duration (older results)

    @property
    def total(self) -> float:
        return sum(t.seconds for t in self.slowest_first)


def grading_times(results: Sequence[SubmissionResult]) -> GradingTimes:
    """Each graded submission's grading time, slowest first (ties: by student), with the
    check that took longest in it. A duration of 0 means none was recorded."""
    times, unrecorded = [], []
    for result in results:
        if result.duration <= 0:
            unrecorded.append(result.submission)
            continue
        timed = [c for c in result.checks if c.duration > 0]
        slowest = max(timed, key=lambda c: c.duration, default=None)
        times.append(GradingTime(result.submission, result.duration,
                                 slowest.id if slowest else "",
                                 slowest.duration if slowest else 0.0))
    times.sort(key=lambda t: (-t.seconds, t.student))
    return GradingTimes(describe(t.seconds for t in times), times, sorted(unrecorded))

