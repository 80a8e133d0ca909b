"""PrairieLearn rendering: the ``/grade/results/results.json`` of an external grader.

Format (PrairieLearn, "External Grading", "Grading results"): ``gradable`` (false: the
submission is marked "invalid, not gradable", no points are awarded or lost and no
attempt is used), ``score`` in [0, 1] (only when gradable), ``message``, and ``tests``,
each with ``name``, ``description``, ``points``, ``max_points``, ``message`` and
``output``, which the ``<pl-external-grader-results>`` element shows. The file must
stay under 1 MB.

A submission the grader could not grade (a grader error, or no check worth any point)
is ``gradable: false`` with a message, never a score. PrairieLearn shows students every
test it gets, so checks not visible to them (:mod:`grader.visibility`) are one test,
"N more checks", with their points together.
"""

from __future__ import annotations

import json
from typing import Any

from ..model import Status, SubmissionResult
from ..visibility import Visibility
from . import NOT_GRADED, grader_errors, integrity_notes
from .feedback import check_feedback, check_summary
from .student_view import more_checks, student_view, withheld_sentence

NOTHING_TO_GRADE = "no selected check is worth any point"


def prairielearn_not_graded(reason: str = "") -> dict[str, Any]:
    """The results of a submission that was not graded."""
    return {"gradable": False,
            "message": f"{NOT_GRADED} ({reason})" if reason else NOT_GRADED}


def prairielearn_results(result: SubmissionResult,
                         visibility: Visibility | None = None) -> dict[str, Any]:
    """The results.json content as a dict."""
    broken = grader_errors(result)
    if broken:
        return prairielearn_not_graded(f"{broken[0].id}: {broken[0].failure.message}")
    if result.max_score <= 0:
        return prairielearn_not_graded(NOTHING_TO_GRADE)
    shown, withheld = student_view(result, visibility)
    tests = []
    for c in shown.checks:
        applicable = c.status is not Status.NOT_APPLICABLE
        tests.append({"name": c.id, "description": c.title, "points": c.points,
                      "max_points": c.max_points if applicable else 0.0,
                      "message": check_summary(c), "output": check_feedback(c)})
    more = withheld_sentence(withheld, more=False)
    if withheld.count:
        tests.append({"name": more_checks(withheld), "description": more,
                      "points": withheld.points, "max_points": withheld.max_points,
                      "message": more, "output": ""})
    passed = sum(c.status is Status.PASSED for c in shown.checks)
    summary = (f"{passed} of {len(shown.checks)} {'shown ' if withheld.count else ''}checks"
               f" passed.{' ' + withheld_sentence(withheld) if withheld.count else ''}")
    stopped = "".join(f"\n\nStopped by the grader: {note}" for note in integrity_notes(result))
    return {
        "gradable": True,
        "score": min(1.0, max(0.0, result.score / result.max_score)),
        "message": summary + stopped,
        "tests": tests,
    }


def render_prairielearn(result: SubmissionResult, visibility: Visibility | None = None) -> str:
    return json.dumps(prairielearn_results(result, visibility), indent=1,
                      ensure_ascii=False) + "\n"
