"""The student × check matrix of the class report, and the little script that sorts it.

Each cell shows its verdict by a symbol as well as a colour (:data:`.report_text.CELL`)
and names it in full in its ``title``, in the reader's language. Without the script the
matrix is in the gradebook's order (students by name, checks as graded). With it,
buttons sort the students by name or score and the checks by pass rate or in grading
order; the order is kept in the address (``#matrix?students=score&checks=rate``), so a
view can be bookmarked and opened again as it was. The script fetches nothing and writes no
content of its own: it only moves the rows and cells that are already there, so every
word it shows was written, translated, here.
"""

from __future__ import annotations

from html import escape

from ..messages import show
from ..model import Status, SubmissionResult
from .class_sections import exact, kind_words
from .class_stats import share
from .gradebook import CheckColumn, Gradebook
from .report_text import CELL, cell_word, words

CSS = """
.matrix-wrap{overflow:auto;max-height:80vh;border:1px solid #d8dde3;background:#fff}
#matrix{width:auto;font-size:13px}
#matrix th.check{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:500;
  white-space:nowrap;padding:.4rem .1rem}
#matrix td.cell{text-align:center;padding:0 .2rem;min-width:1.3rem}
#matrix td.cell.pass{background:#dff3e4;color:#17703a}
#matrix td.cell.fail{background:#f9d9d6;color:#b3261e}
#matrix td.cell.skip{background:#fff1cc;color:#7a5a00}
#matrix td.cell.na{background:#eef1f4;color:#6b7480}
#matrix td.cell.ng{background:#fff;color:#6b7480;border-style:dashed}
#matrix thead th{position:sticky;top:0;z-index:1}
#matrix tbody th{position:sticky;left:0;background:#eef1f4}
.legend span{margin-right:1rem}
button.sort{margin:.2rem .4rem .6rem 0}
"""

SCRIPT = """
(function () {
  var table = document.getElementById("matrix");
  if (!table) { return; }
  var body = table.tBodies[0];
  function byName(a, b) {
    var x = a.dataset.student, y = b.dataset.student;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  function byScore(a, b) {  /* highest first; not graded (no share) last */
    var x = a.dataset.share === "" ? -1 : parseFloat(a.dataset.share);
    var y = b.dataset.share === "" ? -1 : parseFloat(b.dataset.share);
    return y - x || byName(a, b);
  }
  function sortStudents(key) {
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(key === "score" ? byScore : byName);
    rows.forEach(function (row) { body.appendChild(row); });
    table.dataset.students = key;
  }
  function rate(th) {  /* a check that applied to nobody goes last */
    return th.dataset.rate === "" ? 2 : parseFloat(th.dataset.rate);
  }
  function sortChecks(key) {
    var heads = Array.prototype.slice.call(table.tHead.querySelectorAll("th[data-check]"));
    heads.sort(function (a, b) {
      var order = parseInt(a.dataset.order, 10) - parseInt(b.dataset.order, 10);
      return key === "rate" ? (rate(a) - rate(b) || order) : order;
    });
    var ids = heads.map(function (th) { return th.dataset.check; });
    Array.prototype.slice.call(table.rows).forEach(function (row) {
      var cells = {};
      row.querySelectorAll("[data-check]").forEach(function (c) { cells[c.dataset.check] = c; });
      ids.forEach(function (id) { if (cells[id]) { row.appendChild(cells[id]); } });
    });
    table.dataset.checks = key;
  }
  function remember() {
    var hash = "#matrix?students=" + table.dataset.students + "&checks=" + table.dataset.checks;
    if (window.history && history.replaceState) { history.replaceState(null, "", hash); }
  }
  document.querySelectorAll("button[data-sort-students]").forEach(function (b) {
    b.addEventListener("click", function () { sortStudents(b.dataset.sortStudents); remember(); });
  });
  document.querySelectorAll("button[data-sort-checks]").forEach(function (b) {
    b.addEventListener("click", function () { sortChecks(b.dataset.sortChecks); remember(); });
  });
  if (window.location.hash.indexOf("#matrix?") === 0) {
    var wanted = new URLSearchParams(window.location.hash.slice("#matrix?".length));
    var students = wanted.get("students"), checks = wanted.get("checks");
    if (students === "name" || students === "score") { sortStudents(students); }
    if (checks === "order" || checks === "rate") { sortChecks(checks); }
  }
  table.dataset.ready = "yes";
})();
"""


def _cell(student: str, column: CheckColumn, status: Status | str, note: str = "") -> str:
    css, symbol, _word = CELL[status]
    fields = {"student": student, "check": column.id, "verdict": cell_word(status)}
    title = (words("matrix.cell_note", **fields, note=note) if note
             else words("matrix.cell", **fields))
    return (f'<td class="cell {css}" data-check="{escape(column.id)}" data-status="{css}"'
            f' title="{escape(title)}">{symbol}</td>')


def _row(result: SubmissionResult, columns: list[CheckColumn]) -> str:
    checks = {c.id: c for c in result.checks}
    cells = []
    for col in columns:
        c = checks.get(col.id)
        if c is None:  # graded without this check (another --only): nothing to show
            cells.append(_cell(result.submission, col, "not_graded"))
            continue
        note = (kind_words(str(c.failure.kind)) if c.failure is not None
                else show(c.reason) if c.status is not Status.PASSED else "")
        cells.append(_cell(result.submission, col, c.status, note))
    value = share(result)
    return (f'<tr class="matrix-row" data-student="{escape(result.submission)}"'
            f' data-share="{exact(value)}"><th>{escape(result.submission)}</th>'
            f"<td class=num>{round(100 * value)}</td>{''.join(cells)}</tr>")


def matrix_section(gradebook: Gradebook) -> str:
    """The matrix, its legend and its sort buttons."""
    columns = gradebook.columns
    heads = "".join(
        f'<th class="check" data-check="{escape(c.id)}" data-order="{i}"'
        f' data-rate="{"" if c.pass_rate is None else exact(c.pass_rate)}"'
        f' title="{escape(show(c.title))}">{escape(c.id)}</th>'
        for i, c in enumerate(columns))
    by_student = {r.submission: _row(r, columns) for r in gradebook.results}
    for student in gradebook.failed:
        cells = "".join(_cell(student, c, "not_graded") for c in columns)
        by_student[student] = (
            f'<tr class="matrix-row not-graded" data-student="{escape(student)}"'
            f' data-share=""><th>{escape(student)}</th><td class=num>–</td>{cells}</tr>')
    rows = [by_student[s] for s in sorted(by_student)]
    legend = "".join(f'<span class="{css}">{symbol} {escape(cell_word(status))}</span>'
                     for status, (css, symbol, _word) in CELL.items())
    buttons = "".join(
        f'<button class="sort" type="button" data-sort-{axis}="{key}">{escape(words(label))}'
        "</button>"
        for axis, key, label in (("students", "name", "matrix.by_name"),
                                 ("students", "score", "matrix.by_score"),
                                 ("checks", "rate", "matrix.by_rate"),
                                 ("checks", "order", "matrix.in_order")))
    return (
        f'<h2 id="matrix-heading">{escape(words("matrix.heading"))}</h2>'
        f'<p class="muted">{escape(words("matrix.intro"))}</p>'
        f'<p class="legend">{legend}</p><div>{buttons}</div>'
        '<div class="matrix-wrap"><table id="matrix" data-students="name" data-checks="order">'
        f'<thead><tr><th>{escape(words("matrix.student"))}</th>'
        f'<th>{escape(words("matrix.score"))}</th>{heads}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
