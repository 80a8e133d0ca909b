"""The sandbox against hostile submissions: bounded time, the limit named, no survivors.

Every hostile program in ``tests/hostile/`` is only ever started through the sandbox,
with low limits, because this machine is shared. Survivors are *found* by scanning for
processes whose command line or working directory is inside the hostile folder; they are
*killed* only by the sandbox, by PID and process group.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pexpect
import psutil
import pytest

from grader.harness.isolation import run_uid
from grader.harness.sandbox import (
    MEMORY_LIMIT,
    MIB,
    OUTPUT_LIMIT,
    PROCESS_LIMIT,
    THREAD_LIMIT,
    Limits,
    Sandbox,
    SandboxedProcess,
)

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = Path(__file__).resolve().parent / "hostile"
CASES = sorted(path.name for path in HOSTILE.iterdir() if (path / "server.py").exists())
LIMITS = Limits(memory=256 * MIB, threads=200, processes=8, cpu_seconds=10, output_kept=64 * 1024)
BUDGET = 60.0  # seconds a whole hostile submission may take, at most
ROLES = {"server": ["--port", "1"], "client": ["--port", "1", "--nick", "ana"]}
# The limit each case must be reported for; the others must report none.
EXPECTED_LIMIT = {
    "thread_bomb": {THREAD_LIMIT, MEMORY_LIMIT},  # whichever the kernel refuses first
    "memory_hog": {MEMORY_LIMIT},
    "floods_output": {OUTPUT_LIMIT},
    "many_processes": {PROCESS_LIMIT, THREAD_LIMIT},  # the pids cgroup counts processes too
}


def leftovers(folder: Path) -> list[psutil.Process]:
    """Running processes started from ``folder`` (by command line or working directory),
    or, when the grader runs them under an identity of their own, running as it."""
    jail_uid = run_uid()
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd", "status", "uids"]):
        if proc.pid == os.getpid() or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        cmdline = " ".join(proc.info["cmdline"] or [])
        cwd = proc.info["cwd"] or ""
        uids = proc.info["uids"]
        if (str(folder) in cmdline or cwd == str(folder) or cwd.startswith(f"{folder}{os.sep}")
                or (jail_uid is not None and uids is not None and uids.real == jail_uid)):
            found.append(proc)
    return found


class Watcher:
    """Collects a program's output and sets an event when a given text shows up."""

    def __init__(self, wanted: str | None = None) -> None:
        self.wanted = wanted.encode() if wanted else None
        self.seen = threading.Event()
        self._data = b""

    def __call__(self, chunk: bytes) -> None:
        if self.wanted is not None and not self.seen.is_set():
            self._data = (self._data + chunk)[-4096:]
            if self.wanted in self._data:
                self.seen.set()


def start(box: Sandbox, case: str, role: str, watcher: Watcher | None = None) -> SandboxedProcess:
    argv = [sys.executable, f"{role}.py", *ROLES[role]]
    return box.start(argv, cwd=HOSTILE / case, merge_output=True, on_output=watcher)


@pytest.fixture
def box():
    with Sandbox(LIMITS) as sandbox:
        yield sandbox


@pytest.mark.parametrize("role", ["server", "client"])
@pytest.mark.parametrize("case", CASES)
def test_hostile_program_is_contained(box: Sandbox, case: str, role: str) -> None:
    began = time.monotonic()
    marker = {"ignores_sigterm": "cannot stop me", "setsid_grandchild": "grandchild started"}
    watcher = Watcher(marker.get(case))
    proc = start(box, case, role, watcher)
    if case in marker:
        assert watcher.seen.wait(10.0), proc.output()
    if case == "setsid_grandchild":
        # The leader, the middle child on its way out, and the setsid()'d grandchild.
        assert any(member.pid != proc.pid for member in proc.members())
    proc.wait(timeout=30.0 if case in EXPECTED_LIMIT else 0.5)
    status = proc.stop(grace=0.5)
    elapsed = time.monotonic() - began

    assert proc.survivors() == []
    assert leftovers(HOSTILE / case) == []
    assert elapsed < 20.0, f"{case} took {elapsed:.1f} s"
    assert status != 0, f"{case} ended with status 0"
    expected = EXPECTED_LIMIT.get(case)
    if expected is not None:
        assert proc.limit_exceeded in expected
    else:
        assert proc.limit_exceeded is None
    assert len(proc.output()) <= LIMITS.output_kept  # characters never outnumber bytes



def test_sigterm_ends_a_program_that_honours_it(box: Sandbox) -> None:
    proc = start(box, "never_listens", "server")
    assert proc.wait(0.2) is None
    assert proc.stop(grace=5.0) == -signal.SIGTERM


SHOW_SIGNALS = ("for line in open('/proc/self/status'):\n"
                "    if line.startswith(('SigBlk:', 'SigIgn:')):\n"
                "        print(*line.replace(':', ' ', 1).split())\n")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_program_starts_with_the_signals_the_grader_ignores_or_blocks_at_default(
        box: Sandbox) -> None:
    """A grader started with Ctrl-C ignored (``cmd &``) or blocked (some job runners)
    must not pass that on: the program would never see the signals the checks send."""
    wanted = (signal.SIGINT, signal.SIGTERM)
    found: list[SandboxedProcess] = []

    def start_from_a_thread_that_blocks_them() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, wanted)  # this thread only
        found.append(box.start([sys.executable, "-c", SHOW_SIGNALS], cwd=ROOT,
                               merge_output=True))

    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in wanted}
    try:
        starter = threading.Thread(target=start_from_a_thread_that_blocks_them)
        starter.start()
        starter.join(10.0)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert found, "the program did not start"
    proc = found[0]
    assert proc.wait(10.0) == 0, proc.output()
    masks = dict(line.split() for line in proc.output().splitlines())
    assert set(masks) == {"SigBlk", "SigIgn"}, proc.output()
    for name, mask in masks.items():
        for signum in wanted:
            assert not int(mask, 16) & (1 << (signum - 1)), f"{signum.name} in {name}"


