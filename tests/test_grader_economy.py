"""What keeps a grading run cheap without touching a verdict: servers shared between
checks (and a fresh one whenever a check fails on a shared one), the package-free
interpreter that runs submissions, the kernel's queue lengths that let the framing
checks cut lines deterministically, and the scheduler's figures that spot a busy loop
without a reference spinner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from chatpeer import REFERENCE

from grader import registry
from grader.checks import all_checks
from grader.context import Context, Submission
from grader.harness import interpreter as runtime
from grader.harness import servers
from grader.model import Status
from grader.probes import cpu as cpudemand
from grader.probes import tcp_queue as tcpqueue
from grader.profile import Profile
from grader.runner import run_checks
from grader.timing import Timing

TIMING = Timing(1.0)
DEADLINE = 10.0


# -- sharing servers -------------------------------------------------------------------


def _specs(*funcs) -> list[registry.CheckSpec]:
    module = type(sys)("fake_checks")
    for func in funcs:
        setattr(module, func.__name__, func)
    return registry.collect([module])


@registry.check("server.starts", step=1)
def _starts(ctx: Context) -> None:
    """the server starts"""
    ctx.register("ana")


def _grade(*funcs, profile: Profile | None = None) -> dict[str, object]:
    specs = _specs(_starts, *funcs)
    results = run_checks(specs, Submission(REFERENCE), profile or Profile(), TIMING)
    return {r.id: r for r in results}


@pytest.fixture
def patient_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """A handed-back server waits as long as it takes for its room to empty (an event;
    the deadline only ends a wait for a room that never empties): on a loaded machine,
    the grader's half-second would make these tests about load, not about sharing."""
    monkeypatch.setattr(servers, "SETTLE", 30.0)


def _server_events(result) -> list[str]:
    return [e.action for e in result.transcript if e.actor == "grader"
            and e.action in ("started", "reused")]


def _chain(count: int, **options):
    """``count`` checks, each after the one before, each registering two clients."""
    funcs = []
    for i in range(count):
        depends = ["server.starts"] + ([f"t.chain{i - 1}"] if i else [])

        def chat(ctx: Context) -> None:
            """two clients chat"""
            ana, bob = ctx.room("ana", "bob")
            ctx.say(ana, "hello")
            ctx.expect_chat(bob, "ana", "hello")

        chat.__name__ = f"chain{i}"
        funcs.append(registry.check(f"t.chain{i}", step=4, depends=depends, **options)(chat))
    return funcs


def test_checks_that_pass_hand_their_server_to_the_next(no_process_left, patient_settle) -> None:
    results = _grade(*_chain(4))
    events = [_server_events(results[f"t.chain{i}"]) for i in range(4)]
    assert all(results[f"t.chain{i}"].status is Status.PASSED for i in range(4)), events
    # server.starts starts the server itself, then hands it on: one served all five.
    assert _server_events(results["server.starts"]) == ["started"]
    assert events == [["reused"]] * 4


def test_own_server_checks_never_share(no_process_left) -> None:
    results = _grade(*_chain(3, own_server=True))
    for i in range(3):
        assert _server_events(results[f"t.chain{i}"]) == ["started"]


def test_a_failure_on_a_shared_server_is_judged_again_on_a_fresh_one(
        no_process_left, patient_settle) -> None:
    attempts: list[bool] = []

    @registry.check("t.first", step=4, depends=["server.starts"])
    def first(ctx: Context) -> None:
        """passes"""
        ctx.room("ana", "bob")

    @registry.check("t.picky", step=4, depends=["t.first"])
    def picky(ctx: Context) -> None:
        """fails on any server that served another check"""
        ctx.register("cid")
        attempts.append(ctx.shared_server)
        assert not ctx.shared_server, "a trace of an earlier check"

    @registry.check("t.after", step=4, depends=["t.picky"])
    def after(ctx: Context) -> None:
        """runs after a failure on a shared server"""
        ctx.register("dan")

    results = _grade(first, picky, after)
    assert attempts == [True, False]
    assert results["t.picky"].status is Status.PASSED  # the fresh server's verdict
    assert _server_events(results["t.picky"]) == ["started"]
    # Once a check failed on a shared server, the run shares no more.
    assert _server_events(results["t.after"]) == ["started"]


def test_a_server_that_does_not_log_leaves_is_not_shared(no_process_left) -> None:
    """Nothing then says the room is empty: the next check gets a fresh server."""
    quiet = Profile(log_leave="")
    results = _grade(*_chain(2), profile=quiet)
    assert _server_events(results["t.chain1"]) == ["started"]


def test_a_failed_check_does_not_hand_its_server_on(no_process_left) -> None:
    @registry.check("t.fails", step=4, depends=["server.starts"])
    def fails(ctx: Context) -> None:
        """fails"""
        ctx.register("ana")
        raise AssertionError("broken on purpose")

    @registry.check("t.next", step=4, depends=["server.starts", "t.fails"])
    def next_one(ctx: Context) -> None:
        """never runs"""

    @registry.check("t.other", step=4, depends=["server.starts"])
    def other(ctx: Context) -> None:
        """runs after"""
        ctx.register("bob")

    results = _grade(fails, next_one, other)
    assert results["t.fails"].status is Status.FAILED
    assert results["t.next"].status is Status.SKIPPED
    assert results["t.other"].status is Status.PASSED


