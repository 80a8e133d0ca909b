"""Renderers: pure functions from a :class:`grader.model.SubmissionResult` to text."""

from __future__ import annotations

from ..model import FailureKind

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

FORMATS = ("text", "json", "gradescope", "html")
INTEGRITY = "integrity: "  # the start of a note on what the grader stopped or undid


def integrity_notes(result) -> list[str]:  # noqa: ANN001 - SubmissionResult
    """What the grader stopped or undid while grading (see grader.batch.integrity), in
    the plain words every renderer shows."""
    return [n.removeprefix(INTEGRITY) for n in result.notes if n.startswith(INTEGRITY)]


def render(result, fmt: str) -> str:  # noqa: ANN001 - SubmissionResult
    """Render ``result`` in one of :data:`FORMATS`."""
    if fmt == "text":
        from .text import render_text

        return render_text(result)
    if fmt == "json":
        from .json import render_json

        return render_json(result)
    if fmt == "gradescope":
        from .gradescope import render_gradescope

        return render_gradescope(result)
    if fmt == "html":
        from .notebook import render_html

        return render_html(result)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
