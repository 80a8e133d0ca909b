"""GitHub Classroom rendering: what its autograding reporter reads, one test per check.

``classroom-resources/autograding-grading-reporter`` reads, for each runner id in its
``runners`` input, the variable ``<ID>_RESULTS``: base64 of the JSON object the
graders (``autograding-command-grader``, ``autograding-python-grader``) write::

    {"version": 1, "status": "pass" | "fail" | "error", "max_score": 60,
     "tests": [{"name": "...", "status": "pass" | "fail" | "error", "score": 4,
                "message": "...", "test_code": "...", "filename": "", "line_no": 0}]}

This module writes that object (the workflow encodes it: ``base64 -w0``). The points
GitHub Classroom records are the sum of the tests' ``score`` out of ``max_score``
(the reporter's "Points x/y" notice); the reporter's console table instead assumes
every test of a runner is worth the same, so it may differ from the points recorded.

The reporter prints every test's name, and its ``test_code`` (here the command that
runs that one check again, with every detail), ``message`` only for an ``error``.
Students read the whole log, so checks not visible to them (:mod:`grader.visibility`)
are one test, "N more checks", with their points together. A submission the grader
could not grade (a grader error) is ``error`` with ``max_score`` 0: the reporter then
posts no points, so no grade is recorded, and fails the step.
"""

from __future__ import annotations

import json
from typing import Any

from ..model import Status, SubmissionResult
from ..visibility import Visibility
from . import NOT_GRADED, grader_errors, integrity_notes
from .feedback import check_feedback
from .student_view import more_checks, student_view, withheld_sentence

VERSION = 1
PASS, FAIL, ERROR = "pass", "fail", "error"


def _test(name: str, status: str, score: float, message: str,
          test_code: str = "") -> dict[str, Any]:
    # filename and line_no as the graders write them: the reporter prints
    # "name - line N" unless line_no is 0
    return {"name": name, "status": status, "score": score, "message": message,
            "test_code": test_code, "filename": "", "line_no": 0}


def classroom_not_graded(reason: str = "") -> dict[str, Any]:
    """The result of a submission that was not graded: no points at stake."""
    message = f"{NOT_GRADED} ({reason})" if reason else NOT_GRADED
    return {"version": VERSION, "status": ERROR, "max_score": 0,
            "tests": [_test("chatlab grader", ERROR, 0, message)]}


def classroom_results(result: SubmissionResult, visibility: Visibility | None = None,
                      folder: str = ".") -> dict[str, Any]:
    """The runner result as a dict; ``folder`` is where the workflow grades, for the
    command that runs one check again."""
    broken = grader_errors(result)
    if broken:
        return classroom_not_graded(f"{broken[0].id}: {broken[0].failure.message}")
    shown, withheld = student_view(result, visibility)
    tests = []
    for c in shown.checks:
        ok = c.status in (Status.PASSED, Status.NOT_APPLICABLE)
        tests.append(_test(f"{c.id}: {c.title}", PASS if ok else FAIL, c.points,
                           check_feedback(c),
                           f"python -m grader check {folder} --only {c.id}"))
    if withheld.count:
        complete = withheld.points >= withheld.max_points
        tests.append(_test(more_checks(withheld), PASS if complete else FAIL,
                           withheld.points, withheld_sentence(withheld, more=False)))
    # the reporter prints names: that is where what the grader stopped is said
    tests += [_test(f"stopped by the grader: {note}", PASS, 0, note)
              for note in integrity_notes(result)]
    return {
        "version": VERSION,
        "status": PASS if all(t["status"] == PASS for t in tests) else FAIL,
        "max_score": result.max_score,
        "tests": tests,
    }


def render_classroom(result: SubmissionResult, visibility: Visibility | None = None) -> str:
    return json.dumps(classroom_results(result, visibility), indent=1,
                      ensure_ascii=False) + "\n"
