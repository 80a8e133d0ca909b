"""The white-box check of step 02, ``unit.line_buffer``: LineBuffer.feed of the
submission's protocol.py, run in a sandboxed subprocess (never imported here)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import psutil
import pytest

from grader import api
from grader.checks.units import LINE_BUFFER_TEST
from grader.harness import isolation
from grader.model import FailureKind, Status
from grader.timing import Timing

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_PROTOCOL = (ROOT / "reference_solution" / "protocol.py").read_text()
TIMING = Timing(1.0)

# A LineBuffer.feed body (replacing the reference one) -> the case it must fail on.
WRONG_FEEDS = {
    "one recv, one line": (
        "        return [line.rstrip(b'\\r') for line in bytes(chunk).split(b'\\n') if line]\n",
        "one line over many chunks",
    ),
    "decodes each chunk": (
        "        self._pending += chunk.decode('utf-8', 'replace').encode()\n"
        "        lines = []\n"
        "        while b'\\n' in self._pending:\n"
        "            line, _, rest = bytes(self._pending).partition(b'\\n')\n"
        "            self._pending = bytearray(rest)\n"
        "            lines.append(line.rstrip(b'\\r'))\n"
        "        return lines\n",
        "a UTF-8 line cut after byte",
    ),
    "keeps the \\r": (
        "        self._pending += chunk\n"
        "        *lines, rest = bytes(self._pending).split(b'\\n')\n"
        "        self._pending = bytearray(rest)\n"
        "        return lines\n",
        "\\r\\n",
    ),
    "returns text": (
        "        self._pending += chunk\n"
        "        *lines, rest = bytes(self._pending).split(b'\\n')\n"
        "        self._pending = bytearray(rest)\n"
        "        return [line.rstrip(b'\\r').decode() for line in lines]\n",
        "two lines in one chunk",
    ),
    "no line limit": (
        "        self._pending += chunk\n"
        "        *lines, rest = bytes(self._pending).split(b'\\n')\n"
        "        self._pending = bytearray(rest)\n"
        "        return [line.rstrip(b'\\r') for line in lines]\n",
        "4097 bytes",
    ),
}


def _with_feed(body: str) -> str:
    """The reference protocol.py with LineBuffer.feed's body replaced by ``body``."""
    start = REFERENCE_PROTOCOL.index("        # BEGIN SOLUTION step 02")
    end = REFERENCE_PROTOCOL.index("        # END SOLUTION", start)
    end = REFERENCE_PROTOCOL.index("\n", end) + 1
    return REFERENCE_PROTOCOL[:start] + body + REFERENCE_PROTOCOL[end:]


def _grade(folder: Path):
    result = api.grade(folder, only="unit.line_buffer", timing=TIMING)
    assert [c.id for c in result.checks] == ["unit.line_buffer"]
    return result.checks[0]


