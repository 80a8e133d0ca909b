"""Terminal rendering: a compact table, then the details of each failure."""

from __future__ import annotations

from ..i18n import gettext as _
from ..i18n import ngettext
from ..messages import show
from ..model import CheckResult, Status, SubmissionResult
from ..visibility import Visibility
from . import entry_words, integrity_notes, kind_words, output_lines
from .student_view import student_view, withheld_sentence

MARKS = {
    Status.PASSED: "✓",
    Status.FAILED: "✗",
    Status.SKIPPED: "-",
    Status.NOT_APPLICABLE: "·",
}
COLORS = {Status.PASSED: "32", Status.FAILED: "31", Status.SKIPPED: "33",
          Status.NOT_APPLICABLE: "90"}
OUTPUT_LINES = 30  # lines of program output shown under a failure


def _paint(text: str, code: str, color: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if color else text


def _points(value: float) -> str:
    return f"{value:g}"


def table(result: SubmissionResult, color: bool = False) -> list[str]:
    width = max((len(c.id) for c in result.checks), default=10)
    lines = []
    for c in result.checks:
        mark = _paint(MARKS[c.status], COLORS[c.status], color)
        pts = f"{_points(c.points)}/{_points(c.max_points)}"
        if c.status is Status.NOT_APPLICABLE:
            pts = _("n/a")
        lines.append(f"  {mark} {c.id:<{width}}  {pts:>5}  {show(c.title)}")
        if c.status in (Status.SKIPPED, Status.NOT_APPLICABLE) and c.reason:
            lines.append(f"    {' ' * width}         {show(c.reason)}")
    return lines


def details(c: CheckResult, color: bool = False) -> list[str]:
    """Everything a student needs to fix one failed check."""
    f = c.failure
    step = _("step {step:02d}").format(step=c.step)
    head = f"✗ {c.id} — {show(c.title)}  ({step})"
    out = ["", _paint(head, "1;31", color)]
    if f is not None:
        out.append("  " + _("What happened ({kind}): {message}").format(
            kind=kind_words(f.kind), message=show(f.message)))
        expected, actual = _("Expected:"), _("Actual:")
        width = max(len(expected), len(actual))
        if f.expected is not None:
            shown = show(f.expected)
            out.append(f"  {expected:<{width}} {shown}" if "\n" not in shown
                       else f"  {expected}\n" + _indent(shown, 4))
        if f.actual is not None:
            shown = show(f.actual)
            out.append(f"  {actual:<{width}} {shown!r}" if "\n" not in shown
                       else f"  {actual}\n" + _indent(shown, 4))
    if c.transcript:
        out.append("  " + _("Transcript (seconds since the start, who, what):"))
        entries = [(e.time, *entry_words(e)) for e in c.transcript]
        actor_w = max(len(actor) for _time, actor, _action, _text in entries)
        for time, actor, action, text in entries:
            text = f" {text}" if text else ""
            out.append(f"    {time:7.3f}  {actor:<{actor_w}}  {action}{text}")
    if c.program_output.strip():
        tail = output_lines(c.program_output.strip())[-OUTPUT_LINES:]
        out.append("  " + _("Program output (last lines):"))
        out.extend("    " + line for line in tail)
    if c.hint:
        out.append(_paint(f"  {_('Hint:')} {show(c.hint)}", "36", color))
    return out


def _indent(text: str, n: int) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())


def summary(result: SubmissionResult) -> str:
    """"score 7/10 · 3 passed · 1 failed · 2 skipped · 4.2 s", in the reader's words."""
    passed = sum(c.status is Status.PASSED for c in result.checks)
    failed = sum(c.status is Status.FAILED for c in result.checks)
    skipped = sum(c.status is Status.SKIPPED for c in result.checks)
    parts = [
        _("score {score}/{max_score}").format(score=_points(result.score),
                                              max_score=_points(result.max_score)),
        ngettext("{count} passed", "{count} passed", passed).format(count=passed),
        ngettext("{count} failed", "{count} failed", failed).format(count=failed),
    ]
    if skipped:
        parts.append(ngettext("{count} skipped", "{count} skipped", skipped)
                     .format(count=skipped))
    parts.append(f"{result.duration:.1f} s")
    return " · ".join(parts)


def render_text(result: SubmissionResult, color: bool = False,
                visibility: Visibility | None = None) -> str:
    """The whole report: header, table, failure details, summary line. With
    ``visibility``, a student's view: only the checks they may see now."""
    result, withheld = student_view(result, visibility)
    failed = [c for c in result.checks if c.status is Status.FAILED]
    lines = [_("chatlab grader — {submission} (profile {profile})").format(
        submission=result.submission, profile=result.profile)]
    lines += table(result, color)
    for c in failed:
        lines += details(c, color)
    lines += ["", _paint(summary(result), "1;32" if result.all_passed else "1;31", color)]
    lines += [withheld_sentence(withheld)] if withheld.count else []
    lines += [_("Stopped by the grader: {note}").format(note=note)
              for note in integrity_notes(result)]
    return "\n".join(lines) + "\n"
