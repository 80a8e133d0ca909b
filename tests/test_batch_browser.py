"""report.html in a real headless browser (Chromium from the system packages).

Skipped when no ``chromium`` or ``chromium-browser`` is on PATH; CI installs it with apt.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from test_batch_report import check_page_matches_csv, class_gradebook
from test_batch_report_figures import NOT_GRADED, check_figures, outcomes_of, rich_gradebook

from grader.batch.class_report import write_report
from grader.batch.gradebook import write_csv

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SKIP_REASON = "no chromium or chromium-browser on PATH (apt-get install chromium)"


def dump_dom(url: str, tmp_path: Path) -> str:
    """The page's DOM once loaded and its scripts ran, as Chromium serialises it."""
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # a network fetch could only fail
        f"--user-data-dir={tmp_path / 'profile'}",
        "--dump-dom",
        url,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
def test_report_renders_in_chromium_with_the_csv_numbers(tmp_path: Path) -> None:
    gb = class_gradebook()
    csv_path = write_csv(gb, tmp_path / "grades.csv")
    page = write_report(gb, tmp_path / "report.html")
    dom = dump_dom(page.resolve().as_uri(), tmp_path)
    assert "<title>chatlab class report</title>" in dom, dom[:500]
    assert 'id="histogram"' in dom and 'id="pass-rates"' in dom
    check_page_matches_csv(dom, csv_path.read_text(encoding="utf-8"))


@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
def test_every_figure_in_chromium_and_the_matrix_sorted_by_its_script(tmp_path: Path) -> None:
    gb = rich_gradebook()
    csv_text = write_csv(gb, tmp_path / "grades.csv").read_text(encoding="utf-8")
    page = write_report(gb, tmp_path / "report.html")
    dom = dump_dom(page.resolve().as_uri() + "#matrix?students=score&checks=rate", tmp_path)
    tree = check_figures(dom, csv_text, outcomes_of(gb), NOT_GRADED)
    check_page_matches_csv(dom, csv_text)

    matrix = tree.one("table", id="matrix")
    assert (matrix.attrs["data-ready"], matrix.attrs["data-students"],
            matrix.attrs["data-checks"]) == ("yes", "score", "rate")  # the script ran
    # students: highest share first, ties by name, the not graded last
    rows = {r["student"]: float(r["score"]) / float(r["max"])
            for r in csv.DictReader(io.StringIO(csv_text))}
    want = sorted(rows, key=lambda s: (-rows[s], s)) + sorted(NOT_GRADED)
    assert [r.attrs["data-student"] for r in matrix.find("tr", cls="matrix-row")] == want
    # checks: lowest pass rate first, ties in grading order; every row's cells follow
    order = list(csv_text.splitlines()[0].split(",")[3:])
    rate = {}
    for cid in order:
        cells = [r[cid] for r in csv.DictReader(io.StringIO(csv_text)) if r[cid] != ""]
        full = max(float(c) for c in cells)
        rate[cid] = sum(float(c) == full for c in cells) / len(cells)
    columns = sorted(order, key=lambda c: (rate[c], order.index(c)))
    assert columns != order  # the sort moved something
    assert [th.attrs["data-check"] for th in matrix.find("th", cls="check")] == columns
    for row in matrix.find("tr", cls="matrix-row"):
        assert [td.attrs["data-check"] for td in row.find("td", cls="cell")] == columns


@pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
def test_without_a_sort_in_the_address_the_matrix_stays_by_name(tmp_path: Path) -> None:
    gb = rich_gradebook()
    page = write_report(gb, tmp_path / "report.html")
    dom = dump_dom(page.resolve().as_uri() + "#matrix?students=evil&checks=<b>", tmp_path)
    matrix = check_figures(dom, gb.to_csv(), outcomes_of(gb), NOT_GRADED).one(
        "table", id="matrix")
    assert (matrix.attrs["data-ready"], matrix.attrs["data-students"]) == ("yes", "name")
    assert [r.attrs["data-student"] for r in matrix.find("tr", cls="matrix-row")] == sorted(
        [*(r.submission for r in gb.results), *NOT_GRADED])
    assert [th.attrs["data-check"] for th in matrix.find("th", cls="check")] == [
        c.id for c in gb.columns]
