"""HTML rendering for notebooks: a table, and a collapsible block per failed check."""

from __future__ import annotations

from html import escape

from ..model import CheckResult, Status, SubmissionResult
from ..visibility import Visibility
from . import KIND_WORDS, integrity_notes
from .student_view import student_view, withheld_sentence

COLORS = {Status.PASSED: "#1a7f37", Status.FAILED: "#cf222e", Status.SKIPPED: "#9a6700",
          Status.NOT_APPLICABLE: "#6e7781"}
MARKS = {Status.PASSED: "✓", Status.FAILED: "✗", Status.SKIPPED: "–",
         Status.NOT_APPLICABLE: "·"}


def _row(c: CheckResult) -> str:
    color = COLORS[c.status]
    note = f"<br><small>{escape(c.reason)}</small>" if c.reason else ""
    pts = "n/a" if c.status is Status.NOT_APPLICABLE else f"{c.points:g}/{c.max_points:g}"
    return (f'<tr><td style="color:{color};font-weight:bold">{MARKS[c.status]}</td>'
            f"<td><code>{escape(c.id)}</code></td><td>{escape(c.title)}{note}</td>"
            f'<td style="text-align:right">{pts}</td></tr>')


def _details(c: CheckResult) -> str:
    parts = [f"<summary><b>✗ {escape(c.title)}</b> <code>{escape(c.id)}</code></summary>"]
    f = c.failure
    if f is not None:
        parts.append(f"<p><b>What happened ({escape(KIND_WORDS[f.kind])}):</b>"
                     f" {escape(f.message)}</p>")
        if f.expected is not None:
            parts.append(f"<p><b>Expected:</b> <code>{escape(f.expected)}</code></p>")
        if f.actual is not None:
            parts.append(f"<p><b>Actual:</b></p><pre>{escape(f.actual)}</pre>")
    if c.transcript:
        rows = "".join(
            f"<tr><td>{e.time:.3f}</td><td>{escape(e.actor)}</td><td>{escape(e.action)}</td>"
            f"<td><code>{escape(e.text)}</code></td></tr>" for e in c.transcript)
        parts.append("<p><b>Transcript</b> (seconds, who, what):</p>"
                     f"<table>{rows}</table>")
    if c.program_output.strip():
        tail = "\n".join(c.program_output.strip().splitlines()[-30:])
        parts.append(f"<p><b>Program output</b> (last lines):</p><pre>{escape(tail)}</pre>")
    if c.hint:
        parts.append(f"<p>💡 {escape(c.hint)}</p>")
    return f"<details open>{''.join(parts)}</details>"


def render_html(result: SubmissionResult, visibility: Visibility | None = None) -> str:
    """A self-contained HTML fragment (no scripts), fit for a notebook cell. With
    ``visibility``, a student's view: only the checks they may see now."""
    result, withheld = student_view(result, visibility)
    passed = sum(c.status is Status.PASSED for c in result.checks)
    skipped = sum(c.status is Status.SKIPPED for c in result.checks)
    ok = result.all_passed
    head = (f'<p style="font-weight:bold;color:{"#1a7f37" if ok else "#cf222e"}">'
            f"{passed}/{len(result.checks)} checks passed"
            + (f" · {skipped} skipped" if skipped else "")
            + f" · {result.score:g}/{result.max_score:g} points · {result.duration:.1f} s</p>")
    table = f"<table>{''.join(_row(c) for c in result.checks)}</table>"
    failed = "".join(_details(c) for c in result.checks if c.status is Status.FAILED)
    stopped = "".join(f"<p>Stopped by the grader: {escape(n)}</p>"
                      for n in integrity_notes(result))
    more = f"<p>{escape(withheld_sentence(withheld))}</p>" if withheld.count else ""
    return f'<div class="chatlab-grader">{head}{table}{more}{failed}{stopped}</div>'
