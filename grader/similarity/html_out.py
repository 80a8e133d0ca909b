"""``similarity.html``: one self-contained page ranking the pairs, with side-by-side views.

Inline CSS only: no script, no font, image or style sheet to fetch, so the page works
offline and student code cannot run in it. Everything taken from a submission (names,
paths, code) is escaped. The ranking comes first; below it, one ``<section>`` per listed pair puts
the two submissions side by side, the matched fragments marked with ``<mark>``.

Rows and views carry ``data-*`` attributes (``data-a``, ``data-b``, ``data-similarity``,
``data-past``, ``data-student``) so tests and scripts can read the figures back.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from html import escape
from pathlib import Path

from .compare import Analysis, Pair, ReferenceHit
from .csv_out import fmt
from .sources import Source

FLAG = 0.5  # a share of a model answer from which a student is flagged

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em auto;
  max-width:1500px;padding:0 1em;color:#1d2330;background:#fff}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}h3{font-size:1em;margin:.8em 0 .2em}
table{border-collapse:collapse;margin:.5em 0}
th,td{border-bottom:1px solid #dde;padding:.25em .7em;text-align:left}
th{background:#f3f4f8}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#667}.past{font-size:.8em;background:#eef;border-radius:3px;padding:0 .3em}
tr.flag td{background:#fff1f0}.flag-word{color:#b42318;font-weight:600}
.bar{display:inline-block;height:.7em;background:#d92d20;vertical-align:middle}
.view{border-top:2px solid #99a;margin-top:2em}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1em}
.cols>div{min-width:0}
pre{background:#f8f8fb;border:1px solid #e3e3ea;padding:.4em 0;overflow-x:auto;
  font:12.5px/1.35 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;margin:0}
pre span.ln{display:inline-block;width:3.2em;padding-right:.6em;text-align:right;
  color:#99a;user-select:none}
mark{background:#ffd7a8;color:inherit}
"""


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def _name(name: str, past: bool = False) -> str:
    badge = ' <span class="past">past</span>' if past else ""
    return f"{escape(name)}{badge}"


def render_code(text: str, marks: Iterable[tuple[int, int]]) -> str:
    """``text`` as numbered, escaped lines; characters inside ``marks`` (sorted, disjoint
    (start, end) ranges of ``text``) wrapped in ``<mark>``."""
    ranges = list(marks)
    out: list[str] = []
    pos, k = 0, 0
    for number, line in enumerate(text.split("\n"), start=1):
        end = pos + len(line)
        pieces: list[str] = []
        cursor = pos
        while k < len(ranges) and ranges[k][1] <= cursor:
            k += 1
        j = k
        while j < len(ranges) and ranges[j][0] < end:
            start, stop = max(ranges[j][0], cursor), min(ranges[j][1], end)
            if start < stop:
                pieces.append(escape(text[cursor:start]))
                pieces.append(f"<mark>{escape(text[start:stop])}</mark>")
                cursor = stop
            if ranges[j][1] > end:
                break
            j += 1
        pieces.append(escape(text[cursor:end]))
        out.append(f'<span class="ln">{number}</span>{"".join(pieces)}')
        pos = end + 1
    return "\n".join(out)


def lines_marked(text: str, marks: Iterable[tuple[int, int]]) -> int:
    """How many lines of ``text`` hold at least one non-blank marked character."""
    lines: set[int] = set()
    for start, end in marks:
        first = text.count("\n", 0, start)
        for offset, line in enumerate(text[start:end].split("\n")):
            if line.strip():
                lines.add(first + offset)
    return len(lines)


def _files(source: Source, marks: tuple[tuple[int, int], ...]) -> str:
    if not source.files:
        return '<p class="muted">no .py file</p>'
    parts = []
    for f in source.files:
        inside = [
            (max(s, f.start) - f.start, min(e, f.end) - f.start)
            for s, e in marks
            if s < f.end and e > f.start
        ]
        body = render_code(source.text[f.start : f.end], inside)
        parts.append(f"<h3>{escape(f.path)}</h3><pre><code>{body}</code></pre>")
    parts.extend(f'<p class="muted">{escape(n)}</p>' for n in source.notes)
    return "".join(parts)


