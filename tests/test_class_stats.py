"""The class report's figures (grader.batch.class_stats), on hand-built results whose
answers are worked out by hand in the comments."""

from __future__ import annotations

import math

import pytest
from test_batch_fakes import verdict_result

from grader.batch import class_stats as cs
from grader.batch.gradebook import Gradebook
from grader.model import CheckResult, Level, Status, TranscriptEntry

# three checks: a (step 1, 1 point), b (step 2, 2 points), c (step 2, 3 points); max 6
ABC = [("a", 1, 1.0), ("b", 2, 2.0), ("c", 2, 3.0)]
FOUR = {"s1": "PPP", "s2": "PFS", "s3": "FPP", "s4": "PPF"}  # scores 6, 1, 5, 3


def four_students():
    return [verdict_result(s, v, checks=ABC, number=i) for i, (s, v) in enumerate(FOUR.items())]


def close(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, abs_tol=1e-9)


# -- describe, score statistics ----------------------------------------------------------


def test_describe_four_numbers() -> None:
    s = cs.describe([4, 1, 3, 2])
    # mean 2.5; population variance (2.25+.25+.25+2.25)/4 = 1.25; inclusive quartiles at
    # positions .75, 1.5, 2.25 of the sorted 1 2 3 4: 1.75, 2.5, 3.25
    assert (s.count, s.minimum, s.maximum) == (4, 1, 4)
    assert close(s.mean, 2.5) and close(s.stdev, math.sqrt(1.25))
    assert (s.q1, s.median, s.q3) == (1.75, 2.5, 3.25)


def test_describe_one_number_and_none() -> None:
    assert cs.describe([7.0]) == cs.Summary(1, 7.0, 0.0, 7.0, 7.0, 7.0, 7.0, 7.0)
    assert cs.describe([]) is None


def test_score_statistics_in_points_and_shares() -> None:
    stats = cs.score_statistics(four_students(), not_graded=2)
    p = stats.points
    # scores 1 3 5 6: mean 3.75; squared deviations 7.5625 .5625 1.5625 5.0625, sum 14.75
    assert close(p.mean, 3.75) and close(p.stdev, math.sqrt(14.75 / 4))
    # positions .75, 1.5, 2.25: 1 + .75 * 2 = 2.5; 4; 5 + .25 * 1 = 5.25
    assert (p.minimum, p.q1, p.median, p.q3, p.maximum) == (1, 2.5, 4, 5.25, 6)
    assert close(stats.shares.mean, 3.75 / 6) and close(stats.shares.q3, 5.25 / 6)
    assert stats.not_graded == 2


def test_everyone_not_graded_means_no_statistics() -> None:
    stats = cs.score_statistics([], not_graded=3)
    assert stats.points is None and stats.shares is None and stats.not_graded == 3


def test_a_student_with_no_points_available_has_share_zero() -> None:
    nothing = verdict_result("x", "NNN", checks=ABC)
    assert cs.share(nothing) == 0.0
    assert cs.score_statistics([nothing]).shares.mean == 0.0


def test_status_counts_keep_failed_and_skipped_apart() -> None:
    assert cs.status_counts(verdict_result("x", "FSN", checks=ABC)) == cs.StatusCounts(0, 1, 1, 1)
    assert cs.status_counts(verdict_result("x", "PMF", checks=ABC)) == cs.StatusCounts(1, 2, 0, 0)


def test_gradebook_columns_count_failed_skipped_and_not_applicable() -> None:
    results = [verdict_result(s, v, checks=ABC) for s, v in
               {"p": "PFS", "q": "FSN", "r": "MPN"}.items()]
    cols = {c.id: c for c in Gradebook.build(results).columns}
    assert (cols["a"].passed, cols["a"].failed, cols["a"].skipped) == (1, 2, 0)
    assert (cols["b"].passed, cols["b"].failed, cols["b"].skipped) == (1, 1, 1)
    assert (cols["c"].graded, cols["c"].skipped, cols["c"].not_applicable) == (1, 1, 2)


# -- per step ----------------------------------------------------------------------------


def test_step_rollup() -> None:
    one, two = cs.step_rollup(four_students())
    # step 1 (a): s3 failed it; shares 1 1 0 1
    assert (one.step, one.checks, one.students, one.all_passed) == (1, ["a"], 4, 3)
    assert close(one.mean_share, 0.75) and one.max_points == 1.0
    assert one.notebook == "notebooks/01_sockets.ipynb"
    # step 2 (b, c; 5 points): all passed s1, s3; shares 5/5, 0/5 (c skipped), 5/5, 2/5
    assert (two.checks, two.students, two.all_passed, two.max_points) == (["b", "c"], 4, 2, 5)
    assert close(two.mean_share, 2.4 / 4)