def test_a_clock_change_does_not_hide_a_member(box: Sandbox, monkeypatch) -> None:
    """A process is told from a later one with its pid by its start time since boot:
    when NTP moves the clock, the wall-clock start time moves too, and a member taken for
    a stranger would be neither watched nor stopped."""
    linux = pytest.importorskip("psutil._pslinux")  # where psutil reads the boot time
    proc = start(box, "never_listens", "server")
    assert [member.pid for member in proc.members()] == [proc.pid]
    shifted = linux.boot_time() + 2.0
    monkeypatch.setattr(linux, "boot_time", lambda: shifted)
    assert [member.pid for member in proc.members()] == [proc.pid]
    assert proc.stop(grace=5.0) == -signal.SIGTERM
    assert proc.survivors() == []


def test_output_is_kept_as_a_tail_and_counted(box: Sandbox) -> None:
    proc = start(box, "floods_output", "server")
    proc.wait(30.0)
    proc.stop()
    assert proc.output_bytes() > LIMITS.output_total
    # The program may be stopped between two lines or in the middle of one.
    assert proc.output().rstrip("\n").endswith("x" * 1000)


@pytest.mark.parametrize("case", ["setsid_grandchild", "thread_bomb"])
def test_without_cgroup_the_watchdog_and_subreaper_suffice(case: str) -> None:
    watcher = Watcher("grandchild started" if case == "setsid_grandchild" else None)
    with Sandbox(LIMITS, cgroup=False) as box:
        proc = start(box, case, "server", watcher)
        if case == "setsid_grandchild":
            assert watcher.seen.wait(10.0)
        else:
            assert proc.wait(20.0) is not None
            assert proc.limit_exceeded in EXPECTED_LIMIT[case]
        proc.stop(grace=0.2)
        assert proc.survivors() == []
    assert leftovers(HOSTILE / case) == []


def test_reference_server_runs_normally_under_the_limits(box: Sandbox) -> None:
    watcher = Watcher("listening on")
    argv = [sys.executable, "server.py", "--port", "0"]
    proc = box.start(argv, cwd=ROOT / "reference_solution", merge_output=True, on_output=watcher)
    assert watcher.seen.wait(10.0), proc.output()
    port = int(proc.output().split("listening on 127.0.0.1:")[1].split()[0])
    clients = []
    try:
        for index in range(40):  # 80 server threads: well inside the 200 allowed
            sock = socket.create_connection(("127.0.0.1", port), timeout=10.0)
            sock.sendall(f"u{index}\n".encode())
            assert sock.makefile("rb").readline() == f"*** welcome u{index}\n".encode()
            clients.append(sock)
        clients[0].sendall(b"/users\n")
        reader = clients[0].makefile("rb")
        while not (line := reader.readline()).startswith(b"*** online:"):
            assert line, "server closed the connection"
        assert line.count(b",") == 39
    finally:
        for sock in clients:
            sock.close()
    assert proc.stop(grace=5.0) == 0
    assert proc.limit_exceeded is None
    assert proc.survivors() == []


@pytest.mark.parametrize("case", CASES)
def test_whole_grader_fails_a_hostile_submission_in_bounded_time(case: str) -> None:
    from grader.api import grade
    from grader.model import FailureKind, Status

    began = time.monotonic()
    result = grade(HOSTILE / case)
    elapsed = time.monotonic() - began
    assert elapsed < BUDGET, f"{case}: grading took {elapsed:.1f} s"
    assert not result.all_passed
    assert all(c.status is not Status.PASSED for c in result.checks)
    if case in EXPECTED_LIMIT:  # reported as such, in words a student understands
        over = [c.failure for c in result.checks
                if c.failure is not None and c.failure.kind is FailureKind.RESOURCE_LIMIT]
        assert over, [(c.id, c.failure) for c in result.checks if c.failure]
        assert all(f.actual in EXPECTED_LIMIT[case] and "was stopped" in f.message
                   for f in over)
    assert leftovers(HOSTILE / case) == []


@pytest.mark.parametrize("case", ["setsid_grandchild", "thread_bomb"])
def test_a_pexpect_child_can_be_adopted(box: Sandbox, case: str) -> None:
    launch = box.prepare()
    child = pexpect.spawn(sys.executable, ["client.py", *ROLES["client"]], cwd=HOSTILE / case,
                          env=launch.env, preexec_fn=launch.preexec_fn, echo=False)
    try:
        proc = box.adopt(child.pid, launch)
        if case == "setsid_grandchild":
            child.expect("grandchild started", timeout=10.0)
            assert len(proc.members()) >= 2
        else:
            assert proc.wait(20.0) is not None  # the watchdog killed it
            assert proc.limit_exceeded in EXPECTED_LIMIT[case]
        proc.stop(grace=0.2)
        assert proc.survivors() == []
    finally:
        child.close(force=True)
    assert leftovers(HOSTILE / case) == []
