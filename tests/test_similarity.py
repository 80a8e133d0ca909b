"""The similarity report: copies rank first, independent work and the skeleton rank low.

The class used here is made in a temporary folder: four independent solutions (the
reference, the two correct test submissions, and ``similarity_fixtures/tess``), a copy of
one of them disguised (every name renamed, functions reordered, comments dropped), and two
students who handed in the untouched skeleton. Nothing in the repository is written.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from similarity_fixtures.disguise import disguise

from grader.similarity import add_similarity_parser, run_similarity
from grader.similarity.html_out import render_code

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "lab"
REFERENCE = ROOT / "reference_solution"
SELECTORS = ROOT / "tests" / "submissions" / "correct_selectors"
ASYNCIO = ROOT / "tests" / "submissions" / "correct_asyncio"
TESS = ROOT / "tests" / "similarity_fixtures" / "tess"

needs_copydetect = pytest.mark.skipif(
    importlib.util.find_spec("copydetect") is None,
    reason="copydetect not installed (pip install 'chatlab[similarity]')",
)

INDEPENDENT = ("rita", "sam", "ada", "tess")  # four solutions written apart
SKELETON = ("kim", "lee")  # lab/ as given


def py_files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.py"))}


def write_student(root: Path, name: str, files: dict[str, str]) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for file, text in files.items():
        (folder / file).write_text(text, encoding="utf-8")
    return folder


def zip_student(root: Path, name: str, files: dict[str, str], inside: str = "") -> Path:
    """A student as a learning platform exports one: a zip, the files in a sub-folder."""
    path = root / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for file, text in files.items():
            zf.writestr(f"{inside}{file}", text)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def score(rows: list[dict[str, str]], a: str, b: str) -> float:
    for row in rows:
        if {row["student_a"], row["student_b"]} == {a, b}:
            return float(row["similarity"])
    raise AssertionError(f"no pair {a} {b}")


class Tags(HTMLParser):
    """Every start tag and attribute of a page, to check what the page can do."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("class")
    write_student(root, "rita", py_files(REFERENCE))
    write_student(root, "sam", py_files(SELECTORS))
    zip_student(root, "ada", py_files(ASYNCIO), inside="ada-chat/lab/")
    write_student(root, "tess", py_files(TESS))
    write_student(root, "mallory", disguise(py_files(SELECTORS)))
    for name in SKELETON:
        write_student(root, name, py_files(LAB))
    return root


