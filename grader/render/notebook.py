"""HTML rendering for notebooks: a table, and a collapsible block per failed check."""

from __future__ import annotations

from html import escape

from ..i18n import gettext as _
from ..i18n import ngettext
from ..messages import show
from ..model import CheckResult, Status, SubmissionResult
from ..visibility import Visibility
from . import entry_words, integrity_notes, kind_words, output_lines
from .student_view import student_view, withheld_sentence

COLORS = {Status.PASSED: "#1a7f37", Status.FAILED: "#cf222e", Status.SKIPPED: "#9a6700",
          Status.NOT_APPLICABLE: "#6e7781"}
MARKS = {Status.PASSED: "✓", Status.FAILED: "✗", Status.SKIPPED: "–",
         Status.NOT_APPLICABLE: "·"}


def _row(c: CheckResult) -> str:
    color = COLORS[c.status]
    note = f"<br><small>{escape(show(c.reason))}</small>" if c.reason else ""
    pts = _("n/a") if c.status is Status.NOT_APPLICABLE else f"{c.points:g}/{c.max_points:g}"
    return (f'<tr><td style="color:{color};font-weight:bold">{MARKS[c.status]}</td>'
            f"<td><code>{escape(c.id)}</code></td><td>{escape(show(c.title))}{note}</td>"
            f'<td style="text-align:right">{pts}</td></tr>')


def _details(c: CheckResult) -> str:
    parts = [f"<summary><b>✗ {escape(show(c.title))}</b> <code>{escape(c.id)}</code></summary>"]
    f = c.failure
    if f is not None:
        what = _("What happened ({kind}):").format(kind=kind_words(f.kind))
        parts.append(f"<p><b>{escape(what)}</b> {escape(show(f.message))}</p>")
        if f.expected is not None:
            parts.append(f"<p><b>{escape(_('Expected:'))}</b>"
                         f" <code>{escape(show(f.expected))}</code></p>")
        if f.actual is not None:
            parts.append(f"<p><b>{escape(_('Actual:'))}</b></p><pre>{escape(show(f.actual))}</pre>")
    if c.transcript:
        rows = "".join(
            f"<tr><td>{e.time:.3f}</td><td>{escape(actor)}</td><td>{escape(action)}</td>"
            f"<td><code>{escape(text)}</code></td></tr>"
            for e in c.transcript for actor, action, text in [entry_words(e)])
        parts.append(f"<p><b>{escape(_('Transcript (seconds since the start, who, what):'))}"
                     f"</b></p><table>{rows}</table>")
    if c.program_output.strip():
        tail = "\n".join(output_lines(c.program_output.strip())[-30:])
        parts.append(f"<p><b>{escape(_('Program output (last lines):'))}</b></p>"
                     f"<pre>{escape(tail)}</pre>")
    if c.hint:
        parts.append(f"<p>💡 {escape(show(c.hint))}</p>")
    return f"<details open>{''.join(parts)}</details>"


def render_html(result: SubmissionResult, visibility: Visibility | None = None) -> str:
    """A self-contained HTML fragment (no scripts), fit for a notebook cell. With
    ``visibility``, a student's view: only the checks they may see now."""
    result, withheld = student_view(result, visibility)
    passed = sum(c.status is Status.PASSED for c in result.checks)
    skipped = sum(c.status is Status.SKIPPED for c in result.checks)
    ok = result.all_passed
    words = [ngettext("{passed}/{total} check passed", "{passed}/{total} checks passed",
                      len(result.checks)).format(passed=passed, total=len(result.checks))]
    if skipped:
        words.append(ngettext("{count} skipped", "{count} skipped", skipped).format(count=skipped))
    words.append(_("{score}/{max_score} points").format(score=f"{result.score:g}",
                                                        max_score=f"{result.max_score:g}"))
    words.append(f"{result.duration:.1f} s")
    head = (f'<p style="font-weight:bold;color:{"#1a7f37" if ok else "#cf222e"}">'
            f"{escape(' · '.join(words))}</p>")
    table = f"<table>{''.join(_row(c) for c in result.checks)}</table>"
    failed = "".join(_details(c) for c in result.checks if c.status is Status.FAILED)
    stopped = "".join(f"<p>{escape(_('Stopped by the grader: {note}').format(note=n))}</p>"
                      for n in integrity_notes(result))
    more = f"<p>{escape(withheld_sentence(withheld))}</p>" if withheld.count else ""
    return f'<div class="chatlab-grader">{head}{table}{more}{failed}{stopped}</div>'
