"""The class report's analysis sections as HTML: small pure functions, figures in, HTML out.

The figures come from :mod:`.class_stats`; the words from :mod:`.report_text`, in the
reader's language (:mod:`grader.i18n`); the numbers are the same in every language. Each
figure sits in an element with ``data-*`` attributes holding its exact value
(``data-value``, ``data-count``…), beside the rounded text a reader sees, so tests and
scripts read the numbers back from the page.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from ..i18n import gettext
from ..messages import show
from ..model import FailureKind
from ..render import kind_words as render_kind_words
from .class_stats import (
    NICK,
    NUM,
    VALUE,
    Cluster,
    Discrimination,
    GradingTimes,
    ScoreStatistics,
    StepRollup,
    Summary,
    normalise_message,
)
from .gradebook import fmt_points
from .report_text import columns, counted, words

Anchor = Callable[[str], str]  # a student -> the id of their section
SLOWEST_SHOWN = 10  # submissions listed by grading time
SUMMARY_FIELDS = ("count", "mean", "stdev", "minimum", "q1", "median", "q3", "maximum")


def exact(value: float) -> str:
    """A figure as ``data-value`` holds it: six decimals, enough to check any rounding."""
    return f"{value:.6f}"


def percent(value: float | None) -> str:
    """A share as a reader sees it, one decimal: ``62.5%``."""
    return "–" if value is None else f"{100 * value:.1f}%"


def seconds(value: float) -> str:
    return f"{value:.1f} s"


def kind_words(kind: str) -> str:
    """A failure kind's value ("mismatch") in the reader's words ("wrong line")."""
    if kind == "unknown":  # a failed check without a failure record
        return words("clusters.unknown_kind")
    try:
        return render_kind_words(FailureKind(kind))
    except (KeyError, ValueError):
        return kind


def _head(cells: tuple[str, ...]) -> str:
    return "<thead><tr>" + "".join(f"<th>{escape(c)}</th>" for c in cells) + "</tr></thead>"


def _stat_row(name: str, label: str, summary: Summary,
              shown: Callable[[float], str]) -> str:
    cells = []
    for f in SUMMARY_FIELDS:
        value = getattr(summary, f)
        text = str(value) if f == "count" else shown(value)
        cells.append(f'<td class=num data-field="{f}" data-value="{exact(value)}">{text}</td>')
    return f'<tr data-stat="{name}"><th>{escape(label)}</th>{"".join(cells)}</tr>'


def statistics_section(stats: ScoreStatistics) -> str:
    """Mean, standard deviation and quartiles of the score, in points and in percent."""
    graded = stats.points.count if stats.points else 0
    intro = counted("stats.intro", graded, graded=graded, not_graded=stats.not_graded)
    head = (f'<h2 id="statistics">{escape(words("stats.heading"))}</h2>'
            f'<p class="muted" data-graded="{graded}" data-not-graded="{stats.not_graded}">'
            f"{escape(intro)}</p>")
    if stats.points is None or stats.shares is None:
        return head + f'<p>{escape(words("stats.none"))}</p>'
    return (
        f'{head}<table id="score-stats">{_head(columns("stats.columns"))}<tbody>'
        + _stat_row("points", words("stats.points"), stats.points, fmt_points)
        + _stat_row("share", words("stats.share"), stats.shares, percent)
        + "</tbody></table>"
    )


def steps_section(rollup: list[StepRollup]) -> str:
    """One row per notebook step: students who passed all its checks, the mean share."""
    rows = []
    for s in rollup:
        book = (f"<code>{escape(s.notebook)}</code>" if s.notebook
                else f'<span class="muted">{escape(words("steps.unknown_notebook"))}</span>')
        checks = " ".join(f"<code>{escape(c)}</code>" for c in s.checks)
        mean = ("" if s.mean_share is None else f' data-value="{exact(s.mean_share)}"')
        rows.append(
            f'<tr class="step-row" data-step="{s.step}" data-all-passed="{s.all_passed}" '
            f'data-students="{s.students}" data-checks="{len(s.checks)}">'
            f"<td class=num>{s.step:02d}</td><td>{book}</td>"
            f'<td><details><summary>{len(s.checks)}</summary>{checks}</details></td>'
            f"<td class=num>{fmt_points(s.max_points)}</td>"
            f'<td class="num all-passed">{s.all_passed}</td>'
            f'<td class="num students">{s.students}</td>'
            f'<td class="num mean-share"{mean}>{percent(s.mean_share)}</td></tr>'
        )
    return (
        f'<h2 id="steps">{escape(words("steps.heading"))}</h2>'
        f'<p class="muted">{escape(words("steps.intro"))}</p>'
        f'<table id="step-rollup">{_head(columns("steps.columns"))}'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def shown_pattern(cluster: Cluster) -> str:
    """The cluster's pattern in the reader's language: its example translated, then
    normalised as the pattern was (the same text as ``cluster.pattern`` in English)."""
    return normalise_message(show(cluster.example), cluster.nicknames)


def clusters_section(clusters: list[Cluster], anchor: Anchor) -> str:
    """The failure clusters, most common first, each opening to its students
    (``anchor(student)`` is the id of a student's section)."""
    intro = words("clusters.intro", value=VALUE, nick=NICK, n=NUM)
    head = (f'<h2 id="clusters">{escape(words("clusters.heading"))}</h2>'
            f'<p class="muted">{escape(intro)}</p>')
    if not clusters:
        return head + f'<p>{escape(words("clusters.none"))}</p>'
    items = []
    for k in clusters:
        students = ", ".join(f'<a class="member" href="#{anchor(s)}" data-student="{escape(s)}">'
                             f"{escape(s)}</a>" for s in k.students)
        items.append(
            f'<details class="cluster" data-check="{escape(k.check)}" data-kind="{escape(k.kind)}"'
            f' data-count="{k.count}"><summary><code>{escape(k.check)}</code> — '
            f"{escape(kind_words(k.kind))}: <b>{k.count}</b>"
            f' <span class="muted pattern">{escape(shown_pattern(k))}</span></summary>'
            f'<p class="muted">{escape(words("clusters.example"))} {escape(show(k.example))}</p>'
            f"<p>{students}</p></details>"
        )
    return head + f'<div id="failure-clusters">{"".join(items)}</div>'


def discrimination_section(items: list[Discrimination], *, flag_below: float,
                           min_students: int) -> str:
    """Per check: students who ran it, passes, r; lowest r first, undefined last."""
    ordered = sorted(items, key=lambda d: (d.r is None, d.r if d.r is not None else 0.0))
    rows = []
    for d in ordered:
        if d.r is None:
            r_cell, note = '<td class="num r">–</td>', escape(gettext(d.why) if d.why else "")
        else:
            r_cell = f'<td class="num r" data-value="{exact(d.r)}">{d.r:.2f}</td>'
            note = (f'<b class="fail">{escape(words("disc.flag"))}</b>' if d.flagged
                    else escape(words("disc.too_few")) if d.students < min_students else "")
        rows.append(
            f'<tr class="disc-row{" flagged" if d.flagged else ""}" data-check="{escape(d.check)}"'
            f' data-students="{d.students}" data-passed="{d.passed}">'
            f"<td><code>{escape(d.check)}</code></td><td class=num>{d.students}</td>"
            f"<td class=num>{d.passed}</td>{r_cell}<td>{note}</td></tr>"
        )
    intro = words("disc.intro", flag_below=flag_below, min_students=min_students)
    return (
        f'<h2 id="discrimination">{escape(words("disc.heading"))}</h2>'
        f'<p class="muted" data-flag-below="{flag_below:g}" data-min-students="{min_students}">'
        f"{escape(intro)}</p>"
        f'<table id="discrimination-table">{_head(columns("disc.columns"))}'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def timing_section(times: GradingTimes, anchor: Anchor) -> str:
    """The grading time of the class and the slowest submissions."""
    head = (f'<h2 id="grading-time">{escape(words("time.heading"))}</h2>'
            f'<p class="muted">{escape(words("time.intro"))}</p>')
    parts = [head]
    s = times.summary
    if s is None:
        parts.append(f'<p>{escape(words("time.none"))}</p>')
    else:
        text = counted(
            "time.summary", s.count, count=s.count, total=seconds(times.total),
            mean=seconds(s.mean), median=seconds(s.median), maximum=seconds(s.maximum))
        parts.append(
            f'<p id="time-summary" data-count="{s.count}" data-total="{exact(times.total)}"'
            f' data-mean="{exact(s.mean)}" data-median="{exact(s.median)}"'
            f' data-maximum="{exact(s.maximum)}">{escape(text)}</p>')
        shown = times.slowest_first[:SLOWEST_SHOWN]
        rows = "".join(
            f'<tr class="time-row" data-student="{escape(t.student)}"'
            f' data-seconds="{exact(t.seconds)}" data-check="{escape(t.slowest_check)}">'
            f'<td><a href="#{anchor(t.student)}">{escape(t.student)}</a></td>'
            f"<td class=num>{t.seconds:.1f}</td><td><code>{escape(t.slowest_check)}</code></td>"
            f"<td class=num>{t.slowest_check_seconds:.1f}</td></tr>"
            for t in shown)
        slowest = counted("time.slowest", len(shown), count=len(shown))
        parts.append(f'<p>{escape(slowest)}</p>'
                     f'<table id="slowest">{_head(columns("time.columns"))}'
                     f"<tbody>{rows}</tbody></table>")
    if times.unrecorded:
        parts.append(
            f'<p id="time-unrecorded" data-count="{len(times.unrecorded)}">'
            + escape(counted("time.unrecorded", len(times.unrecorded),
                             count=len(times.unrecorded), students=", ".join(times.unrecorded)))
            + "</p>")
    return "".join(parts)
