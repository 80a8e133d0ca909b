"""The batch runner with a fake grader: parallel workers, atomic results, resume, errors."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from test_batch_fakes import LOG_ENV, fake_grade, graded_log, make_result, write_student

from grader.batch.parallel import WORKER_DIED, BatchError, GradeSettings, claim_ports, run_batch
from grader.batch.progress import Progress, format_duration
from grader.batch.store import ResultStore

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "graded.log"
    monkeypatch.setenv(LOG_ENV, str(path))
    return path


def batch(subs: Path, out: Path, **kwargs):  # noqa: ANN003
    stream = io.StringIO()
    summary = run_batch(subs, out, grade=fake_grade, stream=stream, tty=False, **kwargs)
    return summary, stream.getvalue()


def test_every_student_is_graded_into_its_own_file(tmp_path: Path, log: Path) -> None:
    subs = tmp_path / "subs"
    for name in ("alice", "bob", "carol", "dave"):
        write_student(subs, name, "BREAK server.no_echo" if name == "bob" else "ok")
    summary, output = batch(subs, tmp_path / "out", jobs=2)
    assert sorted(summary.graded) == ["alice", "bob", "carol", "dave"]
    assert summary.skipped == 0 and not summary.failed and summary.complete
    store = ResultStore(tmp_path / "out")
    assert store.students() == ["alice", "bob", "carol", "dave"]
    bob = store.load_result("bob")
    assert bob is not None and bob.submission == "bob" and bob.score == 5.5
    assert sorted(graded_log(log)) == ["alice", "bob", "carol", "dave"]
    assert "4/4 done · 0 failed · 0 remaining" in output


def test_zip_submissions_and_refused_archive(tmp_path: Path, log: Path) -> None:
    import zipfile

    subs = tmp_path / "subs"
    subs.mkdir()
    with zipfile.ZipFile(subs / "alice.zip", "w") as zf:
        zf.writestr("alice-lab/server.py", "ok\n")
        zf.writestr("alice-lab/student.txt", "alice\n")
    with zipfile.ZipFile(subs / "mallory.zip", "w") as zf:
        zf.writestr("server.py", "ok\n")
        zf.writestr("../../escape.txt", "pwned")
    summary, _ = batch(subs, tmp_path / "out", jobs=2)
    assert summary.graded == ["alice"]
    assert "path leaves the archive" in summary.failed["mallory"]
    assert ResultStore(tmp_path / "out").load_error("mallory") == summary.failed["mallory"]
    assert not list(tmp_path.rglob("escape.txt"))


def test_resume_skips_graded_ignores_partial_files(tmp_path: Path, log: Path) -> None:
    """A batch killed mid-run: finished results stay, half-written ones do not count."""
    subs = tmp_path / "subs"
    for name in ("alice", "bob", "carol", "dave"):
        write_student(subs, name)
    out = tmp_path / "out"
    store = ResultStore(out)
    store.prepare()
    store.save_result("alice", make_result("alice", {"server.broadcast"}))
    # A crash during a write leaves a temporary file; a final name never holds half a file,
    # but one damaged by hand must be graded again rather than trusted.
    partial = store.results_dir / ".bob.json12345.tmp"
    partial.write_text('{"submission": "bob", "checks": [')
    (store.results_dir / "carol.json").write_text("{ not json")

    summary, output = batch(subs, out, jobs=2)
    assert summary.skipped == 1
    assert sorted(graded_log(log)) == ["bob", "carol", "dave"]  # alice not graded again
    assert store.load_result("alice").score == 4.5  # the earlier grade is kept as it was
    assert not partial.exists()
    assert "grading 3 of 4 submissions (1 already graded)" in output

    log.unlink()
    summary, _ = batch(subs, out, jobs=2)
    assert summary.skipped == 4 and summary.graded == [] and graded_log(log) == []

    summary, _ = batch(subs, out, jobs=2, regrade=True)
    assert sorted(graded_log(log)) == ["alice", "bob", "carol", "dave"]
    assert store.load_result("alice").score == 7.5


def test_grader_crash_is_recorded_and_retried_next_run(tmp_path: Path, log: Path) -> None:
    subs = tmp_path / "subs"
    write_student(subs, "alice")
    write_student(subs, "bob", "CRASH")
    summary, output = batch(subs, tmp_path / "out", jobs=2)
    assert summary.graded == ["alice"]
    assert "RuntimeError: fake grader bug" in summary.failed["bob"]
    assert "FAILED bob grader error" in output and "1 failed" in output
    detail = json.loads((tmp_path / "out" / "errors" / "bob.json").read_text())["detail"]
    assert "Traceback" in detail
    (subs / "bob" / "server.py").write_text("ok\n")  # say the grader was fixed
    summary, _ = batch(subs, tmp_path / "out", jobs=2)
    assert summary.graded == ["bob"] and summary.skipped == 1
    assert not (tmp_path / "out" / "errors" / "bob.json").exists()


def test_a_dying_worker_costs_only_its_own_student(tmp_path: Path, log: Path) -> None:
    subs = tmp_path / "subs"
    for name in ("alice", "bob", "carol"):
        write_student(subs, name)
    write_student(subs, "zed", "DIE")
    summary, _ = batch(subs, tmp_path / "out", jobs=2)
    assert sorted(summary.graded) == ["alice", "bob", "carol"]
    assert list(summary.failed) == ["zed"]
    assert summary.failed["zed"] == f"{WORKER_DIED} (exit status 3)"
    assert ResultStore(tmp_path / "out").load_error("zed") == summary.failed["zed"]


def test_a_student_past_the_time_limit_is_not_graded(tmp_path: Path, log: Path) -> None:
    subs = tmp_path / "subs"
    write_student(subs, "alice")
    write_student(subs, "hana", "HANG")
    write_student(subs, "zoe")
    summary, output = batch(subs, tmp_path / "out", jobs=2, student_timeout=2.0)
    assert sorted(summary.graded) == ["alice", "zoe"]
    assert summary.failed == {"hana": "grading took longer than 2 s (--student-timeout) and"
                              " was stopped"}
    assert "hana" not in summary.results and not summary.complete
    assert ResultStore(tmp_path / "out").load_error("hana") == summary.failed["hana"]
    assert not (tmp_path / "out" / "results" / "hana.json").exists()


def test_a_report_someone_else_wrote_into_the_pipe_is_ignored(tmp_path: Path, log: Path) -> None:
    subs = tmp_path / "subs"
    write_student(subs, "alice", "FORGE BREAK server.broadcast")
    write_student(subs, "bob")
    summary, _ = batch(subs, tmp_path / "out", jobs=2)
    assert sorted(summary.graded) == ["alice", "bob"]
    assert summary.results["alice"].score == 4.5  # the real report, not the forged one
    assert any("alice: a message that did not come from its grading process" in e
               for e in summary.events), summary.events


def test_bytes_that_are_no_report_get_the_student_graded_again(tmp_path: Path, log: Path) -> None:
    subs = tmp_path / "subs"
    write_student(subs, "alice")
    write_student(subs, "mallory", "GARBAGE")
    summary, output = batch(subs, tmp_path / "out", jobs=2)
    assert summary.graded == ["alice"]
    assert graded_log(log).count("mallory") == 2  # once more after the others, then no grade
    assert "interfered with" in summary.failed["mallory"]
    assert any("mallory: its grading process's report" in e for e in summary.events)


def test_a_process_left_running_is_stopped_before_the_result_is_written(
    tmp_path: Path, log: Path
) -> None:
    subs = tmp_path / "subs"
    pidfile = tmp_path / "daemon.pid"
    write_student(subs, "alice", f"DAEMON {pidfile}")
    summary, _ = batch(subs, tmp_path / "out", jobs=1)
    assert summary.graded == ["alice"]
    pid = int(pidfile.read_text())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert any(e.startswith(f"alice: process {pid} (") and "was stopped" in e
               for e in summary.events), summary.events


def test_bad_settings_stop_the_batch(tmp_path: Path, log: Path) -> None:
    subs = tmp_path / "subs"
    write_student(subs, "alice", "MISUSE")
    with pytest.raises(BatchError, match="no check matches"):
        batch(subs, tmp_path / "out", jobs=1)
    assert not (tmp_path / "out" / "errors" / "alice.json").exists()


def test_settings_reach_grade_and_changing_them_needs_regrade(tmp_path: Path, log: Path) -> None:
    subs = tmp_path / "subs"
    write_student(subs, "alice")
    rubric = tmp_path / "rubric.toml"
    rubric.write_text("[points]\n")
    out = tmp_path / "out"
    batch(subs, out, jobs=1, settings=GradeSettings(only="core", rubric=str(rubric)))
    notes = ResultStore(out).load_result("alice").notes
    assert notes == ["only=core", f"rubric={rubric.resolve()}"]

    rubric.write_text("[points]\n'server.broadcast' = 9\n")
    with pytest.raises(BatchError, match="rubric changed"):
        batch(subs, out, jobs=1, settings=GradeSettings(only="core", rubric=str(rubric)))
    summary, _ = batch(
        subs, out, jobs=1, regrade=True, settings=GradeSettings(only="core", rubric=str(rubric))
    )
    assert summary.graded == ["alice"]


def test_ctrl_c_saves_what_runs_and_a_rerun_finishes_without_duplicates(
    tmp_path: Path, log: Path
) -> None:
    subs = tmp_path / "subs"
    fifo = tmp_path / "barrier"
    os.mkfifo(fifo)
    write_student(subs, "a", f"WAIT {fifo}")
    for name in ("b", "c", "d", "e"):
        write_student(subs, name)
    out = tmp_path / "out"
    code = (
        "import sys; from test_batch_fakes import fake_grade;"
        "from grader.batch.parallel import run_batch;"
        f"s = run_batch({str(subs)!r}, {str(out)!r}, jobs=1, grade=fake_grade, tty=False);"
        "sys.exit(130 if s.interrupted else 0)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)])}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        writer = os.open(fifo, os.O_WRONLY)  # returns once "a" is being graded
        proc.send_signal(signal.SIGINT)
        lines = []
        for line in proc.stderr:  # the parent acknowledges before anything else happens
            lines.append(line)
            if line.startswith("interrupted"):
                break
        os.close(writer)  # let "a" finish: it must still be saved
        rest = proc.stderr.read()
        assert proc.wait(timeout=60) == 130, "".join(lines) + rest
    finally:
        if proc.poll() is None:
            proc.kill()
    first = graded_log(log)
    store = ResultStore(out)
    assert "a" in first and store.is_graded("a")
    assert set(store.students()) == set(first) and len(first) < 5

    write_student_fast = subs / "a" / "server.py"
    write_student_fast.write_text("ok\n")
    summary, _ = batch(subs, out, jobs=2)
    everyone = graded_log(log)
    assert sorted(everyone) == ["a", "b", "c", "d", "e"]  # each graded exactly once
    assert summary.skipped == len(first)


def test_progress_plain_and_tty_and_eta() -> None:
    now = [100.0]
    plain = io.StringIO()
    p = Progress(4, already_done=1, stream=plain, tty=False, clock=lambda: now[0])
    p.start()
    assert p.eta() is None and "ETA --:--" in p.status()
    now[0] += 10
    p.update("bob", ok=True, summary="7.5/7.5")
    assert p.eta() == pytest.approx(20.0)  # 10 s per student, 2 left
    now[0] += 10
    p.update("carol", ok=False, summary="grader error")
    lines = plain.getvalue().splitlines()
    assert lines[0] == "grading 3 of 4 submissions (1 already graded)"
    assert lines[1].startswith("ok     bob 7.5/7.5 | 2/4 done · 0 failed · 2 remaining · ETA 0:20")
    assert lines[2].startswith("FAILED carol grader error | 2/4 done · 1 failed · 1 remaining")

    term = io.StringIO()
    t = Progress(2, stream=term, tty=True, clock=lambda: now[0])
    t.start()
    t.update("a", ok=True)
    t.update("b", ok=True)
    t.close()
    screen = term.getvalue()
    assert screen.count("\n") == 1 and screen.count("\r") == 4
    assert "[########################] 2/2 done · 0 failed · 0 remaining" in screen


def test_format_duration() -> None:
    assert format_duration(0) == "0:00"
    assert format_duration(75) == "1:15"
    assert format_duration(3725) == "1:02:05"


def test_two_batches_cannot_share_a_results_folder(tmp_path: Path, log: Path) -> None:
    subs = tmp_path / "subs"
    write_student(subs, "alice")
    with ResultStore(tmp_path / "out").lock():
        with pytest.raises(BatchError, match="another batch is writing"):
            batch(subs, tmp_path / "out", jobs=1)
    summary, _ = batch(subs, tmp_path / "out", jobs=1)  # released: fine now
    assert summary.graded == ["alice"]


def test_workers_draw_ports_from_disjoint_ranges(
    tmp_path: Path, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_batch_fakes import fake_grade_ports

    from grader.harness.ports import PORTS

    full = PORTS.bounds
    monkeypatch.setattr(PORTS, "bounds", full)  # restored after the test
    assert claim_ports(1, 3) == (full[0] + 4000, full[0] + 7999) and PORTS.bounds != full
    PORTS.bounds = full

    subs = tmp_path / "subs"
    for name in "abcdefgh":
        write_student(subs, name)
    run_batch(subs, tmp_path / "out", jobs=3, grade=fake_grade_ports, stream=io.StringIO())
    store = ResultStore(tmp_path / "out")
    ranges = {tuple(map(int, store.load_result(s).notes[0].split("-"))) for s in "abcdefgh"}
    assert 1 <= len(ranges) <= 3
    for low, high in ranges:
        assert full[0] <= low < high <= full[1] and high - low + 1 == (full[1] - full[0] + 1) // 3
    ordered = sorted(ranges)
    assert all(a[1] < b[0] for a, b in zip(ordered, ordered[1:], strict=False))


@pytest.mark.parametrize(("setting", "expected"), [
    (None, (20000, 32000)), ("", (20000, 32000)), ("21000-24999", (21000, 24999)),
])
def test_port_range_setting(setting, expected) -> None:
    from grader.harness.ports import parse_range

    assert parse_range(setting) == expected


@pytest.mark.parametrize("setting", ["21000", "a-b", "30000-20000", "80-9000", "1-2-3"])
def test_a_malformed_port_range_names_the_setting(setting) -> None:
    from grader.harness.ports import parse_range

    with pytest.raises(ValueError, match="CHATLAB_PORT_RANGE"):
        parse_range(setting)
