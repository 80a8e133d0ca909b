"""Command line: wires arguments to :mod:`grader.api` and the renderers, nothing more.

Each subcommand is a ``register_<name>(subparsers)`` function that adds its parser and
sets ``func``; a new subcommand (``batch``, ``load``, …) lives in its own module and adds
one line to :data:`SUBCOMMANDS`. A subcommand that runs submissions sets
``runs_submissions=True``: run as a command (``main()`` without arguments) it then works
in a private temporary folder, its path arguments made absolute first.

``check --output FILE`` removes FILE before grading starts and writes it once every
program of the submission is gone, from the grader's memory, atomically (see
:mod:`grader.batch.integrity`).

``check`` and ``batch`` speak the language ``--lang`` names, else ``CHATLAB_LANG``'s,
else English (:mod:`grader.i18n`); a language with no catalogue is an error that lists
the languages there are.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from . import __version__, i18n
from .batch.commands import make_paths_absolute
from .i18n import gettext as _
from .render import FORMATS, render


def _check(args: argparse.Namespace) -> int:
    from .api import default_folder, grade
    from .batch.integrity import (
        Descendants,
        GraderFiles,
        environment_findings,
        environment_note,
        preload,
        tampering_notes,
        write_report,
    )
    from .checks import all_checks
    from .render.text import MARKS, render_text
    from .rubric import load_rubric

    folder = Path(args.folder) if args.folder else default_folder()
    output = Path(args.output) if args.output else None
    live = args.format == "text" and output is None and sys.stderr.isatty()

    def progress(result) -> None:  # noqa: ANN001 - CheckResult
        print(f"  {MARKS[result.status]} {result.id}", file=sys.stderr, flush=True)

    if output is not None:
        try:  # whatever is there now was not written by this run
            output.parent.mkdir(parents=True, exist_ok=True)
            output.unlink(missing_ok=True)
        except OSError as error:
            print("chatlab-grader: error: " + _("cannot write {path}: {error}").format(
                path=output, error=error), file=sys.stderr)
            return 2
    preload()
    files = GraderFiles()
    programs = Descendants.snapshot()
    try:
        rubric = load_rubric(args.rubric, all_checks())
        result = grade(
            folder, only=args.only, rubric=rubric, profile=args.profile,
            server_cmd=args.server_cmd, client_cmd=args.client_cmd,
            progress=progress if live else None,
        )
    except (ValueError, FileNotFoundError) as error:
        print(f"chatlab-grader: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        programs.stop()
        print("chatlab-grader: " + _("interrupted; every program it started was stopped"),
              file=sys.stderr)
        return 130
    left = programs.stop()  # nothing of the submission runs past this line
    result.notes += environment_note(environment_findings())
    if left:
        result.notes.append(f"integrity: {len(left)} process(es) the submission left"
                            " running after grading were stopped before the report was"
                            f" written: {'; '.join(left[:3])}")
    existed = output is not None and (output.exists() or output.is_symlink())
    result.notes += tampering_notes(files.changed(), output, existed)
    visibility = rubric.visibility_for(result.checks)
    student = args.view == "student"
    if args.format == "text" and output is None:
        text = render_text(result, color=sys.stdout.isatty(),
                           visibility=visibility if student else None)
    else:
        text = render(result, args.format, visibility, student=student)
    if output is not None:
        try:
            write_report(output, text)
        except OSError as error:
            print("chatlab-grader: error: " + _("cannot write {path}: {error}").format(
                path=output, error=error), file=sys.stderr)
            return 2
        print(_("score {score}/{max_score}; wrote {path}").format(
            score=f"{result.score:g}", max_score=f"{result.max_score:g}", path=output),
            file=sys.stderr)
        for note in result.notes:
            if note.startswith("integrity:"):
                print(f"chatlab-grader: {note}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0 if result.all_passed else 1


def register_check(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("check", help="grade one submission folder",
                              description="Grade the server.py and client.py in FOLDER.")
    p.add_argument("folder", nargs="?", help="submission folder (default: lab/, or"
                   " $CHATLAB_SUBMISSION)")
    p.add_argument("--only", metavar="IDS|LEVEL|step:N",
                   help="comma-separated check ids/globs, a level, or step:N")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument("--view", choices=("instructor", "student"), default="instructor",
                   help="text, json, html: every check (instructor), or only what the"
                   " rubric's [visibility] lets a student see now; the platform formats"
                   " always follow [visibility]")
    p.add_argument("--rubric", metavar="FILE", help="rubric TOML (points, levels,"
                   " visibility)")
    p.add_argument("--profile", metavar="FILE", help="protocol profile TOML (or a name in"
                   " grader/profiles/)")
    p.add_argument("--server-cmd", metavar="CMD",
                   help="start the server with this command; {port} is filled in")
    p.add_argument("--client-cmd", metavar="CMD",
                   help="start the client with this command; {port}, {nick} filled in")
    add_lang_option(p)
    p.set_defaults(func=_check, runs_submissions=True)


def add_lang_option(parser: argparse.ArgumentParser) -> None:
    """``--lang LANG``: the language of the report and the summaries."""
    parser.add_argument("--lang", metavar="LANG",
                        help="language of the report: " + ", ".join(i18n.available_languages())
                        + f" (default: ${i18n.ENV}, else {i18n.SOURCE_LANGUAGE})")


def choose_language(args: argparse.Namespace) -> str | None:
    """Speak ``--lang`` (else ``CHATLAB_LANG``); None when it is fine, else the error,
    naming the bad value and where it came from."""
    if args.lang is not None:
        source, lang = "--lang", args.lang
    else:
        source, lang = i18n.ENV, os.environ.get(i18n.ENV, "")
    if not lang and source == i18n.ENV:
        return None  # English
    try:
        i18n.set_language(lang)
    except ValueError as error:
        return f"{source}: {error}"
    return None


def register_list(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("list", help="list the checks")
    p.set_defaults(func=_list)


def _list(args: argparse.Namespace) -> int:
    from .checks import all_checks

    for spec in all_checks():
        print(f"{spec.id:<40} step {spec.step:02d}  {spec.level.value:<10}"
              f" {spec.points:>4g}  {spec.title}")
    return 0


def register_batch(subparsers: argparse._SubParsersAction) -> None:
    from .batch.commands import add_batch_parser, add_gradescope_parser

    add_batch_parser(subparsers)
    add_gradescope_parser(subparsers)


def register_load(subparsers: argparse._SubParsersAction) -> None:
    from .tools.load import add_load_parser

    add_load_parser(subparsers)


def register_probe(subparsers: argparse._SubParsersAction) -> None:
    from .tools.probe import add_probe_parser

    add_probe_parser(subparsers)


def register_similarity(subparsers: argparse._SubParsersAction) -> None:
    from .similarity import add_similarity_parser

    add_similarity_parser(subparsers)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    register_check,
    register_list,
    register_batch,  # batch, gradescope-package (grader/batch/)
    register_load,  # load (grader/tools/load.py)
    register_probe,  # probe (grader/tools/probe.py)
    register_similarity,  # similarity (grader/similarity/)
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chatlab-grader",
                                     description="Black-box grader for the chatlab chat.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``chatlab-grader`` and ``python -m grader``; returns the exit code.

    Without ``argv`` (run as a command) it first makes sure Python runs isolated
    (``grader.__main__.isolate``), and a subcommand that runs submissions works in a
    folder of its own. With ``argv`` (from Python, tests) it runs where it is."""
    if argv is None:
        from .__main__ import isolate

        isolate(sys.argv[1:])
    args = build_parser().parse_args(argv)
    if hasattr(args, "lang"):
        wrong = choose_language(args)
        if wrong is not None:
            print(f"chatlab-grader: error: {wrong}", file=sys.stderr)
            return 2
    if argv is None and getattr(args, "runs_submissions", False):
        # First, while this process has one thread: without root, a user namespace of
        # its own lets every run have a loopback of its own (grader.harness.isolation).
        from .harness.isolation import enter_user_namespace

        enter_user_namespace()
        if getattr(args, "command", None) == "check" and not args.folder:
            from .api import default_folder

            args.folder = str(default_folder())
        make_paths_absolute(args)
        with private_folder():
            return args.func(args)
    return args.func(args)


@contextlib.contextmanager
def private_folder() -> Iterator[Path]:
    """Work in a new, empty, private folder; removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="chatlab-grader-"))
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(previous if os.path.isdir(previous) else os.sep)
        shutil.rmtree(folder, ignore_errors=True)
