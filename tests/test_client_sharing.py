"""Client programs handed from one client check to the next: a check that passed
leaves its client, welcomed and waiting for input, to the next one; a failure on a
handed-over client is judged again on a fresh one; a client that exited, left data
unread or was typed into goes only where that cannot change a verdict."""

from __future__ import annotations

import select
import sys
import time
from dataclasses import replace
from pathlib import Path

from chatpeer import REFERENCE

from grader import registry
from grader.checks import all_checks
from grader.checks.client import connect_client
from grader.context import Context, Submission
from grader.model import Status
from grader.profile import Profile
from grader.runner import run_checks
from grader.timing import Timing

TIMING = Timing(1.0)
SUBMISSIONS = Path(__file__).resolve().parent / "submissions"


def _grade(*funcs) -> dict[str, object]:
    module = type(sys)("fake_client_checks")
    for func in funcs:
        setattr(module, func.__name__, func)
    results = run_checks(registry.collect([module]), Submission(REFERENCE), Profile(), TIMING)
    return {r.id: r for r in results}


def _client_events(result) -> list[str]:
    """"started" for each client program the check started, "reused" for one it got."""
    return [e.action for e in result.transcript
            if (e.actor == "client" and e.action == "started")
            or (e.actor == "grader" and e.action == "reused" and "client.py" in e.text)]


def _command(result) -> str:
    """The command line of the client the check started or got."""
    return next(e.text for e in result.transcript
                if e.action in ("started", "reused") and "client.py" in e.text)


def _shows(ctx: Context, text: str) -> None:
    client, conn = connect_client(ctx)
    conn.send_line(text)
    client.expect_screen(text)


def test_client_checks_that_pass_hand_their_client_to_the_next(no_process_left) -> None:
    screens: list[str] = []

    @registry.check("t.first", step=5)
    def first(ctx: Context) -> None:
        """shows a line"""
        _shows(ctx, "zoe: first")

    @registry.check("t.second", step=5, depends=["t.first"])
    def second(ctx: Context) -> None:
        """shows a line, on a screen that starts empty"""
        client, conn = connect_client(ctx)
        screens.append(client.screen)
        conn.send_line("zoe: second")
        client.expect_screen("zoe: second")

    @registry.check("t.third", step=5, depends=["t.second"])
    def third(ctx: Context) -> None:
        """shows a line"""
        _shows(ctx, "zoe: third")

    results = _grade(first, second, third)
    assert all(r.status is Status.PASSED for r in results.values()), results
    assert _client_events(results["t.first"]) == ["started"]
    assert _client_events(results["t.second"]) == ["reused"]
    assert _client_events(results["t.third"]) == ["reused"]
    assert _command(results["t.first"]) in _command(results["t.third"])
    assert screens == [""]  # what it showed for t.first is not t.second's to see


def test_a_failure_on_a_shared_client_is_judged_again_on_a_fresh_one(no_process_left) -> None:
    attempts: list[bool] = []

    @registry.check("t.first", step=5)
    def first(ctx: Context) -> None:
        """passes"""
        connect_client(ctx)

    @registry.check("t.picky", step=5, depends=["t.first"])
    def picky(ctx: Context) -> None:
        """fails on any client that served another check"""
        connect_client(ctx)
        attempts.append(ctx.shared_client)
        assert not ctx.shared_client, "a trace of an earlier check"

    @registry.check("t.after", step=5, depends=["t.picky"])
    def after(ctx: Context) -> None:
        """runs after a failure on a shared client"""
        connect_client(ctx)

    results = _grade(first, picky, after)
    assert attempts == [True, False]
    assert results["t.picky"].status is Status.PASSED  # the fresh client's verdict
    assert _client_events(results["t.picky"]) == ["started"]
    # Once a check failed on a shared client, the run shares no more.
    assert _client_events(results["t.after"]) == ["started"]