@pytest.fixture(scope="module")
def report(klass: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    assert run_similarity(klass, out, base=[LAB]) == 0
    return out


@needs_copydetect
def test_disguised_copy_ranks_first_far_above_the_rest(report: Path) -> None:
    rows = read_csv(report / "similarity.csv")
    first, second = rows[0], rows[1]
    assert {first["student_a"], first["student_b"]} == {"mallory", "sam"}
    assert float(first["similarity"]) >= 0.8
    assert float(second["similarity"]) <= 0.3
    assert float(first["similarity"]) >= 3 * float(second["similarity"])


@needs_copydetect
def test_independent_solutions_and_skeleton_copies_rank_low(report: Path) -> None:
    rows = read_csv(report / "similarity.csv")
    for i, a in enumerate(INDEPENDENT):
        for b in INDEPENDENT[i + 1 :]:
            assert score(rows, a, b) <= 0.3, (a, b)
    everyone = (*INDEPENDENT, "mallory", *SKELETON)
    for a in SKELETON:
        for b in everyone:
            if a != b:
                assert score(rows, a, b) == 0.0, (a, b)


@needs_copydetect
def test_skeleton_copies_match_fully_without_base(
    klass: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It is --base that keeps the skeleton out: without it, two copies are identical."""
    assert run_similarity(klass, tmp_path) == 0
    rows = read_csv(tmp_path / "similarity.csv")
    assert score(rows, "kim", "lee") == 1.0
    assert score(rows, "mallory", "sam") >= 0.8


@needs_copydetect
def test_csv_has_every_pair_once_sorted_highest_first(report: Path) -> None:
    text = (report / "similarity.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "student_a,student_b,similarity"
    rows = read_csv(report / "similarity.csv")
    students = sorted((*INDEPENDENT, "mallory", *SKELETON))
    assert len(rows) == len(students) * (len(students) - 1) // 2
    pairs = [(r["student_a"], r["student_b"]) for r in rows]
    assert len(set(pairs)) == len(pairs)
    assert all(a < b for a, b in pairs)  # one orientation per pair, no self-pair
    assert {name for pair in pairs for name in pair} == set(students)
    values = [float(r["similarity"]) for r in rows]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert values == sorted(values, reverse=True)
    assert all(len(r["similarity"].split(".")[1]) == 3 for r in rows)


@needs_copydetect
def test_html_ranks_pairs_and_links_each_to_a_side_by_side_view(report: Path) -> None:
    html = (report / "similarity.html").read_text(encoding="utf-8")
    tags = parse(html)
    assert '<tr class="pair-row" data-a="mallory" data-b="sam"' in html
    first_row = html.index('class="pair-row"')
    assert html.index('data-a="mallory" data-b="sam"', first_row) == first_row + len(
        'class="pair-row" '
    )
    links = [v for t, k, v in tags.attrs if t == "a" and k == "href"]
    ids = {v for _, k, v in tags.attrs if k == "id"}
    assert "#pair-1" in links
    assert all(link.startswith("#") and link[1:] in ids for link in links)
    view = html[html.index('id="pair-1"') :]
    view = view[: view.index("</section>")]
    assert 'data-a="mallory" data-b="sam"' in view
    assert view.count("<mark>") > 20  # the copied fragments are marked on both sides
    assert "server.py" in view and "client.py" in view
    assert "Nothing beyond the skeleton" in html
    for name in SKELETON:
        assert f"<li>{name}</li>" in html


@needs_copydetect
def test_html_is_self_contained(report: Path) -> None:
    tags = parse((report / "similarity.html").read_text(encoding="utf-8"))
    assert tags.tags <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "ul", "li",
        "table", "tr", "th", "td", "a", "span", "section", "div", "pre", "code", "mark",
    }
    for tag, key, value in tags.attrs:
        assert key not in {"src", "srcset", "action", "formaction"}, tag
        assert not key.startswith("on"), (tag, key)
        if key == "href":
            assert value and value.startswith("#")
        if key == "style":
            assert value and "url(" not in value
    css = (report / "similarity.html").read_text(encoding="utf-8").split("<style>")[1]
    css = css.split("</style>")[0]
    assert "url(" not in css and "@import" not in css


PAYLOAD = "</script><script>alert(1)</script>"


@needs_copydetect
def test_student_code_is_shown_as_text(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    files = py_files(TESS)
    files["server.py"] = (
        f"# <b>bold</b> <!-- a comment --> <img src=x onerror=alert(2)>\n"
        f"BANNER = '{PAYLOAD}'\n" + files["server.py"]
    )
    files["ev<i>l&.py"] = f'"""{PAYLOAD}"""\n'
    write_student(subs, "eve", files)
    write_student(subs, "tess", py_files(TESS))
    out = tmp_path / "out"
    assert run_similarity(subs, out) == 0
    html = (out / "similarity.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "<b>bold" not in html and "<!-- a comment" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt; &lt;!-- a comment --&gt;" in html
    assert "ev&lt;i&gt;l&amp;.py" in html
    assert parse(html).tags <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "ul", "li",
        "table", "tr", "th", "td", "a", "span", "section", "div", "pre", "code", "mark",
    }
    assert score(read_csv(out / "similarity.csv"), "eve", "tess") >= 0.9


@needs_copydetect
def test_past_submissions_are_paired_with_current_ones_only(tmp_path: Path) -> None:
    current, past = tmp_path / "2025", tmp_path / "2024"
    write_student(current, "sam", py_files(SELECTORS))
    write_student(current, "ada", py_files(ASYNCIO))
    write_student(past, "olga", disguise(py_files(SELECTORS)))
    write_student(past, "otto", py_files(TESS))
    write_student(past, "oscar", py_files(TESS))  # two past copies: never compared
    out = tmp_path / "out"
    assert run_similarity(current, out, base=[LAB], past=[past]) == 0
    rows = read_csv(out / "similarity.csv")
    assert len(rows) == 1 + 2 * 3
    for row in rows:
        assert row["student_a"] in {"ada", "sam"}
        assert row["student_b"] in {"ada", "sam"} or row["student_b"].startswith("2024/")
    assert (rows[0]["student_a"], rows[0]["student_b"]) == ("sam", "2024/olga")
    assert float(rows[0]["similarity"]) >= 0.8
    assert all(float(r["similarity"]) <= 0.3 for r in rows[1:])
    html = (out / "similarity.html").read_text(encoding="utf-8")
    top = rows[0]["similarity"]
    assert f'data-a="sam" data-b="2024/olga" data-similarity="{top}" data-past="1"' in html


@needs_copydetect
def test_model_answer_is_flagged_apart_not_paired(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    write_student(subs, "rita", py_files(REFERENCE))
    changed = py_files(REFERENCE)
    changed["server.py"] = changed["server.py"].replace("RECV_BYTES = 4096", "RECV_BYTES = 1024")
    write_student(subs, "ralf", changed)
    write_student(subs, "sam", py_files(SELECTORS))
    write_student(subs, "ada", py_files(ASYNCIO))
    out = tmp_path / "out"
    assert run_similarity(subs, out, base=[LAB], references=[REFERENCE]) == 0

    pairs = read_csv(out / "similarity.csv")
    assert score(pairs, "rita", "ralf") <= 0.3  # both are the model answer: not a pair
    assert all(float(r["similarity"]) <= 0.3 for r in pairs)
    with (out / "similarity_reference.csv").open(newline="", encoding="utf-8") as f:
        hits = {r["student"]: float(r["similarity"]) for r in csv.DictReader(f)}
    assert hits["rita"] >= 0.95 and hits["ralf"] >= 0.9
    assert hits["sam"] <= 0.3 and hits["ada"] <= 0.3
    html = (out / "similarity.html").read_text(encoding="utf-8")
    for name, flagged in (("rita", 1), ("ralf", 1), ("sam", 0), ("ada", 0)):
        assert f'data-student="{name}" data-reference="reference_solution"' in html
        row = html[html.index(f'data-student="{name}" data-reference'):]
        assert f'data-flagged="{flagged}"' in row[: row.index(">")]
    assert "Nothing beyond the skeleton" not in html  # the model answer is not the skeleton


@needs_copydetect
def test_unsafe_archive_is_listed_links_unread_the_rest_compared(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    write_student(subs, "sam", py_files(SELECTORS))
    write_student(subs, "mallory", disguise(py_files(SELECTORS)))
    with zipfile.ZipFile(subs / "zoe.zip", "w") as zf:
        zf.writestr("../../escape.py", "print('out')\n")
    secret = tmp_path / "secret.py"
    secret.write_text("SECRET_MARKER = 'not a student file'\n")
    (subs / "sam" / "linked.py").symlink_to(secret)
    write_student(subs, "nora", {"README.txt": "I did not finish."})
    out = tmp_path / "out"
    assert run_similarity(subs, out) == 0
    rows = read_csv(out / "similarity.csv")
    assert rows[0]["student_a"] == "mallory" and rows[0]["student_b"] == "sam"
    assert {r["student_a"] for r in rows} | {r["student_b"] for r in rows} == {
        "mallory", "nora", "sam"}
    html = (out / "similarity.html").read_text(encoding="utf-8")
    assert "<li>nora</li>" in html  # nothing to compare: no .py file
    assert "Not compared" in html and "zoe" in html and "path leaves the archive" in html
    assert "SECRET_MARKER" not in html and not (tmp_path / "escape.py").exists()


def test_missing_copydetect_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "copydetect", None)  # import copydetect fails
    write_student(tmp_path / "subs", "sam", py_files(SELECTORS))
    out = tmp_path / "out"
    assert run_similarity(tmp_path / "subs", out, base=[LAB]) == 2
    err = capsys.readouterr().err
    assert "copydetect" in err and "pip install 'chatlab[similarity]'" in err
    assert not out.exists()


def test_wrong_base_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if importlib.util.find_spec("copydetect") is None:
        pytest.skip("copydetect not installed")
    (tmp_path / "subs").mkdir()
    assert run_similarity(tmp_path / "subs", tmp_path / "out", base=[tmp_path / "nope"]) == 2
    assert "base not found" in capsys.readouterr().err


@needs_copydetect
def test_parser_runs_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subs, past = tmp_path / "subs", tmp_path / "2024"
    write_student(subs, "sam", py_files(SELECTORS))
    write_student(subs, "tess", py_files(TESS))
    write_student(past, "olga", py_files(ASYNCIO))
    parser = argparse.ArgumentParser(prog="chatlab-grader")
    add_similarity_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["similarity", str(subs), "--out", str(tmp_path / "out"), "--base", str(LAB),
         "--reference", str(REFERENCE), "--past", str(past), "--show", "5"]
    )
    assert args.func(args) == 0
    assert "2 students, 3 pairs compared" in capsys.readouterr().err
    for name in ("similarity.csv", "similarity.html", "similarity_reference.csv"):
        assert (tmp_path / "out" / name).is_file()


def test_marks_cross_lines_and_code_is_escaped() -> None:
    text = "a<b\nc&d>\nef"
    html = render_code(text, [(1, 6), (10, 11)])
    assert html.splitlines() == [
        '<span class="ln">1</span>a<mark>&lt;b</mark>',
        '<span class="ln">2</span><mark>c&amp;</mark>d&gt;',
        '<span class="ln">3</span>e<mark>f</mark>',
    ]


@needs_copydetect
def test_fragments_after_a_class_map_back_to_the_right_place() -> None:
    """copydetect 0.5 maps a match that starts at a class name to the wrong place in the
    file; the engine corrects its table of positions."""
    import io

    from copydetect import CodeFingerprint

    from grader.similarity.engine import _repair_offsets

    text = (REFERENCE / "server.py").read_text(encoding="utf-8")
    fp = CodeFingerprint("s.py", 25, 1, fp=io.StringIO(text), language="python")
    offsets = fp.offsets.copy()
    _repair_offsets(offsets)
    classes = [
        (int(i), int(o)) for i, o in offsets.tolist()
        if fp.filtered_code[max(0, i - 5) : i + 1] == "classO"
    ]
    assert len(classes) >= 3
    for i, removed in classes:
        assert text[i + removed - 6 : i + removed] == "class "
        assert text[i + removed].isupper()
    assert all(b >= a for a, b in zip(offsets[:-1, 1], offsets[1:, 1], strict=True))
