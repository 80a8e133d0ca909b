"""Unit tests of the grader's parts that need no submission: declarations, selection,
the runner's ordering and error handling, profiles, rubrics and the renderers."""

from __future__ import annotations

import json
import shlex
import types
from pathlib import Path

import pytest

from grader import api, failures, registry
from grader.actors.transcript import MAX_ENTRIES, Transcript
from grader.checks import all_checks
from grader.cli import build_parser, main
from grader.context import Submission, render_command, without_nick
from grader.model import (
    CheckResult,
    Failure,
    FailureKind,
    Level,
    Status,
    SubmissionResult,
    TranscriptEntry,
)
from grader.profile import PROFILES_DIR, Profile, load_profile
from grader.render import render
from grader.render.gradescope import gradescope_results
from grader.render.notebook import render_html
from grader.render.text import render_text
from grader.rubric import DEFAULT_RUBRIC, load_rubric
from grader.runner import run_checks
from grader.timing import Timing, calibrate

TIMING = Timing(1.0)


# -- registry ------------------------------------------------------------------------


def _module(**funcs) -> types.ModuleType:
    module = types.ModuleType("fake_checks")
    for name, func in funcs.items():
        setattr(module, name, func)
    return module


def test_check_decorator_takes_title_from_docstring() -> None:
    @registry.check("demo.one", step=4, points=3, level="extension", depends=[], hint="h")
    def one(ctx):
        """the first line is the title

        More text is not part of it.
        """

    spec = registry.collect([_module(one=one)])[0]
    assert (spec.id, spec.title, spec.points, spec.level, spec.step, spec.hint) == (
        "demo.one", "the first line is the title", 3.0, Level.EXTENSION, 4, "h")


def test_check_without_docstring_is_refused() -> None:
    with pytest.raises(ValueError, match="docstring"):
        @registry.check("demo.none", step=1)
        def none(ctx):
            pass


def test_collect_rejects_duplicates_and_unknown_dependencies() -> None:
    @registry.check("demo.a", step=1)
    def a(ctx):
        """a"""

    @registry.check("demo.a", step=1)
    def a2(ctx):
        """a again"""

    @registry.check("demo.b", step=1, depends=["demo.nope"])
    def b(ctx):
        """b"""

    with pytest.raises(ValueError, match="duplicate"):
        registry.collect([_module(a=a, a2=a2)])
    with pytest.raises(ValueError, match="unknown check"):
        registry.collect([_module(b=b)])


def test_every_real_check_is_well_formed() -> None:
    specs = all_checks()
    assert len(specs) >= 35
    for spec in specs:
        assert spec.id.split(".")[0] in {"server", "client", "e2e", "unit"}
        assert 0 <= spec.step <= 7
        assert spec.title and not spec.title[0].isupper(), spec.id
        assert "notebooks/" in spec.hint and spec.hint.endswith("."), spec.id
        for feature in spec.needs:
            Profile().missing(feature)  # raises KeyError on an unknown feature


@pytest.mark.parametrize(
    ("only", "must", "must_not"),
    [
        ("server.broadcast", {"server.broadcast", "server.welcome", "server.starts"},
         {"server.no_echo"}),
        ("step:7", {"server.users", "server.broadcast"}, {"client.connects"}),
        (7, {"server.history"}, {"client.quit"}),
        ("extension", {"server.whisper"}, {"client.quit"}),
        ("client.*", {"client.quit", "client.connects"}, {"server.starts"}),
        ("no_echo", {"server.no_echo"}, {"client.quit"}),
    ],
)
def test_select_includes_dependencies(only, must, must_not) -> None:
    chosen = {s.id for s in registry.select(all_checks(), only)}
    assert must <= chosen
    assert not (must_not & chosen)


def test_select_unknown_token_is_an_error() -> None:
    with pytest.raises(ValueError, match="no check matches 'nope'"):
        registry.select(all_checks(), "nope")


# -- runner --------------------------------------------------------------------------


