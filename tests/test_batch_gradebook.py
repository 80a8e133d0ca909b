"""grades.csv: one row per student, the fixed columns, then one column per check."""

from __future__ import annotations

import csv
from pathlib import Path

from test_batch_fakes import CHECKS, make_result

from grader.batch.gradebook import Gradebook, fmt_points, load_gradebook, write_csv
from grader.batch.store import ResultStore


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_columns_rows_and_points(tmp_path: Path) -> None:
    results = [
        make_result("carol", na={"server.history"}),
        make_result("alice"),
        make_result("bob", {"server.broadcast", "server.history"}),
    ]
    path = write_csv(Gradebook.build(results, {"dave": "archive refused"}), tmp_path / "g.csv")
    header = path.read_text().splitlines()[0].split(",")
    assert header == ["student", "score", "max", *(c[0] for c in CHECKS)]
    rows = {r["student"]: r for r in read_csv(path)}
    assert list(rows) == ["alice", "bob", "carol", "dave"]
    assert rows["alice"] == {
        "student": "alice",
        "score": "7.5",
        "max": "7.5",
        "server.starts": "1",
        "server.broadcast": "3",
        "server.no_echo": "2",
        "server.history": "1.5",
    }
    assert (rows["bob"]["score"], rows["bob"]["server.broadcast"]) == ("3", "0")
    # not applicable: blank cell, and not counted in the maximum
    assert (rows["carol"]["max"], rows["carol"]["server.history"]) == ("6", "")
    # could not be graded: blank, so an import does not record a zero
    assert set(rows["dave"].values()) == {"dave", ""}


def test_pass_rate_counts_only_students_the_check_applies_to() -> None:
    gb = Gradebook.build(
        [
            make_result("a"),
            make_result("b", {"server.history"}),
            make_result("c", na={"server.history"}),
        ]
    )
    history = next(c for c in gb.columns if c.id == "server.history")
    assert (history.passed, history.graded, history.pass_rate) == (1, 2, 0.5)


def test_load_from_store_marks_missing_students(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    store.prepare()
    store.save_result("alice", make_result("renamed-by-grader"))
    store.save_error("bob", "grader error: boom")
    gb = load_gradebook(store, ["alice", "bob", "carol"])
    assert [r.submission for r in gb.results] == ["alice"]
    assert gb.failed == {"bob": "grader error: boom", "carol": "not graded yet"}
    assert gb.students == ["alice", "bob", "carol"]


def test_fmt_points() -> None:
    assert [fmt_points(x) for x in (2.0, 1.5, 1 / 3, 0.0, 12.999)] == [
        "2",
        "1.5",
        "0.33",
        "0",
        "13",
    ]
