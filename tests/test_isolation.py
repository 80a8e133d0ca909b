"""The isolation of a grading run: a jail per program, a loopback per run, an identity
per grader when it is root. Hostile submissions in ``tests/hostile_jail/`` are only
ever run through the jail (they attack whatever they can see), and only when bubblewrap
works here; a run without it is graded with a note (tested too)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

from grader.harness import isolation
from grader.harness.interpreter import clean_python
from grader.harness.isolation import Isolation, isolated_run, private_loopback, run_uid
from grader.harness.programs import Program
from grader.probes.counts import poll_until

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = Path(__file__).resolve().parent / "hostile_jail"
jailed = pytest.mark.skipif(isolation.bwrap_path() is None,
                            reason="bubblewrap (bwrap) cannot make namespaces here")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (a network namespace)")


def run_in_jail(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    folder = tmp_path / "submission"
    folder.mkdir(exist_ok=True)
    (folder / "mine.txt").write_text("mine")
    python = clean_python()
    with isolated_run(folder, python) as (copy, run):
        assert run.jail is not None
        argv = run.jail.wrap([python, "-c", code], copy)
        return subprocess.run(argv, cwd=copy, capture_output=True, text=True, timeout=60)


@jailed
def test_a_jailed_program_sees_only_the_system_and_its_copy(tmp_path: Path) -> None:
    secret = tmp_path / "classmate.txt"
    secret.write_text("someone else's work")
    code = (f"import os\nprint(sorted(os.listdir('/')))\n"
            f"print(open('mine.txt').read())\nopen('new.txt', 'w').write('ok')\n"
            f"for path in ({str(secret)!r}, {str(ROOT / 'grader' / '__init__.py')!r}):\n"
            f"    try:\n        open(path).read(); print('READ', path)\n"
            f"    except OSError as error:\n        print('hidden', type(error).__name__)\n"
            f"try:\n    open({str(tmp_path / 'planted.txt')!r}, 'w')\n"
            f"except OSError as error:\n    print('read-only', type(error).__name__)\n")
    done = run_in_jail(tmp_path, code)
    assert done.returncode == 0, done.stderr
    assert "READ" not in done.stdout and done.stdout.count("hidden") == 2
    assert "mine" in done.stdout and not (tmp_path / "planted.txt").exists()
    assert "'work'" not in done.stdout.splitlines()[0]  # the project tree is not there


@jailed
def test_a_jailed_program_sees_no_process_of_the_grader(tmp_path: Path) -> None:
    done = run_in_jail(tmp_path, "import os; print(sorted(int(p) for p in os.listdir('/proc')"
                                 " if p.isdigit()))")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [1, 2]  # its init and itself


@jailed
@pytest.mark.skipif(os.geteuid() != 0, reason="an identity of its own needs root")
def test_a_jailed_program_runs_as_its_own_uid(tmp_path: Path) -> None:
    done = run_in_jail(tmp_path, "import os; print(os.getuid(), os.getgid(), os.getgroups())")
    uid = run_uid()
    assert uid is not None and done.stdout.split() == [str(uid), str(uid), "[]"]


@as_root
def test_a_run_has_a_loopback_of_its_own() -> None:
    outside = socket.create_server(("127.0.0.1", 0))
    port = outside.getsockname()[1]
    run = Isolation()
    try:
        with private_loopback(run):
            assert run.private_network and not run.notes
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
            inside = socket.create_server(("127.0.0.1", port))  # the same port: free here
            inside.close()
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # back outside
    finally:
        outside.close()


def test_without_bubblewrap_a_run_goes_on_with_a_note(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(isolation, "bwrap_path", lambda: None)
    with isolated_run(tmp_path, sys.executable) as (folder, run):
        assert folder == tmp_path and run.jail is None
        assert "bubblewrap" in run.note


def escapees() -> list[psutil.Process]:
    return [proc for proc in psutil.process_iter(["cmdline"])
            if "chatlab-escapee" in " ".join(proc.info["cmdline"] or [])]


@jailed
def test_every_program_of_a_run_ends_with_the_run(tmp_path: Path) -> None:
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "server.py").write_text((HOSTILE / "escapes_jail" / "server.py").read_text())
    python = clean_python()
    with isolated_run(folder, python) as (copy, run):
        program = Program([python, "server.py"], copy, jail=run.jail)
        program.start()
        assert program.wait_line("squatting", time.monotonic() + 30), program.output()
        deadline = time.monotonic() + 10
        while not escapees() and time.monotonic() < deadline:
            time.sleep(0.05)  # the daemon is starting: polled, with a deadline
        assert escapees(), "the daemon should be running while the run lasts"
    deadline = time.monotonic() + 10
    while escapees() and time.monotonic() < deadline:
        time.sleep(0.05)  # the kernel ends the PID namespace: polled, with a deadline
    assert escapees() == []
    program.stop()


@jailed
def test_a_submission_cannot_forge_its_output_or_stop_its_grader(tmp_path: Path) -> None:
    output = tmp_path / "result.json"
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "grader", "check", str(HOSTILE / "forges_output"),
         "--format", "json", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert time.monotonic() - began < 120
    assert done.returncode == 1, done.stderr[-2000:]  # graded, and failed: not killed
    result = json.loads(output.read_text())
    assert result["submission"] == "forges_output" and result["score"] == 0
    shown = json.dumps(result)
    assert "could not forge" in shown or "forged" not in shown
    assert "tried to stop []" in shown  # it saw no grader to stop


def test_an_unprivileged_grader_gets_a_loopback_of_its_own() -> None:
    """A command that entered a user namespace of its own (first thing, with one
    thread) can then give each run a network namespace, without root."""
    code = ("import socket\nfrom grader.harness import isolation\n"
            "entered = isolation.enter_user_namespace()\n"
            "run = isolation.Isolation()\n"
            "with isolation.private_loopback(run):\n"
            "    socket.create_server(('127.0.0.1', 0)).close()\n"
            "print(entered, run.private_network)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    entered, private = done.stdout.split()
    if os.geteuid() == 0:
        assert (entered, private) == ("False", "True")  # root needs no user namespace
    elif entered == "True":
        assert private == "True"
    else:
        pytest.skip("user namespaces are not allowed here")


NOBODY = 65534


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/setpriv").exists(),
                    reason="runs the isolation tests again as an unprivileged user")
def test_the_isolation_tests_pass_as_an_unprivileged_user() -> None:
    """The same tests, as user nobody: bubblewrap then makes a user namespace, and the
    run's loopback comes from the command's own user namespace."""
    python = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    system = Path("/usr/bin") / python.name
    interpreter = system if system.exists() else python
    probe = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         str(interpreter), "-c", f"import os; open({str(ROOT / 'pyproject.toml')!r})"],
        capture_output=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"user nobody cannot run {interpreter} or read the project here")
    with tempfile.TemporaryDirectory(prefix="chatlab-nobody-") as tmp:  # pytest's is 0700
        home = Path(tmp) / "home"
        home.mkdir()
        os.chmod(tmp, 0o755)
        os.chown(home, NOBODY, NOBODY)
        done = _pytest_as_nobody(interpreter, home)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout


def _pytest_as_nobody(interpreter: Path, home: Path) -> subprocess.CompletedProcess[str]:
    site = next(Path(sys.prefix).glob("lib/python3*/site-packages"))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "CHATLAB_CACHE": str(home / "cache"),
           "PYTHONPATH": f"{ROOT}:{site}", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         str(interpreter), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
         "-k", "not unprivileged_user", str(Path(__file__))],
        cwd=home, env=env, capture_output=True, text=True, timeout=600)


@as_root
def test_checks_of_a_fixed_port_server_run_side_by_side_on_loopbacks_of_their_own(
        tmp_path: Path) -> None:
    """Two checks that bind the same port at the same time: each must be on its own
    loopback (else the second bind fails), and they must overlap (else the barrier,
    which waits for both, times out)."""
    from dataclasses import replace

    from grader.harness.servers import Submission
    from grader.profile import load_profile
    from grader.registry import CheckSpec
    from grader.runner import run_checks
    from grader.timing import Timing

    profile = replace(load_profile(), fixed_port=32799)
    both_in = threading.Barrier(2, timeout=20)
    networks: list[int] = []

    def binds_the_port(ctx) -> None:  # noqa: ANN001 - a grader.context.Context
        with socket.create_server(("127.0.0.1", profile.fixed_port)):
            networks.append(os.stat("/proc/thread-self/ns/net").st_ino)
            both_in.wait()

    specs = [CheckSpec(id=f"test.binds_{n}", title="binds the port", func=binds_the_port,
                       step=1) for n in (1, 2)]
    (tmp_path / "server.py").write_text("")
    results = run_checks(specs, Submission(tmp_path), profile, Timing())
    assert [r.status.value for r in results] == ["passed", "passed"], [
        r.failure for r in results]
    assert len(set(networks)) == 2 and os.stat("/proc/thread-self/ns/net").st_ino not in networks


@jailed
@pytest.mark.parametrize("case", ["setsid_grandchild", "ignores_sigterm", "many_processes"])
def test_a_jailed_program_is_found_and_stopped_whole(tmp_path: Path, case: str) -> None:
    """In a jail a program's members are found from its own process tree (its PID
    namespace holds everything it starts): an orphan in a session of its own, a program
    that ignores SIGTERM and a fork bomb are all seen and stopped, nothing left."""
    source = ROOT / "tests" / "hostile" / case
    folder = tmp_path / case
    folder.mkdir()
    for path in source.glob("*.py"):
        (folder / path.name).write_text(path.read_text())
    python = clean_python()
    with isolated_run(folder, python) as (copy, run):
        program = Program([python, "server.py", "--port", "1"], copy, name="server",
                          jail=run.jail)
        program.start()
        try:
            assert program._box is not None and program._box.contained
            if case == "setsid_grandchild":
                assert program.wait_line("grandchild started", time.monotonic() + 10)
                # The grandchild calls setsid() after the line is printed: wait for
                # it to show up among the members, in a session of its own.
                def sessions() -> set[int]:
                    found = set()
                    for member in program._box.members():
                        with contextlib.suppress(OSError):
                            found.add(os.getsid(member.pid))
                    return found

                assert poll_until(lambda: len(sessions()) >= 2, time.monotonic() + 10)
            elif case == "ignores_sigterm":
                assert program.wait_line("cannot stop me", time.monotonic() + 10)
            else:
                program.wait_exit(5.0)  # the watchdog stops it at the process limit
            seen = [member.pid for member in program._box.members()]
        finally:
            program.stop(grace=0.5)
        assert program.survivors() == []
        assert not [pid for pid in seen if psutil.pid_exists(pid)
                    and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
