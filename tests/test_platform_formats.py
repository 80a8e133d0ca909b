"""--format classroom and --format prairielearn, field by field against each platform's
documented format. Pure tests on fake results, and one short end-to-end run."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grader.model import (
    CheckResult,
    Failure,
    FailureKind,
    Level,
    Status,
    SubmissionResult,
)
from grader.render import FORMATS, NOT_GRADED, render
from grader.render.classroom import classroom_results
from grader.render.prairielearn import (
    NOTHING_TO_GRADE,
    prairielearn_not_graded,
    prairielearn_results,
)
from grader.visibility import Visibility

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "grader" / "templates" / "prairielearn.sh"
SECRET = "the secret line reached bob twice"


def _checks() -> list[CheckResult]:
    return [
        CheckResult("server.starts", "the server starts", Level.CORE, 1, Status.PASSED, 1, 1),
        CheckResult("server.broadcast", "a chat line reaches every other client", Level.CORE,
                    4, Status.FAILED, 4, 0,
                    failure=Failure(FailureKind.MISSING, "bob never got alice's line.",
                                    "alice: hi", "(nothing)"),
                    hint="Read notebooks/04_broadcast.ipynb."),
        CheckResult("server.prefix", "prefix", Level.CORE, 4, Status.SKIPPED, 2,
                    reason="skipped: it needs 'x' (server.broadcast) to pass first"),
        CheckResult("server.history", "history", Level.EXTENSION, 7, Status.NOT_APPLICABLE, 1,
                    reason="profile 'x': server.history_option is empty"),
        CheckResult("server.users", "`/users` lists every nickname", Level.EXTENSION, 7,
                    Status.FAILED, 3, 0, failure=Failure(FailureKind.UNEXPECTED, SECRET)),
        CheckResult("server.whisper", "`/w` reaches one client", Level.EXTENSION, 7,
                    Status.PASSED, 2, 2),
    ]


def _result(checks: list[CheckResult] | None = None, notes: list[str] | None = None
            ) -> SubmissionResult:
    return SubmissionResult("lab", _checks() if checks is None else checks, duration=2.0,
                            notes=notes or [])


def _passing() -> SubmissionResult:
    return _result([c for c in _checks() if c.status in (Status.PASSED,
                                                         Status.NOT_APPLICABLE)])


def _broken() -> SubmissionResult:
    result = _result()
    result.checks[1].failure = Failure(FailureKind.GRADER_ERROR, "The grader itself failed.")
    return result


HIDE = Visibility("visible", {"server.users": "hidden", "server.whisper": "after_due_date"})


def test_both_formats_are_offered() -> None:
    assert {"classroom", "prairielearn"} <= set(FORMATS)
    with pytest.raises(ValueError, match="unknown format 'moodle'"):
        render(_result(), "moodle")


# -- GitHub Classroom (autograding-grading-reporter) --------------------------------------


def _reporter_points(results: dict[str, Any]) -> tuple[float, float] | None:
    """What the reporter's NotifyClassroom posts (src/notify-classroom.js): the sum of
    the tests' score out of max_score, or nothing at all when max_score is 0."""
    if not results["max_score"]:
        return None
    return sum(t["score"] for t in results["tests"]), results["max_score"]


def test_classroom_has_the_fields_the_reporter_reads() -> None:
    data = classroom_results(_result())
    assert data["version"] == 1 and data["status"] == "fail"
    assert data["max_score"] == _result().max_score == 12  # not applicable: not counted
    assert [t["name"].split(":")[0] for t in data["tests"]] == [c.id for c in _checks()]
    for test in data["tests"]:
        assert set(test) == {"name", "status", "score", "message", "test_code",
                             "filename", "line_no"}
        assert test["status"] in ("pass", "fail")
        assert isinstance(test["score"], int | float) and test["line_no"] == 0
        assert test["test_code"].startswith("python -m grader check . --only server.")
    statuses = {t["name"].split(":")[0]: (t["status"], t["score"]) for t in data["tests"]}
    assert statuses == {"server.starts": ("pass", 1), "server.broadcast": ("fail", 0),
                        "server.prefix": ("fail", 0), "server.history": ("pass", 0),
                        "server.users": ("fail", 0), "server.whisper": ("pass", 2)}
    broadcast = data["tests"][1]
    assert "bob never got alice's line." in broadcast["message"]
    assert "Expected: alice: hi" in broadcast["message"] and "Hint:" in broadcast["message"]


