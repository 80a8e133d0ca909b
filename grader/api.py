"""The programmatic face of the grader, for notebooks, scripts and batch tools.

::

    from grader.api import grade, check

    result = grade("lab")              # every check; a model.SubmissionResult
    print(result.score, result.max_score)

    check(4)                           # in a notebook: step 04's checks, rendered
    check("all")                       # every check
    check("server.broadcast")          # one check (and what it depends on)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from . import __version__
from .checks import all_checks
from .context import Submission
from .model import CheckResult, SubmissionResult
from .profile import Profile, load_profile
from .registry import select
from .rubric import Rubric, load_rubric
from .runner import run_checks
from .timing import Timing, calibrate
from .visibility import Visibility, VisibilityRules

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REFERENCE = PROJECT_ROOT / "reference_solution"
ENV_SUBMISSION = "CHATLAB_SUBMISSION"

Only = str | int | Iterable[str] | None


def default_folder() -> Path:
    """``$CHATLAB_SUBMISSION`` if set, else ``<project root>/lab``."""
    env = os.environ.get(ENV_SUBMISSION)
    return Path(env) if env else PROJECT_ROOT / "lab"


def grade(
    folder: str | os.PathLike[str],
    *,
    only: Only = None,
    rubric: str | os.PathLike[str] | Rubric | None = None,
    profile: str | os.PathLike[str] | Profile | None = None,
    server_cmd: str | None = None,
    client_cmd: str | None = None,
    timing: Timing | None = None,
    progress: Callable[[CheckResult], None] | None = None,
) -> SubmissionResult:
    """Grade the submission in ``folder`` and return every check's result.

    ``only`` selects checks (ids, globs, levels, ``step:N`` or a step number; their
    dependencies run too). ``rubric`` and ``profile`` are TOML paths (or loaded
    objects); ``server_cmd``/``client_cmd`` replace the profile's commands, with
    ``{port}``, ``{host}``, ``{nick}`` and ``{python}`` filled in.
    Raises ValueError/FileNotFoundError on misuse; a failing submission never raises.
    """
    start = time.monotonic()
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"submission folder not found: {folder}")
    known = all_checks()
    the_rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric, known)
    the_profile = profile if isinstance(profile, Profile) else load_profile(profile)
    specs = the_rubric.apply(known)
    if only is not None:
        specs = select(specs, only)
    submission = Submission(
        folder=folder.resolve(),
        server_cmd=server_cmd,
        client_cmd=client_cmd,
        reference=REFERENCE if REFERENCE.is_dir() else None,
    )
    the_timing = timing or calibrate(submission.python)
    isolation: list[str] = []
    checks = run_checks(specs, submission, the_profile, the_timing, progress=progress,
                        notes=isolation)
    return SubmissionResult(
        submission=folder.name or str(folder),
        checks=checks,
        duration=round(time.monotonic() - start, 3),
        profile=the_profile.name,
        grader_version=__version__,
        notes=[the_timing.describe(), f"rubric: {the_rubric.name}", *isolation],
    )


class CheckReport:
    """The result of :func:`check`: shows itself as HTML in Jupyter and as text elsewhere,
    as a student sees it (the rubric's ``[visibility]``, see grader.visibility)."""

    def __init__(self, result: SubmissionResult,
                 visibility: VisibilityRules | None = None) -> None:
        self.result = result
        self.visibility = visibility

    @property
    def passed(self) -> bool:
        return self.result.all_passed

    def _shown(self) -> Visibility | None:
        return None if self.visibility is None else self.visibility.resolve(self.result.checks)

    def __str__(self) -> str:
        from .render.text import render_text

        return render_text(self.result, color=False, visibility=self._shown())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from .render.notebook import render_html

        return render_html(self.result, self._shown())


def check(step_or_ids: Only, folder: str | os.PathLike[str] | None = None) -> CheckReport:
    """Run one step's checks (``check(4)``), named ones (``check("server.broadcast")``) or
    every check (``check("all")``) on ``folder`` (default: :func:`default_folder`) and
    return a report that renders itself. Failing checks never raise; an unknown step or id
    does (ValueError)."""
    target = Path(folder) if folder is not None else default_folder()
    if isinstance(step_or_ids, str) and step_or_ids.strip().lower() == "all":
        step_or_ids = None
    return CheckReport(grade(target, only=step_or_ids), load_rubric(None).visibility)
