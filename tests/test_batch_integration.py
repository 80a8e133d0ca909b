"""The batch command end to end with the real grader, on two submissions."""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import zipfile
from pathlib import Path

import pytest

from grader.batch import add_batch_parser, add_gradescope_parser
from grader.batch.commands import make_paths_absolute

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference_solution"
BROKEN_ECHO = ROOT / "tests" / "submissions" / "broken_echo"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chatlab-grader")
    sub = p.add_subparsers(dest="command", required=True)
    add_batch_parser(sub)
    add_gradescope_parser(sub)
    return p


def test_subcommands_parse() -> None:
    args = parser().parse_args(["batch", "subs", "--jobs", "3", "--regrade", "--only", "core"])
    assert (args.submissions, args.jobs, args.regrade, args.only, args.out) == (
        "subs",
        3,
        True,
        "core",
        "results",
    )
    assert args.student_timeout == 120 and args.runs_submissions
    # run as a command, it works in a folder of its own: the paths are made absolute first
    make_paths_absolute(args)
    assert (args.submissions, args.out) == (os.path.abspath("subs"), os.path.abspath("results"))
    args = parser().parse_args(["gradescope-package", "--out", "x.zip"])
    assert args.out == "x.zip" and callable(args.func)


@pytest.mark.skipif(not BROKEN_ECHO.is_dir(), reason="tests/submissions/broken_echo missing")
def test_batch_real_grader(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subs = tmp_path / "subs"
    shutil.copytree(REFERENCE, subs / "alice")
    with zipfile.ZipFile(subs / "bob.zip", "w") as zf:  # as a learning platform exports it
        for path in BROKEN_ECHO.glob("*.py"):
            zf.write(path, f"bob-chat/{path.name}")
    out = tmp_path / "results"
    args = parser().parse_args(["batch", str(subs), "--out", str(out)])
    assert args.func(args) == 0, capsys.readouterr().err

    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))}
    assert set(rows) == {"alice", "bob"}
    alice = json.loads((out / "results" / "alice.json").read_text())["result"]
    check_ids = [c["id"] for c in alice["checks"]]
    assert list(rows["alice"])[3:] == check_ids
    assert rows["alice"]["score"] == rows["alice"]["max"] != "0"
    lost = [c for c in check_ids if rows["bob"][c] == "0" and rows["alice"][c] != "0"]
    assert lost  # the echo is caught by some check (which one is the grader's business)
    assert float(rows["bob"]["score"]) < float(rows["bob"]["max"])

    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="student-alice"' in html and 'id="student-bob"' in html
    assert f'data-student="bob" data-score="{rows["bob"]["score"]}"' in html
    assert "http://" not in html and "https://" not in html

    # run again: nothing to grade, same gradebook
    before = (out / "grades.csv").read_text()
    assert args.func(args) == 0
    assert "0 graded, 2 already graded" in capsys.readouterr().err
    assert (out / "grades.csv").read_text() == before


SIGINT_SWALLOWED = ROOT / "tests" / "submissions" / "broken_sigint_swallowed"


@pytest.mark.skipif(not SIGINT_SWALLOWED.is_dir(), reason="broken_sigint_swallowed missing")
def test_batch_grades_ctrl_c_even_when_started_with_sigint_ignored(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Batch workers drop Ctrl-C (it is the parent's to handle) without ignoring it, and
    a batch started from a shell that ignores SIGINT (``cmd &``) still starts every
    program with SIGINT at its default: the Ctrl-C check is graded, not n/a."""
    subs = tmp_path / "subs"
    shutil.copytree(REFERENCE, subs / "alice")
    shutil.copytree(SIGINT_SWALLOWED, subs / "bob")
    out = tmp_path / "results"
    args = parser().parse_args(["batch", str(subs), "--out", str(out),
                                "--only", "server.shutdown_sigint"])
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert args.func(args) == 0, capsys.readouterr().err
    finally:
        signal.signal(signal.SIGINT, previous)
    status = {}
    for student in ("alice", "bob"):
        result = json.loads((out / "results" / f"{student}.json").read_text())["result"]
        status[student] = {c["id"]: c["status"] for c in result["checks"]}["server.shutdown_sigint"]
    assert status == {"alice": "passed", "bob": "failed"}