def _leftovers(folder: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.pid != os.getpid() and proc.info["status"] != psutil.STATUS_ZOMBIE:
            if str(folder) in " ".join(proc.info["cmdline"] or []):
                found.append(proc)
    return found


def test_the_reference_line_buffer_passes() -> None:
    result = _grade(ROOT / "reference_solution")
    assert result.status is Status.PASSED, result.failure
    assert result.step == 2 and result.points == result.max_points > 0
    assert "notebooks/02_framing.ipynb" in result.hint and "Decode whole lines" in result.hint


def test_the_skeleton_is_skipped_naming_the_unwritten_step() -> None:
    result = _grade(ROOT / "lab")
    assert result.status is Status.SKIPPED and result.failure is None and result.points == 0
    assert result.reason == "step 02 is not written yet — see notebooks/02_framing.ipynb"


@pytest.mark.parametrize("mistake", sorted(WRONG_FEEDS))
def test_a_wrong_feed_fails_with_expected_and_actual(tmp_path: Path, mistake: str) -> None:
    body, case = WRONG_FEEDS[mistake]
    (tmp_path / "protocol.py").write_text(_with_feed(body))
    result = _grade(tmp_path)
    assert result.status is Status.FAILED, mistake
    assert result.failure.kind is FailureKind.MISMATCH
    assert case in result.failure.message
    assert result.failure.expected and result.failure.actual
    assert result.failure.expected != result.failure.actual


def test_without_line_too_long_the_limit_is_not_tested(tmp_path: Path) -> None:
    body, _ = WRONG_FEEDS["no line limit"]
    source = _with_feed(body).replace("class LineTooLong(Exception):", "class _Unused(Exception):")
    source = source.replace("raise LineTooLong", "raise _Unused")
    (tmp_path / "protocol.py").write_text(source)
    assert _grade(tmp_path).status is Status.PASSED


def test_a_feed_that_never_returns_is_stopped(tmp_path: Path) -> None:
    body = "        while True:\n            pass\n"
    (tmp_path / "protocol.py").write_text(_with_feed(body))
    began = time.monotonic()
    result = _grade(tmp_path)
    assert time.monotonic() - began < 15
    assert result.status is Status.FAILED
    assert result.failure.kind is FailureKind.HUNG
    assert "two lines in one chunk" in result.failure.message
    assert _leftovers(tmp_path) == []


def test_a_protocol_that_cannot_be_imported_is_reported(tmp_path: Path) -> None:
    (tmp_path / "protocol.py").write_text("class LineBuffer:\n    pass\nraise ValueError('oops')\n")
    result = _grade(tmp_path)
    assert result.status is Status.FAILED
    assert "could not be imported" in result.failure.message
    assert "ValueError: oops" in result.failure.actual


def test_student_code_runs_in_the_sandbox_not_in_the_grader(tmp_path: Path) -> None:
    source = _with_feed(WRONG_FEEDS["one recv, one line"][0]).replace(
        "class LineTooLong", "import os, resource, sys\n"
        "print(f\"sandboxed: {os.getpid()} {resource.getrlimit(resource.RLIMIT_AS)[0]}"
        " {os.environ.get('CHATLAB_SANDBOX', '')} {os.getcwd()}\", file=sys.stderr)\n\n\n"
        "class LineTooLong", 1)
    (tmp_path / "protocol.py").write_text(source)
    modules_before = {name: getattr(module, "__file__", None)
                      for name, module in sys.modules.items()}
    result = _grade(tmp_path)
    assert result.status is Status.FAILED  # the wrong feed: its output is shown
    pid, address_space, token, cwd = result.program_output.split("sandboxed: ")[1].split()[:4]
    assert int(pid) != os.getpid()
    assert 0 < int(address_space) <= 512 * 1024 * 1024
    assert token
    if isolation.bwrap_path() is not None:  # run in a private copy, not in the folder
        assert cwd != str(tmp_path) and not (tmp_path / "__pycache__").exists()
    for name, module in sys.modules.items():
        assert str(tmp_path) not in str(getattr(module, "__file__", None) or ""), name
    assert set(sys.modules) >= set(modules_before)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("layout", ["no protocol.py", "no LineBuffer", "asyncio submission"])
def test_other_layouts_are_not_applicable(tmp_path: Path, layout: str) -> None:
    if layout == "asyncio submission":
        folder = ROOT / "tests" / "submissions" / "correct_asyncio"
        assert not (folder / "protocol.py").exists()
    else:
        folder = tmp_path
        shutil.copy(ROOT / "reference_solution" / "server.py", folder / "server.py")
        if layout == "no LineBuffer":
            (folder / "protocol.py").write_text("def encode_line(text):\n    return text\n")
    result = _grade(folder)
    assert result.status is Status.NOT_APPLICABLE
    assert "LineBuffer" in result.reason


def test_step_two_passes_the_line_buffer_before_step_four() -> None:
    """On the reference, check(2) passes unit.line_buffer; on the skeleton it fails it,
    and it never waits for the server checks of step 04."""
    reference = api.check(2, folder=ROOT / "reference_solution").result
    assert {c.id: c.status for c in reference.checks}["unit.line_buffer"] is Status.PASSED
    skeleton = {c.id: c for c in api.check(2, folder=ROOT / "lab").result.checks}
    assert skeleton["unit.line_buffer"].status is Status.SKIPPED
    assert "step 02 is not written yet" in skeleton["unit.line_buffer"].reason


def test_the_test_program_is_plain_python() -> None:
    compile(LINE_BUFFER_TEST, "<line buffer test>", "exec")
