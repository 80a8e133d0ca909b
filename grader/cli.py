"""Command line: wires arguments to :mod:`grader.api` and the renderers, nothing more.

Each subcommand is a ``register_<name>(subparsers)`` function that adds its parser and
sets ``func``; a new subcommand (``batch``, ``load``, …) lives in its own module and adds
one line to :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from . import __version__
from .render import FORMATS, render


def _check(args: argparse.Namespace) -> int:
    from .api import default_folder, grade
    from .render.text import MARKS

    folder = Path(args.folder) if args.folder else default_folder()
    live = args.format == "text" and args.output is None and sys.stderr.isatty()

    def progress(result) -> None:  # noqa: ANN001 - CheckResult
        print(f"  {MARKS[result.status]} {result.id}", file=sys.stderr, flush=True)

    try:
        result = grade(
            folder, only=args.only, rubric=args.rubric, profile=args.profile,
            server_cmd=args.server_cmd, client_cmd=args.client_cmd,
            progress=progress if live else None,
        )
    except (ValueError, FileNotFoundError) as error:
        print(f"chatlab-grader: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("chatlab-grader: interrupted; every program it started was stopped",
              file=sys.stderr)
        return 130
    if args.format == "text" and args.output is None:
        from .render.text import render_text

        text = render_text(result, color=sys.stdout.isatty())
    else:
        text = render(result, args.format)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"score {result.score:g}/{result.max_score:g}; wrote {args.output}",
              file=sys.stderr)
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
    p.add_argument("--rubric", metavar="FILE", help="rubric TOML (points, levels)")
    p.add_argument("--profile", metavar="FILE", help="protocol profile TOML (or a name in"
                   " grader/profiles/)")
    p.add_argument("--server-cmd", metavar="CMD",
                   help="start the server with this command; {port} is filled in")
    p.add_argument("--client-cmd", metavar="CMD",
                   help="start the client with this command; {port}, {nick} filled in")
    p.set_defaults(func=_check)


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


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    register_check,
    register_list,
    register_batch,  # batch, gradescope-package (grader/batch/)
    register_load,  # load (grader/tools/load.py)
    register_probe,  # probe (grader/tools/probe.py)
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
    """Entry point of ``chatlab-grader`` and ``python -m grader``; returns the exit code."""
    args = build_parser().parse_args(argv)
    return args.func(args)