def test_classroom_records_each_checks_points() -> None:
    assert _reporter_points(classroom_results(_result())) == (3, 12)
    passing = classroom_results(_passing())
    assert passing["status"] == "pass"
    assert _reporter_points(passing) == (3, 3)


def test_classroom_output_is_what_the_reporter_decodes() -> None:
    text = render(_result(), "classroom")
    encoded = base64.b64encode(text.encode()).decode()  # what the workflow puts in
    # src/main.js: JSON.parse(Buffer.from(encodedResults, "base64").toString("utf-8"))
    assert json.loads(base64.b64decode(encoded).decode("utf-8")) == classroom_results(
        _result())


def test_classroom_gives_no_points_when_the_grader_broke() -> None:
    data = classroom_results(_broken())
    assert data["status"] == "error" and data["max_score"] == 0
    assert _reporter_points(data) is None  # no grade is recorded, not a 0
    assert data["tests"][0]["status"] == "error"
    assert data["tests"][0]["message"].startswith(NOT_GRADED)
    assert "server.broadcast" in data["tests"][0]["message"]


def test_classroom_shows_students_only_what_is_visible() -> None:
    data = classroom_results(_result(), HIDE)
    text = json.dumps(data)
    assert SECRET not in text and "server.users" not in text and "/users" not in text
    assert "server.whisper" not in text
    more = data["tests"][-1]
    assert more["name"] == "2 more checks" and more["status"] == "fail"
    assert more["score"] == 2  # the hidden checks' points still count
    assert "1 shown after the due date, 1 hidden" in more["message"]
    assert _reporter_points(data) == _reporter_points(classroom_results(_result())) == (
        3, 12)


def test_classroom_names_what_the_grader_stopped() -> None:
    data = classroom_results(_result(notes=["integrity: a process was left running"]))
    assert data["tests"][-1]["name"] == "stopped by the grader: a process was left running"
    assert data["tests"][-1]["score"] == 0
    assert _reporter_points(data) == (3, 12)


# -- PrairieLearn (external grading results.json) ---------------------------------------


def test_prairielearn_has_the_documented_fields() -> None:
    data = prairielearn_results(_result())
    assert data["gradable"] is True and data["score"] == pytest.approx(3 / 12)
    assert 0 <= data["score"] <= 1
    assert data["message"].startswith("2 of 6 checks passed.")
    for test in data["tests"]:
        assert set(test) == {"name", "description", "points", "max_points", "message",
                             "output"}
        assert all(isinstance(test[k], str) for k in ("name", "description", "message",
                                                      "output"))
        assert 0 <= test["points"] <= test["max_points"] or test["max_points"] == 0
    by_name = {t["name"]: t for t in data["tests"]}
    assert list(by_name) == [c.id for c in _checks()]
    assert by_name["server.broadcast"]["message"] == "bob never got alice's line."
    assert "Expected: alice: hi" in by_name["server.broadcast"]["output"]
    assert by_name["server.history"]["max_points"] == 0  # not applicable: nothing at stake
    assert by_name["server.prefix"]["message"].startswith("skipped: it needs")
    assert sum(t["points"] for t in data["tests"]) == 3
    assert sum(t["max_points"] for t in data["tests"]) == 12


def test_prairielearn_full_marks_is_one() -> None:
    assert prairielearn_results(_passing())["score"] == 1.0


@pytest.mark.parametrize(("result", "reason"), [
    (_broken(), "server.broadcast: The grader itself failed."),
    (_result([c for c in _checks() if c.status is Status.NOT_APPLICABLE]), NOTHING_TO_GRADE),
    (_result([]), NOTHING_TO_GRADE),
])
def test_prairielearn_not_graded_is_never_a_score(result: SubmissionResult,
                                                  reason: str) -> None:
    data = json.loads(render(result, "prairielearn"))
    assert data == {"gradable": False, "message": f"{NOT_GRADED} ({reason})"}


