"""The Gradescope side: grade ``/autograder/submission`` into ``results/results.json``.

``run_autograder`` (built by :mod:`.gradescope_package`) runs::

    python3 -m grader.batch.autograder --root /autograder

It finds the student's programs (Gradescope puts the uploaded files, or the GitHub
repository, in ``submission/``; they may sit in a sub-folder), grades them with the
settings packed in ``source/config/settings.json``, and writes the Gradescope results.
If grading itself breaks, it still writes a valid ``results.json`` that tells the
student it is not their fault, and exits non-zero so the run shows up in Gradescope's
logs.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path
from typing import Any

from ..model import SubmissionResult
from .discover import find_root
from .store import write_atomic

SETTINGS = Path("source") / "config" / "settings.json"
GRADER_BROKE = (
    "The autograder could not grade this submission (a problem with the autograder, not "
    "with your code). Please tell your instructor; you may resubmit meanwhile.\n\n{error}"
)


def gradescope_dict(result: SubmissionResult) -> dict[str, Any]:
    """Gradescope's results.json for ``result``, from the grader's own renderer."""
    from ..render.gradescope import gradescope_results

    return gradescope_results(result)


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
    """Grade and write ``results.json``; returns the exit status."""
    from ..api import grade

    results = root / "results" / "results.json"
    try:
        folder = find_root(root / "submission")
        result = grade(folder, **load_settings(root))
        result.submission = "submission"
        data = gradescope_dict(result)
    except Exception:
        error = traceback.format_exc()
        print(error, file=sys.stderr)
        data = {"score": 0.0, "output": GRADER_BROKE.format(error=error), "tests": []}
        write_atomic(results, json.dumps(data, indent=1) + "\n")
        return 1
    write_atomic(results, json.dumps(data, indent=1) + "\n")
    print(f"score {result.score:g}/{result.max_score:g}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.batch.autograder")
    parser.add_argument("--root", default="/autograder", help="the autograder tree")
    args = parser.parse_args(argv)
    return run(Path(args.root))


if __name__ == "__main__":
    sys.exit(main())
