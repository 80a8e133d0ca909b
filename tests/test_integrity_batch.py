"""`batch`: every grade is the grader's own, whatever a classmate's submission does.

Each hostile submission crashes at start once its attack is done (its honest grade
with ``--only server.starts`` is 0 of 1); the honest classmates are copies of the
reference solution (1 of 1). The batch runs as a user runs it, ``python -m grader
batch``, so the hostile code finds the results folder in the batch's command line.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest
from test_integrity_fixtures import (
    FORGED,
    environment,
    honest,
    hostile,
    playground,
    run_grader,
    running,
)

from grader.batch.store import ResultStore

ONLY = "server.starts"


def _batch(subs: Path, out: Path, *extra: str, env: dict[str, str] | None = None):
    return run_grader("batch", str(subs), "--out", str(out), "--only", ONLY, *extra,
                      cwd=out.parent, env=env)


def _grades(out: Path) -> dict[str, tuple[str, str]]:
    text = (out / "grades.csv").read_text()
    assert FORGED not in text and "999" not in text
    return {r["student"]: (r["score"], r["max"]) for r in csv.DictReader(text.splitlines())}


def _stored(out: Path, student: str) -> float:
    result = ResultStore(out).load_result(student, {"only": ONLY})
    assert result is not None, f"{student}'s stored result does not verify"
    return result.score


def test_classmates_stored_results_overwritten_by_a_daemon_are_restored(
    tmp_path: Path,
) -> None:
    """alice and bob were graded by an earlier run; mallory, added later, leaves a
    daemon that rewrites their stored results and grades.csv while she is graded."""
    base = playground(tmp_path)
    subs, out = base / "subs", base / "out"
    honest(subs / "alice")
    honest(subs / "bob")
    first = _batch(subs, out)
    assert first.returncode == 0, first.stderr[-3000:]
    hostile("forge_batch_results", subs / "mallory")
    done = _batch(subs, out, "--jobs", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert _grades(out) == {"alice": ("1", "1"), "bob": ("1", "1"), "mallory": ("0", "1")}
    assert [_stored(out, s) for s in ("alice", "bob", "mallory")] == [1, 1, 0]
    daemon = int((base / "daemon.pid").read_text())
    assert not running(daemon)  # stopped with mallory's grading, not left to go on
    report = (out / "report.html").read_text()
    for student in ("alice", "bob"):
        said = (f"{student}: the stored result was changed while the batch ran; it was"
                " restored from the grader's memory.")
        assert said in done.stderr and said.replace("'", "&#x27;") in report
    assert "What the grader stopped" in report and FORGED not in report


def test_results_overwritten_while_classmates_are_graded_are_restored(tmp_path: Path) -> None:
    """One run: mallory is graded after alice or bob, whose result is on disk by then."""
    base = playground(tmp_path)
    subs, out = base / "subs", base / "out"
    honest(subs / "alice")
    honest(subs / "bob")
    hostile("forge_batch_results", subs / "mallory")
    done = _batch(subs, out, "--jobs", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert _grades(out) == {"alice": ("1", "1"), "bob": ("1", "1"), "mallory": ("0", "1")}
    assert [_stored(out, s) for s in ("alice", "bob", "mallory")] == [1, 1, 0]
    assert not running(int((base / "daemon.pid").read_text()))
    assert "the stored result was changed while the batch ran; it was restored from the" \
           " grader's memory." in done.stderr


def test_a_submission_that_kills_its_worker_is_not_graded(tmp_path: Path) -> None:
    base = playground(tmp_path)
    subs, out = base / "subs", base / "out"
    honest(subs / "alice")
    hostile("forge_report_and_kill", subs / "mallory")  # its parent is its worker
    scratch = base / "tmp"  # the batch's temporary folders, and nobody else's
    scratch.mkdir()
    done = _batch(subs, out, "--jobs", "2", env=environment(TMPDIR=str(scratch)))
    assert done.returncode == 1, done.stderr[-3000:]
    # The killed worker's folder (a copy of mallory's code) went with the batch.
    assert not [p.name for p in scratch.iterdir() if "mallory" in p.name]
    assert _grades(out) == {"alice": ("1", "1")}  # no row for mallory: no score at all
    errors = list(csv.DictReader((out / "errors.csv").read_text().splitlines()))
    assert [e["student"] for e in errors] == ["mallory"]
    assert "the grading process died" in errors[0]["reason"]
    assert json.loads((out / "errors" / "mallory.json").read_text())["student"] == "mallory"
    assert not (out / "results" / "mallory.json").exists()
    assert "not graded: mallory: the grading process died" in done.stderr


def _pth_class(base: Path, wait: float = 0.0) -> tuple[Path, dict[str, str]]:
    subs = base / "subs"
    attacker = hostile("forge_pth", subs / "a_mallory")  # graded first
    if wait:
        (attacker / "wait").write_text(str(wait))
    honest(subs / "bob")
    honest(subs / "carol")
    return subs, environment(CHATLAB_CACHE=str(base / "cache"))


def _classmates_ran_it(base: Path) -> list[str]:
    log = base / "pth-ran.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [line for line in lines if "chatlab-bob-" in line or "chatlab-carol-" in line]


PTH_ONLY = "server.starts,unit.line_buffer,client.connects"


def test_a_pth_file_planted_in_the_submissions_python_never_runs_again(tmp_path: Path) -> None:
    base = playground(tmp_path)
    subs, env = _pth_class(base)
    out = base / "out"
    done = run_grader("batch", str(subs), "--out", str(out), "--only", PTH_ONLY, "--jobs",
                      "1", cwd=base, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _classmates_ran_it(base) == []
    assert not list((base / "cache").rglob("zz_forge.pth"))
    said = [line for line in done.stderr.splitlines() if "zz_forge.pth" in line]
    assert said and said[0].startswith("  stopped: a_mallory: the submissions' Python, after"
                                       " grading: extra: "), done.stderr[-3000:]
    grades = _grades(out)
    assert grades["bob"] == grades["carol"] == (grades["bob"][1], grades["bob"][1])
    # a later batch of the classmates on the same machine: the environment is clean
    later = base / "later"
    later.mkdir()
    for name in ("bob", "carol"):
        (subs / name).rename(later / name)
    again = run_grader("batch", str(later), "--out", str(base / "out2"), "--only", PTH_ONLY,
                       cwd=base, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _classmates_ran_it(base) == []


@pytest.mark.needs_isolation
def test_a_pth_file_never_runs_in_a_classmate_graded_at_the_same_time(tmp_path: Path) -> None:
    """Needs the sandbox's read-only view of the submissions' Python: without it, a
    classmate graded while the attacker runs starts programs on the poisoned
    environment before the grader inspects it again."""
    base = playground(tmp_path)
    subs, env = _pth_class(base, wait=4.0)
    run_grader("batch", str(subs), "--out", str(base / "out"), "--only", PTH_ONLY, "--jobs",
               "2", cwd=base, env=env)
    assert _classmates_ran_it(base) == []


def test_stored_results_resealed_with_the_folders_key_are_restored(tmp_path: Path) -> None:
    """mallory reads RESULTS_DIR/.key (as the grader's user, she can) and seals zeros for
    her classmates graded by an earlier run: the seals verify, but the batch compares
    the files with what it read at the start, and restores them."""
    base = playground(tmp_path)
    subs, out = base / "subs", base / "out"
    honest(subs / "alice")
    honest(subs / "bob")
    assert _batch(subs, out).returncode == 0
    hostile("forge_batch_key", subs / "mallory")
    done = _batch(subs, out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _grades(out) == {"alice": ("1", "1"), "bob": ("1", "1"), "mallory": ("0", "1")}
    assert [_stored(out, s) for s in ("alice", "bob", "mallory")] == [1, 1, 0]
    assert done.stderr.count("was restored from the grader's memory") == 2


def test_a_killed_batchs_worker_folders_are_removed_by_the_next_batch(tmp_path, monkeypatch):
    """A batch killed outright cannot remove its workers' folders (copies of students'
    code): the next batch does, and leaves those of a batch still running alone."""
    from grader.batch import parallel

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    dead = int(ended.stdout)
    assert not psutil.pid_exists(dead)
    left = tmp_path / f"{parallel.WORKDIR_PREFIX}{dead}-mallory-x1"
    alive = tmp_path / f"{parallel.WORKDIR_PREFIX}{os.getpid()}-alice-x2"
    other = tmp_path / "chatlab-notes"
    for folder in (left / "submission", alive, other):
        folder.mkdir(parents=True)
    (left / "submission" / "server.py").write_text("print('mine')\n")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    parallel.sweep_workdirs.cache_clear()
    parallel.sweep_workdirs()
    assert not left.exists() and alive.exists() and other.exists()
