"""Terminal rendering: a compact table, then the details of each failure."""

from __future__ import annotations

from ..model import CheckResult, Status, SubmissionResult
from ..visibility import Visibility
from . import KIND_WORDS, integrity_notes
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
            pts = "n/a"
        lines.append(f"  {mark} {c.id:<{width}}  {pts:>5}  {c.title}")
        if c.status is Status.SKIPPED and c.reason:
            lines.append(f"    {' ' * width}         {c.reason}")
    return lines


def details(c: CheckResult, color: bool = False) -> list[str]:
    """Everything a student needs to fix one failed check."""
    f = c.failure
    head = f"✗ {c.id} — {c.title}  (step {c.step:02d})"
    out = ["", _paint(head, "1;31", color)]
    if f is not None:
        out.append(f"  What happened ({KIND_WORDS[f.kind]}): {f.message}")
        if f.expected is not None:
            out.append(f"  Expected: {f.expected}" if "\n" not in f.expected
                       else "  Expected:\n" + _indent(f.expected, 4))
        if f.actual is not None:
            out.append(f"  Actual:   {f.actual!r}" if "\n" not in f.actual
                       else "  Actual:\n" + _indent(f.actual, 4))
    if c.transcript:
        out.append("  Transcript (seconds since the start, who, what):")
        actor_w = max(len(e.actor) for e in c.transcript)
        for e in c.transcript:
            text = f" {e.text}" if e.text else ""
            out.append(f"    {e.time:7.3f}  {e.actor:<{actor_w}}  {e.action}{text}")
    if c.program_output.strip():
        tail = c.program_output.strip().splitlines()[-OUTPUT_LINES:]
        out.append("  Program output (last lines):")
        out.extend("    " + line for line in tail)
    if c.hint:
        out.append(_paint(f"  Hint: {c.hint}", "36", color))
    return out


def _indent(text: str, n: int) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())


def render_text(result: SubmissionResult, color: bool = False,
                visibility: Visibility | None = None) -> str:
    """The whole report: header, table, failure details, summary line. With
    ``visibility``, a student's view: only the checks they may see now."""
    result, withheld = student_view(result, visibility)
    passed = sum(c.status is Status.PASSED for c in result.checks)
    failed = [c for c in result.checks if c.status is Status.FAILED]
    lines = [f"chatlab grader — {result.submission} (profile {result.profile})"]
    lines += table(result, color)
    for c in failed:
        lines += details(c, color)
    skipped = sum(c.status is Status.SKIPPED for c in result.checks)
    summary = (f"score {_points(result.score)}/{_points(result.max_score)} · {passed} passed"
               f" · {len(failed)} failed" + (f" · {skipped} skipped" if skipped else "")
               + f" · {result.duration:.1f} s")
    lines += ["", _paint(summary, "1;32" if result.all_passed else "1;31", color)]
    lines += [withheld_sentence(withheld)] if withheld.count else []
    lines += [f"Stopped by the grader: {note}" for note in integrity_notes(result)]
    return "\n".join(lines) + "\n"
