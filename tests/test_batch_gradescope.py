"""The Gradescope autograder zip, run against a fake /autograder tree.

setup.sh's installs are not run: the test environment already has the kit's
dependencies, and CHATLAB_PYTHON points run_autograder at this interpreter.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.batch.gradescope_package import build_package

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference_solution"
TEST_KEYS = {"name", "score", "max_score", "status", "output", "visibility"}


def unpack(zip_path: Path, root: Path) -> Path:
    """Lay the zip out as Gradescope does: /autograder/source, with modes kept."""
    source = root / "source"
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(source)
        for info in zf.infolist():
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(source / info.filename, mode)
    return source


def run_autograder(root: Path, python: str = sys.executable) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "CHATLAB_PYTHON": python}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [str(root / "source" / "run_autograder")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=root,
    )


def assert_gradescope_format(data: dict) -> None:
    assert isinstance(data["score"], int | float)
    assert isinstance(data["tests"], list)
    for test in data["tests"]:
        assert TEST_KEYS <= set(test), test
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        assert isinstance(test["output"], str)
        assert 0 <= test["score"] <= test["max_score"] or test["max_score"] == 0


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("gs")
    rubric = tmp / "my-rubric.toml"
    shutil.copy(ROOT / "grader" / "rubric.toml", rubric)
    return build_package(tmp / "autograder.zip", rubric=rubric)


def test_zip_layout(package: Path) -> None:
    with zipfile.ZipFile(package) as zf:
        names = set(zf.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        settings = json.loads(zf.read("config/settings.json"))
    assert {"setup.sh", "run_autograder", "run_autograder.py", "chatlab/pyproject.toml",
            "chatlab/README.md"} <= names
    assert {"chatlab/grader/api.py", "chatlab/grader/batch/autograder.py"} <= names
    assert "chatlab/reference_solution/server.py" in names
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert settings == {"rubric": "rubric.toml"} and "config/rubric.toml" in names


def test_zip_is_reproducible(package: Path, tmp_path: Path) -> None:
    again = build_package(tmp_path / "again.zip", rubric=package.parent / "my-rubric.toml")
    assert again.read_bytes() == package.read_bytes()


def test_scripts_are_valid_bash(package: Path, tmp_path: Path) -> None:
    source = unpack(package, tmp_path)
    for script in ("setup.sh", "run_autograder"):
        done = subprocess.run(["bash", "-n", str(source / script)], capture_output=True)
        assert done.returncode == 0, done.stderr
        assert os.stat(source / script).st_mode & stat.S_IXUSR


def test_missing_rubric_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="rubric"):
        build_package(tmp_path / "a.zip", rubric=tmp_path / "nope.toml")


def test_run_autograder_grades_a_correct_submission(package: Path, tmp_path: Path) -> None:
    root = tmp_path / "autograder"
    unpack(package, root)
    # Students upload their files; here they sit one folder down, as from a GitHub repo.
    shutil.copytree(REFERENCE, root / "submission" / "chat-main")
    done = run_autograder(root)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads((root / "results" / "results.json").read_text())
    assert_gradescope_format(data)
    assert data["tests"] and all(t["status"] == "passed" for t in data["tests"]), [
        (t["name"], t["output"][:200]) for t in data["tests"] if t["status"] != "passed"
    ]
    assert data["score"] == sum(t["score"] for t in data["tests"]) > 0
    assert all(t["name"].split(":")[0].count(".") == 1 for t in data["tests"])  # check ids


def test_run_autograder_still_answers_when_the_grader_cannot_start(
    package: Path, tmp_path: Path
) -> None:
    root = tmp_path / "autograder"
    unpack(package, root)
    (root / "submission").mkdir()
    done = run_autograder(root, python=str(tmp_path / "no-such-python"))
    assert done.returncode != 0
    data = json.loads((root / "results" / "results.json").read_text())
    assert_gradescope_format(data)
    assert data["score"] == 0 and "not your fault" in data["output"]


def test_package_without_reference(tmp_path: Path) -> None:
    path = build_package(tmp_path / "a.zip", with_reference=False)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    assert "chatlab/grader/api.py" in names
    assert not any(n.startswith("chatlab/reference_solution/") for n in names)