def _view(
    anchor: str, title: str, a: Source, b: Source, marks_a: tuple, marks_b: tuple,
    caption_a: str, caption_b: str, attrs: str,
) -> str:
    return (
        f'<section class="view" id="{anchor}" {attrs}>'
        f"<h2>{title}</h2>"
        f'<p><a href="#top">back to the ranking</a> · marked: code found in both, '
        f"names and order aside; the skeleton and model answer are never marked.</p>"
        f'<div class="cols"><div><h3>{caption_a}</h3>{_files(a, marks_a)}</div>'
        f"<div><h3>{caption_b}</h3>{_files(b, marks_b)}</div></div></section>"
    )


def _pair_attrs(p: Pair) -> str:
    return (
        f'data-a="{escape(p.a)}" data-b="{escape(p.b)}" '
        f'data-similarity="{fmt(p.similarity)}" data-past="{int(p.past)}"'
    )


def _pairs_table(analysis: Analysis, pairs: list[Pair]) -> str:
    if not pairs:
        return "<p>No two submissions share code beyond the skeleton.</p>"
    rows = []
    for rank, p in enumerate(pairs, start=1):
        b = analysis.past_one(p.b) if p.past else analysis.student(p.b)
        lines = max(lines_marked(analysis.student(p.a).text, p.match.slices_a),
                    lines_marked(b.text, p.match.slices_b))
        rows.append(
            f'<tr class="pair-row" {_pair_attrs(p)}><td class=num>{rank}</td>'
            f"<td>{_name(p.a)}</td><td>{_name(p.b, p.past)}</td>"
            f'<td class=num>{_pct(p.similarity)}</td>'
            f'<td><span class="bar" style="width:{100 * p.similarity:.0f}px"></span></td>'
            f"<td class=num>{_pct(p.match.share_a)}</td><td class=num>{_pct(p.match.share_b)}"
            f"</td><td class=num>{lines}</td>"
            f'<td><a href="#pair-{rank}">side by side</a></td></tr>'
        )
    return (
        "<table><tr><th class=num>#</th><th>student A</th><th>student B</th>"
        "<th class=num>similarity</th><th></th><th class=num>of A in B</th>"
        "<th class=num>of B in A</th><th class=num>lines matched</th><th></th></tr>"
        + "".join(rows) + "</table>"
    )


def _reference_table(hits: list[ReferenceHit], shown: int) -> str:
    best: dict[str, tuple[int, ReferenceHit]] = {}
    for rank, h in enumerate(hits, start=1):
        best.setdefault(h.student, (rank, h))
    rows = []
    for rank, h in best.values():
        flagged = h.similarity >= FLAG
        link = f'<a href="#ref-{rank}">side by side</a>' if rank <= shown else ""
        rows.append(
            f'<tr class="reference-row{" flag" if flagged else ""}" '
            f'data-student="{escape(h.student)}" data-reference="{escape(h.reference)}" '
            f'data-similarity="{fmt(h.similarity)}" data-flagged="{int(flagged)}">'
            f"<td>{_name(h.student)}</td><td>{escape(h.reference)}</td>"
            f"<td class=num>{_pct(h.similarity)}</td>"
            f"<td>{'<span class=flag-word>model answer</span>' if flagged else ''}</td>"
            f"<td>{link}</td></tr>"
        )
    return (
        f"<p>The share of each student's own code (the skeleton left out) that is the "
        f"model answer's; from {_pct(FLAG)} on, a student is flagged. These students are "
        f"not paired with each other for it: the model answer is left out of the pairs."
        f"</p><table><tr><th>student</th><th>model answer</th><th class=num>share</th>"
        f"<th></th><th></th></tr>{''.join(rows)}</table>"
    )


