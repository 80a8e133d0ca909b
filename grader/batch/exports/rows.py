"""The rows every export is made from: one per student, from the batch's own gradebook.

The rows come from the :class:`~grader.batch.gradebook.Gradebook` that ``grades.csv``
and the report are made from (the results the batch holds in memory, verified), and
the roster. Nothing here reads a file a submission could have written.

A student is one of:

- **graded** (:data:`GRADED`): a score, and feedback such as ``"5.5/7.5 points;
  failed: server.no_echo"``;
- **not graded** (:data:`NOT_GRADED`): the grader could not grade the work (a refused
  archive, a grading that died or ran out of time): no score, feedback ``"not graded:
  <why>"``;
- **missing** (:data:`MISSING`): in the roster, but no submission was found: no score
  (not a 0: a misspelt folder must not reach the student as a failing grade), feedback
  ``"missing: no submission found (folder 'x')"``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...model import Status, SubmissionResult
from ..gradebook import Gradebook, fmt_points
from ..roster import RosterEntry, RosterMatch

GRADED, NOT_GRADED, MISSING = "graded", "not graded", "missing"


@dataclass(frozen=True)
class ExportRow:
    """One student as the exports show them."""

    folder: str  # the submission's name in the batch (the roster's folder when missing)
    entry: RosterEntry | None  # None: no roster, or the submission is not in it
    status: str  # GRADED, NOT_GRADED or MISSING
    score: float | None = None  # None for anyone not graded: never a made-up 0
    max_score: float | None = None
    feedback: str = ""

    @property
    def score_text(self) -> str:
        return "" if self.score is None else fmt_points(self.score)

    @property
    def max_text(self) -> str:
        return "" if self.max_score is None else fmt_points(self.max_score)


def feedback(result: SubmissionResult) -> str:
    """A one-line summary of ``result``: points, then the ids of the checks lost."""
    failed = [c.id for c in result.checks if c.status is Status.FAILED]
    skipped = [c.id for c in result.checks if c.status is Status.SKIPPED]
    parts = [f"{fmt_points(result.score)}/{fmt_points(result.max_score)} points"]
    if failed:
        parts.append("failed: " + ", ".join(failed))
    if skipped:
        parts.append("skipped: " + ", ".join(skipped))
    if not failed and not skipped:
        parts.append("every check passed")
    return "; ".join(parts)


def export_rows(gradebook: Gradebook, roster: RosterMatch | None = None) -> list[ExportRow]:
    """Every student of the batch (and every roster student without a submission),
    sorted by folder."""
    entries = roster.entries if roster is not None else {}
    rows = [
        ExportRow(r.submission, entries.get(r.submission), GRADED, r.score, r.max_score,
                  feedback(r))
        for r in gradebook.results
    ]
    rows += [
        ExportRow(student, entries.get(student), NOT_GRADED, feedback=f"not graded: {why}")
        for student, why in gradebook.failed.items()
    ]
    if roster is not None:
        rows += [
            ExportRow(e.folder, e, MISSING,
                      feedback=f"missing: no submission found (folder {e.folder!r})")
            for e in roster.missing
        ]
    return sorted(rows, key=lambda row: row.folder)