def _run(tmp_path: Path, *funcs, profile: Profile | None = None) -> dict[str, CheckResult]:
    specs = registry.collect([_module(**{f.__name__: f for f in funcs})])
    results = run_checks(specs, Submission(tmp_path), profile or Profile(), TIMING)
    return {r.id: r for r in results}


def test_runner_orders_by_dependency_and_skips_with_reason(tmp_path: Path) -> None:
    order: list[str] = []

    @registry.check("t.second", step=1, depends=["t.first"])
    def second(ctx):
        """second"""
        order.append("second")

    @registry.check("t.first", step=1)
    def first(ctx):
        """first"""
        order.append("first")
        raise failures.Mismatch("m", expected="a", actual="b")

    @registry.check("t.after_na", step=1, depends=["t.na"])
    def after_na(ctx):
        """runs although its dependency is not applicable"""

    @registry.check("t.na", step=1, needs=["users"])
    def na(ctx):
        """not applicable"""

    profile = Profile(users="")
    results = _run(tmp_path, second, first, after_na, na, profile=profile)
    assert order == ["first"]
    assert results["t.first"].failure.kind is FailureKind.MISMATCH
    assert results["t.second"].status is Status.SKIPPED
    assert "'first' (t.first) to pass first" in results["t.second"].reason
    assert results["t.na"].status is Status.NOT_APPLICABLE
    assert "commands.users is empty" in results["t.na"].reason
    assert results["t.after_na"].status is Status.PASSED


def test_runner_reports_grader_bugs_and_never_swallows_them(tmp_path: Path) -> None:
    @registry.check("t.bug", step=1)
    def bug(ctx):
        """a check with a bug"""
        return 1 / 0

    result = _run(tmp_path, bug)["t.bug"]
    assert result.status is Status.FAILED
    assert result.failure.kind is FailureKind.GRADER_ERROR
    assert "ZeroDivisionError" in result.failure.actual
    assert result.points == 0


def test_a_connection_the_server_ended_is_the_servers_doing_not_a_grader_bug(
        tmp_path: Path) -> None:
    from grader.actors.fake_client import Closed

    @registry.check("t.reset", step=1)
    def reset(ctx):
        """a connection reset in the middle of a scenario"""
        raise Closed("reset")

    result = _run(tmp_path, reset)["t.reset"]
    assert result.status is Status.FAILED
    assert result.failure.kind is FailureKind.MISSING
    assert result.failure.actual == "connection reset"
    assert "server reset a connection" in result.failure.message


def test_runner_maps_each_failure_to_its_kind(tmp_path: Path) -> None:
    kinds = {
        "missing": (failures.Missing("m", expected="x"), FailureKind.MISSING),
        "unexpected": (failures.Unexpected("m", actual="x"), FailureKind.UNEXPECTED),
        "hung": (failures.Hung("m"), FailureKind.HUNG),
        "slow": (failures.TooSlow("m"), FailureKind.TOO_SLOW),
        "crashed": (failures.Crashed("m"), FailureKind.CRASHED),
        "limit": (failures.ResourceLimit("m"), FailureKind.RESOURCE_LIMIT),
    }
    funcs = []
    for name, (error, _) in kinds.items():
        def func(ctx, error=error):
            raise error
        func.__doc__ = name
        func.__name__ = name
        funcs.append(registry.check(f"t.{name}", step=1)(func))
    results = _run(tmp_path, *funcs)
    for name, (_, kind) in kinds.items():
        assert results[f"t.{name}"].failure.kind is kind


@pytest.mark.parametrize("kind", [
    failures.Mismatch, failures.Missing, failures.Unexpected, failures.Hung,
    failures.TooSlow, failures.Crashed, failures.ResourceLimit,
])
def test_every_failure_kind_is_raised_the_same_way(kind) -> None:
    failure = kind("what happened", expected="e", actual="a").to_failure()
    assert (failure.message, failure.expected, failure.actual) == ("what happened", "e", "a")
    assert failure.kind is kind.kind
    with pytest.raises(TypeError):
        kind("what happened", "e")  # expected and actual are named, never positional