def _summary(analysis: Analysis, shown: int) -> str:
    values = [p.similarity for p in analysis.pairs]
    items = [
        f"<li>{len(analysis.students)} students, {len(analysis.pairs)} pairs compared"
        + (f" (with {len(analysis.past)} past submissions)" if analysis.past else "")
        + f", in {analysis.seconds:.1f}s</li>"
    ]
    if values:
        q = statistics.quantiles(values, n=10) if len(values) > 1 else [values[0]] * 9
        items.append(
            f"<li>a typical pair (the median) shares {_pct(statistics.median(values))}; "
            f"nine pairs in ten share at most {_pct(q[8])}</li>"
        )
    skeleton = ", ".join(escape(f.path) for s in analysis.base for f in s.files)
    answers = ", ".join(escape(s.name) for s in analysis.references)
    items.append(f"<li>skeleton (not counted): {skeleton or 'none given'}</li>")
    if analysis.references:
        items.append(f"<li>model answer (not counted in pairs): {answers}</li>")
    sharing = sum(1 for v in values if v > 0)
    if shown < sharing:
        items.append(f"<li>the {shown} most similar pairs are listed below; similarity.csv "
                     f"has all {len(values)}</li>")
    else:
        items.append(f"<li>the {shown} pairs that share any code are listed below; the "
                     f"others share none</li>")
    return f"<ul>{''.join(items)}</ul>"


def render(analysis: Analysis, *, show: int = 50) -> str:
    """The whole page for ``analysis``; ``show``: pairs listed with a side-by-side view."""
    top = [p for p in analysis.pairs if p.similarity > 0][:show]
    refs = [h for h in analysis.reference_hits if h.similarity > 0][:show]
    past_names = {s.name for s in analysis.past}
    body = [
        '<h1 id="top">Similarity of submissions</h1>',
        "<p>Similarity is the share of one submission's own code, the skeleton left out, "
        "that is also in the other: renamed variables and reordered functions change "
        "nothing. The larger of the two shares ranks the pair. A high figure is a reason "
        "to read both side by side, not a verdict: short programs written to the same "
        "protocol share some lines.</p>",
        _summary(analysis, len(top)),
        "<h2>Most similar pairs</h2>",
        _pairs_table(analysis, top),
    ]
    if analysis.references:
        body += ["<h2>Close to the model answer</h2>", _reference_table(analysis.reference_hits,
                                                                         len(refs))]
    empty = sorted(n for n, size in analysis.own_size.items()
                   if size == 0 and n not in past_names)
    if empty:
        body += [
            "<h2>Nothing beyond the skeleton</h2>",
            "<p>These submissions have no code of their own to compare (the skeleton as "
            "given, or no .py file):</p>",
            "<ul>" + "".join(f"<li>{escape(n)}</li>" for n in empty) + "</ul>",
        ]
    if analysis.refused:
        body += ["<h2>Not compared</h2><ul>"] + [
            f"<li>{escape(n)}: {escape(why)}</li>" for n, why in sorted(analysis.refused.items())
        ] + ["</ul>"]
    for rank, p in enumerate(top, start=1):
        body.append(_view(
            f"pair-{rank}", f"#{rank}: {_name(p.a)} and {_name(p.b, p.past)} — "
            f"{_pct(p.similarity)}", analysis.student(p.a),
            analysis.past_one(p.b) if p.past else analysis.student(p.b),
            p.match.slices_a, p.match.slices_b,
            f"{_name(p.a)} ({_pct(p.match.share_a)} of it in the other)",
            f"{_name(p.b, p.past)} ({_pct(p.match.share_b)} of it in the other)",
            f'data-view="pair" {_pair_attrs(p)}',
        ))
    for rank, h in enumerate(refs, start=1):
        body.append(_view(
            f"ref-{rank}", f"{_name(h.student)} and the model answer {escape(h.reference)} — "
            f"{_pct(h.similarity)}", analysis.student(h.student),
            analysis.reference(h.reference),
            h.match.slices_a, h.match.slices_b,
            f"{_name(h.student)} ({_pct(h.similarity)} of it in the model answer)",
            f"model answer {escape(h.reference)}",
            f'data-view="reference" data-student="{escape(h.student)}" '
            f'data-similarity="{fmt(h.similarity)}"',
        ))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Similarity report</title><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def write(analysis: Analysis, path: Path, *, show: int = 50) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(analysis, show=show), encoding="utf-8")
    return path
