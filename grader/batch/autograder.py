"""The Gradescope side: grade ``/autograder/submission`` into ``results/results.json``.

``run_autograder`` (built by :mod:`.gradescope_package`) is a thin shell around
``run_autograder.py``, which runs this module's :func:`main` under ``python -I`` from a
working directory of its own::

    rm -f results/results.json                   # nothing there was written by this run
    python3 -I source/run_autograder.py --root /autograder
    # exit status not 0, killed, or no file: write a "not graded" results.json

It finds the student's programs (Gradescope puts the uploaded files, or the GitHub
repository, in ``submission/``; they may sit in a sub-folder), grades them with the
settings packed in ``source/config/settings.json``, and writes the Gradescope results
only once every program of the submission is gone, from the grader's memory,
atomically (see :mod:`.integrity`); it exits 0 exactly when it wrote them. When
grading breaks it writes nothing and exits 1: ``run_autograder`` then writes a valid
results.json telling the student that the autograder could not grade the submission
and that it is not their fault (:data:`NOT_GRADED`), so a results.json left by anything
else is never kept.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path
from typing import Any

from ..model import SubmissionResult
from ..render import NOT_GRADED
from ..visibility import Visibility
from .discover import find_root
from .integrity import (
    Descendants,
    GraderFiles,
    environment_findings,
    environment_note,
    preload,
    tampering_notes,
    write_report,
)

SETTINGS = Path("source") / "config" / "settings.json"
RESULTS = Path("results") / "results.json"
__all__ = ["NOT_GRADED", "gradescope_dict", "load_settings", "main", "not_graded", "run"]


def gradescope_dict(result: SubmissionResult,
                    visibility: Visibility | None = None) -> dict[str, Any]:
    """Gradescope's results.json for ``result``, from the grader's own renderer, each
    test with its visibility from the rubric."""
    from ..render.gradescope import gradescope_results

    return gradescope_results(result, visibility or Visibility())


def not_graded() -> dict[str, Any]:
    """A valid results.json that gives no grade (what ``run_autograder`` writes)."""
    return {"score": 0, "tests": [], "output": NOT_GRADED}


def load_settings(root: Path) -> dict[str, Any]:
    """The grading settings packed with the autograder, paths made absolute."""
    path = root / SETTINGS
    if not path.is_file():
        return {}
    settings = json.loads(path.read_text(encoding="utf-8"))
    for key in ("rubric", "profile"):
        value = settings.get(key)
        if value and (path.parent / value).is_file():
            settings[key] = str(path.parent / value)
    return {k: v for k, v in settings.items() if v is not None}


def run(root: Path) -> int:
    """Grade and write ``results.json``; 0 exactly when it was written."""
    from ..api import grade
    from ..checks import all_checks
    from ..rubric import load_rubric

    results = root / RESULTS
    try:
        results.parent.mkdir(parents=True, exist_ok=True)
        results.unlink(missing_ok=True)
        preload()
        files = GraderFiles()
        programs = Descendants.snapshot()
        folder = find_root(root / "submission")
        settings = load_settings(root)
        rubric = load_rubric(settings.pop("rubric", None), all_checks())
        try:
            result = grade(folder, rubric=rubric, **settings)
        finally:
            left = programs.stop()  # nothing of the submission runs past this line
        result.submission = "submission"
        notes = tampering_notes(files.changed(), RESULTS, results.exists()
                                or results.is_symlink())
        if left:
            notes.append(f"integrity: {len(left)} process(es) your programs left running"
                         " after grading were stopped before the results were written.")
        notes += environment_note(environment_findings())
        result.notes += notes
        data = gradescope_dict(result, rubric.visibility_for(result.checks))  # notes too
        write_report(results, json.dumps(data, indent=1) + "\n")
    except Exception:  # noqa: BLE001 - any failure: no grade, and run_autograder says so
        print(traceback.format_exc(), file=sys.stderr)
        print("chatlab: grading failed; no results written", file=sys.stderr)
        return 1
    print(f"score {result.score:g}/{result.max_score:g}", file=sys.stderr)
    for note in notes:
        print(f"chatlab: {note}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.batch.autograder")
    parser.add_argument("--root", default="/autograder", help="the autograder tree")
    args = parser.parse_args(argv)
    return run(Path(args.root).resolve())


if __name__ == "__main__":
    sys.exit(main())
