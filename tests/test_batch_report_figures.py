"""report.html's analysis sections: every figure on the page recomputed here, from
grades.csv and the stored results alone (not with grader.batch.class_stats), and compared.

:func:`check_figures` is shared with the browser test, which runs it on the DOM Chromium
leaves after the page's script ran.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from html.parser import HTMLParser

from test_batch_fakes import verdict_result

from grader.batch.class_report import render_report
from grader.batch.gradebook import Gradebook
from grader.model import SubmissionResult

# verdicts of server.starts, .broadcast, .no_echo, .leave_reset, .history (see
# verdict_result) and the grading time. history fails for the three strongest students
# only: its verdict disagrees with the rest of the score.
RICH = {
    "s01": ("PPPPF", 4.0), "s02": ("PPPPF", 12.5), "s03": ("PPPPF", 3.25),
    "s04": ("PPPFP", 30.0), "s05": ("PPMFP", 7.5), "s06": ("PPMSP", 2.0),
    "s07": ("PMMSP", 9.0), "s08": ("PMPFN", 18.0), "s09": ("PPPPP", 1.5),
    "s10": ("FSSSP", 0.75), "s11": ("FSSSP", 5.0), "s12": ("PPPPP", 0.0),  # 0: not recorded
}
NOT_GRADED = {"s13": "grading took longer than 120 s (--student-timeout) and was stopped",
              "s14": "could not unpack the submission: <bad zip>"}
NICKS = ("ana", "bob", "cid", "dan")
CELLS = {"passed": "pass", "failed": "fail", "skipped": "skip", "not_applicable": "na"}
FLAG_BELOW, MIN_STUDENTS = 0.1, 10  # as the page says; checked against it below


def rich_gradebook() -> Gradebook:
    results = [verdict_result(s, v, duration=t, nick=NICKS[i % 4], number=i)
               for i, (s, (v, t)) in enumerate(RICH.items())]
    return Gradebook.build(results, NOT_GRADED)


# -- reading the page --------------------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source", "area", "base"}


class Element:
    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag, self.attrs = tag, attrs
        self.parts: list[str] = []
        self.children: list[Element] = []

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())

    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list:
        """Descendants (in document order) with this tag, class and attributes."""
        found = []
        for child in self.children:
            if ((tag is None or child.tag == tag) and (cls is None or cls in child.classes())
                    and all(child.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())):
                found.append(child)
            found += child.find(tag, cls, **attrs)
        return found

    def one(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Element:
        found = self.find(tag, cls, **attrs)
        assert len(found) == 1, (tag, cls, attrs, len(found))
        return found[0]


class Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.parts.append(data)


def page_of(html: str) -> Element:
    tree = Tree()
    tree.feed(html)
    return tree.root


# -- the figures, recomputed -------------------------------------------------------------


def quartile(data: list[float], q: float) -> float:
    """Linear interpolation at q * (n - 1) in the sorted data (the inclusive quartile)."""
    data = sorted(data)
    pos = q * (len(data) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (pos - low) * (data[high] - data[low])


def summary(data: list[float]) -> dict[str, float]:
    mean = sum(data) / len(data)
    return {"count": len(data), "mean": mean,
            "stdev": math.sqrt(sum((x - mean) ** 2 for x in data) / len(data)),
            "minimum": min(data), "q1": quartile(data, .25), "median": quartile(data, .5),
            "q3": quartile(data, .75), "maximum": max(data)}


def pearson(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 2:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx, syy = sum((x - mx) ** 2 for x in xs), sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx > 1e-12 and syy > 1e-12 else None


def near(shown: str, value: float) -> bool:
    return math.isclose(float(shown), value, abs_tol=1e-5)


def check_figures(html: str, csv_text: str, outcomes: list[dict], not_graded: dict[str, str]
                  ) -> Element:
    """Every figure of the analysis sections against the CSV and the results' dicts
    (``SubmissionResult.to_dict()``). Returns the page, for more checks."""
    page = page_of(html)
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(csv_text))}
    by_student = {o["submission"]: o for o in outcomes}
    assert set(rows) == set(by_student)
    score = {s: float(r["score"]) for s, r in rows.items()}
    maximum = {s: float(r["max"]) for s, r in rows.items()}
    share = {s: score[s] / maximum[s] for s in rows}
    checks = [c for c in csv_text.splitlines()[0].split(",") if "." in c]
    status = {(o["submission"], c["id"]): c["status"] for o in outcomes for c in o["checks"]}
    info = {c["id"]: c for o in outcomes for c in o["checks"]}

    # the summary cards
    cards = {c.attrs["data-stat"]: c.find("b")[0].text for c in page.find(cls="card")}
    assert cards["students"] == str(len(rows) + len(not_graded))
    assert (cards["graded"], cards["not graded"]) == (str(len(rows)), str(len(not_graded)))
    everything = [s for s in rows if all(status[s, c] in ("passed", "not_applicable")
                                         for c in checks)]
    assert cards["all checks passed"] == str(len(everything))
    assert cards["mean"] == f"{round(100 * sum(share.values()) / len(share))}%"

    # statistics: graded students only
    intro = page.one(id="statistics")  # the heading; its paragraph holds the counts
    assert intro.text == "Statistics"
    counts = page.find("p", data_graded=str(len(rows)), data_not_graded=str(len(not_graded)))
    assert len(counts) == 1
    for name, data in (("points", list(score.values())), ("share", list(share.values()))):
        row = page.one("tr", data_stat=name)
        expected = summary(data)
        cells = {td.attrs["data-field"]: td for td in row.find("td")}
        assert set(cells) == set(expected)
        for field, value in expected.items():
            assert near(cells[field].attrs["data-value"], value), (name, field)
            shown = cells[field].text
            if field == "count":
                assert shown == str(value)
            elif name == "points":
                assert near(shown, round(value, 2)), (field, shown)
            else:
                assert shown == f"{100 * value:.1f}%", (field, shown)

    # per step
    steps: dict[int, list[str]] = defaultdict(list)
    for cid in checks:
        steps[info[cid]["step"]].append(cid)
    shown_steps = page.find("tr", cls="step-row")
    assert [int(r.attrs["data-step"]) for r in shown_steps] == sorted(steps)
    for row in shown_steps:
        mine = steps[int(row.attrs["data-step"])]
        applying = {s: [c for c in mine if status[s, c] != "not_applicable"] for s in rows}
        students = [s for s in rows if applying[s]]
        passed_all = [s for s in students if all(status[s, c] == "passed" for c in applying[s])]
        shares = [sum(float(rows[s][c]) for c in applying[s])
                  / sum(info[c]["max_points"] for c in applying[s]) for s in students]
        assert row.attrs["data-checks"] == str(len(mine))
        assert row.one(cls="students").text == row.attrs["data-students"] == str(len(students))
        assert (row.one(cls="all-passed").text == row.attrs["data-all-passed"]
                == str(len(passed_all)))
        mean = sum(shares) / len(shares)
        cell = row.one(cls="mean-share")
        assert near(cell.attrs["data-value"], mean) and cell.text == f"{100 * mean:.1f}%"
        assert f"notebooks/{int(row.attrs['data-step']):02d}_" in row.text

    # per check: passed, failed, skipped, n/a apart
    table = page.one("table", id="checks")
    for cid in checks:
        row = table.one("tr", data_check=cid)
        verdicts = [status[s, cid] for s in rows]
        applies = len(verdicts) - verdicts.count("not_applicable")
        assert row.one(cls="rate").text == f"{verdicts.count('passed')}/{applies}"
        assert row.one(cls="failed").text == str(verdicts.count("failed"))
        assert row.one(cls="skipped").text == str(verdicts.count("skipped"))
        assert row.one(cls="na").text == str(verdicts.count("not_applicable"))

    # per student: failed and skipped apart
    for s in rows:
        row = page.one("tr", cls="student-row", data_student=s)
        mine = [status[s, c] for c in checks]
        assert row.attrs["data-failed"] == str(mine.count("failed"))
        assert row.attrs["data-skipped"] == str(mine.count("skipped"))
        cells = [td.text for td in row.find("td")]
        assert cells[4:] == [str(mine.count("failed")), str(mine.count("skipped"))]

    # failure clusters: this class's messages differ only in nicknames, numbers and
    # quoted values, so there is one cluster per check and kind
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for o in sorted(outcomes, key=lambda o: o["submission"]):
        for c in o["checks"]:
            if c["status"] == "failed":
                groups[c["id"], c["failure"]["kind"]].append(o["submission"])
    shown_clusters = page.find("details", cls="cluster")
    assert {(k.attrs["data-check"], k.attrs["data-kind"]): [
        m.attrs["data-student"] for m in k.find(cls="member")] for k in shown_clusters} == groups
    counts = [int(k.attrs["data-count"]) for k in shown_clusters]
    assert counts == sorted(counts, reverse=True)
    for k in shown_clusters:
        words = k.one("summary").text
        assert words.startswith(k.attrs["data-check"] + " — ")
        assert f": {k.attrs['data-count']} <nick> " in words  # the nickname taken out

    # the matrix: one row per student (graded or not), one cell per check
    matrix = page.one("table", id="matrix")
    shown_rows = matrix.find("tr", cls="matrix-row")
    assert sorted(r.attrs["data-student"] for r in shown_rows) == sorted([*rows, *not_graded])
    for row in shown_rows:
        s = row.attrs["data-student"]
        cells = {td.attrs["data-check"]: td for td in row.find("td", cls="cell")}
        assert set(cells) == set(checks)
        for cid, td in cells.items():
            want = CELLS[status[s, cid]] if s in rows else "ng"
            assert td.attrs["data-status"] == want and want in td.classes()
            assert td.text in "✓✗↷∅?" and len(td.text) == 1  # a symbol, not colour alone
        if s in rows:
            assert near(row.attrs["data-share"], share[s])
            assert row.find("td")[0].text == str(round(100 * share[s]))
    for th in matrix.find("th", cls="check"):
        cid = th.attrs["data-check"]
        verdicts = [status[s, cid] for s in rows if status[s, cid] != "not_applicable"]
        assert near(th.attrs["data-rate"], verdicts.count("passed") / len(verdicts))

    # discrimination, recomputed: pass (1/0) against the other checks' share
    note = page.one("p", data_flag_below=f"{FLAG_BELOW:g}", data_min_students=str(MIN_STUDENTS))
    assert f"below {FLAG_BELOW:g} with at least {MIN_STUDENTS} students" in note.text
    for cid in checks:
        ran = [s for s in rows if status[s, cid] in ("passed", "failed")
               and maximum[s] - info[cid]["max_points"] > 0]
        xs = [float(status[s, cid] == "passed") for s in ran]
        ys = [(score[s] - float(rows[s][cid])) / (maximum[s] - info[cid]["max_points"])
              for s in ran]
        r = pearson(xs, ys)
        row = page.one("tr", cls="disc-row", data_check=cid)
        assert row.attrs["data-students"] == str(len(ran))
        assert row.attrs["data-passed"] == str(int(sum(xs)))
        cell = row.one(cls="r")
        if r is None:
            assert cell.text == "–" and "data-value" not in cell.attrs
        else:
            assert near(cell.attrs["data-value"], r) and cell.text == f"{r:.2f}"
        flagged = r is not None and len(ran) >= MIN_STUDENTS and r < FLAG_BELOW
        assert ("flagged" in row.classes()) == flagged == ("flaky or mis-weighted?" in row.text)

    # grading time: recorded durations only, slowest first
    timed = {s: o["duration"] for s, o in by_student.items() if o["duration"] > 0}
    line = page.one("p", id="time-summary")
    expected = summary(list(timed.values()))
    assert line.attrs["data-count"] == str(len(timed))
    assert near(line.attrs["data-total"], sum(timed.values()))
    for field in ("mean", "median", "maximum"):
        assert near(line.attrs[f"data-{field}"], expected[field])
    assert f"total {sum(timed.values()):.1f} s" in line.text
    assert f"median {expected['median']:.1f} s" in line.text
    slowest = sorted(timed, key=lambda s: (-timed[s], s))[:10]
    shown_times = page.find("tr", cls="time-row")
    assert [t.attrs["data-student"] for t in shown_times] == slowest
    for t in shown_times:
        s = t.attrs["data-student"]
        longest = max(by_student[s]["checks"], key=lambda c: c["duration"])
        assert near(t.attrs["data-seconds"], timed[s])
        assert t.attrs["data-check"] == longest["id"]
        assert [td.text for td in t.find("td")][1::2] == [f"{timed[s]:.1f}",
                                                          f"{longest['duration']:.1f}"]
    untimed = sorted(set(rows) - set(timed))
    if untimed:
        assert page.one("p", id="time-unrecorded").attrs["data-count"] == str(len(untimed))
    return page


def outcomes_of(gradebook: Gradebook) -> list[dict]:
    return [r.to_dict() for r in gradebook.results]


# -- tests -------------------------------------------------------------------------------


def test_figures_match_the_csv_and_the_results() -> None:
    gb = rich_gradebook()
    check_figures(render_report(gb), gb.to_csv(), outcomes_of(gb), NOT_GRADED)


def test_the_doubtful_check_is_flagged_and_only_it() -> None:
    page = page_of(render_report(rich_gradebook()))
    flagged = [r.attrs["data-check"] for r in page.find("tr", cls="flagged")]
    assert flagged == ["server.history"]
    rows = page.find("tr", cls="disc-row")
    assert rows[0].attrs["data-check"] == "server.history"  # lowest first


def test_clusters_read_as_check_kind_count() -> None:
    page = page_of(render_report(rich_gradebook()))
    first = page.find("details", cls="cluster")[0]
    # history and leave_reset both failed (hung) three times: the tie goes by check id
    assert first.one("summary").text.startswith("server.history — no answer (hung): 3")
    assert [m.attrs["href"] for m in first.find(cls="member")] == [
        "#student-s01", "#student-s02", "#student-s03"]
    second = page.find("details", cls="cluster")[1]
    assert second.one("summary").text.startswith("server.leave_reset — no answer (hung): 3")


def test_student_text_in_clusters_is_escaped() -> None:
    html = render_report(rich_gradebook())
    assert "x5 &lt;b&gt;" in html and "x5 <b>" not in html  # s06's mismatch, as an example


def test_not_graded_students_are_in_no_statistic() -> None:
    gb = rich_gradebook()
    html = render_report(gb)
    alone = Gradebook.build(gb.results)  # the same class without the two not graded
    page, page_alone = page_of(html), page_of(render_report(alone))
    for name in ("points", "share"):
        assert ([td.attrs["data-value"] for td in page.one("tr", data_stat=name).find("td")]
                == [td.attrs["data-value"] for td in page_alone.one("tr", data_stat=name)
                    .find("td")])
    assert page.one("tr", data_stat="points").find("td")[0].text == "12"


def test_one_student() -> None:
    gb = Gradebook.build([verdict_result("solo", "PPMSP", duration=2.0)])
    page = check_figures(render_report(gb), gb.to_csv(), outcomes_of(gb), {})
    assert all(r.one(cls="r").text == "–" for r in page.find("tr", cls="disc-row"))
    assert "one student ran it" in page.one("tr", data_check="server.starts", cls="disc-row").text


def test_everyone_passes() -> None:
    gb = Gradebook.build([verdict_result(f"p{i}", "PPPPP", duration=1.0 + i)
                          for i in range(12)])
    page = check_figures(render_report(gb), gb.to_csv(), outcomes_of(gb), {})
    assert page.find("details", cls="cluster") == [] and "No check failed." in page.text
    assert not page.find("tr", cls="flagged")
    assert page.one("tr", data_stat="points").one(data_field="stdev").text == "0"


def test_everyone_not_graded() -> None:
    gb = Gradebook.build([], {"a": "could not unpack", "b": "grader error: boom"})
    page = page_of(render_report(gb))
    assert "No graded student: no statistics." in page.text
    assert "No grading time recorded." in page.text
    assert page.find("tr", cls="step-row") == [] and page.find("tr", cls="disc-row") == []
    cells = page.find("td", cls="cell")
    assert cells == [] and len(page.find("tr", cls="matrix-row not-graded".split()[0])) == 2


def test_a_check_everyone_skips() -> None:
    gb = Gradebook.build([verdict_result(f"k{i}", "FSSSP" if i % 2 else "PSSSF",
                                         duration=1.0) for i in range(12)])
    page = check_figures(render_report(gb), gb.to_csv(), outcomes_of(gb), {})
    row = page.one("tr", cls="disc-row", data_check="server.broadcast")
    assert row.attrs["data-students"] == "0" and "no student ran it" in row.text
    checks = page.one("table", id="checks")
    assert checks.one("tr", data_check="server.broadcast").one(cls="skipped").text == "12"


def test_a_submission_without_checks_or_points() -> None:
    empty = SubmissionResult(submission="blank", checks=[], duration=1.0)
    html = render_report(Gradebook.build([empty]))
    page = page_of(html)
    assert page.one("tr", data_stat="share").one(data_field="mean").text == "0.0%"
