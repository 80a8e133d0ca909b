"""The grader against real submissions: the reference and two independent correct
servers must pass everything; each broken submission must fail the check meant for it;
a server that never starts is reported quickly, every check accounted for."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import api
from grader.api import CheckReport, check
from grader.model import Level, Status
from grader.timing import calibrate

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference_solution"
SUBMISSIONS = ROOT / "tests" / "submissions"

# broken submission -> the check(s) made to catch its mistake (each must fail), and a
# few words its failure message must contain: what went wrong, in the student's terms.
# docs/PROTOCOL_RULES.md says which rule of lab/PROTOCOL.md each one breaks.
CAUGHT_BY = {
    "broken_blocking_send": ["server.slow_reader"],
    "broken_broadcast_first_only": ["server.broadcast"],
    "broken_broadcast_to_unregistered": ["server.no_replay"],
    "broken_busy_loop": ["server.no_busy_loop"],
    "broken_client_decode_per_chunk": ["client.utf8"],
    "broken_client_eof_traceback": ["client.eof"],
    "broken_client_exit_0_on_close": ["client.server_closes", "client.server_reset"],
    "broken_client_hangs_on_quit": ["client.quit", "client.eof"],
    "broken_client_hides_error": ["client.server_closes"],
    "broken_client_nick_no_newline": ["client.connects"],
    "broken_client_no_thread": ["client.shows_incoming"],
    "broken_client_prompt_text": ["client.nick_prompt"],
    "broken_client_silent_disconnect": ["client.server_closes", "client.server_reset"],
    "broken_client_strips_lines": ["client.sends_lines"],
    "broken_client_traceback": ["client.server_reset"],
    "broken_client_thread_after_first_line": ["client.shows_incoming"],
    "broken_commands_as_chat": ["server.unknown_command"],
    "broken_control_chars_raw": ["server.control_chars"],
    "broken_crash_at_start": ["server.starts"],
    "broken_crash_on_reset": ["server.survives_reset"],
    "broken_crlf_kept": ["server.crlf"],
    "broken_decode_per_chunk": ["server.utf8_split"],
    "broken_drops_partial_line": ["server.framing_split"],
    "broken_echo": ["server.no_echo"],
    "broken_empty_lines_broadcast": ["server.never_broadcast"],
    "broken_exit_on_reset": ["server.survives_reset"],
    "broken_history_after_welcome": ["server.history"],
    "broken_history_all_lines": ["server.history"],
    "broken_history_keeps_whispers": ["server.history_only_chat"],
    "broken_history_unmarked": ["server.history"],
    "broken_history_zero_unlimited": ["server.history_off"],
    "broken_invalid_utf8_broadcast": ["server.invalid_utf8"],
    "broken_invalid_utf8_closes": ["server.invalid_utf8"],
    "broken_latin1": ["server.prefix"],
    "broken_leave_by_name": ["server.nick_taken"],
    "broken_leave_log_only_on_close": ["server.log_lines"],
    "broken_leave_only_on_quit": ["server.leave_close"],
    "broken_leave_twice": ["server.leave_quit"],
    "broken_line_limit_at_newline_only": ["server.line_unended"],
    "broken_line_limit_counts_cr": ["server.line_limit_exact"],
    "broken_lines_popped": ["server.framing_two_lines"],
    "broken_log_without_port": ["server.log_lines"],
    "broken_never_listens": ["server.starts"],
    "broken_nick_ascii_only": ["server.nick_valid"],
    "broken_nick_blacklist": ["server.nick_invalid"],
    "broken_nick_length_in_bytes": ["server.nick_valid"],
    "broken_nick_never_freed": ["server.nick_taken"],
    "broken_nick_new_buffer": ["server.nick_and_line"],
    "broken_nick_no_dash_dot": ["server.nick_valid"],
    "broken_nick_no_length_limit": ["server.nick_invalid"],
    "broken_nick_taken_replaces": ["server.nick_taken"],
    "broken_no_goodbye": ["server.shutdown", "server.shutdown_sigint"],
    "broken_no_join": ["server.join_announced"],
    "broken_no_leave_on_reset": ["server.leave_reset"],
    "broken_no_line_limit": ["server.line_too_long"],
    "broken_no_prefix": ["server.prefix"],
    "broken_notice_without_stars": ["server.join_announced"],
    "broken_one_recv_one_message": ["server.framing_two_lines", "server.framing_split"],
    "broken_prints_requested_port": ["server.port_zero"],
    "broken_quit_stays_open": ["server.leave_quit"],
    "broken_refused_nick_served": ["server.never_broadcast"],
    "broken_replay": ["server.no_replay"],
    "broken_serial": ["server.concurrent"],
    "broken_shutdown_uncaught_interrupt": ["server.shutdown"],
    "broken_sigint_swallowed": ["server.shutdown_sigint"],
    "broken_sigterm_kills": ["server.shutdown"],
    "broken_tab_escaped": ["server.control_chars"],
    "broken_thread_leak": ["server.no_leak"],
    "broken_threads_not_daemon": ["server.shutdown"],
    "broken_unknown_command_text": ["server.unknown_command"],
    "broken_unknown_user_silent": ["server.whisper_errors"],
    "broken_users_keeps_leavers": ["server.users"],
    "broken_users_unsorted": ["server.users"],
    "broken_welcome_text": ["server.welcome"],
    "broken_whisper_broadcast": ["server.whisper"],
    "broken_whisper_echo": ["server.whisper"],
    "broken_whisper_empty_text": ["server.whisper_errors"],
}
SAYS = {
    "broken_broadcast_first_only": "cid is here",
    "broken_broadcast_to_unregistered": "had not sent its nickname",
    "broken_client_decode_per_chunk": "zoë: olá ação 李雷 ✓",
    "broken_client_eof_traceback": "traceback after Ctrl-D",
    "broken_client_exit_0_on_close": "exits with status 1",
    "broken_client_hides_error": "the server's last line",
    "broken_client_nick_no_newline": "the nickname line",
    "broken_client_prompt_text": "'Nickname: '",
    "broken_client_silent_disconnect": "'*** disconnected from server'",
    "broken_client_strips_lines": "sent as it is",
    "broken_commands_as_chat": "'/dance' is not a command",
    "broken_control_chars_raw": "raw control characters",
    "broken_crlf_kept": "as telnet does",
    "broken_drops_partial_line": "three separate pieces",
    "broken_empty_lines_broadcast": "empty lines are ignored",
    "broken_history_after_welcome": "come first",
    "broken_history_all_lines": "the last 3 chat lines",
    "broken_history_keeps_whispers": "whisper was kept in the history",
    "broken_history_unmarked": "*** history ana: old line 3",
    "broken_history_zero_unlimited": "with --history 0 nothing is kept",
    "broken_invalid_utf8_broadcast": "it reaches nobody",
    "broken_invalid_utf8_closes": "the connection stays open",
    "broken_latin1": "welcome line",
    "broken_leave_by_name": "announced as leaving",
    "broken_leave_log_only_on_close": "'[leave] ana 127.0.0.1:",
    "broken_leave_only_on_quit": "the announcement that ana left",
    "broken_line_limit_at_newline_only": "already longer than 4096 bytes",
    "broken_line_limit_counts_cr": "exactly 4096 bytes ending in \\r\\n",
    "broken_lines_popped": "reverse order",
    "broken_log_without_port": "'[join] ana 127.0.0.1:",
    "broken_nick_ascii_only": "'João' (Latin letters with an accent) is valid",
    "broken_nick_blacklist": "'star*' is not allowed",
    "broken_nick_length_in_bytes": "exactly 20 characters",
    "broken_nick_never_freed": "free again",
    "broken_nick_new_buffer": "in a single send()",
    "broken_nick_no_dash_dot": "'R2-D2'",
    "broken_nick_no_length_limit": "is not allowed",
    "broken_nick_taken_replaces": "already taken",
    "broken_no_goodbye": "without sending '*** server shutting down'",
    "broken_notice_without_stars": "the announcement that bob joined",
    "broken_prints_requested_port": "the port the system really picked",
    "broken_quit_stays_open": "After '/quit' the server should close",
    "broken_refused_nick_served": "nickname was refused",
    "broken_shutdown_uncaught_interrupt": "catch KeyboardInterrupt",
    "broken_sigint_swallowed": "'*** server shutting down'",
    "broken_sigterm_kills": "killed by SIGTERM",
    "broken_tab_escaped": "tabs are kept",
    "broken_threads_not_daemon": "not a daemon",
    "broken_unknown_command_text": "'/dance' is not a command",
    "broken_unknown_user_silent": "no such user nobody",
    "broken_users_keeps_leavers": "Zed has left",
    "broken_users_unsorted": "sorted()",
    "broken_welcome_text": "the welcome line",
    "broken_whisper_echo": "gets nothing back",
    "broken_whisper_empty_text": "'/w bob' (without a text) is a usage error",
}
CORRECT = ["correct_selectors", "correct_asyncio"]
_TIMING = []


def grade(folder, **kwargs):
    """api.grade with the machine calibrated once for all these tests (it takes a moment)."""
    if not _TIMING:
        _TIMING.append(calibrate())
    return api.grade(folder, timing=_TIMING[0], **kwargs)


def _present(name: str) -> Path:
    folder = SUBMISSIONS / name
    if not (folder / "server.py").is_file():
        pytest.skip(f"{folder} is not there yet")
    return folder


def _not_passed(result) -> list[str]:
    return [f"{c.id}: {c.status.value}: {c.failure.message if c.failure else c.reason}"
            for c in result.checks if c.status not in (Status.PASSED, Status.NOT_APPLICABLE)]


def test_reference_passes_every_check() -> None:
    result = grade(REFERENCE)
    assert _not_passed(result) == []
    assert result.score == result.max_score > 0
    ids = {c.id for c in result.checks}
    assert {"server.broadcast", "client.shows_incoming", "e2e.chat"} <= ids


@pytest.mark.parametrize("name", CORRECT)
def test_independent_correct_servers_pass_every_check(name: str) -> None:
    result = grade(_present(name))
    assert _not_passed(result) == []
    graded = [c for c in result.checks if c.level in (Level.CORE, Level.EXTENSION)]
    assert graded and all(c.passed for c in graded if c.status is not Status.NOT_APPLICABLE)


@pytest.mark.parametrize("name", sorted(CAUGHT_BY))
def test_broken_submission_is_caught_by_its_check(name: str) -> None:
    folder = _present(name)
    result = grade(folder, only=CAUGHT_BY[name])
    by_id = {c.id: c for c in result.checks}
    for check_id in CAUGHT_BY[name]:
        got = by_id[check_id]
        assert got.status is Status.FAILED, f"{name}: {check_id} {got.status.value}"
        assert got.failure is not None and got.failure.message
        assert got.failure.kind.value != "grader_error", got.failure.actual
        assert got.hint
        if name in SAYS:
            assert SAYS[name] in got.failure.message, (check_id, got.failure.message)


def test_crash_on_reset_verdict_is_stable() -> None:
    """The traceback of a thread that dies on a reset is always seen: the check waits
    for the server's threads and output instead of looking right away."""
    folder = _present("broken_crash_on_reset")
    for _ in range(3):
        result = grade(folder, only="server.survives_reset")
        got = {c.id: c for c in result.checks}["server.survives_reset"]
        assert got.status is Status.FAILED and got.failure.kind.value == "crashed"