def test_prairielearn_shows_students_only_what_is_visible() -> None:
    data = prairielearn_results(_result(), HIDE)
    text = json.dumps(data)
    assert SECRET not in text and "server.users" not in text and "server.whisper" not in text
    assert data["score"] == pytest.approx(3 / 12)  # hidden checks still count
    more = data["tests"][-1]
    assert (more["name"], more["points"], more["max_points"]) == ("2 more checks", 2, 5)
    assert data["message"].startswith("1 of 4 shown checks passed. 2 more checks (5 points)")


def test_prairielearn_says_what_the_grader_stopped() -> None:
    data = prairielearn_results(_result(notes=["integrity: a file was restored"]))
    assert data["message"].endswith("\n\nStopped by the grader: a file was restored")


def test_prairielearn_stays_under_its_size_limit() -> None:
    checks = [CheckResult(f"server.c{i}", "t" * 200, Level.CORE, 4, Status.FAILED, 1, 0,
                          failure=Failure(FailureKind.MISMATCH, "m" * 500, "e" * 4000,
                                          "a" * 4000), program_output="o\n" * 2000)
              for i in range(60)]
    assert len(render(_result(checks), "prairielearn").encode()) < 1_000_000


# -- end to end ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["classroom", "prairielearn"])
def test_check_writes_the_platform_format(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "results" / "results.json"
    run = subprocess.run(
        [sys.executable, "-m", "grader", "check", str(ROOT / "reference_solution"),
         "--only", "server.welcome", "--format", fmt, "--output", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert run.returncode == 0, run.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    if fmt == "classroom":
        assert data["status"] == "pass"
        assert [t["name"].split(":")[0] for t in data["tests"]] == [
            "server.starts", "server.welcome"]
        assert _reporter_points(data) == (3, 3)
    else:
        assert data["gradable"] is True and data["score"] == 1.0
        assert [t["name"] for t in data["tests"]] == ["server.starts", "server.welcome"]


def _entrypoint(tmp_path: Path, python: str, *args: str,
                rubric: str | None = None) -> tuple[dict[str, Any], str]:
    """Run the PrairieLearn entrypoint on a /grade tree under ``tmp_path`` holding the
    reference solution; its results.json and its stderr."""
    grade = tmp_path / "grade"
    shutil.copytree(ROOT / "reference_solution", grade / "student",
                    ignore=shutil.ignore_patterns("__pycache__"))
    if rubric is not None:
        (grade / "serverFilesCourse" / "chatlab").mkdir(parents=True)
        (grade / "serverFilesCourse" / "chatlab" / "rubric.toml").write_text(rubric)
    env = {**os.environ, "CHATLAB_GRADE": str(grade), "CHATLAB_PYTHON": python}
    env.pop("CHATLAB_RUBRIC", None)
    run = subprocess.run(["bash", str(ENTRYPOINT), *args], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    return json.loads((grade / "results" / "results.json").read_text("utf-8")), run.stderr


def test_the_prairielearn_entrypoint_grades_the_student(tmp_path: Path) -> None:
    data, _ = _entrypoint(tmp_path, sys.executable, "--only", "server.welcome",
                          rubric='[visibility]\n"server.welcome" = "hidden"\n')
    assert data["gradable"] is True and data["score"] == 1.0
    assert [t["name"] for t in data["tests"]] == ["server.starts", "1 more check"]


@pytest.mark.parametrize(("python", "rubric"), [
    (sys.executable, '[visibility]\n"server.welcome" = "later"\n'),  # bad rubric: exit 2
    ("/nonexistent/python3", None),  # no interpreter
])
def test_the_prairielearn_entrypoint_is_not_gradable_when_the_grader_fails(
        tmp_path: Path, python: str, rubric: str | None) -> None:
    data, err = _entrypoint(tmp_path, python, "--only", "server.welcome", rubric=rubric)
    assert data == prairielearn_not_graded()
    assert "writing 'not gradable'" in err
