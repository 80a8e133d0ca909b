"""The ``batch`` and ``gradescope-package`` subcommands: arguments in, functions called.

:mod:`grader.cli` registers them with ``add_batch_parser(subparsers)`` and
``add_gradescope_parser(subparsers)``; the work is done by :mod:`.parallel`,
:mod:`.gradebook`, :mod:`.class_report` and :mod:`.gradescope_package`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..i18n import gettext as _

PROG = "chatlab-grader"
DEFAULT_STUDENT_TIMEOUT = 120.0  # seconds of wall-clock time one student may take
EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


PATHS = ("folder", "submissions", "out", "output", "rubric", "roster")  # path arguments
PATHS_OR_NAMES = ("profile",)  # a file, or the name of a shipped profile


def make_paths_absolute(args: argparse.Namespace) -> None:
    """Make the path arguments absolute against the current folder, so the command can
    then work in a folder of its own (a profile given by name stays a name)."""
    for name in PATHS:
        value = getattr(args, name, None)
        if isinstance(value, str) and value:
            setattr(args, name, os.path.abspath(value))
    for name in PATHS_OR_NAMES:
        value = getattr(args, name, None)
        if isinstance(value, str) and os.path.exists(value):
            setattr(args, name, os.path.abspath(value))


def _batch(args: argparse.Namespace) -> int:
    from .discover import DiscoveryError, discover
    from .exports import ExportError, choose_plan
    from .outputs import write_outputs
    from .parallel import BatchError, GradeSettings, run_batch
    from .roster import RosterError, load_roster, resolve_students
    from .store import ResultStore

    settings = GradeSettings(
        only=args.only,
        rubric=args.rubric,
        profile=args.profile,
        server_cmd=args.server_cmd,
        client_cmd=args.client_cmd,
    )
    out = Path(args.out)
    try:
        plan, remembered = choose_plan(ResultStore(out), args.export, args.roster,
                                       args.assignment)
        if remembered:
            print(remembered, file=sys.stderr)
        roster = load_roster(plan.roster) if plan.roster else None
        students = None
        if args.student:
            folders = [s.student for s in discover(args.submissions, exclude=out)]
            students = resolve_students(args.student, folders, roster)
        summary = run_batch(
            args.submissions, out, jobs=args.jobs, regrade=args.regrade, settings=settings,
            student_timeout=args.student_timeout, students=students,
            not_graded=args.not_graded,
        )
    except (BatchError, DiscoveryError, ExportError, RosterError) as error:
        print(f"{PROG} batch: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    for event in summary.events:
        print("  " + _("stopped: {event}").format(event=event), file=sys.stderr)
    if summary.interrupted:
        print(
            _("interrupted: {graded} graded in this run, all saved in {out}; run the same"
              " command again to grade the rest").format(graded=len(summary.graded), out=out),
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    # Every program of every submission is gone: only the grader's memory speaks now.
    outputs = write_outputs(summary, out, roster, plan)
    gradebook, matched = outputs.gradebook, outputs.roster
    kept = _("kept from earlier runs") if students or args.not_graded else _("already graded")
    print(
        _("{graded} graded, {skipped} {kept}, {failed} not graded, in {seconds:.1f}s").format(
            graded=len(summary.graded), skipped=summary.skipped, kept=kept,
            failed=len(gradebook.failed), seconds=summary.elapsed),
        file=sys.stderr,
    )
    if args.not_graded and not summary.todo:
        print("  " + _("--not-graded: no student in the results folder is recorded as not"
                       " graded"), file=sys.stderr)
    for student, error in gradebook.failed.items():
        print("  " + _("not graded: {student}: {error}").format(student=student, error=error),
              file=sys.stderr)
    if matched is not None:
        for entry in matched.missing:
            print("  " + _("missing: {student_id} ({name}): no submission {folder!r} in"
                           " {submissions}; exported with no grade").format(
                student_id=entry.student_id, name=entry.name or entry.email or _("no name"),
                folder=entry.folder, submissions=args.submissions), file=sys.stderr)
        for folder in matched.unlisted:
            print("  " + _("not in the roster: {folder}: graded, but in no Moodle or Canvas"
                           " export; add it to {roster}").format(
                folder=folder, roster=roster.source if roster else _("the roster")),
                file=sys.stderr)
    for note in outputs.notes:
        print(f"  {note}", file=sys.stderr)
    for failure in outputs.failed_exports:
        print("  " + _("export not written: {failure}").format(failure=failure),
              file=sys.stderr)
    written = ", ".join(str(p) for p in [outputs.grades, outputs.report, *outputs.exports])
    if gradebook.failed:
        print(_("wrote {files}; not graded: {errors}").format(files=written,
                                                               errors=outputs.errors),
              file=sys.stderr)
    else:
        print(_("wrote {files}").format(files=written), file=sys.stderr)
    trouble = gradebook.failed or (matched is not None and matched.unlisted) or (
        outputs.failed_exports)
    return EXIT_SOME_FAILED if trouble else EXIT_OK


def add_batch_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``batch SUBMISSIONS_DIR [--jobs N] [--out DIR] [--regrade] …``."""
    p = subparsers.add_parser(
        "batch",
        help="grade a folder of submissions: grades.csv and report.html",
        description=(
            "Grade every student in SUBMISSIONS_DIR (one sub-folder or one .zip file per "
            "student) in parallel. Each result is saved as soon as it is graded, so an "
            "interrupted batch resumes where it stopped when run again."
        ),
    )
    p.add_argument("submissions", metavar="SUBMISSIONS_DIR")
    p.add_argument(
        "--jobs", "-j", type=int, metavar="N",
        help="submissions graded at once (default: cores + 1)"
    )
    p.add_argument(
        "--out",
        metavar="RESULTS_DIR",
        default="results",
        help="where results go (default: results)",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--regrade", action="store_true", help="grade again students already graded in RESULTS_DIR"
    )
    which.add_argument(
        "--student", action="append", metavar="ID[,ID...]",
        help="grade only these students again (folder names, or the roster's student ids),"
        " keeping everyone else's stored result",
    )
    which.add_argument(
        "--not-graded", action="store_true",
        help="grade again only the students RESULTS_DIR records as not graded",
    )
    p.add_argument(
        "--roster", metavar="CSV",
        help="folder,student_id,email,name of every student (remembered for later runs)",
    )
    p.add_argument(
        "--export", action="append", metavar="moodle,canvas,csv",
        help="also write RESULTS_DIR/exports/ for these platforms (repeatable; 'none' stops;"
        " remembered for later runs)",
    )
    p.add_argument(
        "--assignment", metavar="NAME",
        help="the grade item's name in the exports (Canvas: 'Name (id)'; default: chatlab)",
    )
    p.add_argument(
        "--student-timeout",
        type=float,
        metavar="SECONDS",
        default=DEFAULT_STUDENT_TIMEOUT,
        help="wall-clock seconds one student may take; past it the student is not graded"
        f" (default: {DEFAULT_STUDENT_TIMEOUT:g})",
    )
    p.add_argument("--only", metavar="IDS|LEVEL|step:N", help="grade only these checks")
    p.add_argument("--rubric", metavar="FILE", help="rubric TOML (points, levels)")
    p.add_argument("--profile", metavar="FILE", help="protocol profile TOML (or a name)")
    p.add_argument("--server-cmd", metavar="CMD", help="start each server with this command")
    p.add_argument("--client-cmd", metavar="CMD", help="start each client with this command")
    from ..cli import add_lang_option

    add_lang_option(p)
    p.set_defaults(func=_batch, runs_submissions=True)


