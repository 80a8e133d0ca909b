"""The rubric's [visibility] table: precedence, bad input, and what each report shows.

Pure tests: fake results, no submission runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from grader.batch.autograder import gradescope_dict
from grader.batch.gradescope_package import build_package
from grader.checks import all_checks
from grader.cli import build_parser, main
from grader.model import (
    CheckResult,
    Failure,
    FailureKind,
    Level,
    Status,
    SubmissionResult,
    TranscriptEntry,
)
from grader.render import render
from grader.render.gradescope import gradescope_results
from grader.render.notebook import render_html
from grader.render.student_view import NEEDS_WITHHELD, student_view, withheld_sentence
from grader.render.text import render_text
from grader.rubric import load_rubric
from grader.visibility import VISIBILITIES, Visibility, VisibilityRules, parse_visibility

SECRET_FAILURE = "the secret line reached bob twice"  # never in a student's report


def _rubric(tmp_path: Path, table: str) -> Path:
    path = tmp_path / "my_rubric.toml"
    path.write_text(f'[rubric]\nname = "test"\n\n[visibility]\n{table}\n', encoding="utf-8")
    return path


def _result() -> SubmissionResult:
    """Two visible checks, one hidden failure, one after the due date, one skipped
    because of the hidden one."""
    return SubmissionResult("lab", [
        CheckResult("server.starts", "the server starts", Level.CORE, 1, Status.PASSED, 1, 1),
        CheckResult("server.broadcast", "a chat line reaches every other client", Level.CORE,
                    4, Status.PASSED, 4, 4),
        CheckResult("server.history", "a newcomer gets the last lines", Level.EXTENSION, 7,
                    Status.FAILED, 2, 0,
                    failure=Failure(FailureKind.UNEXPECTED, SECRET_FAILURE, "once", "twice"),
                    transcript=[TranscriptEntry(0.0, "bob", "received", "secret line")],
                    hint="Read the history section."),
        CheckResult("server.users", "`/users` lists every nickname", Level.EXTENSION, 7,
                    Status.PASSED, 3, 3),
        CheckResult("server.history_off", "with --history 0 nothing is replayed",
                    Level.EXTENSION, 7, Status.SKIPPED, 1,
                    reason="skipped: it needs 'a newcomer gets the last lines'"
                           " (server.history) to pass first"),
    ], duration=1.0)


VIS = Visibility("visible", {"server.history": "hidden", "server.users": "after_due_date"})


# -- the table: precedence --------------------------------------------------------------


def test_the_most_specific_key_wins(tmp_path: Path) -> None:
    rubric = load_rubric(_rubric(tmp_path, '''
default = "after_published"
extension = "after_due_date"
"server.*" = "visible"
"server.history" = "hidden"
'''), all_checks())
    rules = rubric.visibility
    assert rules.of("server.history", Level.EXTENSION) == "hidden"  # id
    assert rules.of("server.users", Level.EXTENSION) == "visible"  # glob over level
    assert rules.of("client.utf8", Level.ROBUSTNESS) == "after_published"  # default
    assert rules.of("e2e.chat", Level.CORE) == "after_published"
    specs = {s.id: s for s in all_checks()}
    shown = rubric.visibility_for([specs["server.history"], specs["client.quit"]])
    assert shown.of("server.history") == "hidden" and shown.of("client.quit") == (
        "after_published")


def test_a_level_beats_the_default_and_loses_to_a_glob() -> None:
    rules = parse_visibility({"default": "hidden", "core": "visible",
                              "client.*": "after_due_date"}, "r.toml")
    assert rules.of("server.broadcast", Level.CORE) == "visible"
    assert rules.of("client.quit", Level.CORE) == "after_due_date"
    assert rules.of("server.users", Level.EXTENSION) == "hidden"


def test_of_two_globs_the_one_with_more_literal_characters_wins() -> None:
    rules = parse_visibility({"server.*": "visible", "server.history*": "hidden"}, "r.toml")
    assert rules.of("server.history_off", Level.EXTENSION) == "hidden"
    assert rules.of("server.users", Level.EXTENSION) == "visible"


def test_two_equally_specific_globs_that_disagree_are_an_error() -> None:
    # "*.history" has 8 literal characters, "server.*" and "*.histor?" 7: no tie
    rules = parse_visibility({"server.*": "visible", "*.history": "hidden",
                              "*.histor?": "after_due_date"}, "r.toml", all_checks())
    assert rules.of("server.history", Level.EXTENSION) == "hidden"
    with pytest.raises(ValueError, match=r"r\.toml: \[visibility\] 'server\.h\*' and"
                       r" '\*\.history' both match 'server\.history'"):
        parse_visibility({"server.h*": "visible", "*.history": "hidden"}, "r.toml",
                         all_checks())
    rules = parse_visibility({"server.h*": "visible", "*.history": "hidden"}, "r.toml")
    with pytest.raises(ValueError, match="name 'server.history' itself"):
        rules.of("server.history", Level.EXTENSION)  # without the checks: when asked


def test_equally_specific_globs_that_agree_are_fine() -> None:
    rules = parse_visibility({"server.h*": "hidden", "*.history": "hidden"}, "r.toml",
                             all_checks())
    assert rules.of("server.history", Level.EXTENSION) == "hidden"


def test_the_default_rubric_shows_everything() -> None:
    rubric = load_rubric(None, all_checks())
    shown = rubric.visibility_for(all_checks())
    assert all(shown.shown(s.id) for s in all_checks())


def test_a_rubric_without_the_table_shows_everything(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text('[points]\n"server.broadcast" = 5\n')
    assert load_rubric(path, all_checks()).visibility == VisibilityRules(source=str(path))


# -- the table: bad input ---------------------------------------------------------------


@pytest.mark.parametrize(("table", "message"), [
    ('"server.history" = "secret"',
     r"my_rubric\.toml: \[visibility\] 'server\.history' must be one of visible,"
     r" after_due_date, after_published, hidden, not 'secret'"),
    ('default = "Hidden"', r"'default' must be one of .* not 'Hidden'"),
    ('core = true', r"'core' must be one of .* not True"),
    ('"server.histroy" = "hidden"', r"my_rubric\.toml: \[visibility\] 'server\.histroy'"
     r" matches no check"),
    ('"sever.*" = "hidden"', r"'sever\.\*' matches no check"),
    ('server.history = "hidden"', r"'server' is a table, not a value: quote a check id"
     r" that has dots, e\.g\. \"server\.history\" = \"hidden\""),
])
def test_bad_visibility_is_refused_naming_the_key_and_the_file(
        tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_rubric(_rubric(tmp_path, table), all_checks())


def test_visibility_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text('visibility = "hidden"\n')
    with pytest.raises(ValueError, match=r"r\.toml: \[visibility\] must be a table"):
        load_rubric(path, all_checks())


def test_a_rubric_that_is_not_toml_is_named(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text('[visibility]\n"server.history" = hidden\n')
    with pytest.raises(ValueError, match=r"r\.toml: not valid TOML"):
        load_rubric(path, all_checks())


def test_a_resolved_visibility_refuses_unknown_values() -> None:
    with pytest.raises(ValueError, match="visibility must be one of"):
        Visibility("visible", {"server.history": "later"})
    assert set(VISIBILITIES) == {"visible", "after_due_date", "after_published", "hidden"}


def test_check_refuses_a_bad_rubric_before_grading(tmp_path: Path, capsys) -> None:
    rubric = _rubric(tmp_path, '"server.history" = "secret"')
    assert main(["check", str(tmp_path), "--rubric", str(rubric)]) == 2
    err = capsys.readouterr().err
    assert "my_rubric.toml" in err and "'server.history'" in err and "'secret'" in err


def test_the_gradescope_package_refuses_a_bad_rubric_and_writes_nothing(
        tmp_path: Path) -> None:
    out = tmp_path / "autograder.zip"
    with pytest.raises(ValueError, match=r"'server\.histroy' matches no check"):
        build_package(out, rubric=_rubric(tmp_path, '"server.histroy" = "hidden"'))
    assert not out.exists() and not list(tmp_path.glob(".autograder.zip*"))


def test_check_has_a_view_option() -> None:
    args = build_parser().parse_args(["check", "x", "--view", "student"])
    assert args.view == "student"
    assert build_parser().parse_args(["check", "x"]).view == "instructor"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["check", "x", "--view", "ta"])


# -- the student's view -----------------------------------------------------------------


def test_the_student_view_leaves_out_what_is_not_visible() -> None:
    shown, withheld = student_view(_result(), VIS)
    assert [c.id for c in shown.checks] == ["server.starts", "server.broadcast",
                                            "server.history_off"]
    assert withheld.counts == {"after_due_date": 1, "hidden": 1}
    assert (withheld.count, withheld.max_points, withheld.points) == (2, 5, 3)
    # the skipped check named the hidden one it waited for: no more
    assert shown.checks[2].reason == NEEDS_WITHHELD
    assert _result().checks[4].reason.endswith("(server.history) to pass first")  # untouched


def test_the_sentence_says_how_many_and_when() -> None:
    _, withheld = student_view(_result(), VIS)
    assert withheld_sentence(withheld) == (
        "2 more checks (5 points) count toward the grade but are not shown here:"
        " 1 shown after the due date, 1 hidden.")
    _, one = student_view(_result(), Visibility("visible", {"server.users": "after_published"}))
    assert withheld_sentence(one) == (
        "1 more check (3 points) counts toward the grade but is not shown here:"
        " 1 shown once grades are published.")


def _leaks(text: str) -> list[str]:
    return [s for s in ("server.history", "newcomer gets the last", SECRET_FAILURE,
                        "secret line", "server.users", "/users")
            if re.search(re.escape(s) + r"(?!_off)", text)]


@pytest.mark.parametrize("fmt", ["text", "html", "json"])
def test_a_students_report_hides_the_checks_and_says_they_exist(fmt: str) -> None:
    text = render(_result(), fmt, VIS, student=True)
    assert _leaks(text) == []
    assert "2 more checks (5 points) count toward the grade but are not shown here" in text
    assert "server.broadcast" in text and "server.history_off" in text


@pytest.mark.parametrize("fmt", ["text", "html", "json"])
def test_an_instructors_report_shows_everything(fmt: str) -> None:
    text = render(_result(), fmt, VIS)  # student=False: what `check` shows by default
    assert SECRET_FAILURE in text or fmt == "text" and "server.history" in text
    assert "not shown here" not in text
    assert "server.users" in text


def test_the_student_score_counts_only_what_is_shown() -> None:
    text = render_text(_result(), visibility=VIS)
    assert "score 5/6 · 2 passed · 0 failed · 1 skipped" in text
    data = json.loads(render(_result(), "json", VIS, student=True))
    assert (data["score"], data["max_score"]) == (5, 6)
    assert data["not_shown"] == {
        "count": 2, "max_points": 5, "by_visibility": {"after_due_date": 1, "hidden": 1},
        "message": withheld_sentence(student_view(_result(), VIS)[1])}
    assert SubmissionResult.from_dict(data).score == 5  # still a result to reload


def test_everything_visible_renders_as_before() -> None:
    everything = Visibility()
    assert render_text(_result(), visibility=everything) == render_text(_result())
    assert render_html(_result(), everything) == render_html(_result())
    assert render(_result(), "json", everything, student=True) == render(_result(), "json")


# -- Gradescope: each test labelled, the platform hides -------------------------------


def test_gradescope_labels_each_test_with_its_visibility() -> None:
    data = gradescope_results(_result(), Visibility("after_published", {
        "server.starts": "visible", "server.broadcast": "visible",
        "server.history": "hidden", "server.history_off": "visible"}))
    assert {t["name"].split(":")[0]: t["visibility"] for t in data["tests"]} == {
        "server.starts": "visible", "server.broadcast": "visible",
        "server.history": "hidden", "server.users": "after_published",
        "server.history_off": "visible"}
    assert data["visibility"] == "after_published"  # the default; each test overrides it
    assert data["score"] == 8  # hidden checks count
    hidden = next(t for t in data["tests"] if t["name"].startswith("server.history:"))
    assert SECRET_FAILURE in hidden["output"]  # instructors see it; Gradescope hides it
    off = next(t for t in data["tests"] if t["name"].startswith("server.history_off"))
    assert off["output"] == NEEDS_WITHHELD  # a visible test does not name a hidden one


def test_gradescopes_summary_gives_away_nothing_of_what_is_not_visible() -> None:
    output = gradescope_results(_result(), VIS)["output"]
    assert output.startswith("2 of 3 shown checks passed (5/6 points). 2 more checks")
    assert _leaks(output) == []


def test_gradescope_with_everything_visible_is_as_before() -> None:
    plain = gradescope_results(_result())
    assert plain == gradescope_results(_result(), Visibility())
    assert plain["output"].startswith("3 of 5 checks passed (8/11 points).")
    assert gradescope_dict(_result()) == plain


def test_the_autograder_passes_the_rubric_visibility(tmp_path: Path) -> None:
    rubric = load_rubric(_rubric(tmp_path, 'extension = "after_due_date"'), all_checks())
    data = gradescope_dict(_result(), rubric.visibility_for(_result().checks))
    assert [t["visibility"] for t in data["tests"]] == [
        "visible", "visible", "after_due_date", "after_due_date", "after_due_date"]
