"""Grading some students again (``--student``, ``--not-graded``) into an earlier batch's
folder: with the fake grader, then once end to end with the real one and a roster."""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import zipfile
from pathlib import Path

import pytest
from test_batch_fakes import LOG_ENV, fake_grade, graded_log, write_student

from grader.batch import add_batch_parser
from grader.batch.commands import EXIT_SOME_FAILED, EXIT_USAGE
from grader.batch.exports import ExportPlan
from grader.batch.outputs import write_outputs
from grader.batch.parallel import BatchError, run_batch
from grader.batch.store import ResultStore

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference_solution"
BROKEN_ECHO = ROOT / "tests" / "submissions" / "broken_echo"


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "graded.log"
    monkeypatch.setenv(LOG_ENV, str(path))
    return path


def batch(subs: Path, out: Path, **kwargs):  # noqa: ANN003
    return run_batch(subs, out, grade=fake_grade, stream=io.StringIO(), tty=False, jobs=2,
                     **kwargs)


def texts(out: Path) -> dict[str, str]:
    return {p.stem: p.read_text() for p in sorted((out / "results").glob("*.json"))}


def a_graded_class(tmp_path: Path, log: Path) -> tuple[Path, Path]:
    """ana, bob (broken no_echo) and carol graded; dave's grading crashed."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    write_student(subs, "ana")
    write_student(subs, "bob", "BREAK server.no_echo")
    write_student(subs, "carol")
    write_student(subs, "dave", "CRASH")
    batch(subs, out)
    log.unlink()
    return subs, out


def test_student_regrades_only_them_and_keeps_the_others(tmp_path: Path, log: Path) -> None:
    subs, out = a_graded_class(tmp_path, log)
    before = texts(out)
    (subs / "bob" / "server.py").write_text("fixed\n")  # bob fixed his no_echo
    summary = batch(subs, out, students=["bob"])
    assert graded_log(log) == ["bob"] and summary.todo == ["bob"]
    after = texts(out)
    assert after["bob"] != before["bob"]
    assert {k: v for k, v in after.items() if k != "bob"} == {
        k: v for k, v in before.items() if k != "bob"}  # kept byte for byte
    # the gradebook is the union: the others' stored grades, bob's new one
    assert {s: r.score for s, r in summary.results.items()} == {
        "ana": 7.5, "bob": 7.5, "carol": 7.5}
    assert "fake grader bug" in summary.not_graded["dave"]  # not retried: not selected
    assert "fake grader bug" in ResultStore(out).load_error("dave")
    stale = out / "exports" / "moodle.csv"  # from a run that exported to Moodle too
    stale.parent.mkdir()
    stale.write_text("ID number,Chat lab\r\nS002,5.5\r\n")
    outputs = write_outputs(summary, out, None, ExportPlan(["csv"]))
    assert not stale.exists()  # never left behind with bob's old grade
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert {s: r["score"] for s, r in rows.items()} == {"ana": "7.5", "bob": "7.5",
                                                        "carol": "7.5"}
    plain = {r["folder"]: r for r in csv.DictReader(open(outputs.exports[0], newline=""))}
    assert (plain["dave"]["status"], plain["dave"]["score"]) == ("not graded", "")


def test_not_graded_retries_only_those_recorded_as_not_graded(tmp_path: Path, log: Path) -> None:
    subs, out = a_graded_class(tmp_path, log)
    write_student(subs, "erin")  # a new submission: never tried, so not "not graded"
    (subs / "dave" / "server.py").write_text("ok\n")
    summary = batch(subs, out, not_graded=True)
    assert graded_log(log) == ["dave"]
    assert summary.results["dave"].score == 7.5 and summary.not_graded == {
        "erin": "not graded yet"}
    assert ResultStore(out).load_error("dave") is None
    assert not ResultStore(out).error_path("erin").exists()  # left as it was
    log.unlink()
    assert batch(subs, out, not_graded=True).todo == [] and graded_log(log) == []


def test_others_stored_results_are_verified_not_trusted(tmp_path: Path, log: Path) -> None:
    subs, out = a_graded_class(tmp_path, log)
    store = ResultStore(out)
    carol = store.result_path("carol")
    raised = carol.read_text().replace('"points": 3.0', '"points": 30.0')  # 7.5 -> 34.5
    assert raised != carol.read_text()
    carol.write_text(raised)
    store.result_path("ana").write_text(store.result_path("bob").read_text())  # bob's seal
    forged = {"ana": store.result_path("ana").read_text(), "carol": carol.read_text()}
    summary = batch(subs, out, students=["bob"])
    assert graded_log(log) == ["bob"]
    assert sorted(summary.results) == ["bob"]
    assert summary.not_graded["ana"] == summary.not_graded["carol"] == (
        "the stored result does not verify (changed after the grader wrote it)")
    assert any("carol: the stored result does not verify" in e and "--student carol" in e
               for e in summary.events)
    assert {s: store.result_path(s).read_text() for s in forged} == forged  # not touched
    log.unlink()
    summary = batch(subs, out, not_graded=True)  # those now count as not graded
    assert sorted(graded_log(log)) == ["ana", "carol", "dave"]
    assert sorted(summary.results) == ["ana", "bob", "carol"]


def test_bad_selections_are_refused_and_lose_nothing(tmp_path: Path, log: Path) -> None:
    subs, out = a_graded_class(tmp_path, log)
    before = texts(out)
    with pytest.raises(BatchError, match="unknown student.*: nobody, zed; no submission"):
        batch(subs, out, students=["bob", "zed", "nobody"])
    with pytest.raises(BatchError, match="--regrade all of them; pass one of the two"):
        batch(subs, out, students=["bob"], regrade=True)
    with pytest.raises(BatchError, match="holds none .no batch.json.; grade the class first"):
        batch(subs, tmp_path / "new", students=["bob"])
    with pytest.raises(BatchError, match="holds none"):
        batch(subs, tmp_path / "new", not_graded=True)
    assert not (tmp_path / "new" / "results").exists()
    key = out / ".key"
    key.chmod(0o644)  # readable by others: the seals cannot be trusted any more
    with pytest.raises(BatchError, match=r"\.key is missing or readable by others"):
        batch(subs, out, students=["bob"])
    key.unlink()
    with pytest.raises(BatchError, match=r"\.key is missing"):
        batch(subs, out, not_graded=True)
    assert not key.exists()  # no new key: that would make every stored result "forged"
    assert graded_log(log) == [] and texts(out) == before


# -- end to end: the command, the real grader, a roster, the exports ---------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chatlab-grader")
    add_batch_parser(p.add_subparsers(dest="command", required=True))
    return p


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    args = parser().parse_args(["batch", *argv])
    code = args.func(args)
    return code, capsys.readouterr().err


def read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_cli_options_parse_and_bad_ones_are_refused(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["batch", "subs", "--student", "a,b", "--student", "c",
                                "--export", "moodle", "--export", "csv,canvas",
                                "--roster", "r.csv", "--assignment", "Lab"])
    assert (args.student, args.export, args.roster, args.assignment) == (
        ["a,b", "c"], ["moodle", "csv,canvas"], "r.csv", "Lab")
    with pytest.raises(SystemExit):
        parser().parse_args(["batch", "subs", "--student", "a", "--not-graded"])
    subs = tmp_path / "subs"
    write_student(subs, "ana")
    out = str(tmp_path / "out")
    code, err = run(capsys, str(subs), "--out", out, "--export", "canvas")
    assert code == EXIT_USAGE and "--export canvas needs --roster" in err
    code, err = run(capsys, str(subs), "--out", out, "--export", "pdf")
    assert code == EXIT_USAGE and "--export 'pdf': not a format" in err
    (tmp_path / "r.csv").write_text("folder,name\nana,Ana\n")
    code, err = run(capsys, str(subs), "--out", out, "--roster", str(tmp_path / "r.csv"))
    assert code == EXIT_USAGE and "has no student_id column" in err
    assert not (tmp_path / "out" / "results").exists()  # refused before grading anything


@pytest.mark.skipif(not BROKEN_ECHO.is_dir(), reason="tests/submissions/broken_echo missing")
def test_roster_exports_and_regrades_end_to_end(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    subs = tmp_path / "subs"
    shutil.copytree(REFERENCE, subs / "ana")
    shutil.copytree(BROKEN_ECHO, subs / "bob")
    with zipfile.ZipFile(subs / "dave.zip", "w") as zf:  # refused: not graded
        zf.writestr("server.py", "print('hi')\n")
        zf.writestr("../escape.py", "")
    roster = tmp_path / "roster.csv"
    roster.write_bytes("\ufeffFolder,Student ID,Email address,Name\r\n"
                       "ana,S1,ana@uni.edu,\"Silva, Ana\"\r\n"
                       "bob,S2,bob@uni.edu,Bob Brown\r\n"
                       "carol,S3,carol@uni.edu,Carol Ñandú\r\n"
                       "dave,S4,dave@uni.edu,Dave\r\n".encode())
    out = tmp_path / "results"
    shutil.copytree(REFERENCE, subs / "zoe")  # not in the roster
    code, err = run(capsys, str(subs), "--out", str(out), "--roster", str(roster),
                    "--export", "moodle,canvas", "--export", "csv",
                    "--assignment", "Chat lab (77)")
    assert code == EXIT_SOME_FAILED, err  # dave not graded, zoe not in the roster
    assert "missing: S3 (Carol Ñandú): no submission 'carol'" in err
    assert "not in the roster: zoe" in err and "not graded: dave" in err
    grades = {r[0]: r for r in read(out / "grades.csv")[1:]}
    assert sorted(grades) == ["ana", "bob", "zoe"]
    full, bob = grades["ana"][1], grades["bob"][1]
    assert grades["ana"][2] == full and float(bob) < float(full)

    moodle = read(out / "exports" / "moodle.csv")
    assert moodle[0] == ["ID number", "Email address", "Full name", "Chat lab (77)",
                         "Feedback: Chat lab (77)"]
    assert [r[:4] for r in moodle[1:]] == [
        ["S1", "ana@uni.edu", "Silva, Ana", full], ["S2", "bob@uni.edu", "Bob Brown", bob],
        ["S3", "carol@uni.edu", "Carol Ñandú", ""], ["S4", "dave@uni.edu", "Dave", ""]]
    assert moodle[2][4].startswith(f"{bob}/{full} points; failed: ")
    assert moodle[3][4] == "missing: no submission found (folder 'carol')"
    assert moodle[4][4].startswith("not graded: could not unpack the submission")
    canvas = read(out / "exports" / "canvas.csv")
    assert canvas[1] == ["Points Possible", "", "", "", "", full]
    assert [(r[2], r[5]) for r in canvas[2:]] == [("S1", full), ("S2", bob), ("S3", ""),
                                                   ("S4", "")]
    plain = {r[0]: r for r in read(out / "exports" / "plain.csv")[1:]}
    assert (plain["zoe"][1], plain["zoe"][5]) == ("", full)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="roster"' in html and 'class="missing" data-student="carol"' in html
    assert 'class="unlisted" data-student="zoe"' in html

    # bob fixes his echo; regrade him by his roster id: the roster and exports are
    # remembered, ana's and zoe's stored results are kept as they were
    ana = (out / "results" / "ana.json").read_text()
    shutil.rmtree(subs / "bob")
    shutil.copytree(REFERENCE, subs / "bob")
    code, err = run(capsys, str(subs), "--out", str(out), "--student", "S2")
    assert "1 graded, 2 kept from earlier runs, 1 not graded" in err, err
    assert "as the last run on this folder: --export moodle,canvas,csv; --roster" in err
    assert (out / "results" / "ana.json").read_text() == ana
    moodle = read(out / "exports" / "moodle.csv")
    assert moodle[2][3] == full and moodle[2][4] == f"{full}/{full} points; every check passed"

    code, err = run(capsys, str(subs), "--out", str(out), "--student", "S3,nobody")
    assert code == EXIT_USAGE and "S3 (roster folder 'carol' has no submission), nobody" in err

    code, err = run(capsys, str(subs), "--out", str(out), "--not-graded")  # dave, refused again
    assert "0 graded, 3 kept from earlier runs, 1 not graded" in err, err
    assert (out / "results" / "ana.json").read_text() == ana
