"""Rosters and the Moodle, Canvas and plain CSV exports, on fake results (no grading)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from test_batch_fakes import make_result

from grader.batch.exports import (
    ExportError,
    ExportPlan,
    check_assignment,
    choose_plan,
    export_rows,
    parse_formats,
    remembered_plan,
    save_plan,
    write_exports,
)
from grader.batch.exports.canvas import NOT_IN_ROSTER as CANVAS_NOT_IN_ROSTER
from grader.batch.exports.canvas import render_canvas
from grader.batch.exports.moodle import NOT_IN_ROSTER as MOODLE_NOT_IN_ROSTER
from grader.batch.exports.moodle import render_moodle
from grader.batch.exports.plain_csv import HEADER as PLAIN_HEADER
from grader.batch.exports.plain_csv import render_plain
from grader.batch.exports.rows import GRADED, MISSING, NOT_GRADED, feedback
from grader.batch.gradebook import Gradebook
from grader.batch.roster import RosterError, load_roster, match, parse_roster, resolve_students
from grader.batch.store import ResultStore

ROSTER = (
    "folder,student_id,email,name\n"
    'ana,S001,ana@uni.edu,"Silva, Ana"\n'
    'bob,S002,bob@uni.edu,"Bob ""Bobby"" Brown"\n'
    "carol,S003,carol@uni.edu,Carol Ñandú-Øster\n"
)
# bob's grading failed with a reason on two lines; dave submitted but is not in the roster
REASON = "grader error: RuntimeError: boom,\nsecond line"


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def class_rows(roster_text: str = ROSTER):
    roster = parse_roster(roster_text, "roster.csv")
    gradebook = Gradebook.build(
        [make_result("ana", {"server.no_echo"}), make_result("dave")], {"bob": REASON})
    matched = match(roster, ["ana", "bob", "dave"])
    return export_rows(gradebook, matched), matched


# -- the roster -----------------------------------------------------------------------


def test_roster_columns_aliases_bom_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(("\ufeffFolder;Student ID;E-mail;Full Name;Notes\n"
                      "ana.zip;S001;ana@uni.edu;Silva, Ana;x\n"
                      "\n"
                      "Ana María;S002;;\"Ana\nMaría\";\n").encode())
    roster = load_roster(path)
    assert [(e.folder, e.student_id, e.email, e.name, e.line) for e in roster.entries] == [
        ("ana", "S001", "ana@uni.edu", "Silva, Ana", 2),
        ("Ana_Mar_a", "S002", "", "Ana\nMaría", 4),  # the folder as the batch names it
    ]
    assert roster.columns == {"folder": "Folder", "student_id": "Student ID",
                              "email": "E-mail", "name": "Full Name"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the roster is empty"),
        ("name,email\nAna,a@x\n", "has no folder and no student_id column"),
        ("folder,name\nana,Ana\n", "has no student_id column (accepted names: student_id:"),
        ("folder,student_id,SIS User ID\nana,1,2\n",
         "columns 'student_id' and 'SIS User ID' both give the student_id"),
        ("folder,student_id\nana,S1\nana.zip,S2\n", "folder 'ana' is on line 2 and line 3"),
        ("folder,student_id\nana,S1\nbob,S1\n", "student_id 'S1' is on line 2 and line 3"),
        ("folder,student_id,email\nana,S1,A@x.org\nbob,S2,a@X.org\n",
         "email 'a@X.org' is on line 2 and line 3"),
        ("folder,student_id,name\nana,S1,Silva, Ana\n",
         "line 2: 4 cells for 3 columns ('ana,S1,Silva, Ana'); a value with a comma"),
        ("folder,student_id\nana,\n", "line 2: no student_id (column 'student_id' is empty)"),
        ("folder,student_id\n ,S1\n", "line 2: no folder"),
    ],
    ids=["empty", "no-required-column", "no-id-column", "column-twice", "same-folder",
         "same-id", "same-email", "unquoted-comma", "empty-id", "empty-folder"],
)
def test_a_bad_roster_is_refused_naming_where(text: str, message: str) -> None:
    with pytest.raises(RosterError) as error:
        parse_roster(text, "roster.csv")
    assert message in str(error.value) and "roster.csv" in str(error.value)


def test_an_unreadable_or_not_utf8_roster_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match=r"cannot read the roster .*absent\.csv"):
        load_roster(tmp_path / "absent.csv")
    with pytest.raises(RosterError, match="cannot read the roster"):
        load_roster(tmp_path)  # a folder
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("folder,student_id,name\nana,S1,Ana Mar\xeda\n".encode("latin-1"))
    with pytest.raises(RosterError, match=r"not UTF-8 \(byte 0xed at offset 37\).*CSV UTF-8"):
        load_roster(latin)


def test_match_and_resolve_students() -> None:
    roster = parse_roster(ROSTER)
    matched = match(roster, ["ana", "dave", "bob"])
    assert sorted(matched.entries) == ["ana", "bob"]
    assert [e.student_id for e in matched.missing] == ["S003"]
    assert matched.unlisted == ["dave"]
    folders = ["ana", "bob", "dave"]
    assert resolve_students(["S002", "dave", " ana "], folders, roster) == ["ana", "bob", "dave"]
    assert resolve_students(["bob"], folders) == ["bob"]
    with pytest.raises(RosterError) as error:
        resolve_students(["S003", "zoe", "ana"], folders, roster)
    assert str(error.value) == (
        "unknown student(s): S003 (roster folder 'carol' has no submission), zoe: not a"
        " submission folder nor a student_id of the roster; nothing was graded")
    with pytest.raises(RosterError, match="no student named"):
        resolve_students([",", ""], folders)


# -- the rows and their feedback ----------------------------------------------------


def test_rows_and_feedback() -> None:
    rows, _ = class_rows()
    assert [(r.folder, r.status, r.score, r.max_score) for r in rows] == [
        ("ana", GRADED, 5.5, 7.5),
        ("bob", NOT_GRADED, None, None),  # never a score, not even 0
        ("carol", MISSING, None, None),
        ("dave", GRADED, 7.5, 7.5),
    ]
    assert [r.feedback for r in rows] == [
        "5.5/7.5 points; failed: server.no_echo",
        f"not graded: {REASON}",
        "missing: no submission found (folder 'carol')",
        "7.5/7.5 points; every check passed",
    ]
    assert rows[3].entry is None  # dave is not in the roster
    skipped = make_result("x", {"server.broadcast"})
    skipped.checks[2].status = skipped.checks[2].status.SKIPPED
    assert feedback(skipped) == "4.5/7.5 points; failed: server.broadcast; skipped: server.no_echo"


# -- the formats ----------------------------------------------------------------------


def test_plain_csv_lists_everyone() -> None:
    rows, _ = class_rows()
    table = parse(render_plain(rows).text)
    assert table == [
        PLAIN_HEADER,
        ["ana", "S001", "ana@uni.edu", "Silva, Ana", "graded", "5.5", "7.5",
         "5.5/7.5 points; failed: server.no_echo"],
        ["bob", "S002", "bob@uni.edu", 'Bob "Bobby" Brown', "not graded", "", "",
         f"not graded: {REASON}"],
        ["carol", "S003", "carol@uni.edu", "Carol Ñandú-Øster", "missing", "", "",
         "missing: no submission found (folder 'carol')"],
        ["dave", "", "", "", "graded", "7.5", "7.5", "7.5/7.5 points; every check passed"],
    ]


def test_moodle_file_has_an_identifier_in_every_row() -> None:
    rows, _ = class_rows()
    export = render_moodle(rows, "Chat lab")
    assert export.text.encode("utf-8")[:3] != b"\xef\xbb\xbf" and "\r\n" in export.text
    assert parse(export.text) == [
        ["ID number", "Email address", "Full name", "Chat lab", "Feedback: Chat lab"],
        ["S001", "ana@uni.edu", "Silva, Ana", "5.5", "5.5/7.5 points; failed: server.no_echo"],
        ["S002", "bob@uni.edu", 'Bob "Bobby" Brown', "", f"not graded: {REASON}"],
        ["S003", "carol@uni.edu", "Carol Ñandú-Øster", "",
         "missing: no submission found (folder 'carol')"],
    ]
    assert export.left_out == {"dave": MOODLE_NOT_IN_ROSTER}


def test_moodle_drops_the_email_column_when_an_email_is_missing() -> None:
    rows, _ = class_rows(ROSTER.replace("bob@uni.edu", ""))
    export = render_moodle(rows, "Chat lab")
    table = parse(export.text)
    assert table[0] == ["ID number", "Full name", "Chat lab", "Feedback: Chat lab"]
    assert [row[0] for row in table[1:]] == ["S001", "S002", "S003"]
    assert "map the users by ID number" in export.notes[0] and "bob" in export.notes[0]


def test_canvas_file_layout() -> None:
    roster = ROSTER.replace("folder,student_id,email,name", "folder,sis user id,email,student,"
                            "section,sis login id").replace("\n", ",A,\n").replace(
        "name,A,", "name,section,login")
    roster = roster.replace("ana@uni.edu,\"Silva, Ana\",A,", "ana@uni.edu,\"Silva, Ana\",A,asilva")
    rows, _ = class_rows(roster)
    export = render_canvas(rows, "Chat lab (12345)")
    assert parse(export.text) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Chat lab (12345)"],
        ["Points Possible", "", "", "", "", "7.5"],
        ["Silva, Ana", "", "S001", "asilva", "A", "5.5"],
        ['Bob "Bobby" Brown', "", "S002", "", "A", ""],
        ["Carol Ñandú-Øster", "", "S003", "", "A", ""],
    ]
    assert export.left_out == {"dave": CANVAS_NOT_IN_ROSTER} and not export.notes


def test_canvas_points_possible_and_lower_maxima() -> None:
    roster = parse_roster(ROSTER)
    gradebook = Gradebook.build([make_result("ana"), make_result("bob", na={"server.history"})])
    rows = export_rows(gradebook, match(roster, ["ana", "bob"]))
    export = render_canvas(rows, "Chat lab")
    assert parse(export.text)[1][-1] == "7.5"
    assert "bob" in export.notes[0] and "points possible is 7.5" in export.notes[0]
    nobody = export_rows(Gradebook.build([], {"ana": "boom"}), match(roster, ["ana"]))
    with pytest.raises(ExportError, match="no student was graded"):
        render_canvas(nobody, "Chat lab")


def test_write_exports_writes_what_it_can(tmp_path: Path) -> None:
    roster = parse_roster(ROSTER)
    rows = export_rows(Gradebook.build([], {"ana": "boom"}), match(roster, ["ana"]))
    plan = ExportPlan(["moodle", "canvas", "csv"], "Chat lab", "/r.csv")
    written, exports, errors = write_exports(rows, plan, tmp_path / "exports")
    assert [p.name for p in written] == ["moodle.csv", "plain.csv"]
    assert len(exports) == 2 and "no student was graded" in errors[0]
    assert parse(written[0].read_text(encoding="utf-8"))[1][3:] == ["", "not graded: boom"]


# -- options --------------------------------------------------------------------------


def test_export_formats_and_assignment_options() -> None:
    assert parse_formats(["moodle,csv", "Canvas", "csv"]) == ["moodle", "csv", "canvas"]
    assert parse_formats(["none"]) == []
    with pytest.raises(ExportError, match=r"--export 'blackboard': not a format; choose from"):
        parse_formats(["moodle,blackboard"])
    with pytest.raises(ExportError, match="cannot be given with formats"):
        parse_formats(["none,csv"])
    assert check_assignment("  Chat lab (12) ") == "Chat lab (12)"
    for bad in ("", "  ", "two\nlines"):
        with pytest.raises(ExportError, match="--assignment"):
            check_assignment(bad)
    with pytest.raises(ExportError, match="--export moodle,canvas needs --roster"):
        ExportPlan(["csv", "moodle", "canvas"]).check()


def test_the_plan_is_remembered_sealed(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    plan, note = choose_plan(store, ["moodle"], "roster.csv", None)
    assert (plan.formats, plan.assignment, plan.roster, note) == (
        ["moodle"], "chatlab", os.path.abspath("roster.csv"), "")
    assert not (tmp_path / ".key").exists()  # choosing made no key
    store.prepare()
    save_plan(store, plan)
    again, note = choose_plan(ResultStore(tmp_path), None, None, "Lab 2")
    assert (again.formats, again.assignment, again.roster) == (
        ["moodle"], "Lab 2", plan.roster)
    assert note == (f"as the last run on this folder: --export moodle; --roster {plan.roster}")
    assert choose_plan(ResultStore(tmp_path), ["none"], None, None)[0].formats == []
    # edited by hand (or by a program): not used, and said so
    path = tmp_path / "exports" / "plan.json"
    path.write_text(path.read_text().replace(plan.roster, "/tmp/other.csv"))
    assert remembered_plan(ResultStore(tmp_path)) == (
        None, f"{path} does not verify; give --export and --roster again")
    with pytest.raises(ExportError, match="needs --roster"):
        choose_plan(ResultStore(tmp_path), ["canvas"], None, None)
    # without the key it is not read, and no new key is made for it
    (tmp_path / ".key").unlink()
    assert remembered_plan(ResultStore(tmp_path))[0] is None
    assert not (tmp_path / ".key").exists()
