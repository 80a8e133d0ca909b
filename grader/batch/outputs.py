"""What a batch leaves for the instructor, once every program is gone: ``grades.csv``,
``errors.csv``, ``report.html`` and the exports, all from the batch's memory.

Everything is made from one :class:`~.gradebook.Gradebook` of the results the batch
graded or verified (:class:`~.parallel.BatchSummary`), so every file shows the same
numbers, and none depends on a file a submission could have written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..i18n import gettext as _
from ..i18n import ngettext
from .class_report import write_report
from .exports import FILENAMES, ExportPlan, export_rows, save_plan, write_exports
from .exports import FOLDER as EXPORTS
from .gradebook import Gradebook, write_csv, write_errors_csv
from .parallel import BatchSummary
from .roster import Roster, RosterMatch, match
from .store import ResultStore


@dataclass
class Outputs:
    """The files written, and what the instructor should be told about them."""

    gradebook: Gradebook
    roster: RosterMatch | None
    grades: Path
    errors: Path
    report: Path
    exports: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # students left out of an export, …
    failed_exports: list[str] = field(default_factory=list)  # formats not written, why


def write_outputs(summary: BatchSummary, out: Path, roster: Roster | None,
                  plan: ExportPlan) -> Outputs:
    """Write every file of a finished batch into ``out``."""
    gradebook = Gradebook.build(list(summary.results.values()), summary.not_graded,
                                summary.events)
    matched = match(roster, summary.students) if roster is not None else None
    outputs = Outputs(
        gradebook, matched,
        grades=write_csv(gradebook, out / "grades.csv"),
        errors=write_errors_csv(gradebook, out / "errors.csv"),
        report=write_report(gradebook, out / "report.html", roster=matched),
    )
    for fmt in set(FILENAMES) - set(plan.formats):  # a file left from other plans: stale
        (out / EXPORTS / FILENAMES[fmt]).unlink(missing_ok=True)
    if plan.formats:
        rows = export_rows(gradebook, matched)
        written, exports, failed = write_exports(rows, plan, out / EXPORTS)
        outputs.exports, outputs.failed_exports = written, failed
        for export in exports:
            outputs.notes += export.notes
            if export.left_out:
                shown = ", ".join(f"{k} ({_(v)})" for k, v in list(export.left_out.items())[:5])
                count = len(export.left_out)
                outputs.notes.append(ngettext(
                    "{filename}: {count} student(s) left out: {students}",
                    "{filename}: {count} student(s) left out: {students}", count).format(
                        filename=export.filename, count=count, students=shown))
    if not plan.empty:
        save_plan(ResultStore(out), plan)
    return outputs
