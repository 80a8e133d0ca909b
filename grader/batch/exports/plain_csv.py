"""``--export csv``: every student, who they are, whether they were graded, the score and
the feedback, for a spreadsheet or a platform without a format of its own here.

Columns: ``folder``, ``student_id``, ``email``, ``name`` (blank without a roster, or for
a submission not in it), ``status`` (``graded``, ``not graded``, ``missing``),
``score`` and ``max`` (blank unless graded), ``feedback``.
"""

from __future__ import annotations

from .base import Export, csv_text
from .rows import ExportRow

FILENAME = "plain.csv"
HEADER = ["folder", "student_id", "email", "name", "status", "score", "max", "feedback"]


def render_plain(rows: list[ExportRow]) -> Export:
    """Every row, in the columns above."""
    body = [
        [row.folder, *(_who(row)), row.status, row.score_text, row.max_text, row.feedback]
        for row in rows
    ]
    return Export(FILENAME, csv_text([HEADER, *body]))


def _who(row: ExportRow) -> list[str]:
    entry = row.entry
    return [entry.student_id, entry.email, entry.name] if entry is not None else ["", "", ""]
