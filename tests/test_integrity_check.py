"""`check --output F`: the file holds the grader's report, whatever the submission did.

Each hostile submission (tests/hostile/forge_*) crashes at start once its attack is
done, so its honest grade is server.starts failed: 0 of 1 point with ``--only
server.starts``. The forged reports claim 999 points and carry FORGED.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_integrity_fixtures import (
    FORGED,
    environment,
    grader_copy,
    hostile,
    playground,
    run_grader,
)

ONLY = ["--only", "server.starts", "--format", "json"]


def _honest_zero(report: Path) -> dict:
    data = json.loads(report.read_text())
    assert FORGED not in report.read_text()
    assert data["score"] == 0 and data["max_score"] == 1
    assert [(c["id"], c["status"]) for c in data["checks"]] == [("server.starts", "failed")]
    return data


def test_a_report_written_by_the_submission_is_replaced(tmp_path: Path) -> None:
    base = playground(tmp_path)
    sub = hostile("forge_report_file", base / "sub")
    report = base / "out" / "report.json"
    report.parent.mkdir()
    report.write_text(json.dumps({"score": 999, "note": "left from an earlier run"}))
    done = run_grader("check", str(sub), *ONLY, "--output", str(report), cwd=base)
    assert done.returncode == 1, done.stderr[-2000:]
    data = _honest_zero(report)
    said = [n for n in data["notes"] if n.startswith("integrity:")]
    assert said == [f"integrity: {report} was written by another program while the"
                    " submission ran; the grader replaced it with its own report."]
    assert said[0] in done.stderr
    assert not list(report.parent.glob(".*.tmp"))  # written through a temporary file


def test_renderers_patched_on_disk_during_grading_are_never_run(tmp_path: Path) -> None:
    """The submission appends to the grader's renderers (a copy of the grader): the
    grader imported them before the submission ran, so the report stays its own, and
    it says its files changed."""
    base = playground(tmp_path)
    kit = grader_copy(base / "kit")
    sub = hostile("forge_grader_module", base / "sub")
    report = base / "report.json"
    done = run_grader("check", str(sub), *ONLY, "--output", str(report), cwd=base,
                      env=environment(PYTHONPATH=str(kit)))
    assert done.returncode == 1, done.stderr[-2000:]
    assert "appended by a submission" in (kit / "grader" / "render" / "json.py").read_text()
    data = _honest_zero(report)
    said = [n for n in data["notes"] if "the grader's own files changed" in n]
    assert said and "render/json.py" in said[0] and "Reinstall the grader" in said[0]


@pytest.mark.needs_isolation
def test_renderers_patched_by_one_submission_do_not_grade_the_next(tmp_path: Path) -> None:
    """Needs the sandbox's read-only view of the grader's files: without it, the code a
    submission appended to the grader runs in the next grading."""
    base = playground(tmp_path)
    kit = grader_copy(base / "kit")
    env = environment(PYTHONPATH=str(kit))
    attacker = hostile("forge_grader_module", base / "attacker")
    run_grader("check", str(attacker), *ONLY, "--output", str(base / "a.json"), cwd=base,
               env=env)
    classmate = hostile("forge_report_file", base / "classmate")  # crashes: 0 points
    (classmate / "server.py").write_text("raise SystemExit('not written yet')\n")
    report = base / "b.json"
    run_grader("check", str(classmate), *ONLY, "--output", str(report), cwd=base, env=env)
    _honest_zero(report)


@pytest.mark.needs_isolation
def test_a_submission_that_kills_the_grader_leaves_no_report(tmp_path: Path) -> None:
    """Needs the sandbox's PID namespace: without it the submission kills the grader
    after writing the report, and nothing is left to replace it."""
    base = playground(tmp_path)
    sub = hostile("forge_report_and_kill", base / "sub")
    report = base / "report.json"
    done = run_grader("check", str(sub), *ONLY, "--output", str(report), cwd=base)
    assert done.returncode == 1, done.stderr[-2000:]
    _honest_zero(report)


@pytest.mark.parametrize("fmt", ["text", "html", "gradescope"])
def test_every_format_says_what_was_stopped(tmp_path: Path, fmt: str) -> None:
    base = playground(tmp_path)
    sub = hostile("forge_report_file", base / "sub")
    report = base / f"report.{fmt}"
    done = run_grader("check", str(sub), "--only", "server.starts", "--format", fmt,
                      "--output", str(report), cwd=base)
    assert done.returncode == 1, done.stderr[-2000:]
    text = report.read_text()
    assert FORGED not in text
    assert f"{report} was written by another program while the submission ran" in text
    if fmt != "gradescope":
        assert "Stopped by the grader:" in text
