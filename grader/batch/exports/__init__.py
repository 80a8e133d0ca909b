"""Grades as learning platforms import them: ``--export moodle|canvas|csv``.

::

    python -m grader batch submissions/ --out results/ --roster roster.csv \\
        --export moodle,canvas --assignment "Chat lab (12345)"

writes ``results/exports/moodle.csv``, ``canvas.csv`` and (``csv``) ``plain.csv``.
Each format is a small pure function from :class:`~.rows.ExportRow` objects to an
:class:`~.base.Export` (:mod:`.moodle`, :mod:`.canvas`, :mod:`.plain_csv`); the rows
are made from the batch's own gradebook, the one ``grades.csv`` is made from
(:mod:`.rows`). Moodle and Canvas match students by the roster's ids, so they need
``--roster``.

What a run exported with (formats, assignment name, roster file) is remembered in
``exports/plan.json``, sealed with the results folder's key, so a later run on the
same folder (``--student bob``) rebuilds the same exports without repeating them;
options given again replace what was remembered, ``--export none`` stops exporting.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ...i18n import gettext as _
from ..store import ResultStore, write_atomic
from . import canvas, moodle, plain_csv
from .base import Export, ExportError
from .canvas import render_canvas
from .moodle import render_moodle
from .plain_csv import render_plain
from .rows import ExportRow, export_rows

FORMATS = ("moodle", "canvas", "csv")
FILENAMES = {"moodle": moodle.FILENAME, "canvas": canvas.FILENAME, "csv": plain_csv.FILENAME}
NEEDS_ROSTER = ("moodle", "canvas")
NONE = "none"
DEFAULT_ASSIGNMENT = "chatlab"
FOLDER = "exports"  # inside the results folder
PLAN = "plan.json"
PLAN_KIND = "chatlab-exports/1"

__all__ = ["DEFAULT_ASSIGNMENT", "FORMATS", "Export", "ExportError", "ExportPlan",
           "ExportRow", "FILENAMES", "choose_plan", "export_rows", "parse_formats", "render",
           "write_exports"]


def parse_formats(values: Iterable[str]) -> list[str]:
    """``["moodle,csv", "canvas"]`` -> ``["moodle", "csv", "canvas"]``; ``none`` alone
    means no export. :class:`ExportError` names a value that is not a format."""
    chosen: list[str] = []
    for value in values:
        for word in value.split(","):
            name = word.strip().lower()
            if not name:
                continue
            if name != NONE and name not in FORMATS:
                raise ExportError(f"--export {word.strip()!r}: not a format; choose from"
                                  f" {', '.join(FORMATS)} (or {NONE})")
            if name not in chosen:
                chosen.append(name)
    if NONE in chosen and len(chosen) > 1:
        raise ExportError(f"--export {NONE} cannot be given with formats"
                          f" ({', '.join(c for c in chosen if c != NONE)})")
    return [c for c in chosen if c != NONE]


def check_assignment(name: str) -> str:
    """The assignment name as a column header, or :class:`ExportError`."""
    cleaned = name.strip()
    if not cleaned or any(ch in cleaned for ch in "\r\n"):
        raise ExportError(f"--assignment {name!r}: give a name on one line, such as"
                          f" {DEFAULT_ASSIGNMENT!r} or 'Chat lab (12345)'")
    return cleaned


@dataclass
class ExportPlan:
    """What to export, and with which roster."""

    formats: list[str] = field(default_factory=list)
    assignment: str = DEFAULT_ASSIGNMENT
    roster: str | None = None  # absolute path of the roster file

    def check(self) -> None:
        """:class:`ExportError` when a format needs what the plan lacks."""
        needing = [f for f in self.formats if f in NEEDS_ROSTER]
        if needing and self.roster is None:
            raise ExportError(f"--export {','.join(needing)} needs --roster: Moodle and Canvas"
                              " find students by the ids a roster gives")

    @property
    def empty(self) -> bool:
        return not self.formats and self.roster is None


def _plan_path(store: ResultStore) -> Path:
    return store.root / FOLDER / PLAN


def remembered_plan(store: ResultStore) -> tuple[ExportPlan | None, str]:
    """The plan the last run saved in ``store``, or None and why not (empty: none)."""
    path = _plan_path(store)
    if not path.exists():
        return None, ""
    if not store.has_key():  # reading would make a new key: never for a plan's sake
        return None, _("{path} cannot be verified (no key); give --export and --roster"
                       " again").format(path=path)
    try:
        body = store.open_document(PLAN_KIND, path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        body = None
    try:
        plan = ExportPlan(**body) if body is not None else None
    except TypeError:
        plan = None
    if plan is None:
        return None, _("{path} does not verify; give --export and --roster again").format(
            path=path)
    return plan, ""


def choose_plan(store: ResultStore, formats: list[str] | None, roster: str | None,
                assignment: str | None) -> tuple[ExportPlan, str]:
    """What this run exports: each option given, else what the last run used; and a
    note on what was remembered (or could not be). Raises :class:`ExportError`."""
    previous, note = remembered_plan(store)
    base = previous or ExportPlan()
    plan = ExportPlan(
        formats=parse_formats(formats) if formats is not None else list(base.formats),
        assignment=check_assignment(assignment) if assignment is not None else base.assignment,
        roster=os.path.abspath(roster) if roster is not None else base.roster,
    )
    plan.check()
    if previous is None:
        given_all = formats is not None and roster is not None
        return plan, "" if given_all else note
    used = [f"--export {','.join(plan.formats)}" if formats is None and plan.formats else "",
            f"--roster {plan.roster}" if roster is None and plan.roster else "",
            f"--assignment {plan.assignment!r}" if assignment is None and plan.formats else ""]
    used = [u for u in used if u]
    return plan, (_("as the last run on this folder: {options}").format(options="; ".join(used))
                  if used else "")


def save_plan(store: ResultStore, plan: ExportPlan) -> None:
    """Remember ``plan`` for the next run on this folder (sealed)."""
    write_atomic(_plan_path(store), store.seal_document(PLAN_KIND, asdict(plan)))


def render(fmt: str, rows: list[ExportRow], assignment: str) -> Export:
    """One export format's file."""
    if fmt == "moodle":
        return render_moodle(rows, assignment)
    if fmt == "canvas":
        return render_canvas(rows, assignment)
    if fmt == "csv":
        return render_plain(rows)
    raise ExportError(f"unknown export format {fmt!r}")


def write_exports(rows: list[ExportRow], plan: ExportPlan, folder: Path
                  ) -> tuple[list[Path], list[Export], list[str]]:
    """Write every format of ``plan`` into ``folder`` (atomically): the paths written,
    the exports, and the errors of formats that could not be written."""
    written, exports, errors = [], [], []
    for fmt in plan.formats:
        try:
            export = render(fmt, rows, plan.assignment)
        except ExportError as error:
            errors.append(str(error))
            continue
        path = folder / export.filename
        write_atomic(path, export.text)
        written.append(path)
        exports.append(export)
    return written, exports, errors