def _gradescope(args: argparse.Namespace) -> int:
    from .gradescope_package import build_package

    try:
        path = build_package(
            args.out,
            rubric=args.rubric,
            profile=args.profile,
            only=args.only,
            with_reference=not args.without_reference,
        )
    except (OSError, ValueError) as error:
        print(f"{PROG} gradescope-package: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(_("wrote {path}: upload it as the assignment's autograder on Gradescope").format(
        path=path), file=sys.stderr)
    return EXIT_OK


def add_gradescope_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``gradescope-package --out autograder.zip [--rubric FILE] …``."""
    p = subparsers.add_parser(
        "gradescope-package",
        help="build a Gradescope autograder zip",
        description=(
            "Build autograder.zip for Gradescope: setup.sh installs this grader, "
            "run_autograder grades /autograder/submission into results.json."
        ),
    )
    p.add_argument("--out", metavar="ZIP", default="autograder.zip")
    p.add_argument("--rubric", metavar="FILE", help="rubric TOML to grade with")
    p.add_argument("--profile", metavar="FILE", help="protocol profile TOML to grade with")
    p.add_argument("--only", metavar="IDS|LEVEL|step:N", help="grade only these checks")
    p.add_argument(
        "--without-reference",
        action="store_true",
        help="leave reference_solution/ out (student code could read it); skips cross-play",
    )
    p.set_defaults(func=_gradescope)
