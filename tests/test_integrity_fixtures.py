"""Helpers shared by the integrity tests (no tests here).

A *playground* is a test's temporary folder marked with the file ``hostile-test-sandbox``:
the hostile submissions (tests/hostile/forge_*, through forgelib.py) act only on paths
inside one. Everything the tests run goes through the real entry points as separate
processes: ``python -m grader check``, ``python -m grader batch``, Gradescope's
``run_autograder``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psutil

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
HOSTILE = TESTS / "hostile"
REFERENCE = ROOT / "reference_solution"
FORGED = "FORGED BY THE SUBMISSION"
TIMEOUT = 300  # seconds any grading run here may take before the test fails


def playground(folder: Path) -> Path:
    """Mark ``folder`` as a place the hostile submissions may act in."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hostile-test-sandbox").write_text("the forge_* submissions may act here\n")
    return folder


def hostile(name: str, dest: Path) -> Path:
    """A copy of the submission in tests/hostile/<name>/submission at ``dest``, with
    forgelib.py beside its files."""
    shutil.copytree(HOSTILE / name / "submission", dest)
    shutil.copy(HOSTILE / "forgelib.py", dest / "forgelib.py")
    return dest


def honest(dest: Path) -> Path:
    """A copy of the reference solution: a classmate who did the work."""
    return Path(shutil.copytree(REFERENCE, dest, ignore=shutil.ignore_patterns("__pycache__")))


def grader_copy(dest: Path) -> Path:
    """A copy of the grader (and the reference solution it grades cross-play with) at
    ``dest``: put ``dest`` on PYTHONPATH to run it. Attacks on the grader's own files
    hit the copy, never this tree."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "grader", dest / "grader", ignore=skip)
    shutil.copytree(REFERENCE, dest / "reference_solution", ignore=skip)
    return dest


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(extra)
    return env


def run_grader(*args: str, cwd: Path, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess:
    """``python -m grader ARGS`` as a user runs it (not isolated: it isolates itself)."""
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd,
                          env=env or environment(), capture_output=True, text=True,
                          timeout=TIMEOUT)


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
