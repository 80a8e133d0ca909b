"""report.html: self-contained, its numbers equal grades.csv, feedback escaped."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser
from pathlib import Path

from test_batch_fakes import make_result

from grader.batch.class_report import histogram_counts, render_report
from grader.batch.gradebook import Gradebook

BROKEN = {  # student -> failed checks; a class with a spread of scores
    "ana": set(),
    "ben": {"server.broadcast"},
    "cai": {"server.broadcast", "server.no_echo"},
    "dia": {"server.history"},
    "eli": set(),
    "fay": {"server.starts", "server.broadcast", "server.no_echo", "server.history"},
    "gus": {"server.no_echo"},
}


def class_gradebook() -> Gradebook:
    results = [make_result(name, broken) for name, broken in BROKEN.items()]
    results.append(make_result("hal", na={"server.history"}))
    return Gradebook.build(results, {"ivy": "could not unpack the submission: <bad zip>"})


class DataAttrs(HTMLParser):
    """Collects the data-* attributes of every element, by tag and class."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.tags: set[str] = set()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = {k: v or "" for k, v in attrs}
        self.urls += [values[k] for k in ("src", "href") if k in values]
        self.elements.append((tag, values))

    def rows(self, cls: str) -> list[dict[str, str]]:
        return [a for _, a in self.elements if cls in a.get("class", "").split()]


def parse(html: str) -> DataAttrs:
    parser = DataAttrs()
    parser.feed(html)
    return parser


def expected_from_csv(csv_text: str) -> tuple[dict[str, tuple[str, str]], dict[str, tuple]]:
    """Scores per student and (passed, graded) per check, computed from the CSV alone."""
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    scores = {r["student"]: (r["score"], r["max"]) for r in rows}
    maxima = {  # a check's points when passed: the highest value seen in its column
        cid: max(float(r[cid]) for r in rows if r[cid]) for cid in rows[0] if "." in cid
    }
    rates = {}
    for cid, full in maxima.items():
        cells = [r[cid] for r in rows if r["score"] and r[cid] != ""]
        rates[cid] = (str(sum(float(c) == full for c in cells)), str(len(cells)))
    return scores, rates


def check_page_matches_csv(html: str, csv_text: str) -> None:
    """The assertions shared with the browser test."""
    page = parse(html)
    scores, rates = expected_from_csv(csv_text)
    rows = page.rows("student-row")
    shown = {r["data-student"]: (r["data-score"], r["data-max"]) for r in rows
             if "not-graded" not in r["class"].split()}
    assert shown == scores
    # a student not graded has no row in the CSV and no score on the page
    assert all(r["data-score"] == "" and r["data-student"] not in scores
               for r in rows if "not-graded" in r["class"].split())
    shown_rates = {
        r["data-check"]: (r["data-passed"], r["data-graded"]) for r in page.rows("check-rate")
    }
    assert shown_rates == rates
    bins = [int(r["data-count"]) for r in page.rows("bin")]
    assert sum(bins) == sum(1 for s, _ in scores.values() if s)


def test_page_is_self_contained() -> None:
    html = render_report(class_gradebook())
    page = parse(html)
    assert "http://" not in html and "https://" not in html
    assert not {"link", "img", "iframe", "object"} & page.tags
    assert all(url.startswith("#") for url in page.urls)  # only links within the page
    assert "@import" not in html and "url(" not in html
    # one script, inline, that fetches and loads nothing
    scripts = [a for tag, a in page.elements if tag == "script"]
    assert scripts == [{}]
    script = html[html.index("<script>") : html.index("</script>")]
    for word in ("fetch", "XMLHttpRequest", "import", "src", "eval", "innerHTML", "WebSocket"):
        assert word not in script, word


def test_numbers_match_the_csv() -> None:
    gb = class_gradebook()
    check_page_matches_csv(render_report(gb), gb.to_csv())


def test_histogram_bins_by_tenth() -> None:
    gb = class_gradebook()
    # 7.5 max: ana eli hal 100%, ben 60%, cai 33%, dia 80%, fay 0%, gus 73%
    assert histogram_counts(gb) == [1, 0, 0, 1, 0, 0, 1, 1, 1, 3]


def test_student_feedback_is_there_and_escaped() -> None:
    html = render_report(class_gradebook())
    page = parse(html)
    sections = {a["id"] for _, a in page.elements if "student" in a.get("class", "").split()}
    assert {f"student-{n}" for n in [*BROKEN, "hal", "ivy"]} <= sections
    # ben's failed check: message, expected/actual, transcript, program output, hint
    ben = html[html.index('id="student-ben"') : html.index('id="student-cai"')]
    for text in (
        "bob received a different line",
        "alice: hi &lt;b&gt;",
        "0.012s",
        "&lt;script&gt;boom&lt;/script&gt;",
        "notebooks/04_broadcast.ipynb",
        "a chat line reaches every other client",
    ):
        assert text in ben, text
    assert html.count("<script>") == 1 and "<script>boom" not in html  # only the sorter
    assert "could not unpack the submission: &lt;bad zip&gt;" in html


def test_what_the_grader_stopped_is_listed_in_plain_words() -> None:
    gb = class_gradebook()
    assert 'id="stopped"' not in render_report(gb)  # nothing happened: no section
    gb.events = ["bob: the stored result was changed while the batch ran; it was restored"
                 " from the grader's memory <b>."]
    html = render_report(gb)
    assert '<h2 id="stopped">What the grader stopped</h2>' in html
    assert "it was restored from the grader&#x27;s memory &lt;b&gt;." in html


def test_empty_class_renders() -> None:
    html = render_report(Gradebook.build([]))
    assert "Score distribution" in html and "http" not in html


def test_the_report_links_the_similarity_page_when_there_is_one(tmp_path: Path) -> None:
    from grader.batch.class_report import write_report
    from grader.batch.gradebook import Gradebook

    book = Gradebook(columns=[], results=[], failed={})
    assert "Similarity between students" not in write_report(
        book, tmp_path / "report.html").read_text()
    (tmp_path / "similarity").mkdir()
    (tmp_path / "similarity" / "similarity.html").write_text("<html></html>")
    page = write_report(book, tmp_path / "report.html").read_text()
    assert '<a href="similarity/similarity.html">Similarity between students</a>' in page