def test_step_rollup_leaves_out_what_does_not_apply() -> None:
    results = [verdict_result("n", "NPN", checks=ABC), verdict_result("f", "FFF", checks=ABC)]
    one, two = cs.step_rollup(results)
    assert (one.students, one.all_passed, one.mean_share) == (1, 0, 0.0)  # only f had a
    # n: only b applies (2 of 2 points, all passed); f: 0 of 5
    assert (two.students, two.all_passed) == (2, 1) and close(two.mean_share, 0.5)


def test_step_rollup_with_an_unknown_step_and_no_points() -> None:
    free = [("z", 42, 0.0)]
    (roll,) = cs.step_rollup([verdict_result("x", "P", checks=free)])
    assert roll.notebook is None and roll.all_passed == 1 and roll.mean_share is None
    assert cs.step_rollup([]) == []


# -- message normalisation and clusters --------------------------------------------------


@pytest.mark.parametrize(("message", "nicks", "pattern"), [
    ("The server printed port 41235, but nothing accepts connections there.", (),
     "The server printed port <n>, but nothing accepts connections there."),
    ("ana waited for the server's greeting 'NICK'.", ("ana",),
     "<nick> waited for the server's greeting <value>."),
    ("The server closed bob's connection after dan's reset.", ("bob", "dan"),
     "The server closed <nick>'s connection after <nick>'s reset."),
    ("anabel and ana", ("ana", "anabel"), "<nick> and <nick>"),
    ("axb met a.b", ("a.b",), "axb met <nick>"),  # a nickname is no pattern
    ('got "it\'s" and b\'\\x00\' from 127.0.0.1:5000 in 2.50 s', (),
     "got <value> and <value> from <n>:<n> in <n> s"),
    ("user17 never got `*** welcome user17`", ("user17",), "<nick> never got <value>"),
    ("  spaced\n out ", (), "spaced out"),
    ("", (), ""),
])
def test_normalise_message(message: str, nicks: tuple[str, ...], pattern: str) -> None:
    assert cs.normalise_message(message, nicks) == pattern


def test_nicknames_are_the_peers_and_the_names_a_server_gave() -> None:
    check = CheckResult("x", "x", Level.CORE, 1, Status.FAILED, 1.0, transcript=[
        TranscriptEntry(0, "ana", "connected", "127.0.0.1:1"),
        TranscriptEntry(0, "server", "printed", "ana joined"),
        TranscriptEntry(0, "grader", "note", "hello"),
        TranscriptEntry(0, "client", "typed", "hi"),
        TranscriptEntry(0, "ana", "note", "the server calls it user7"),
    ])
    assert cs.nicknames(check) == {"ana", "user7"}


def test_failures_cluster_across_nicknames_numbers_and_quotes() -> None:
    results = [verdict_result("zoe", "FMP", checks=ABC, nick="ana", number=1),
               verdict_result("amy", "FMP", checks=ABC, nick="bob", number=7),
               verdict_result("kim", "FPS", checks=ABC, nick="cid", number=30),
               verdict_result("lee", "PPP", checks=ABC)]
    clusters = cs.failure_clusters(results)
    assert [(k.check, k.kind, k.count) for k in clusters] == [
        ("a", "hung", 3), ("b", "mismatch", 2)]
    hung, mismatch = clusters
    assert hung.students == ["amy", "kim", "zoe"]
    assert hung.pattern == "<nick> got nothing within <n> s after <nick>'s reset on port <n>."
    assert hung.example == "bob got nothing within 9 s after bob's reset on port 40007."
    assert mismatch.pattern == "<nick> received <value> instead of <value>."


def test_a_nickname_missing_from_one_transcript_is_known_from_the_others() -> None:
    lost = verdict_result("p", "FPP", checks=ABC, nick="dan", number=1)
    lost.checks[0].transcript = []  # dan never connected: not in this transcript
    seen = verdict_result("q", "PFP", checks=ABC, nick="dan", number=2)
    clusters = {k.check: k for k in cs.failure_clusters([lost, seen])}
    assert clusters["a"].pattern == clusters["b"].pattern
    assert "dan" not in clusters["a"].pattern


def test_different_kinds_or_checks_are_different_clusters() -> None:
    results = [verdict_result("p", "FPP", checks=ABC), verdict_result("q", "MPP", checks=ABC),
               verdict_result("r", "PFP", checks=ABC)]
    assert {(k.check, k.kind) for k in cs.failure_clusters(results)} == {
        ("a", "hung"), ("a", "mismatch"), ("b", "hung")}


