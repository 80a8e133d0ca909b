"""The words of the class report's analysis sections, in one place to translate later.

Each value is shown as is (escaped) or filled with :meth:`str.format`; the keys are
what the rendering code uses. Failure kinds are worded by :data:`grader.render.KIND_WORDS`.
"""

from __future__ import annotations

from ..model import Status

TEXT = {
    # statistics
    "stats.heading": "Statistics",
    "stats.intro": (
        "Of the {graded} graded student(s); the {not_graded} not graded are left out of"
        " every figure and counted apart. Standard deviation of the whole class"
        " (population); quartiles inclusive (Q0 is the minimum, Q4 the maximum)."),
    "stats.points": "score (points)",
    "stats.share": "score (% of the maximum)",
    "stats.none": "No graded student: no statistics.",
    "stats.columns": ("", "students", "mean", "std. dev.", "min", "Q1", "median", "Q3", "max"),
    # steps
    "steps.heading": "Per notebook step",
    "steps.intro": (
        "Each step is one notebook. “Passed all” counts the students who passed every"
        " check of the step that applies to them (a skipped check is not passed); the"
        " mean share is the mean of each student's points over the step's points."),
    "steps.columns": ("step", "notebook", "checks", "points", "passed all", "students",
                      "mean share"),
    "steps.unknown_notebook": "(no notebook)",
    # failure clusters
    "clusters.heading": "Failures that look alike",
    "clusters.intro": (
        "Failures grouped by check, kind and message, with what changes from student to"
        " student taken out: quoted values are {value}, nicknames {nick}, numbers"
        " (ports, times, counts) {n}. Most common first; open one for its students."),
    "clusters.none": "No check failed.",
    "clusters.example": "for example:",
    # matrix
    "matrix.heading": "Students × checks",
    "matrix.intro": (
        "One row per student, one column per check. Sort the students by name or score,"
        " the checks by pass rate (hardest first) or in grading order."),
    "matrix.by_name": "students by name",
    "matrix.by_score": "students by score",
    "matrix.by_rate": "checks by pass rate",
    "matrix.in_order": "checks in grading order",
    "matrix.student": "student",
    "matrix.score": "%",
    "matrix.not_graded": "not graded",
    # discrimination
    "disc.heading": "Checks against the rest of the score",
    "disc.intro": (
        "For each check, the correlation (point-biserial) between passing it and the"
        " rest of the score (the other checks' points, over the points they offer), among"
        " the students who ran it. A good check is passed more by students who do well"
        " elsewhere (r well above 0). Flagged: r below {flag_below:g} with at least"
        " {min_students} students: a check whose verdict disagrees with the rest may be"
        " flaky or mis-weighted. Lowest first."),
    "disc.columns": ("check", "ran it", "passed", "r", ""),
    "disc.flag": "flaky or mis-weighted?",
    "disc.too_few": "too few students to judge",
    # grading time
    "time.heading": "Grading time",
    "time.intro": (
        "Wall-clock time of each graded submission's grading, as its result records"
        " it (the checks and the programs they start; unpacking not included)."),
    "time.columns": ("student", "seconds", "slowest check", "its seconds"),
    "time.summary": (
        "{count} timed: total {total}, mean {mean}, median {median}, slowest {maximum}."),
    "time.unrecorded": "No time recorded for {count}: {students}.",
    "time.slowest": "The {count} slowest:",
    "time.none": "No grading time recorded.",
    # the student table
    "students.failed": "failed",
    "students.skipped": "skipped",
}

# Each cell of the matrix: (css class, symbol, word). A symbol as well as a colour, so
# the matrix reads in black and white and to a colour-blind reader.
CELL = {
    Status.PASSED: ("pass", "✓", "passed"),
    Status.FAILED: ("fail", "✗", "failed"),
    Status.SKIPPED: ("skip", "↷", "skipped"),
    Status.NOT_APPLICABLE: ("na", "∅", "does not apply"),
    "not_graded": ("ng", "?", "not graded"),
}
