"""The class gradebook: the graded results as a table, ``grades.csv`` and ``errors.csv``.

``grades.csv`` has one row per *graded* student and the columns ``student``, ``score``,
``max``, then one column per check id (the points earned on that check), in the order
the grader ran them. A check that does not apply to a student's profile is left blank.
A student who could not be graded (a refused archive, a grader error, a grading that
died or ran out of time, a stored result that does not verify) has **no row** there:
gradebook imports (Canvas, Moodle, Blackboard, Gradescope) change only the students a
file lists, so a grading problem never reaches the gradebook as a score, not even 0.
Those students are listed in ``errors.csv`` (``student``, ``reason``) and ``errors/``.
The report (:mod:`.class_report`) reads the same :class:`Gradebook`, so both show the
same numbers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import Status, SubmissionResult
from .store import ABSENT, ResultStore, write_atomic

FIXED_COLUMNS = ("student", "score", "max")
ERROR_COLUMNS = ("student", "reason")


def fmt_points(value: float) -> str:
    """Points as a gradebook shows them: ``2``, ``1.5``, ``0.33``."""
    rounded = round(value, 2)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:g}"


@dataclass
class CheckColumn:
    """One check across the class."""

    id: str
    title: str
    level: str
    step: int
    max_points: float
    passed: int = 0  # students who passed it
    graded: int = 0  # students for whom it applies (not "not applicable")
    failed: int = 0  # students who ran it and failed it
    skipped: int = 0  # students for whom it did not run (a dependency failed, --only)
    not_applicable: int = 0  # students whose protocol profile cannot express it

    @property
    def pass_rate(self) -> float | None:
        """Fraction of students who passed, None when it applied to nobody."""
        return self.passed / self.graded if self.graded else None


@dataclass
class Gradebook:
    """Every student's result, plus the per-check columns of the class."""

    results: list[SubmissionResult]
    failed: dict[str, str] = field(default_factory=dict)  # student -> why not graded
    columns: list[CheckColumn] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # what the grader stopped or undid

    @classmethod
    def build(
        cls, results: list[SubmissionResult], failed: dict[str, str] | None = None,
        events: list[str] | None = None,
    ) -> Gradebook:
        """Sort students and count each check's passes."""
        ordered = sorted(results, key=lambda r: r.submission)
        columns: dict[str, CheckColumn] = {}
        for result in ordered:
            for c in result.checks:
                col = columns.get(c.id)
                if col is None:
                    col = columns[c.id] = CheckColumn(
                        c.id, c.title, str(c.level), c.step, c.max_points
                    )
                if c.status is Status.NOT_APPLICABLE:
                    col.not_applicable += 1
                    continue
                col.graded += 1
                col.passed += c.status is Status.PASSED
                col.failed += c.status is Status.FAILED
                col.skipped += c.status is Status.SKIPPED
        graded = {r.submission for r in ordered}
        not_graded = {k: v for k, v in sorted((failed or {}).items()) if k not in graded}
        return cls(ordered, not_graded, list(columns.values()), list(events or []))

    @property
    def students(self) -> list[str]:
        return sorted([r.submission for r in self.results] + list(self.failed))

    def header(self) -> list[str]:
        return [*FIXED_COLUMNS, *(c.id for c in self.columns)]

    def rows(self) -> list[list[str]]:
        """One row per graded student, sorted by student, as CSV cells."""
        by_student: dict[str, list[str]] = {}
        for result in self.results:
            points = {
                c.id: "" if c.status is Status.NOT_APPLICABLE else fmt_points(c.points)
                for c in result.checks
            }
            by_student[result.submission] = [
                result.submission,
                fmt_points(result.score),
                fmt_points(result.max_score),
                *(points.get(col.id, "") for col in self.columns),
            ]
        return [by_student[s] for s in sorted(by_student)]

    def to_csv(self) -> str:
        return _csv([self.header(), *self.rows()])

    def errors_csv(self) -> str:
        """``errors.csv``: each student not graded, and why."""
        return _csv([list(ERROR_COLUMNS), *([s, why] for s, why in self.failed.items())])


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def load_gradebook(store: ResultStore, students: list[str] | None = None,
                   settings: dict[str, Any] | None = None) -> Gradebook:
    """The gradebook of ``students`` (default: every stored result) from ``store``.

    Only results whose seal verifies (and, with ``settings``, were graded with them)
    count; a listed student without one appears as not graded, with the recorded error
    when there is one, or why the stored result does not count.
    """
    names = store.students() if students is None else students
    results: list[SubmissionResult] = []
    failed: dict[str, str] = {}
    for student in names:
        result, why = store.check(student, settings)
        if result is not None:
            result.submission = student
            results.append(result)
        elif why != ABSENT:
            failed[student] = f"the stored result {why}"
        else:
            failed[student] = store.load_error(student) or "not graded yet"
    return Gradebook.build(results, failed)


def write_csv(gradebook: Gradebook, path: Path | str) -> Path:
    """Write ``grades.csv`` atomically; returns its path."""
    target = Path(path)
    write_atomic(target, gradebook.to_csv())
    return target


def write_errors_csv(gradebook: Gradebook, path: Path | str) -> Path:
    """Write ``errors.csv`` atomically (a header alone when everyone was graded)."""
    target = Path(path)
    write_atomic(target, gradebook.errors_csv())
    return target
