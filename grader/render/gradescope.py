"""Gradescope rendering: the ``results.json`` its autograder harness reads.

Format (Gradescope autograder specification): a top-level ``score``, ``execution_time``,
``output`` and ``tests``; each test has ``name`` (it starts with the check's stable id),
``score``, ``max_score``, ``status`` (``"passed"``/``"failed"``), ``output`` and
``visibility`` (``"visible"``, ``"hidden"``, ``"after_due_date"`` or ``"after_published"``).
A check that is not applicable under the profile is listed for 0 out of 0 points.

Each test carries its check's visibility from the rubric (:mod:`grader.visibility`);
Gradescope shows a test to students accordingly, and every test to instructors. The
top-level ``visibility`` is the rubric's default (a test overrides it), and the
top-level ``output`` counts only the checks that are always visible, so it gives away
nothing of the others but how many there are.
"""

from __future__ import annotations

import json
from typing import Any

from ..i18n import gettext as _
from ..messages import show
from ..model import Status, SubmissionResult
from ..visibility import VISIBILITIES, Visibility
from . import integrity_notes
from .feedback import check_feedback
from .student_view import student_view, withheld_sentence, without_names

__all__ = ["VISIBILITIES", "gradescope_results", "render_gradescope"]


def gradescope_results(result: SubmissionResult,
                       visibility: str | Visibility = "visible") -> dict[str, Any]:
    """The results.json content as a dict; ``visibility`` is one value for every test,
    or each check's (from :meth:`grader.rubric.Rubric.visibility_for`)."""
    if not isinstance(visibility, Visibility):
        visibility = Visibility(visibility)
    tests = []
    for c in result.checks:
        seen_later = [o for o in result.checks if not visibility.shown(o.id)
                      and visibility.of(o.id) != visibility.of(c.id)]
        c = without_names(c, seen_later)  # noqa: PLW2901 - its student-facing form
        applicable = c.status is not Status.NOT_APPLICABLE
        tests.append({
            "name": f"{c.id}: {show(c.title)}",
            "score": c.points,
            "max_score": c.max_points if applicable else 0.0,
            "status": "passed" if c.status in (Status.PASSED, Status.NOT_APPLICABLE)
            else "failed",
            "output": check_feedback(c),
            "visibility": visibility.of(c.id),
            "tags": [c.level.value, f"step {c.step:02d}"],
        })
    shown, withheld = student_view(result, visibility)
    passed = sum(c.status is Status.PASSED for c in shown.checks)
    stopped = "".join(f"\n\n{note}" for note in integrity_notes(result))
    more = f" {withheld_sentence(withheld)}" if withheld.count else ""
    return {
        "score": result.score,
        "execution_time": round(result.duration, 3),
        "output": (_("{passed} of {total} shown checks passed ({score}/{max_score} points).")
                   if withheld.count else
                   _("{passed} of {total} checks passed ({score}/{max_score} points)."))
        .format(passed=passed, total=len(shown.checks), score=f"{shown.score:g}",
                max_score=f"{shown.max_score:g}") + more + " "
        + _("Each failed check shows what was expected, what happened, and what to read.")
        + stopped,
        "visibility": visibility.default,
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def render_gradescope(result: SubmissionResult,
                      visibility: str | Visibility = "visible") -> str:
    return json.dumps(gradescope_results(result, visibility), indent=2, ensure_ascii=False) + "\n"