def test_client_faults_are_decided_without_waiting_out_deadlines() -> None:
    """A client that hangs after /quit fails once the protocol's second is over, and a
    client that prints a traceback fails as soon as it is on the screen."""
    hangs = grade(_present("broken_client_hangs_on_quit"), only="client.quit")
    quit_ = {c.id: c for c in hangs.checks}["client.quit"]
    assert quit_.status is Status.FAILED and quit_.failure.kind.value == "hung"
    assert "1 s after" in quit_.failure.message
    trace = grade(_present("broken_client_traceback"), only="client.server_reset")
    reset = {c.id: c for c in trace.checks}["client.server_reset"]
    assert reset.status is Status.FAILED and reset.failure.kind.value == "crashed"
    assert "ConnectionResetError" in (reset.failure.actual or "")  # its last line ...
    assert reset.program_output.count("Traceback (most recent call last)") == 1  # ... once
    assert not any("Traceback" in entry.text for entry in reset.transcript)
    assert reset.duration < _TIMING[0].hard


def test_busy_loop_skips_the_leak_check() -> None:
    """A spinning server is reported by server.no_busy_loop; server.no_leak, whose cycles
    it would slow to a crawl, depends on it and is skipped."""
    result = grade(_present("broken_busy_loop"), only="server.no_leak")
    status = {c.id: c.status for c in result.checks}
    assert status["server.no_busy_loop"] is Status.FAILED
    assert status["server.no_leak"] is Status.SKIPPED