def test_passed_check_gets_its_points_and_a_duration(tmp_path: Path) -> None:
    @registry.check("t.ok", step=1, points=2.5)
    def ok(ctx):
        """fine"""
        ctx.transcript.note("hello")

    result = _run(tmp_path, ok)["t.ok"]
    assert (result.status, result.points, result.max_points) == (Status.PASSED, 2.5, 2.5)
    assert result.duration >= 0 and result.transcript[0].text == "hello"


# -- small pieces --------------------------------------------------------------------


def test_transcript_is_capped() -> None:
    t = Transcript()
    for i in range(MAX_ENTRIES + 10):
        t.add("ana", "sent", str(i))
    entries = t.entries()
    assert len(entries) == MAX_ENTRIES + 1
    assert entries[-1].text == "10 more events not shown"


def test_command_templates() -> None:
    argv = render_command("{python} server.py --port {port}", "/py", port=5, host="h")
    assert argv == ["/py", "server.py", "--port", "5"]
    stripped = without_nick("{python} c.py --port {port} --nick {nick}")
    assert shlex.split(stripped) == ["{python}", "c.py", "--port", "{port}"]


def test_calibration_has_a_floor() -> None:
    assert calibrate().scale >= 1.0
    assert Timing(2.0).hard == 2 * Timing(1.0).hard


# -- profiles ------------------------------------------------------------------------


def test_default_profile_file_matches_the_built_in_defaults() -> None:
    assert load_profile() == Profile(description=load_profile().description)


