"""Helpers shared by the batch tests: a fake grader and fake results (no tests here).

The fake grader reads ``server.py`` of the submission it is given and decides from
words in it, so a test builds a class of students by writing a line per student:

    BREAK <check id>   that check fails
    CRASH              grade() raises (a grader bug)
    MISUSE             grade() raises ValueError (bad settings: the batch stops)
    DIE                the worker process dies (os._exit)
    WAIT <fifo>        grading blocks until the test opens then closes the named pipe
    HANG               grading never ends (the per-student time limit stops it)
    FORGE              writes a report with a wrong tag into the worker's pipes first
    GARBAGE            writes bytes that are no report into the worker's pipes
    DAEMON <pidfile>   leaves a process running (setsid, double fork) that writes its pid

Every call appends the student's name to the file named by $BATCH_TEST_LOG, so a test
can tell which students were graded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from grader.model import (
    CheckResult,
    Failure,
    FailureKind,
    Level,
    Status,
    SubmissionResult,
    TranscriptEntry,
)

LOG_ENV = "BATCH_TEST_LOG"

# (id, title, points, level)
CHECKS = [
    ("server.starts", "the server starts and listens on the given port", 1.0, Level.CORE),
    ("server.broadcast", "a chat line reaches every other client", 3.0, Level.CORE),
    ("server.no_echo", "the sender does not get its own line back", 2.0, Level.CORE),
    ("server.history", "with --history N a newcomer gets the last N lines", 1.5, Level.EXTENSION),
]


def make_result(student: str, broken: set[str] = frozenset(), na: set[str] = frozenset()):
    """A SubmissionResult where the checks in ``broken`` failed and ``na`` do not apply."""
    checks = []
    for cid, title, points, level in CHECKS:
        if cid in na:
            checks.append(
                CheckResult(cid, title, level, 7, Status.NOT_APPLICABLE, points, reason="n/a")
            )
        elif cid in broken:
            checks.append(
                CheckResult(
                    cid,
                    title,
                    level,
                    4,
                    Status.FAILED,
                    points,
                    failure=Failure(
                        FailureKind.MISMATCH,
                        "bob received a different line",
                        expected="alice: hi <b>",
                        actual="hi <b>",
                    ),
                    hint="notebooks/04_broadcast.ipynb, section 'Prefix'",
                    transcript=[
                        TranscriptEntry(0.0, "alice", "sent", "hi <b>"),
                        TranscriptEntry(0.012, "bob", "received", "hi <b>"),
                    ],
                    program_output="Traceback (most recent call last):\n  <script>boom</script>",
                )
            )
        else:
            checks.append(CheckResult(cid, title, level, 4, Status.PASSED, points, points=points))
    return SubmissionResult(submission=student, checks=checks, duration=0.01)


# (id, step, points) of the checks of verdict_result, one letter each in its verdicts
VERDICT_CHECKS = [
    ("server.starts", 1, 1.0),
    ("server.broadcast", 4, 3.0),
    ("server.no_echo", 4, 2.0),
    ("server.leave_reset", 6, 2.0),
    ("server.history", 7, 1.5),
]
VERDICTS = {"P": Status.PASSED, "F": Status.FAILED, "M": Status.FAILED, "S": Status.SKIPPED,
            "N": Status.NOT_APPLICABLE}


def verdict_result(student: str, verdicts: str, *, duration: float = 1.0, nick: str = "ana",
                   number: int = 0, checks: list[tuple[str, int, float]] | None = None,
                   ) -> SubmissionResult:
    """A result with one verdict per check, by letter: P passed, F failed (hung), M failed
    (mismatch), S skipped, N not applicable. The failure messages name ``nick``, quote a
    value and hold numbers that all vary with ``number``, as real ones vary by student.
    Check durations: ``duration`` shared out, the failed checks taking the most."""
    checks = checks or VERDICT_CHECKS
    assert len(verdicts) == len(checks), verdicts
    out = []
    for (cid, step, points), letter in zip(checks, verdicts, strict=True):
        status = VERDICTS[letter]
        failure = None
        transcript = [TranscriptEntry(0.0, nick, "connected", f"127.0.0.1:{40000 + number}"),
                      TranscriptEntry(0.1, "server", "printed", "listening")]
        if letter == "F":
            failure = Failure(FailureKind.HUNG, f"{nick} got nothing within {2 + number} s"
                              f" after {nick}'s reset on port {40000 + number}.")
        elif letter == "M":
            failure = Failure(FailureKind.MISMATCH, f"{nick} received 'x{number} <b>' instead"
                              " of \"alice: hi\".", expected="alice: hi", actual=f"x{number}")
        out.append(CheckResult(
            cid, f"the check {cid}", Level.CORE, step, status, points,
            points=points if status is Status.PASSED else 0.0, failure=failure,
            reason="a check it needs failed" if letter == "S" else "n/a" if letter == "N" else "",
            transcript=transcript if failure else [],
            duration=round(duration * (0.5 if failure else 0.1), 3)))
    return SubmissionResult(submission=student, checks=out, duration=duration)


def _log(name: str) -> None:
    path = os.environ.get(LOG_ENV)
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (name + "\n").encode())
        finally:
            os.close(fd)


def fake_grade(folder, **kwargs):  # noqa: ANN001, ANN003 - the grade() signature
    """Grade by the words in ``folder/server.py``; see the module docstring."""
    folder = Path(folder)
    text = (folder / "server.py").read_text(encoding="utf-8")
    student = (folder / "student.txt").read_text(encoding="utf-8").strip()
    _log(student)
    words = text.split()
    if "MISUSE" in words:
        raise ValueError("no check matches 'nope' (try an id, a level or step:N)")
    if "CRASH" in words:
        raise RuntimeError("fake grader bug")
    if "DIE" in words:
        os._exit(3)
    if "WAIT" in words:
        # Opening a FIFO blocks until the test opens the other end: a barrier, no polling.
        with open(words[words.index("WAIT") + 1], "rb") as fifo:
            fifo.read()
    if "HANG" in words:
        threading.Event().wait()
    if "FORGE" in words:
        claim = json.dumps({"student": student, "ok": True, "result": None}).encode()
        _write_into_pipes(len(claim + b"x" * 32).to_bytes(4, "big") + b"x" * 32 + claim)
    if "GARBAGE" in words:
        _write_into_pipes(b"\x7f\xff\xff\xffnot a report")
    if "DAEMON" in words:
        _leave_a_daemon(words[words.index("DAEMON") + 1])
    broken = {words[i + 1] for i, w in enumerate(words) if w == "BREAK"}
    result = make_result(folder.name, broken)
    result.notes = [f"{k}={v}" for k, v in sorted(kwargs.items())]
    return result


def _write_into_pipes(data: bytes) -> None:
    """Write ``data`` into every pipe this process may write to and its parent reads."""
    read_by_parent = {inode for _, inode, mode in _pipes(os.getppid()) if mode == os.O_RDONLY}
    for fd, inode, mode in _pipes(os.getpid()):
        if mode == os.O_WRONLY and inode in read_by_parent:
            os.write(fd, data)


def _pipes(pid: int) -> list[tuple[int, str, int]]:
    """(fd, pipe inode, access mode) of the pipes process ``pid`` holds open."""
    found = []
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
            if target.startswith("pipe:"):
                with open(f"/proc/{pid}/fdinfo/{name}") as info:
                    flags = info.read().split("flags:")[1].split()[0]
                found.append((int(name), target, int(flags, 8) & os.O_ACCMODE))
        except (OSError, IndexError, ValueError):
            continue
    return found


DAEMON = """
import os, sys, time
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)
with open(sys.argv[1], "w") as f:
    f.write(str(os.getpid()))