def test_a_client_typed_into_goes_only_to_a_check_that_types_first(no_process_left) -> None:
    @registry.check("t.types", step=5)
    def types(ctx: Context) -> None:
        """the user types a line"""
        client, conn = connect_client(ctx)
        client.type_line("hello")
        conn.expect_line("hello")

    @registry.check("t.looks", step=5, depends=["t.types"])
    def looks(ctx: Context) -> None:
        """looks at a client the user typed nothing into"""
        _shows(ctx, "zoe: are you there?")

    @registry.check("t.types_first", step=5, depends=["t.looks"])
    def types_first(ctx: Context) -> None:
        """types before it looks at anything"""
        client, conn = connect_client(ctx, typed=True)
        client.type_line("again")
        conn.expect_line("again")

    results = _grade(types, looks, types_first)
    assert all(r.status is Status.PASSED for r in results.values()), results
    assert _client_events(results["t.looks"]) == ["started"]
    assert _client_events(results["t.types_first"]) == ["reused"]
    # Of the two clients held, it got the one typed into: the other can serve anyone.
    assert _command(results["t.types"]) in _command(results["t.types_first"])


def test_a_client_that_left_data_unread_is_not_handed_on(no_process_left) -> None:
    @registry.check("t.unread", step=5)
    def unread(ctx: Context) -> None:
        """passes with a line from the client not read"""
        client, conn = connect_client(ctx)
        client.type_line("nobody reads this")
        assert conn.sock is not None
        assert select.select([conn.sock], [], [], 5.0)[0], "the line never arrived"

    @registry.check("t.next", step=5, depends=["t.unread"])
    def next_one(ctx: Context) -> None:
        """gets a fresh client"""
        connect_client(ctx, typed=True)

    results = _grade(unread, next_one)
    assert results["t.next"].status is Status.PASSED
    assert _client_events(results["t.next"]) == ["started"]


def test_a_client_that_exited_is_not_handed_on(no_process_left) -> None:
    @registry.check("t.quits", step=5)
    def quits(ctx: Context) -> None:
        """the user quits"""
        client, conn = connect_client(ctx)
        client.type_line("/quit")
        deadline = time.monotonic() + 5.0
        while client.child.isalive() and time.monotonic() < deadline:
            client.read_rest(0.05, time.monotonic() + 0.1)
        assert not client.child.isalive()

    @registry.check("t.next", step=5, depends=["t.quits"])
    def next_one(ctx: Context) -> None:
        """gets a fresh client"""
        connect_client(ctx, typed=True)

    results = _grade(quits, next_one)
    assert results["t.quits"].status is Status.PASSED, results["t.quits"].failure
    assert _client_events(results["t.next"]) == ["started"]


def test_a_failed_check_does_not_hand_its_client_on(no_process_left) -> None:
    @registry.check("t.fails", step=5)
    def fails(ctx: Context) -> None:
        """fails with its client still running"""
        connect_client(ctx)
        raise AssertionError("broken on purpose")

    @registry.check("t.other", step=5)
    def other(ctx: Context) -> None:
        """runs after it"""
        connect_client(ctx)

    @registry.check("t.last", step=5, depends=["t.fails", "t.other"])
    def last(ctx: Context) -> None:
        """never runs: t.fails failed"""

    results = _grade(fails, other, last)
    assert results["t.fails"].status is Status.FAILED
    assert _client_events(results["t.other"]) == ["started"]


def test_a_client_that_receives_only_once_typed_into_fails_where_it_would_fresh(
        no_process_left) -> None:
    """The attack on handing clients on: a client that starts its receiving thread at
    the first typed line shows nothing while the user types nothing, as a fresh one
    does, even when the check runs right after one that typed into a client."""
    specs = {s.id: s for s in all_checks()}
    chain = [specs["client.connects"],
             specs["client.sends_lines"],
             replace(specs["client.shows_incoming"], depends=("client.sends_lines",))]
    folder = SUBMISSIONS / "broken_client_thread_after_first_line"
    results = {r.id: r for r in run_checks(chain, Submission(folder), Profile(), TIMING)}
    assert results["client.sends_lines"].status is Status.PASSED
    assert results["client.shows_incoming"].status is Status.FAILED
    # The client sends_lines typed into was not handed to it: it started its own.
    assert _client_events(results["client.shows_incoming"]) == ["started"]
