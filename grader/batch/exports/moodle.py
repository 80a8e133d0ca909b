"""``--export moodle``: a file for Moodle's *Grades > Import > CSV file*.

Moodle's CSV import (``grade/import/csv``) reads a header row, then lets the teacher
map one column to the users ("Map from" a column, "Map to" ``useridnumber`` or
``useremail``), and each other column to a grade item or to its feedback. Our columns:

    ID number, Email address, Full name, <assignment>, Feedback: <assignment>

as in Moodle's own export ("ID number", "Email address", "Feedback: <item>"). Map
``ID number`` -> *ID number* (or ``Email address`` -> *Email address*), ``<assignment>``
to the grade item and ``Feedback: <assignment>`` to its feedback.

What Moodle does with some inputs decides what we write:

- a row whose user is not found aborts the whole import, so only roster students are
  written (a submission not in the roster has nobody to match: it is left out and
  reported);
- a row whose identifier cell is empty is not matched to anyone and, in the versions
  read, keeps the previous row's user, so no identifier column may have an empty cell:
  ``ID number`` is required by the roster, and ``Email address`` is left out
  altogether when any student written has no email;
- an empty grade cell means "no grade" (it clears a grade already there): a student
  not graded or missing gets an empty grade and says why in the feedback.
"""

from __future__ import annotations

from ...i18n import N_, ngettext
from .base import Export, csv_text
from .rows import ExportRow

FILENAME = "moodle.csv"
NOT_IN_ROSTER = N_("not in the roster: Moodle has no user to give this grade to")


def render_moodle(rows: list[ExportRow], assignment: str) -> Export:
    """The Moodle import file for the grade item ``assignment``."""
    listed = [row for row in rows if row.entry is not None]
    export = Export(FILENAME, "", left_out={r.folder: NOT_IN_ROSTER
                                            for r in rows if r.entry is None})
    without_email = [row.folder for row in listed if not row.entry.email]  # type: ignore[union-attr]
    with_email = not without_email
    if without_email:
        export.notes.append(ngettext(
            "moodle: the Email address column is left out because {count} student(s) have"
            " no email in the roster ({students}): map the users by ID number",
            "moodle: the Email address column is left out because {count} student(s) have"
            " no email in the roster ({students}): map the users by ID number",
            len(without_email)).format(count=len(without_email),
                                       students=", ".join(without_email[:5])))
    header = ["ID number", *(["Email address"] if with_email else []), "Full name",
              assignment, f"Feedback: {assignment}"]
    body = []
    for row in listed:
        entry = row.entry
        assert entry is not None
        body.append([entry.student_id, *([entry.email] if with_email else []), entry.name,
                     row.score_text, row.feedback])
    export.text = csv_text([header, *body])
    return export
