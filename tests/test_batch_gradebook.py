"""grades.csv: one row per student, the fixed columns, then one column per check."""

from __future__ import annotations

import csv
from pathlib import Path

from test_batch_fakes import CHECKS, make_result

from grader.batch.gradebook import (
    Gradebook,
    fmt_points,
    load_gradebook,
    write_csv,
    write_errors_csv,
)
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
    gb = Gradebook.build(results, {"dave": "archive refused"})
    path = write_csv(gb, tmp_path / "g.csv")
    header = path.read_text().splitlines()[0].split(",")
    assert header == ["student", "score", "max", *(c[0] for c in CHECKS)]
    rows = {r["student"]: r for r in read_csv(path)}
    assert list(rows) == ["alice", "bob", "carol"]
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
    # could not be graded: no row, so an import records nothing (not even a zero) ...
    assert "dave" not in path.read_text()
    # ... and errors.csv says why
    errors = read_csv(write_errors_csv(gb, tmp_path / "errors.csv"))
    assert errors == [{"student": "dave", "reason": "archive refused"}]
    assert write_errors_csv(Gradebook.build(results), tmp_path / "e.csv").read_text() == (
        "student,reason\n")


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


def test_a_result_that_does_not_verify_is_not_graded(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    store.prepare()
    for name in ("alice", "bob", "carol", "dave"):
        store.save_result(name, make_result(name, {"server.broadcast"} if name == "bob" else set()))
    assert store.load_result("bob").score == 4.5
    # bob raises his score by hand; carol's file is replaced by alice's (valid) seal
    path = store.result_path("bob")
    path.write_text(path.read_text().replace('"points": 0.0', '"points": 3.0'))
    bob = path.read_text().replace('"failed"', '"passed"')
    path.write_text(bob.replace("bob received a different line", "fine"))
    store.result_path("carol").write_text(store.result_path("alice").read_text())
    gb = load_gradebook(store, ["alice", "bob", "carol", "dave"])
    assert [r.submission for r in gb.results] == ["alice", "dave"]
    assert gb.failed == {"bob": "the stored result does not verify (changed after the grader"
                         " wrote it)", "carol": "the stored result does not verify (changed"
                         " after the grader wrote it)"}
    # graded with other settings: does not count for a batch with these settings
    assert store.load_result("alice", {"only": "core"}) is None
    assert store.load_result("alice", {}) is not None
    # another key (another results folder) verifies nothing
    (tmp_path / ".key").write_text("00" * 32 + "\n")
    (tmp_path / ".key").chmod(0o600)
    assert ResultStore(tmp_path).load_result("alice") is None


def test_the_key_is_private_and_made_once(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    store.prepare()
    store.save_result("alice", make_result("alice"))
    key = tmp_path / ".key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert ResultStore(tmp_path).load_result("alice") is not None  # the same key, read back
    key.chmod(0o644)  # readable by others: not trusted, a new key is made
    assert ResultStore(tmp_path).load_result("alice") is None
    assert key.stat().st_mode & 0o777 == 0o600


def test_fmt_points() -> None:
    assert [fmt_points(x) for x in (2.0, 1.5, 1 / 3, 0.0, 12.999)] == [
        "2",
        "1.5",
        "0.33",
        "0",
        "13",
    ]
