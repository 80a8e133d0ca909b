"""Gradescope rendering: the ``results.json`` its autograder harness reads.

Format (Gradescope autograder specification): a top-level ``score``, ``execution_time``,
``output`` and ``tests``; each test has ``name`` (it starts with the check's stable id),
``score``, ``max_score``, ``status`` (``"passed"``/``"failed"``), ``output`` and
``visibility`` (``"visible"``, ``"hidden"``, ``"after_due_date"`` or ``"after_published"``).
A check that is not applicable under the profile is listed for 0 out of 0 points.
"""

from __future__ import annotations

import json
from typing import Any

from ..i18n import gettext as _
from ..messages import show
from ..model import CheckResult, Status, SubmissionResult
from . import integrity_notes
from .text import details

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


def _output(c: CheckResult) -> str:
    reason = show(c.reason)
    if c.status is Status.PASSED:
        return _("Passed.")
    if c.status is Status.NOT_APPLICABLE:
        return _("Not applicable: {reason}").format(reason=reason)
    if c.status is Status.SKIPPED:
        return (f"{reason[:1].upper()}{reason[1:]}.\n\n{_('Hint:')} {show(c.hint)}" if c.hint
                else reason)
    return "\n".join(line[2:] if line.startswith("  ") else line
                     for line in details(c)[2:]).strip()


def gradescope_results(result: SubmissionResult, visibility: str = "visible") -> dict[str, Any]:
    """The results.json content as a dict."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}, not {visibility!r}")
    tests = []
    for c in result.checks:
        applicable = c.status is not Status.NOT_APPLICABLE
        tests.append({
            "name": f"{c.id}: {show(c.title)}",
            "score": c.points,
            "max_score": c.max_points if applicable else 0.0,
            "status": "passed" if c.status in (Status.PASSED, Status.NOT_APPLICABLE)
            else "failed",
            "output": _output(c),
            "visibility": visibility,
            "tags": [c.level.value, f"step {c.step:02d}"],
        })
    passed = sum(c.status is Status.PASSED for c in result.checks)
    stopped = "".join(f"\n\n{note}" for note in integrity_notes(result))
    return {
        "score": result.score,
        "execution_time": round(result.duration, 3),
        "output": _("{passed} of {total} checks passed ({score}/{max_score} points). Each"
                    " failed check shows what was expected, what happened, and what to"
                    " read.").format(passed=passed, total=len(result.checks),
                                     score=f"{result.score:g}",
                                     max_score=f"{result.max_score:g}") + stopped,
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def render_gradescope(result: SubmissionResult, visibility: str = "visible") -> str:
    return json.dumps(gradescope_results(result, visibility), indent=2, ensure_ascii=False) + "\n"
