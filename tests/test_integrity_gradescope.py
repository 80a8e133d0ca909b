"""Gradescope: results.json is the grader's, or says the submission was not graded.

The package is run on a fake /autograder tree (AUTOGRADER_ROOT) inside a playground;
each hostile submission crashes at start once its attack is done, so its honest grade
with ``--only server.starts`` is 0 of 1 point. Forged results claim 999 points.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_batch_gradescope import run_autograder, unpack
from test_integrity_fixtures import FORGED, hostile, playground

from grader.batch.autograder import NOT_GRADED
from grader.batch.gradescope_package import build_package


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_package(tmp_path_factory.mktemp("gs") / "autograder.zip", only="server.starts")


def _tree(tmp_path: Path, package: Path, submission: str | None) -> Path:
    root = playground(tmp_path) / "autograder"
    unpack(package, root)
    (root / "submission").mkdir()
    if submission is not None:
        shutil.rmtree(root / "submission")
        hostile(submission, root / "submission")
    return root


def _results(root: Path) -> dict:
    text = (root / "results" / "results.json").read_text()
    assert FORGED not in text
    return json.loads(text)


def _honest_zero(root: Path) -> dict:
    data = _results(root)
    assert data["score"] == 0
    assert [(t["name"].split(":")[0], t["status"]) for t in data["tests"]] == [
        ("server.starts", "failed")]
    return data


def _not_graded(root: Path) -> None:
    data = _results(root)
    assert data == {"score": 0, "tests": [], "output": NOT_GRADED}
    assert "the autograder could not grade this submission — not your fault" in (
        data["output"].lower())


def test_results_written_by_the_submission_are_replaced(tmp_path: Path, package: Path) -> None:
    root = _tree(tmp_path, package, "forge_report_file")
    done = run_autograder(root)
    assert done.returncode == 0, done.stderr[-3000:]
    data = _honest_zero(root)
    assert ("results/results.json was written by another program while the submission ran;"
            " the grader replaced it with its own report.") in data["output"]


def test_a_killed_grader_gives_not_graded(tmp_path: Path, package: Path) -> None:
    root = _tree(tmp_path, package, "forge_report_and_kill")
    done = run_autograder(root)
    assert done.returncode != 0
    assert "writing 'not graded'" in done.stderr
    _not_graded(root)


def test_renderers_patched_during_grading_are_never_run(tmp_path: Path, package: Path) -> None:
    root = _tree(tmp_path, package, "forge_grader_module")
    done = run_autograder(root)
    assert done.returncode == 0, done.stderr[-3000:]
    patched = root / "source" / "chatlab" / "grader" / "render" / "gradescope.py"
    assert "appended by a submission" in patched.read_text()
    data = _honest_zero(root)
    assert "the grader's own files changed while the submission ran" in data["output"]


@pytest.mark.parametrize("python", ["/bin/true", "/bin/false"])
def test_a_file_the_grader_did_not_write_is_never_kept(
    tmp_path: Path, package: Path, python: str
) -> None:
    """A results.json left there before, and a 'grader' that writes none: not graded."""
    root = _tree(tmp_path, package, None)
    (root / "results").mkdir()
    (root / "results" / "results.json").write_text(json.dumps({"score": 999, "output": FORGED}))
    done = run_autograder(root, python=python)
    assert done.returncode != 0
    _not_graded(root)


@pytest.mark.needs_isolation
def test_killing_the_grader_and_run_autograder_forges_nothing(
    tmp_path: Path, package: Path
) -> None:
    """Needs the sandbox's PID namespace: without it the submission kills run_autograder
    too, and the results.json it wrote stays."""
    root = _tree(tmp_path, package, "forge_kill_all")
    run_autograder(root)
    data = _results(root)
    assert data["score"] == 0
