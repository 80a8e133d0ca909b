"""Renderers: pure functions from a :class:`grader.model.SubmissionResult` to text.

They show the result in the language of the moment (:mod:`grader.i18n`): the messages
it holds (:class:`grader.messages.Text`) and their own words are translated as they are
shown, so one result renders in English and in Portuguese alike."""

from __future__ import annotations

import re

from ..i18n import N_, gettext
from ..messages import show
from ..model import CheckResult, FailureKind, SubmissionResult, TranscriptEntry
from ..visibility import Visibility

KIND_WORDS = {
    FailureKind.MISMATCH: N_("wrong line"),
    FailureKind.MISSING: N_("missing"),
    FailureKind.UNEXPECTED: N_("unexpected"),
    FailureKind.HUNG: N_("no answer (hung)"),
    FailureKind.TOO_SLOW: N_("too slow"),
    FailureKind.CRASHED: N_("crashed"),
    FailureKind.RESOURCE_LIMIT: N_("resource leak or limit"),
    FailureKind.GRADER_ERROR: N_("grader error (not your fault)"),
}
# What happened, in a transcript entry (its action), and who did it, when it is no nickname.
ACTION_WORDS = {
    "accepted": N_("accepted"),
    "closed": N_("closed"),
    "connected": N_("connected"),
    "connection": N_("connection"),
    "exited": N_("exited"),
    "note": N_("note"),
    "printed": N_("printed"),
    "received": N_("received"),
    "reset": N_("reset"),
    "reused": N_("reused"),
    "sent": N_("sent"),
    "started": N_("started"),
    "typed": N_("typed"),
}
ACTOR_WORDS = {"grader": N_("grader"), "server": N_("server"), "client": N_("client")}
# The headings grader.context puts in a check's program output, and the programs they name.
OUTPUT_HEADING = re.compile(r"^--- (?P<label>.+?)(?P<number> #\d+)? (?P<what>output|screen) ---$")
HEADINGS = {"output": N_("--- {label} output ---"), "screen": N_("--- {label} screen ---")}
PROGRAM_WORDS = {"server": N_("server"), "client": N_("client"),
                 "test program": N_("test program")}

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


def kind_words(kind: FailureKind) -> str:
    """A failure's kind in the reader's words ("wrong line", "linha errada")."""
    return gettext(KIND_WORDS[kind])


def entry_words(entry: TranscriptEntry) -> tuple[str, str, str]:
    """A transcript entry's actor, action and text in the reader's words (a nickname,
    a line received, stay as they are)."""
    actor = gettext(ACTOR_WORDS[entry.actor]) if entry.actor in ACTOR_WORDS else entry.actor
    action = gettext(ACTION_WORDS[entry.action]) if entry.action in ACTION_WORDS else entry.action
    return actor, action, show(entry.text)


def output_lines(output: str) -> list[str]:
    """A check's program output as lines, its headings ("--- server output ---") in the
    reader's words; what the programs printed stays as it is."""
    return [output_line(line) for line in output.splitlines()]


def output_line(line: str) -> str:
    """One line of a check's program output: a heading in the reader's words, any other
    line as it is."""
    found = OUTPUT_HEADING.match(line)
    if not found:
        return line
    label = found["label"]
    label = gettext(PROGRAM_WORDS[label]) if label in PROGRAM_WORDS else label
    return gettext(HEADINGS[found["what"]]).format(label=label + (found["number"] or ""))


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