def test_every_broken_submission_is_in_the_table() -> None:
    present = {p.name for p in SUBMISSIONS.glob("broken_*") if p.is_dir()}
    assert present <= set(CAUGHT_BY), f"add these to CAUGHT_BY: {present - set(CAUGHT_BY)}"


@pytest.mark.parametrize("name", ["broken_crash_at_start", "broken_never_listens"])
def test_dead_server_is_reported_fast_with_every_check(name: str) -> None:
    folder = _present(name)
    start = time.monotonic()
    result = grade(folder, only="server.*")
    assert time.monotonic() - start < 10
    starts = result.checks[0]
    assert starts.id == "server.starts" and starts.status is Status.FAILED
    assert starts.failure.kind.value in ("crashed", "hung")
    rest = result.checks[1:]
    assert len(rest) > 20
    assert all(c.status is Status.SKIPPED for c in rest)
    assert all(c.reason == "skipped: the server never accepted a connection"
               for c in rest if "server.starts" in c.id or c.id == "server.welcome")


def test_cli_exit_code_and_gradescope_file(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    ok = subprocess.run(
        [sys.executable, "-m", "grader", "check", str(REFERENCE), "--only", "server.prefix",
         "--format", "gradescope", "--output", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    data = json.loads(out.read_text())
    assert [t["name"].split(":")[0] for t in data["tests"]] == [
        "server.starts", "server.welcome", "server.broadcast", "server.prefix"]
    assert data["score"] == sum(t["max_score"] for t in data["tests"])
    bad = subprocess.run(
        [sys.executable, "-m", "grader", "check", str(_present("broken_no_prefix")),
         "--only", "server.prefix"],
        cwd=ROOT, capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert "✗ server.prefix" in bad.stdout and "Hint: Read notebooks/04_broadcast" in bad.stdout
    assert "Transcript" in bad.stdout


def test_notebook_check_renders_and_never_raises_on_failure(monkeypatch) -> None:
    monkeypatch.setenv("CHATLAB_SUBMISSION", str(_present("broken_no_prefix")))
    report = check("server.prefix")
    assert isinstance(report, CheckReport) and not report.passed
    assert "server.prefix" in str(report) and "server.prefix" in report._repr_html_()
    ok = check(1, folder=REFERENCE)
    assert ok.passed and "✓ server.starts" in repr(ok)


def test_another_course_chat_is_graded_through_its_profile() -> None:
    """A server in another style (``NICK`` token, ``nick:text``, echo to the sender, no
    announcements) graded with profiles/nick_token.toml: what the profile cannot
    express is not applicable, the rest is graded, and its blocking sendall() is caught."""
    folder = ROOT / "tests" / "grader_fixtures" / "nick_token"
    result = grade(folder, profile="nick_token", only=[
        "server.broadcast", "server.prefix", "server.no_echo", "server.leave_quit",
        "server.framing_split", "server.slow_reader", "client.sends_lines",
        "client.shows_incoming", "client.server_closes"])
    status = {c.id: c.status for c in result.checks}
    assert result.profile == "nick_token"
    by_id = {c.id: c for c in result.checks}
    for check_id in ("server.starts", "server.broadcast", "server.prefix",
                     "server.framing_split", "client.sends_lines", "client.shows_incoming"):
        assert status[check_id] is Status.PASSED, (check_id, by_id[check_id].failure)
    for check_id in ("server.welcome", "server.no_echo", "server.leave_quit",
                     "client.server_closes"):
        assert status[check_id] is Status.NOT_APPLICABLE, check_id
    assert status["server.slow_reader"] is Status.FAILED


FLOODING_CLIENT = """\
import argparse, socket, threading

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int)
parser.add_argument("--nick")
args = parser.parse_args()
sock = socket.create_connection((args.host, args.port))
sock.sendall((args.nick + "\\n").encode())

def receive():
    while True:  # the classic mistake: b"" is not taken as the end
        print(sock.recv(1024).decode().rstrip("\\n"), flush=True)

threading.Thread(target=receive, daemon=True).start()
while True:
    sock.sendall((input() + "\\n").encode())
"""


def test_a_client_printing_without_end_is_told_why(tmp_path: Path) -> None:
    """A client whose receive loop goes on after the server closed prints empty lines
    forever: the failure says so, instead of only "still running"."""
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "client.py").write_text(FLOODING_CLIENT)
    (folder / "server.py").write_text((REFERENCE / "server.py").read_text())
    result = grade(folder, only="client.server_closes")
    by_id = {c.id: c for c in result.checks}
    assert by_id["client.shows_incoming"].status is Status.PASSED, by_id["client.shows_incoming"]
    closes = by_id["client.server_closes"]
    assert closes.status is Status.FAILED
    assert "kept printing" in closes.failure.message, closes.failure
    assert "(an empty line)" in closes.failure.actual


def test_nothing_is_left_running(tmp_path: Path) -> None:
    """Every server and client the grader started is gone when grade() returns, also the
    spare servers it started ahead of time."""
    import shutil

    import psutil

    folder = tmp_path / "submission"
    shutil.copytree(REFERENCE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    grade(folder, only="server.prefix,server.no_echo,client.connects")
    left = []
    for proc in psutil.process_iter(["pid", "cwd", "cmdline"]):
        try:
            if proc.info["cwd"] and proc.info["cwd"].startswith(str(folder)):
                left.append(proc.info["cmdline"])
        except (psutil.Error, OSError):
            continue
    assert left == []
