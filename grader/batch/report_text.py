"""The words of the class report's analysis sections, marked for translation.

Each value is an English message (the catalogue's msgid), translated when the report is
written: :func:`words` shows one (filled with :meth:`str.format` when given fields),
:func:`counted` one whose wording follows a number, :func:`columns` a table's header.
The keys are what the rendering code uses. Failure kinds are worded by
:data:`grader.render.KIND_WORDS`.
"""

from __future__ import annotations

from ..i18n import N_, N_plural, gettext, ngettext
from ..model import Status

TEXT = {
    # statistics
    "stats.heading": N_("Statistics"),
    "stats.points": N_("score (points)"),
    "stats.share": N_("score (% of the maximum)"),
    "stats.none": N_("No graded student: no statistics."),
    # steps
    "steps.heading": N_("Per notebook step"),
    "steps.intro": N_(
        "Each step is one notebook. “Passed all” counts the students who passed every"
        " check of the step that applies to them (a skipped check is not passed); the"
        " mean share is the mean of each student's points over the step's points."),
    "steps.unknown_notebook": N_("(no notebook)"),
    # failure clusters
    "clusters.heading": N_("Failures that look alike"),
    "clusters.intro": N_(
        "Failures grouped by check, kind and message, with what changes from student to"
        " student taken out: quoted values are {value}, nicknames {nick}, numbers"
        " (ports, times, counts) {n}. Most common first; open one for its students."),
    "clusters.none": N_("No check failed."),
    "clusters.example": N_("for example:"),
    "clusters.unknown_kind": N_("unknown"),
    # matrix
    "matrix.heading": N_("Students × checks"),
    "matrix.intro": N_(
        "One row per student, one column per check. Sort the students by name or score,"
        " the checks by pass rate (hardest first) or in grading order."),
    "matrix.by_name": N_("students by name"),
    "matrix.by_score": N_("students by score"),
    "matrix.by_rate": N_("checks by pass rate"),
    "matrix.in_order": N_("checks in grading order"),
    "matrix.student": N_("student"),
    "matrix.score": "%",  # a symbol, the same in every language
    "matrix.cell": N_("{student} · {check}: {verdict}"),
    "matrix.cell_note": N_("{student} · {check}: {verdict} ({note})"),
    # discrimination
    "disc.heading": N_("Checks against the rest of the score"),
    "disc.intro": N_(
        "For each check, the correlation (point-biserial) between passing it and the"
        " rest of the score (the other checks' points, over the points they offer), among"
        " the students who ran it. A good check is passed more by students who do well"
        " elsewhere (r well above 0). Flagged: r below {flag_below:g} with at least"
        " {min_students} students: a check whose verdict disagrees with the rest may be"
        " flaky or mis-weighted. Lowest first."),
    "disc.flag": N_("flaky or mis-weighted?"),
    "disc.too_few": N_("too few students to judge"),
    # grading time
    "time.heading": N_("Grading time"),
    "time.intro": N_(
        "Wall-clock time of each graded submission's grading, as its result records"
        " it (the checks and the programs they start; unpacking not included)."),
    "time.none": N_("No grading time recorded."),
}

# Messages whose wording follows a number (the first field given to counted()).
PLURALS = {
    "stats.intro": N_plural(
        "Of the {graded} graded student(s); the {not_graded} not graded are left out of"
        " every figure and counted apart. Standard deviation of the whole class"
        " (population); quartiles inclusive (Q0 is the minimum, Q4 the maximum).",
        "Of the {graded} graded student(s); the {not_graded} not graded are left out of"
        " every figure and counted apart. Standard deviation of the whole class"
        " (population); quartiles inclusive (Q0 is the minimum, Q4 the maximum)."),
    "time.summary": N_plural(
        "{count} timed: total {total}, mean {mean}, median {median}, slowest {maximum}.",
        "{count} timed: total {total}, mean {mean}, median {median}, slowest {maximum}."),
    "time.unrecorded": N_plural("No time recorded for {count}: {students}.",
                                "No time recorded for {count}: {students}."),
    "time.slowest": N_plural("The {count} slowest:", "The {count} slowest:"),
}

# Table headers; "" is an empty header cell.
COLUMNS = {
    "stats.columns": ("", N_("students"), N_("mean"), N_("std. dev."), N_("min"), "Q1",
                      N_("median"), "Q3", N_("max")),
    "steps.columns": (N_("step"), N_("notebook"), N_("checks"), N_("points"),
                      N_("passed all"), N_("students"), N_("mean share")),
    "disc.columns": (N_("check"), N_("ran it"), N_("passed"), "r", ""),
    "time.columns": (N_("student"), N_("seconds"), N_("slowest check"), N_("its seconds")),
}

# Symbols and names that are the same in every language, so never looked up.
AS_IS = frozenset({"", "%", "Q1", "Q3", "r"})

# Each cell of the matrix: (css class, symbol, word). A symbol as well as a colour, so
# the matrix reads in black and white and to a colour-blind reader.
CELL = {
    Status.PASSED: ("pass", "✓", N_("passed")),
    Status.FAILED: ("fail", "✗", N_("failed")),
    Status.SKIPPED: ("skip", "↷", N_("skipped")),
    Status.NOT_APPLICABLE: ("na", "∅", N_("does not apply")),
    "not_graded": ("ng", "?", N_("not graded")),
}


def translated(message: str) -> str:
    """``message`` in the reader's language; symbols (:data:`AS_IS`) as they are."""
    return message if message in AS_IS else gettext(message)


def words(key: str, **fields: object) -> str:
    """``TEXT[key]`` in the reader's language, filled with ``fields`` when there are any."""
    text = translated(TEXT[key])
    return text.format(**fields) if fields else text


def counted(key: str, n: int, **fields: object) -> str:
    """``PLURALS[key]`` in the form that fits the number ``n``, filled with ``fields``."""
    return ngettext(*PLURALS[key], n).format(**fields)


def columns(key: str) -> tuple[str, ...]:
    """The header cells of ``COLUMNS[key]`` in the reader's language."""
    return tuple(translated(c) for c in COLUMNS[key])


def cell_word(status: Status | str) -> str:
    """A matrix cell's verdict in the reader's language ("passed", "aprovada")."""
    return gettext(CELL[status][2])