def test_grading_the_reference_shares_most_servers(no_process_left, patient_settle) -> None:
    specs = registry.select(all_checks(), "server.*")
    results = run_checks(specs, Submission(REFERENCE), Profile(), TIMING)
    assert all(r.status is not Status.FAILED for r in results), [
        (r.id, r.failure) for r in results if r.status is Status.FAILED]
    events = [event for r in results for event in _server_events(r)]
    assert events.count("reused") >= 10, events
    assert events.count("started") <= len(specs) // 2, events


# -- the submission's interpreter ------------------------------------------------------


def test_submissions_run_on_the_standard_library_alone(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CHATLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(runtime, "_cached", {})
    python = runtime.clean_python()
    assert python != sys.executable
    assert Path(python).is_relative_to(tmp_path / "cache")
    probe = ("import importlib.util as u, socket, threading; "
             "print(u.find_spec('psutil') is None, u.find_spec('pexpect') is None)")
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True,
                          timeout=DEADLINE, check=True)
    assert done.stdout.split() == ["True", "True"]  # the grader's packages are not there
    monkeypatch.setattr(runtime, "_cached", {})
    assert runtime.clean_python() == python  # made once, found again


@pytest.mark.skipif(os.name == "nt", reason="the environment's interpreter is a copy there")
def test_a_stale_environment_is_made_again(tmp_path, monkeypatch) -> None:
    """One whose interpreter link points nowhere (its base Python was removed)."""
    monkeypatch.setenv("CHATLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(runtime, "_cached", {})
    python = Path(runtime.clean_python())
    python.unlink()
    python.symlink_to(tmp_path / "no-such-python")
    monkeypatch.setattr(runtime, "_cached", {})
    again = runtime.clean_python()
    assert again == str(python)
    done = subprocess.run([again, "-c", "print(40 + 2)"], capture_output=True, text=True,
                          timeout=DEADLINE, check=True)
    assert done.stdout.strip() == "42"


def test_without_a_writable_cache_the_graders_interpreter_is_used(tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CHATLAB_CACHE", str(blocker / "cache"))
    monkeypatch.setattr(runtime, "_cached", {})
    assert runtime.clean_python() == sys.executable


# -- queue lengths and pieces ----------------------------------------------------------


@pytest.fixture(params=[("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)],
                ids=["ipv4", "ipv6"])
def connection(request):
    host, family = request.param
    try:
        listener = socket.socket(family)
        listener.bind((host, 0))
    except OSError:
        pytest.skip(f"no {host} here")
    listener.listen()
    client = socket.create_connection(listener.getsockname()[:2], timeout=DEADLINE)
    server, _ = listener.accept()
    yield client, server
    for sock in (client, server, listener):
        sock.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's sock_diag")
def test_unread_bytes_are_counted_until_the_other_end_reads(connection) -> None:
    client, server = connection
    assert tcpqueue.unread_by_other_end(client) == 0
    client.sendall(b"hello")
    assert tcpqueue.unread_by_other_end(client) == 5
    assert not tcpqueue.wait_read(client, time.monotonic() + 0.05, fallback=0.0)
    assert server.recv(100) == b"hello"
    assert tcpqueue.wait_read(client, time.monotonic() + DEADLINE, fallback=0.0)


def test_pieces_reach_the_other_end_one_recv_each(no_process_left) -> None:
    """However slowly the receiver reads, each recv() returns exactly one piece."""
    from grader.actors.fake_client import Peer
    from grader.actors.transcript import Transcript

    listener = socket.create_server(("127.0.0.1", 0))
    chunks: list[bytes] = []

    def slow_receiver() -> None:
        conn, _ = listener.accept()
        with conn:
            while chunk := conn.recv(1024):
                chunks.append(chunk)
                time.sleep(0.01)  # a slow reader: pieces sent blindly would pile up

    thread = threading.Thread(target=slow_receiver, daemon=True)
    thread.start()
    peer = Peer("ana", Transcript(), TIMING).connect(*listener.getsockname())
    pieces = [b"ol\xc3", b"\xa1 ", b"a", b"\xc3", b"\xa7\xc3\xa3o\n"]
    peer.send_pieces(pieces)
    peer.close()
    thread.join(DEADLINE)
    listener.close()
    if sys.platform.startswith("linux"):
        assert chunks == pieces
    else:  # paused between pieces instead: the same bytes, usually in the same pieces
        assert b"".join(chunks) == b"".join(pieces)


# -- busy loops ------------------------------------------------------------------------


@pytest.mark.skipif(cpudemand.snapshot([os.getpid()]) is None,
                    reason="the system reports no per-thread scheduler figures")
def test_a_spinning_thread_wants_the_whole_interval_an_idle_one_nothing() -> None:
    python = runtime.clean_python()
    spinner = subprocess.Popen([python, "-c", "while True: pass"])
    idler = subprocess.Popen([python, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        before = {p.pid: cpudemand.snapshot([p.pid]) for p in (spinner, idler)}
        start = time.monotonic()
        time.sleep(0.3)  # the interval the demand is measured over (no event to wait for)
        elapsed = time.monotonic() - start
        after = {p.pid: cpudemand.snapshot([p.pid]) for p in (spinner, idler)}
    finally:
        spinner.kill()
        idler.kill()
        spinner.wait()
        idler.wait()
    busy = cpudemand.demand(before[spinner.pid], after[spinner.pid])
    idle = cpudemand.demand(before[idler.pid], after[idler.pid])
    assert busy >= 0.5 * elapsed  # running or waiting to run: nearly all of it
    assert idle < 0.05
