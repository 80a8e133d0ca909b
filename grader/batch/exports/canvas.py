"""``--export canvas``: a file for Canvas's *Grades > Import*.

Canvas's gradebook importer (``GradebookImporter``) wants the layout of its own
gradebook export:

    Student, ID, SIS User ID, SIS Login ID, Section, <assignment>
    Points Possible, , , , , <points>
    <name>, , <student_id>, <login>, <section>, <score>

It finds students by ``ID`` (Canvas's own number, which a roster does not have, so
left blank), then ``SIS User ID`` (the roster's ``student_id``), then ``SIS Login ID``
(the roster's ``login``), then the name; one it cannot find is listed on the import's
confirmation page. It finds the assignment by the id in parentheses at the end of the
header, as its export writes it (``--assignment "Chat lab (12345)"``, the number in
the assignment's address), else by its exact name, else it creates a new assignment.
The ``Points Possible`` row gives the assignment's points.

Canvas's CSV import takes no comments, so the feedback is not in this file (see
``plain.csv`` and the report). An empty grade cell means no score: a student not
graded or missing gets one, and an empty cell where Canvas holds a score is shown as a
change on the confirmation page before it is applied. Submissions not in the roster
are left out (Canvas would match them by folder name at best).
"""

from __future__ import annotations

from ...i18n import N_, ngettext
from ..gradebook import fmt_points
from .base import Export, ExportError, csv_text
from .rows import GRADED, ExportRow

FILENAME = "canvas.csv"
STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
POINTS_POSSIBLE = "Points Possible"
NOT_IN_ROSTER = N_("not in the roster: Canvas has no SIS User ID to match")


def render_canvas(rows: list[ExportRow], assignment: str) -> Export:
    """The Canvas import file for ``assignment``; :class:`ExportError` when no student
    was graded (there are then no points possible to write)."""
    maxima = sorted({row.max_score for row in rows
                     if row.status == GRADED and row.max_score is not None})
    if not maxima:
        raise ExportError("canvas: no student was graded, so there are no points possible"
                          " to write; canvas.csv was not written")
    points = maxima[-1]
    export = Export(FILENAME, "", left_out={r.folder: NOT_IN_ROSTER
                                            for r in rows if r.entry is None})
    if len(maxima) > 1:
        lower = [r.folder for r in rows if r.status == GRADED and r.max_score != points]
        export.notes.append(ngettext(
            "canvas: points possible is {points}, but {count} student(s) had checks that did"
            " not apply and a lower maximum ({students}); Canvas counts their score out of"
            " the points possible",
            "canvas: points possible is {points}, but {count} student(s) had checks that did"
            " not apply and a lower maximum ({students}); Canvas counts their score out of"
            " the points possible", len(lower)).format(
                points=fmt_points(points), count=len(lower), students=", ".join(lower[:5])))
    body = [[*STUDENT_COLUMNS, assignment],
            [POINTS_POSSIBLE, "", "", "", "", fmt_points(points)]]
    for row in rows:
        entry = row.entry
        if entry is None:
            continue
        body.append([entry.name, "", entry.student_id, entry.login, entry.section,
                     row.score_text])
    export.text = csv_text(body)
    return export