def test_a_failed_check_without_a_failure_record_still_counts() -> None:
    result = verdict_result("p", "PPP", checks=ABC)
    result.checks[0].status = Status.FAILED  # as an old or hand-made result may be
    (cluster,) = cs.failure_clusters([result])
    assert (cluster.kind, cluster.pattern, cluster.students) == ("unknown", "", ["p"])


# -- discrimination ----------------------------------------------------------------------


def test_point_biserial_worked_by_hand() -> None:
    items = {d.check: d for d in cs.discrimination(four_students(), min_students=4)}
    # a: passes 1 1 0 1 against rest shares (score - a)/(6 - 1) = 1, 0, 1, .4:
    # deviations .25 .25 -.75 .25 and .4 -.6 .4 -.2; sum of products -.4;
    # sums of squares .75 and .72: r = -.4 / sqrt(.54)
    assert close(items["a"].r, -0.4 / math.sqrt(0.54)) and items["a"].flagged
    # b: passes 1 0 1 1, rest (score - b)/4 = 1, .25, .75, .25: r = .3125 / .5625 = 5/9
    assert close(items["b"].r, 5 / 9) and not items["b"].flagged
    # c: s2 skipped it (left out); passes 1 1 0, rest (score - c)/3 = 1, 2/3, 1: r = -1/2
    assert (items["c"].students, items["c"].passed) == (3, 2)
    assert close(items["c"].r, -0.5) and not items["c"].flagged  # 3 < min_students


def test_discrimination_needs_enough_students_to_flag() -> None:
    items = {d.check: d for d in cs.discrimination(four_students())}  # default: 10
    assert items["a"].r < 0 and not items["a"].flagged


def test_discrimination_threshold_is_strict_and_settable() -> None:
    items = {d.check: d for d in cs.discrimination(four_students(), min_students=1,
                                                   flag_below=5 / 9)}
    assert not items["b"].flagged  # r == 5/9 is not below 5/9
    items = {d.check: d for d in cs.discrimination(four_students(), min_students=1,
                                                   flag_below=0.6)}
    assert items["b"].flagged


@pytest.mark.parametrize(("verdicts", "why"), [
    ({"x": "PPP"}, cs.ONE_STUDENT),  # one student
    ({"x": "PPP", "y": "PPF"}, cs.ALL_PASSED),
    ({"x": "FPP", "y": "FPF"}, cs.ALL_FAILED),
    ({"x": "SPP", "y": "SPF"}, cs.NO_STUDENTS),  # everyone skips it
    ({"x": "NPP", "y": "NPF"}, cs.NO_STUDENTS),  # it applies to nobody
    ({"x": "PPF", "y": "FPF"}, cs.FLAT_REST),  # b and c the same for both
])
def test_undefined_discrimination_says_why(verdicts: dict[str, str], why: str) -> None:
    results = [verdict_result(s, v, checks=ABC) for s, v in verdicts.items()]
    a = cs.discrimination(results, min_students=1)[0]
    assert a.check == "a" and a.r is None and a.why == why and not a.flagged


def test_discrimination_leaves_out_students_with_no_other_points() -> None:
    results = [verdict_result("x", "PNN", checks=ABC), verdict_result("y", "FNN", checks=ABC)]
    a = cs.discrimination(results)[0]
    assert (a.students, a.r, a.why) == (0, None, cs.NO_STUDENTS)


def test_discrimination_of_nobody() -> None:
    assert cs.discrimination([]) == []
    assert cs.point_biserial([], []) is None


# -- grading time ------------------------------------------------------------------------


def test_grading_times_slowest_first() -> None:
    results = [verdict_result("b", "PFP", checks=ABC, duration=10.5),
               verdict_result("a", "PPP", checks=ABC, duration=10.5),
               verdict_result("c", "PPP", checks=ABC, duration=3.0),
               verdict_result("old", "PPP", checks=ABC, duration=0.0)]
    times = cs.grading_times(results)
    assert [t.student for t in times.slowest_first] == ["a", "b", "c"]
    assert times.unrecorded == ["old"]
    assert times.total == 24.0 and close(times.summary.mean, 8.0)
    assert (times.summary.median, times.summary.maximum) == (10.5, 10.5)
    b = times.slowest_first[1]
    assert (b.slowest_check, b.slowest_check_seconds) == ("b", 5.25)  # its failed check
    a = times.slowest_first[0]
    assert a.slowest_check == "a"  # all equal: the first


def test_grading_times_without_check_durations_or_results() -> None:
    result = verdict_result("x", "P", checks=[("a", 1, 1.0)], duration=2.0)
    result.checks[0].duration = 0.0
    (t,) = cs.grading_times([result]).slowest_first
    assert (t.slowest_check, t.slowest_check_seconds) == ("", 0.0)
    empty = cs.grading_times([])
    assert empty.summary is None and empty.slowest_first == [] and empty.total == 0

