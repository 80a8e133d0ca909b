"""Renderers: pure functions from a :class:`grader.model.SubmissionResult` to text."""

from __future__ import annotations

from ..model import CheckResult, FailureKind, SubmissionResult
from ..visibility import Visibility

KIND_WORDS = {
    FailureKind.MISMATCH: "wrong line",
    FailureKind.MISSING: "missing",
    FailureKind.UNEXPECTED: "unexpected",
    FailureKind.HUNG: "no answer (hung)",
    FailureKind.TOO_SLOW: "too slow",
    FailureKind.CRASHED: "crashed",
    FailureKind.RESOURCE_LIMIT: "resource leak or limit",
    FailureKind.GRADER_ERROR: "grader error (not your fault)",
}

FORMATS = ("text", "json", "gradescope", "html", "classroom", "prairielearn")
PLATFORMS = ("gradescope", "classroom", "prairielearn")  # always carry the visibility
INTEGRITY = "integrity: "  # the start of a note on what the grader stopped or undid
NOT_GRADED = (
    "The autograder could not grade this submission — not your fault. Please tell your"
    " instructor; you may resubmit meanwhile."
)


def grader_errors(result: SubmissionResult) -> list[CheckResult]:
    """The checks that broke because of the grader itself: with any, the submission is
    not graded (the batch and the platforms that can say so give no score)."""
    return [c for c in result.checks
            if c.failure is not None and c.failure.kind is FailureKind.GRADER_ERROR]


def integrity_notes(result) -> list[str]:  # noqa: ANN001 - SubmissionResult
    """What the grader stopped or undid while grading (see grader.batch.integrity), in
    the plain words every renderer shows."""
    return [n.removeprefix(INTEGRITY) for n in result.notes if n.startswith(INTEGRITY)]


def render(result: SubmissionResult, fmt: str, visibility: Visibility | None = None,
           student: bool = False) -> str:
    """Render ``result`` (a SubmissionResult) in one of :data:`FORMATS`.

    ``visibility`` (a :class:`grader.visibility.Visibility`, from the rubric) goes to
    every platform format; text, json and html apply it only for a ``student``'s view,
    and show everything otherwise (what instructors see)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    own = visibility if student or fmt in PLATFORMS else None
    if fmt == "text":
        from .text import render_text

        return render_text(result, visibility=own)
    if fmt == "json":
        from .json import render_json

        return render_json(result, own)
    if fmt == "html":
        from .notebook import render_html

        return render_html(result, own)
    if fmt == "gradescope":
        from .gradescope import render_gradescope

        return render_gradescope(result, own if own is not None else "visible")
    if fmt == "classroom":
        from .classroom import render_classroom

        return render_classroom(result, own)
    from .prairielearn import render_prairielearn

    return render_prairielearn(result, own)
