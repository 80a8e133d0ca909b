"""The ``similarity`` subcommand: arguments in, :func:`run_similarity` called.

``add_similarity_parser(subparsers)`` registers::

    similarity SUBMISSIONS_DIR [--out DIR] [--base DIR] [--reference DIR] [--past DIR ...]

and :func:`run_similarity` is the same thing for a script. copydetect is imported only
when the command runs, so the rest of the grader works without the extra installed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

PROG = "chatlab-grader similarity"
EXIT_OK, EXIT_USAGE = 0, 2
DEFAULT_SHOW = 50


class UsageError(Exception):
    pass


def _fixed(paths: Sequence[Path | str], role: str) -> list:
    """The skeleton or model answer folders (or single .py files) as sources."""
    from .sources import Source, from_folder

    sources: list[Source] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file() and path.suffix == ".py":
            source = from_folder(path.parent, path.stem, only=path.name)
        elif path.is_dir():
            source = from_folder(path, path.resolve().name)
        else:
            raise UsageError(f"{role} not found (a folder or a .py file): {path}")
        if not source.files:
            raise UsageError(f"{role} {path} has no .py file")
        if source.name in {s.name for s in sources}:
            source.name = f"{source.name}-{len(sources) + 1}"
        sources.append(source)
    return sources


def _past(folders: Sequence[Path | str]) -> tuple[list, dict[str, str]]:
    from .sources import load_submissions

    past, refused, prefixes = [], {}, set()
    for raw in folders:
        label = Path(raw).resolve().name or "past"
        while label in prefixes:
            label += "+"
        prefixes.add(label)
        sources, bad = load_submissions(raw, prefix=f"{label}/")
        past += sources
        refused.update(bad)
    return past, refused


def run_similarity(
    submissions: Path | str,
    out: Path | str,
    *,
    base: Sequence[Path | str] = (),
    references: Sequence[Path | str] = (),
    past: Sequence[Path | str] = (),
    show: int = DEFAULT_SHOW,
) -> int:
    """Write ``out/similarity.html`` and ``out/similarity.csv`` (and, with references,
    ``out/similarity_reference.csv``); returns the exit code, messages on stderr."""
    from .engine import SimilarityUnavailable, require_copydetect
    from .sources import DiscoveryError, load_submissions

    out_dir = Path(out)
    try:
        require_copydetect()
        base_sources = _fixed(base, "base")
        reference_sources = _fixed(references, "reference")
        students, refused = load_submissions(submissions, exclude=out_dir)
        past_sources, past_refused = _past(past)
    except (SimilarityUnavailable, UsageError, DiscoveryError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE

    from . import csv_out, html_out
    from .compare import analyse

    analysis = analyse(
        students, base=base_sources, references=reference_sources, past=past_sources
    )
    analysis.refused = {**refused, **past_refused}
    written = [csv_out.write_pairs(analysis, out_dir / "similarity.csv")]
    if reference_sources:
        written.append(csv_out.write_reference(analysis, out_dir / "similarity_reference.csv"))
    written.append(html_out.write(analysis, out_dir / "similarity.html", show=show))
    print(
        f"{len(students)} students, {len(analysis.pairs)} pairs compared in "
        f"{analysis.seconds:.1f}s",
        file=sys.stderr,
    )
    for name, why in sorted(analysis.refused.items()):
        print(f"  not compared: {name}: {why}", file=sys.stderr)
    print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    return EXIT_OK


def _similarity(args: argparse.Namespace) -> int:
    return run_similarity(
        args.submissions, args.out, base=args.base or (), references=args.reference or (),
        past=args.past or (), show=args.show,
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_similarity_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``similarity`` subcommand (needs ``pip install 'chatlab[similarity]'``)."""
    p = subparsers.add_parser(
        "similarity",
        help="find submissions that share code: similarity.html and similarity.csv",
        description=(
            "Compare the .py files of every two students in SUBMISSIONS_DIR (one sub-folder "
            "or one .zip file per student, as for batch) and rank the pairs by how much "
            "code they share, renamed names and reordered functions included. Code of the "
            "skeleton (--base) and of the model answer (--reference) is not counted. "
            "Needs copydetect: pip install 'chatlab[similarity]'."
        ),
    )
    p.add_argument("submissions", metavar="SUBMISSIONS_DIR")
    p.add_argument("--out", metavar="DIR", default="results",
                   help="where similarity.html and similarity.csv go (default: results)")
    p.add_argument("--base", metavar="DIR", action="append",
                   help="the skeleton students started from, e.g. lab/ (repeatable)")
    p.add_argument("--reference", metavar="DIR", action="append",
                   help="a model answer, e.g. reference_solution/: a student who hands it in"
                   " is listed apart, not paired with everyone (repeatable)")
    p.add_argument("--past", metavar="DIR", nargs="+", action="extend",
                   help="earlier years' submissions folders: each student is compared with"
                   " them too (never past with past)")
    p.add_argument("--show", metavar="N", type=_positive, default=DEFAULT_SHOW,
                   help=f"pairs listed with a side-by-side view (default: {DEFAULT_SHOW})")
    p.set_defaults(func=_similarity)