@pytest.mark.parametrize("path", sorted(PROFILES_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_example_profiles_load(path: Path) -> None:
    profile = load_profile(path)
    assert profile.name == path.stem
    assert load_profile(path.stem) == profile  # a bare name finds the file


def test_profile_features_say_why_they_are_missing() -> None:
    token = load_profile("nick_token")
    assert token.missing("joined") == (
        "profile 'nick_token': chat.joined is empty (joins are not announced)")
    assert token.missing("no_echo") and not token.missing("echo")
    assert Profile().missing("joined") is None
    assert token.chat_line("ana", "hi") == "ana:hi"


def test_profile_errors_name_the_key_and_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[chat]\nformat = "{nick}: {text}"\nechoo = true\n')
    with pytest.raises(ValueError, match=r"bad\.toml: unknown key 'echoo' in \[chat\]"):
        load_profile(bad)
    bad.write_text("[chat]\necho = 'yes'\n")
    with pytest.raises(ValueError, match="echo must be a bool"):
        load_profile(bad)


# -- rubric --------------------------------------------------------------------------


def test_default_rubric_loads_and_keeps_every_check() -> None:
    rubric = load_rubric(DEFAULT_RUBRIC, all_checks())
    assert [s.id for s in rubric.apply(all_checks())] == [s.id for s in all_checks()]


def test_rubric_points_levels_and_exclusions(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text(
        '[rubric]\nname = "mine"\nlevels = ["core"]\nexclude = ["client.*"]\n'
        '[points]\n"server.broadcast" = 10\n"server.*" = 1\n'
    )
    specs = load_rubric(path, all_checks()).apply(all_checks())
    by_id = {s.id: s for s in specs}
    assert by_id["server.broadcast"].points == 10
    assert by_id["server.prefix"].points == 1
    assert "server.users" not in by_id and "client.quit" not in by_id
    assert "e2e.chat" in by_id  # core; its client dependencies are kept to run first
    assert "client.sends_lines" in by_id


def test_rubric_typo_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text('[points]\n"server.brodcast" = 2\n')
    with pytest.raises(ValueError, match="'server.brodcast' matches no check"):
        load_rubric(path, all_checks())


# -- renderers -----------------------------------------------------------------------


def _result(failed: bool = True) -> SubmissionResult:
    ok = CheckResult("server.starts", "the server starts", Level.CORE, 1, Status.PASSED, 1, 1)
    bad = CheckResult(
        "server.no_replay", "a newcomer never receives old lines", Level.CORE, 4,
        Status.FAILED, 3, 0,
        failure=Failure(FailureKind.UNEXPECTED, "cid received a line sent before it joined.",
                        "'ana: after'", "ana: before"),
        hint="Read notebooks/04_broadcast.ipynb, section 'No replay'.",
        transcript=[TranscriptEntry(0.0, "ana", "sent", "before\\n"),
                    TranscriptEntry(0.012, "cid", "received", "ana: before")],
        program_output="listening on 127.0.0.1:5000\nTraceback (most recent call last):\n",
    )
    skipped = CheckResult("server.prefix", "prefix", Level.CORE, 4, Status.SKIPPED, 2,
                          reason="skipped: it needs 'x' (server.broadcast) to pass first")
    na = CheckResult("server.history", "history", Level.EXTENSION, 7, Status.NOT_APPLICABLE, 1,
                     reason="profile 'x': server.history_option is empty")
    checks = [ok, bad, skipped, na] if failed else [ok, na]
    return SubmissionResult("lab", checks, duration=1.5)


def test_text_on_success_is_a_compact_table() -> None:
    text = render_text(_result(failed=False))
    assert "✓ server.starts" in text and "Transcript" not in text
    assert text.strip().endswith("score 1/1 · 1 passed · 0 failed · 1.5 s")


def test_text_on_failure_shows_everything_a_student_needs() -> None:
    text = render_text(_result())
    for part in ("✗ server.no_replay", "What happened (unexpected)", "Expected: 'ana: after'",
                 "Actual:   'ana: before'", "0.012  cid  received ana: before",
                 "Traceback (most recent call last)", "Hint: Read notebooks/04_broadcast.ipynb",
                 "skipped: it needs"):
        assert part in text, part


def test_text_gives_the_reason_a_check_does_not_apply() -> None:
    lines = render_text(_result(failed=False)).splitlines()
    at = next(i for i, line in enumerate(lines) if "server.history" in line)
    assert "n/a" in lines[at]
    assert lines[at + 1].strip() == "profile 'x': server.history_option is empty"


def test_json_round_trips() -> None:
    result = _result()
    data = json.loads(render(result, "json"))
    assert SubmissionResult.from_dict(data) == result
    assert data["score"] == 1 and data["max_score"] == 6


def test_gradescope_results_follow_the_format() -> None:
    data = gradescope_results(_result())
    assert data["score"] == 1
    names = [t["name"] for t in data["tests"]]
    assert names[0].startswith("server.starts") and names[1].startswith("server.no_replay")
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] == "visible"
    bad = data["tests"][1]
    assert bad["status"] == "failed" and "cid received a line" in bad["output"]
    assert "Hint:" in bad["output"]
    assert data["tests"][3]["max_score"] == 0  # not applicable: no points at stake
    with pytest.raises(ValueError, match="visibility"):
        gradescope_results(_result(), visibility="secret")


def test_html_escapes_and_shows_failures() -> None:
    result = _result()
    result.checks[1].failure.actual = "<script>"
    html = render_html(result)
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "server.no_replay" in html and "<details" in html


# -- CLI and API misuse -----------------------------------------------------------------


def test_cli_has_subcommands_and_lists_checks(capsys) -> None:
    parser = build_parser()
    args = parser.parse_args(["check", "x", "--only", "core", "--format", "gradescope"])
    assert (args.folder, args.only, args.format) == ("x", "core", "gradescope")
    assert main(["list"]) == 0
    assert "server.broadcast" in capsys.readouterr().out


def test_cli_reports_misuse_with_exit_code_2(tmp_path: Path, capsys) -> None:
    assert main(["check", str(tmp_path / "missing")]) == 2
    assert "submission folder not found" in capsys.readouterr().err
    assert main(["check", str(tmp_path), "--only", "nope"]) == 2
    assert "no check matches 'nope'" in capsys.readouterr().err


def test_api_check_raises_only_on_misuse(tmp_path: Path) -> None:
    from grader.api import check

    with pytest.raises(ValueError):
        check("no.such.check", folder=tmp_path)


def test_api_check_all_runs_every_check(monkeypatch, tmp_path: Path) -> None:
    from grader import api

    asked = []
    monkeypatch.setattr(api, "grade", lambda folder, only=None: asked.append(only))
    api.check("all", folder=tmp_path)
    api.check(" ALL ", folder=tmp_path)
    assert asked == [None, None]


def test_reference_spinner_runs_in_its_own_session_and_is_stopped() -> None:
    import os

    import psutil

    from grader.probes.cpu import Spinner

    with Spinner() as spinner:
        pid = spinner._proc.pid
        assert psutil.Process(pid).is_running()
        assert os.getsid(pid) == pid  # own session: scheduled like the programs graded
        assert spinner.cpu() >= 0.0
    assert not psutil.pid_exists(pid)


def test_fake_clients_wait_for_a_prompt_before_the_nickname(tmp_path: Path) -> None:
    """Under a profile whose server prompts first (no newline), a fake client sends its
    nickname only after the prompt, and alone in its segment."""
    import socket
    import threading

    from grader.context import Context, Server

    profile = load_profile("portuguese_prompt")
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"Digite seu ")  # the prompt arrives in two pieces
            conn.sendall(b"apelido: ")
            received.append(conn.recv(100))
            conn.sendall(b"*** bem-vindo, ana!\n")
            conn.recv(100)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ctx = Context(Submission(tmp_path), profile, TIMING)
    try:
        ctx.register("ana", server=Server(None, listener.getsockname()[1]))
    finally:
        ctx.cleanup()
        listener.close()
    thread.join(5)
    assert received == [b"ana\n"]


# -- processes in the sandbox ----------------------------------------------------------


def test_program_output_stays_bounded_without_newlines() -> None:
    import time

    from grader.harness.programs import OUTPUT_CAP, Program

    program = Program(["true"], ".")
    for _ in range(64):  # 4 MiB in one line that never ends
        program._feed(b"x" * 65536)
    assert len(program._splitter.pending) <= OUTPUT_CAP
    program._feed(b"\nlistening on 127.0.0.1:5000\n")
    program._feed(b"")
    assert program.wait_line("listening on", time.monotonic())
    assert len(program.output()) <= OUTPUT_CAP
    assert program.line_count() == 2


def test_programs_are_limited_and_leave_no_grandchild(tmp_path: Path) -> None:
    """A server program runs under the limits, and stop() also ends a grandchild that
    left the process group with setsid()."""
    import os
    import sys
    import time

    import psutil

    from grader.harness.programs import LIMITS, Program

    code = (
        "import os, resource, sys, threading\n"
        "print('as', resource.getrlimit(resource.RLIMIT_AS)[0],"
        " 'token', bool(os.environ.get('CHATLAB_SANDBOX')), flush=True)\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        print('grandchild', os.getpid(), flush=True)\n"
        "        threading.Event().wait()\n"
        "    os._exit(0)\n"
        "threading.Event().wait()\n"
    )
    program = Program([sys.executable, "-c", code], tmp_path)
    program.start()
    try:
        found = program.wait_line(r"^grandchild (\d+)$", time.monotonic() + 10)
        assert found, program.output()
        grandchild = int(found.group(1))
        assert os.getpgid(grandchild) != os.getpgid(program.pid)
        assert f"as {LIMITS.memory} token True" in program.output()
    finally:
        program.stop(grace=0.2)
    assert program.survivors() == []
    assert not psutil.pid_exists(grandchild) or (
        psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE)
    assert program.limit_exceeded is None


def test_limits_are_worded_for_a_student() -> None:
    from grader.harness.programs import LIMITS, describe_limit
    from grader.harness.sandbox import MEMORY_LIMIT, THREAD_LIMIT

    text = describe_limit(THREAD_LIMIT, LIMITS, "server")
    assert text.startswith("The server was stopped because it ran more than 256 threads")
    assert "512 MiB of memory" in describe_limit(MEMORY_LIMIT, LIMITS, "client")


def test_the_step_map_names_every_notebook() -> None:
    from grader.steps import NOTEBOOKS, notebook

    root = Path(__file__).resolve().parent.parent
    on_disk = sorted(f"notebooks/{path.name}" for path in (root / "notebooks").glob("*.ipynb"))
    assert on_disk == [notebook(step) for step in sorted(NOTEBOOKS)]


def test_line_splitter_cuts_lines_wherever_the_chunks_fall() -> None:
    from grader.streams import LineSplitter

    data = b"ana: hi\r\nbob: h\xc3\xa9\n\nlast without end"
    for cut in range(1, len(data)):
        splitter = LineSplitter()
        lines = splitter.feed(data[:cut]) + splitter.feed(data[cut:])
        assert lines == [b"ana: hi\r", b"bob: h\xc3\xa9", b""]
        assert splitter.finish() == b"last without end" and splitter.finish() == b""


def test_line_splitter_keeps_only_the_end_of_an_endless_line() -> None:
    from grader.streams import LineSplitter

    splitter = LineSplitter(max_line=10)
    assert splitter.feed(b"x" * 1000) == []
    assert len(splitter.pending) == 10
    assert splitter.feed(b"y" * 20 + b"\nok\n") == [b"y" * 10, b"ok"]


def test_output_tail_keeps_the_last_bytes_and_counts_all() -> None:
    from grader.streams import OutputTail

    tail = OutputTail(8)
    for chunk in (b"abc", b"defgh", b"ijklmnopq", b"r"):
        tail.add(chunk)
    assert tail.text() == "kl" "mnopqr" and tail.total == 18


# -- tracebacks, shown once ------------------------------------------------------------

STUB_TRACE = """listening on 127.0.0.1:5000
Traceback (most recent call last):
  File "server.py", line 9, in <module>
    raise NotImplementedError("step 04: welcome (see notebooks/04_broadcast.ipynb)")
NotImplementedError: step 04: welcome (see notebooks/04_broadcast.ipynb)
"""


def test_an_unwritten_step_is_named_with_its_notebook() -> None:
    from grader import tracebacks

    assert tracebacks.unwritten_step(STUB_TRACE) == 4
    assert tracebacks.unwritten_step("NotImplementedError: step 42: no such step") is None
    assert tracebacks.unwritten_step("ValueError: step 04") is None
    reason = tracebacks.unwritten_reason(4)
    assert reason == "step 04 is not written yet — see notebooks/04_broadcast.ipynb"
    assert tracebacks.is_unwritten_reason(reason)


def test_a_traceback_in_the_output_is_not_repeated_in_actual_nor_the_transcript() -> None:
    from grader import tracebacks
    from grader.model import TranscriptEntry

    short = tracebacks.shorten_actual(STUB_TRACE, STUB_TRACE)
    assert short.startswith("NotImplementedError: step 04") and "File" not in short
    assert tracebacks.shorten_actual("'connection closed'", STUB_TRACE) == "'connection closed'"
    printed = [TranscriptEntry(0.1, "client", "printed", line)
               for line in STUB_TRACE.splitlines()]
    folded = tracebacks.fold_transcript(
        [TranscriptEntry(0.0, "server", "sent", "hi"), *printed,
         TranscriptEntry(0.2, "server", "closed", "")])
    assert [e.action for e in folded] == ["sent", "printed", "printed", "closed"]
    assert "NotImplementedError: step 04" in folded[2].text and "see the program output" in (
        folded[2].text)


def test_a_check_whose_stub_raised_is_skipped_naming_the_step() -> None:
    result = api.grade(Path(__file__).resolve().parent.parent / "lab",
                       only="server.welcome", timing=TIMING)
    welcome = {c.id: c for c in result.checks}["server.welcome"]
    assert welcome.status is Status.SKIPPED and welcome.failure is None
    assert welcome.reason.startswith("step 0") and "is not written yet — see notebooks/" in (
        welcome.reason)


def test_a_client_gets_its_name_from_an_option_or_from_the_servers_welcome() -> None:
    given = Profile(client_command="{python} client.py {port} {nick}")
    named_by_server = Profile(client_command="{python} client.py {port}",
                              assigned_name="user{n}", welcome="Welcome, you are {nick}")
    nameless = Profile(client_command="{python} client.py {port}", welcome="Welcome!")
    assert given.missing("client_name") is None
    assert named_by_server.missing("client_name") is None
    assert named_by_server.missing("nick_option") is not None
    assert "names nobody in its welcome" in nameless.missing("client_name")
