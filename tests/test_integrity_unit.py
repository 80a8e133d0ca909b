"""unit.line_buffer cannot be passed by printing: the grader judges what feed() returned.

The hostile protocol.py files (tests/hostile/forge_unit_*/submission) have a LineBuffer that never
returns a line, and print, on import, what an earlier version of the check's test
program printed when every case passed, or report lines of their own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from grader import api
from grader.model import FailureKind, Status
from grader.timing import Timing

HOSTILE = Path(__file__).resolve().parent / "hostile"


def _grade(folder: Path):
    result = api.grade(folder, only="unit.line_buffer", timing=Timing(1.0))
    return result.checks[0]


def test_a_printed_verdict_line_does_not_pass(tmp_path: Path) -> None:
    shutil.copytree(HOSTILE / "forge_unit_verdict" / "submission", tmp_path / "sub")
    check = _grade(tmp_path / "sub")
    assert check.status is Status.FAILED and check.points == 0
    assert check.failure.kind is FailureKind.MISMATCH
    # the usual feedback: which case, what was expected, what came
    assert check.failure.message.startswith("LineBuffer.feed, two lines in one chunk:")
    assert check.failure.expected.startswith("[b'") and check.failure.actual == "[]"
    notes = [e.text for e in check.transcript if e.action == "note"]
    assert any("looks like a test verdict" in n and "counts for nothing" in n for n in notes)


def test_report_lines_printed_by_protocol_py_are_caught(tmp_path: Path) -> None:
    shutil.copytree(HOSTILE / "forge_unit_report" / "submission", tmp_path / "sub")
    check = _grade(tmp_path / "sub")
    assert check.status is Status.FAILED and check.points == 0
    assert "printed more than once" in check.failure.message
    assert "imitate" in check.failure.message


def test_each_run_feeds_new_bytes(tmp_path: Path) -> None:
    """Two gradings of the same wrong LineBuffer show different expected lines."""
    shutil.copytree(HOSTILE / "forge_unit_verdict" / "submission", tmp_path / "sub")
    first, second = _grade(tmp_path / "sub"), _grade(tmp_path / "sub")
    assert first.failure.expected != second.failure.expected
