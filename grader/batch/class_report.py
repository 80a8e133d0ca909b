"""The class report: one self-contained HTML page an instructor opens from disk.

Everything is inline (CSS, SVG charts drawn here by hand, one short script that only
sorts the matrix, no font or image to fetch), so the page works offline, attached to an
e-mail or inside a zip. Sections:

- a summary (students, mean, median, how many passed everything);
- statistics of the score (mean, standard deviation, quartiles) and its distribution,
  as a histogram of percentages in tenths;
- per notebook step: who passed all its checks, the mean share of its points;
- the pass rate of every check with its title (passed, failed, skipped counted apart):
  which concept did the class miss?
- failures that look alike, grouped by check, kind and message pattern;
- the student × check matrix, sortable;
- each check against the rest of the score (item discrimination), the doubtful flagged;
- the grading time of each submission, the slowest listed;
- a table of students linking to each one's feedback, the same the student sees:
  what was expected, what happened, the transcript, the program's output, the hint;
- with a roster (``--roster``), its students without a submission and the submissions
  it does not list.

The numbers come from :class:`~grader.batch.gradebook.Gradebook`, as in ``grades.csv``,
and the figures from :mod:`.class_stats`; this module and :mod:`.class_sections` and
:mod:`.class_matrix` only write HTML. Those not graded are in no statistic.
Elements carry ``data-*`` attributes (``data-student``, ``data-score``, ``data-check``,
``data-passed``…) so tests and scripts can read the figures back from the page.

The page is in the language of the moment (:mod:`grader.i18n`, ``--lang``): its words,
and the messages the results hold (:func:`grader.messages.show`); numbers, check ids,
student folders and file names are the same in every language, and so are the
``data-*`` attributes.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from .. import i18n
from ..i18n import N_, N_plural, ngettext
from ..i18n import gettext as _
from ..messages import show
from ..model import CheckResult, Status, SubmissionResult
from ..render import entry_words, kind_words, output_line
from . import class_stats
from .class_matrix import CSS as MATRIX_CSS
from .class_matrix import SCRIPT as MATRIX_SCRIPT
from .class_matrix import matrix_section
from .class_sections import (
    clusters_section,
    discrimination_section,
    statistics_section,
    steps_section,
    timing_section,
)
from .gradebook import CheckColumn, Gradebook, fmt_points
from .report_text import translated
from .roster import RosterMatch
from .store import write_atomic

BINS = 10  # histogram bars: 0-9 %, 10-19 %, ..., 90-100 %
TITLE = N_("chatlab class report")  # the page's title unless another is given

STATUS_MARK = {
    Status.PASSED: ("pass", N_("passed")),
    Status.FAILED: ("fail", N_("FAILED")),
    Status.SKIPPED: ("skip", N_("skipped")),
    Status.NOT_APPLICABLE: ("na", N_("n/a")),
}

CSS = """
body{
  font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;
  margin:0;
  color:#1d232a;
  background:#f6f7f9;
}
main{max-width:1100px;margin:0 auto;padding:1.5rem}
h1{margin:.2rem 0}
h2{margin-top:2.2rem;border-bottom:2px solid #d8dde3;padding-bottom:.2rem}
.muted{color:#5b6673}
.cards{display:flex;gap:.8rem;flex-wrap:wrap;margin:1rem 0}
.card{
  background:#fff;
  border:1px solid #d8dde3;
  border-radius:6px;
  padding:.6rem 1rem;
  min-width:8rem;
}
.card b{display:block;font-size:1.5rem}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{border:1px solid #d8dde3;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef1f4}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#17703a}
.fail{color:#b3261e;font-weight:600}
.skip,.na{color:#6b7480}
svg{background:#fff;border:1px solid #d8dde3;border-radius:6px;max-width:100%}
svg text{font:12px system-ui,sans-serif;fill:#1d232a}
section.student{
  background:#fff;
  border:1px solid #d8dde3;
  border-radius:6px;
  padding:.4rem 1rem 1rem;
  margin:1rem 0;
}
details{margin:.6rem 0;border-left:4px solid #b3261e;padding:.2rem .8rem;background:#fdf6f5}
summary{cursor:pointer;font-weight:600}
pre,code{
  font:13px/1.35 ui-monospace,Menlo,Consolas,monospace;
  white-space:pre-wrap;
  word-break:break-word;
}
pre{background:#f1f3f5;padding:.5rem;border-radius:4px;max-height:24rem;overflow:auto}
.transcript td{font-size:13px}
.hint{background:#eef6ff;border-radius:4px;padding:.4rem .6rem}
a{color:#0b57d0}
"""


def html_lang(lang: str | None = None) -> str:
    """The ``<html lang>`` of a language: ``en``, ``pt-BR`` (default: the current one)."""
    return (lang or i18n.language()).replace("_", "-")


def _html(template: str, **markup: str) -> str:
    """A translated ``template`` escaped, then filled with ``markup`` (HTML made and
    escaped by the caller: a link, a phrase in bold)."""
    return escape(template, quote=False).format(**markup)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{round(100 * value)}%"


def _fraction(result: SubmissionResult) -> float:
    return result.score / result.max_score if result.max_score else 0.0


def anchor(student: str) -> str:
    """The id of a student's section (student identifiers are file-name safe)."""
    return f"student-{student}"


def histogram_counts(gradebook: Gradebook) -> list[int]:
    """Students per tenth of the maximum score (a perfect score is in the last bin)."""
    counts = [0] * BINS
    for result in gradebook.results:
        counts[min(BINS - 1, int(_fraction(result) * BINS))] += 1
    return counts


def histogram_svg(counts: list[int]) -> str:
    """Vertical bars, one per tenth, labelled with their count."""
    width, height, left, bottom, top = 640, 240, 40, 36, 16
    plot_h = height - bottom - top
    bar_w = (width - left - 10) / len(counts)
    peak = max(counts) or 1
    parts = [
        f'<svg id="histogram" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}">',
        f"<title>{escape(_('Score distribution: students per tenth of the maximum score'))}"
        "</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#5b6673"/>',
    ]
    for i, count in enumerate(counts):
        low, high = i * 100 // BINS, (i + 1) * 100 // BINS
        label = f"{low}–{high}%" if i == len(counts) - 1 else f"{low}–{high - 1}%"
        bar_h = plot_h * count / peak
        x = left + i * bar_w
        y = top + plot_h - bar_h
        parts.append(
            f'<g class="bin" data-range="{label}" data-count="{count}">'
            f"<title>{escape(bin_title(label, count))}</title>"
            f'<rect x="{x + 3:.1f}" y="{y:.1f}" width="{bar_w - 6:.1f}" height="{bar_h:.1f}" '
            'fill="#3b7dd8"/>'
            f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{count}</text>'
            f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle">{label}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bin_title(label: str, count: int) -> str:
    """A histogram bar's tooltip: "10–19%: 3 student(s)"."""
    return ngettext("{range}: {count} student(s)", "{range}: {count} student(s)",
                    count).format(range=label, count=count)


def pass_rate_svg(columns: list[CheckColumn]) -> str:
    """One horizontal bar per check: the share of students who passed it."""
    row_h, label_w, bar_max, width = 26, 470, 300, 900
    height = row_h * len(columns) + 10
    parts = [
        f'<svg id="pass-rates" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}">',
        f"<title>{escape(_('Pass rate of every check'))}</title>",
    ]
    for i, col in enumerate(columns):
        y = 5 + i * row_h
        rate = col.pass_rate
        bar = bar_max * (rate or 0.0)
        colour = "#17703a" if (rate or 0) >= 0.8 else "#d08a00" if (rate or 0) >= 0.5 else "#b3261e"
        title = f"{col.id} — {show(col.title)}"
        shown = title if len(title) <= 70 else title[:69] + "…"
        parts.append(
            f'<g class="check-rate" data-check="{escape(col.id)}" data-passed="{col.passed}" '
            f'data-graded="{col.graded}"><title>{escape(title)}</title>'
            f'<text x="5" y="{y + 17}">{escape(shown)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{bar_max}" height="16" fill="#e6e9ed"/>'
            f'<rect x="{label_w}" y="{y + 4}" width="{bar:.1f}" height="16" fill="{colour}"/>'
            f'<text x="{label_w + bar_max + 8}" y="{y + 17}">'
            f"{col.passed}/{col.graded} · {_pct(rate)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _summary_cards(gradebook: Gradebook) -> str:
    fractions = [_fraction(r) for r in gradebook.results]
    cards = [
        (N_("students"), str(len(gradebook.students))),
        (N_("graded"), str(len(gradebook.results))),
        (N_("not graded"), str(len(gradebook.failed))),
        (N_("mean"), _pct(statistics.fmean(fractions)) if fractions else "–"),
        (N_("median"), _pct(statistics.median(fractions)) if fractions else "–"),
        (N_("all checks passed"), str(sum(r.all_passed for r in gradebook.results))),
    ]
    items = "".join(
        f'<div class="card" data-stat="{name}"><b>{value}</b>{escape(_(name))}</div>'
        for name, value in cards
    )
    return f'<div class="cards">{items}</div>'


# Table headers: (words, numeric). "%" and "r" are symbols, the same in every language.
CHECK_COLUMNS = ((N_("check"), False), (N_("title"), False), (N_("level"), False),
                 (N_("step"), True), (N_("points"), True), (N_("passed"), True),
                 (N_("failed"), True), (N_("skipped"), True), (N_("n/a"), True),
                 (N_("rate"), True))
STUDENT_COLUMNS = ((N_("student"), False), (N_("score"), True), (N_("max"), True),
                   ("%", True), (N_("failed"), True), (N_("skipped"), True))
TRANSCRIPT_COLUMNS = (N_("time"), N_("who"), N_("what"), N_("text"))
RESULT_COLUMNS = ((N_("status"), False), (N_("check"), False), (N_("title"), False),
                  (N_("points"), True), (N_("note"), False))
ROSTER_COLUMNS = (N_("folder"), N_("student id"), N_("name"), N_("email"))


def _heads(cells: tuple[tuple[str, bool], ...]) -> str:
    """Header cells in the reader's language, the numeric ones right-aligned."""
    return "".join(f"<th{' class=num' if numeric else ''}>{escape(translated(name))}</th>"
                   for name, numeric in cells)


def _plain_heads(cells: tuple[str, ...]) -> str:
    return "".join(f"<th>{escape(translated(name))}</th>" for name in cells)


def _checks_table(columns: list[CheckColumn]) -> str:
    rows = "".join(
        f'<tr data-check="{escape(c.id)}"><td><code>{escape(c.id)}</code></td>'
        f"<td>{escape(show(c.title))}</td><td>{escape(c.level)}</td>"
        f"<td class=num>{c.step:02d}</td>"
        f"<td class=num>{fmt_points(c.max_points)}</td>"
        f'<td class="num rate">{c.passed}/{c.graded}</td>'
        f'<td class="num failed">{c.failed}</td><td class="num skipped">{c.skipped}</td>'
        f'<td class="num na">{c.not_applicable}</td>'
        f"<td class=num>{_pct(c.pass_rate)}</td></tr>"
        for c in columns
    )
    return (
        f'<table id="checks"><thead><tr>{_heads(CHECK_COLUMNS)}</tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _students_table(gradebook: Gradebook) -> str:
    rows = []
    for r in gradebook.results:
        counts = class_stats.status_counts(r)
        rows.append(
            f'<tr class="student-row" data-student="{escape(r.submission)}" '
            f'data-score="{fmt_points(r.score)}" data-max="{fmt_points(r.max_score)}" '
            f'data-failed="{counts.failed}" data-skipped="{counts.skipped}">'
            f'<td><a href="#{anchor(r.submission)}">{escape(r.submission)}</a></td>'
            f'<td class="num score">{fmt_points(r.score)}</td>'
            f'<td class="num max">{fmt_points(r.max_score)}</td>'
            f"<td class=num>{_pct(_fraction(r))}</td><td class=num>{counts.failed}</td>"
            f"<td class=num>{counts.skipped}</td></tr>"
        )
    for student, error in gradebook.failed.items():
        rows.append(
            f'<tr class="student-row not-graded" data-student="{escape(student)}" data-score="" '
            f'data-max=""><td><a href="#{anchor(student)}">{escape(student)}</a></td>'
            f'<td colspan=5 class="fail">'
            f"{escape(_('not graded: {error}').format(error=show(error)))}</td></tr>"
        )
    return (
        f'<table id="students"><thead><tr>{_heads(STUDENT_COLUMNS)}</tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _transcript(check: CheckResult) -> str:
    if not check.transcript:
        return ""
    rows = "".join(
        f"<tr><td class=num>{e.time:.3f}s</td><td>{escape(actor)}</td>"
        f"<td>{escape(action)}</td><td><code>{escape(text)}</code></td></tr>"
        for e in check.transcript for actor, action, text in [entry_words(e)]
    )
    return (
        f"<p>{escape(_('Transcript (times since the scenario started):'))}</p>"
        f'<table class="transcript"><thead><tr>{_plain_heads(TRANSCRIPT_COLUMNS)}</tr>'
        f"</thead><tbody>{rows}</tbody></table>"
    )


def program_output(output: str) -> str:
    """A check's program output with its headings ("--- server output ---") in the
    reader's words; every other line exactly as the programs printed it."""
    return "\n".join(output_line(line) for line in output.split("\n"))


def check_feedback(check: CheckResult) -> str:
    """The feedback for one failed check, as the student would read it."""
    parts = [
        f'<details open class="failed-check" data-check="{escape(check.id)}">'
        f"<summary>{escape(show(check.title))} <code>({escape(check.id)})</code> — "
        f"{fmt_points(check.points)}/{fmt_points(check.max_points)}</summary>"
    ]
    failure = check.failure
    if failure is not None:
        parts.append(
            f"<p><b>{escape(_('What happened:'))}</b> {escape(show(failure.message))} "
            f'<span class="muted">({escape(kind_words(failure.kind))})'
            "</span></p>"
        )
        if failure.expected is not None:
            parts.append(f"<p><b>{escape(_('Expected:'))}</b></p>"
                         f"<pre>{escape(show(failure.expected))}</pre>")
        if failure.actual is not None:
            parts.append(f"<p><b>{escape(_('Actual:'))}</b></p>"
                         f"<pre>{escape(show(failure.actual))}</pre>")
    parts.append(_transcript(check))
    if check.program_output:
        parts.append(
            f"<p><b>{escape(_('Output of the program:'))}</b></p>"
            f"<pre>{escape(program_output(check.program_output))}</pre>"
        )
    if check.hint:
        parts.append(f'<p class="hint"><b>{escape(_("Read next:"))}</b>'
                     f" {escape(show(check.hint))}</p>")
    parts.append("</details>")
    return "".join(parts)


def grading_line(result: SubmissionResult) -> str:
    """"profile chatlab · graded in 4.2s · grader 1.0", in the reader's words."""
    parts = [_("profile {profile} · graded in {seconds:.1f}s").format(
        profile=result.profile, seconds=result.duration)]
    if result.grader_version:
        parts.append(_("grader {version}").format(version=result.grader_version))
    return " · ".join(parts)


def student_section(result: SubmissionResult) -> str:
    """A student's results: every check in a compact table, then each failure in detail."""
    rows = []
    for c in result.checks:
        css, word = STATUS_MARK[c.status]
        note = (escape(show(c.reason)) if c.status in (Status.SKIPPED, Status.NOT_APPLICABLE)
                else "")
        rows.append(
            f'<tr data-check="{escape(c.id)}" data-status="{c.status}">'
            f'<td class="{css}">{escape(_(word))}</td>'
            f"<td><code>{escape(c.id)}</code></td><td>{escape(show(c.title))}</td>"
            f"<td class=num>{fmt_points(c.points)}/{fmt_points(c.max_points)}</td>"
            f'<td class="muted">{note}</td></tr>'
        )
    failures = "".join(check_feedback(c) for c in result.checks if c.status is Status.FAILED)
    notes = "".join(f"<li>{escape(show(n))}</li>" for n in result.notes)
    return (
        f'<section class="student" id="{anchor(result.submission)}" '
        f'data-student="{escape(result.submission)}" data-score="{fmt_points(result.score)}">'
        f"<h3>{escape(result.submission)} — {fmt_points(result.score)}/"
        f"{fmt_points(result.max_score)}</h3>"
        f'<p class="muted">{escape(grading_line(result))}</p>'
        f"{f'<ul>{notes}</ul>' if notes else ''}"
        f"<table><thead><tr>{_heads(RESULT_COLUMNS)}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f"{failures}"
        f'<p><a href="#students">{escape(_("back to the class"))}</a></p></section>'
    )


def _stopped(gradebook: Gradebook) -> str:
    """What the grader stopped or undid during the batch, in plain words (if anything)."""
    if not gradebook.events:
        return ""
    items = "".join(f'<li class="event">{escape(show(e))}</li>' for e in gradebook.events)
    intro = _("Things submissions did during grading that could have changed a grade, and"
              " what the grader did about them. The grades above do not depend on them.")
    return (
        f'<h2 id="stopped">{escape(_("What the grader stopped"))}</h2>'
        f'<p class="muted">{escape(intro)}</p><ul>{items}</ul>'
    )


def roster_section(match: RosterMatch | None) -> str:
    """The roster's students without a submission, and submissions it does not list."""
    if match is None:
        return ""
    missing = "".join(
        f'<tr class="missing" data-student="{escape(e.folder)}"><td>{escape(e.folder)}</td>'
        f"<td>{escape(e.student_id)}</td><td>{escape(e.name)}</td>"
        f"<td>{escape(e.email)}</td></tr>"
        for e in match.missing)
    unlisted = "".join(
        f'<li class="unlisted" data-student="{escape(f)}"><a href="#{anchor(f)}">'
        f"{escape(f)}</a></li>" for f in match.unlisted)
    matched = ngettext("{count} submission(s) matched the roster.",
                       "{count} submission(s) matched the roster.",
                       len(match.entries)).format(count=len(match.entries))
    return (
        f'<h2 id="roster">{escape(_("Roster"))}</h2>'
        f'<p class="muted">{escape(matched)}</p>'
        + (f"<p>{_missing_sentence(len(match.missing))}</p><table id=missing><thead><tr>"
           f"{_plain_heads(ROSTER_COLUMNS)}</tr></thead><tbody>{missing}"
           "</tbody></table>" if match.missing else "")
        + (f"<p>{_unlisted_sentence(len(match.unlisted))}</p>"
           f'<ul id="unlisted">{unlisted}</ul>' if match.unlisted else "")
    )


def _missing_sentence(count: int) -> str:
    """"<b>2 roster student(s) without a submission</b> (exported as missing, …):"."""
    who = ngettext("{count} roster student(s) without a submission",
                   "{count} roster student(s) without a submission", count).format(count=count)
    return _html(ngettext("{students} (exported as missing, with no grade):",
                          "{students} (exported as missing, with no grade):", count),
                 students=f"<b>{escape(who)}</b>")


def _unlisted_sentence(count: int) -> str:
    """"<b>1 submission(s) not in the roster</b> (graded, in grades.csv …):"."""
    which = ngettext("{count} submission(s) not in the roster",
                     "{count} submission(s) not in the roster", count).format(count=count)
    rest = N_plural("{submissions} (graded, in grades.csv and plain.csv, but in no Moodle or"
                    " Canvas file):", "{submissions} (graded, in grades.csv and plain.csv, but"
                    " in no Moodle or Canvas file):")
    return _html(ngettext(*rest, count), submissions=f"<b>{escape(which)}</b>")


def render_report(
    gradebook: Gradebook, *, title: str | None = None, generated: datetime | None = None,
    similarity: str | None = None, roster: RosterMatch | None = None,
) -> str:
    """The whole page as a string, in the language of the moment; ``title``: the page's
    (default: "chatlab class report" in that language); ``similarity``: a link to the
    similarity report; ``roster``: the roster matched with the submissions."""
    title = _(TITLE) if title is None else title
    pass_rates = _("Share of students who passed each check (where it applies). Low bars"
                   " point at the concept to go over again in class.")
    when = (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    results = gradebook.results
    not_graded = "".join(
        f'<section class="student not-graded" id="{anchor(s)}" data-student="{escape(s)}">'
        f"<h3>{escape(_('{student} — not graded').format(student=s))}</h3>"
        f"<p class=fail>{escape(show(e))}</p></section>"
        for s, e in gradebook.failed.items()
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{html_lang()}"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{CSS}{MATRIX_CSS}</style></head><body><main>"
        f"<h1>{escape(title)}</h1>"
        f"<p class=muted>{escape(_('generated {when}').format(when=when))}</p>"
        + (f'<p><a href="{escape(similarity)}">{escape(_("Similarity between students"))}'
           "</a> (python -m grader similarity)</p>" if similarity else "")
        + f"{_summary_cards(gradebook)}"
        f"{_stopped(gradebook)}{roster_section(roster)}"
        + statistics_section(class_stats.score_statistics(results, len(gradebook.failed)))
        + f"<h2>{escape(_('Score distribution'))}</h2>"
        f"{histogram_svg(histogram_counts(gradebook))}"
        + steps_section(class_stats.step_rollup(results))
        + f"<h2>{escape(_('Pass rate per check'))}</h2>"
        f'<p class="muted">{escape(pass_rates)}</p>'
        f"{pass_rate_svg(gradebook.columns)}{_checks_table(gradebook.columns)}"
        + clusters_section(class_stats.failure_clusters(results), anchor)
        + matrix_section(gradebook)
        + discrimination_section(class_stats.discrimination(results),
                                 flag_below=class_stats.FLAG_BELOW,
                                 min_students=class_stats.MIN_STUDENTS)
        + timing_section(class_stats.grading_times(results), anchor)
        + f'<h2 id="students-heading">{escape(_("Students"))}</h2>'
        f"{_students_table(gradebook)}"
        f"<h2>{escape(_('Feedback per student'))}</h2>"
        f"{''.join(student_section(r) for r in gradebook.results)}{not_graded}"
        f"</main><script>{MATRIX_SCRIPT}</script></body></html>\n"
    )


def write_report(
    gradebook: Gradebook, path: Path | str, *, title: str | None = None,
    roster: RosterMatch | None = None,
) -> Path:
    """Write ``report.html`` atomically, linking ``similarity.html`` when one lies
    beside it or in ``similarity/`` (``grader similarity … --out``); returns its path."""
    target = Path(path)
    link = next((str(candidate.relative_to(target.parent))
                 for candidate in (target.parent / "similarity.html",
                                   target.parent / "similarity" / "similarity.html")
                 if candidate.is_file()), None)
    write_atomic(target, render_report(gradebook, title=title, similarity=link, roster=roster))
    return target