time.sleep(60)
"""


def _leave_a_daemon(pidfile: str) -> None:
    """Start a process that leaves its session and outlives its parent; wait for its pid."""
    subprocess.run([sys.executable, "-c", DAEMON, pidfile], check=True, timeout=30)
    deadline = time.monotonic() + 30
    while not Path(pidfile).is_file() or not Path(pidfile).read_text():
        if time.monotonic() > deadline:
            raise RuntimeError("the daemon never wrote its pid")
        threading.Event().wait(0.01)


def fake_grade_ports(folder, **kwargs):  # noqa: ANN001, ANN003 - the grade() signature
    """Like :func:`fake_grade`, noting the port range the worker may draw from."""
    from grader.harness.ports import PORTS

    result = fake_grade(folder, **kwargs)
    result.notes = ["{}-{}".format(*PORTS.bounds)]
    return result


def write_student(root: Path, student: str, server_text: str = "ok") -> Path:
    """A submission folder ``root/student`` for the fake grader."""
    folder = root / student
    folder.mkdir(parents=True)
    (folder / "server.py").write_text(server_text + "\n", encoding="utf-8")
    (folder / "client.py").write_text("# client\n", encoding="utf-8")
    (folder / "student.txt").write_text(student + "\n", encoding="utf-8")
    return folder


def graded_log(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []
