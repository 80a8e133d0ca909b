"""``similarity.csv``: every pair, highest similarity first; and, with ``--reference``,
``similarity_reference.csv``: every student against each model answer, likewise.

A similarity is the share (0 to 1, three decimals) of the more-copied side's own code,
boilerplate excluded, that is also in the other submission.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .compare import Analysis

PAIRS_HEADER = ("student_a", "student_b", "similarity")
REFERENCE_HEADER = ("student", "reference", "similarity")


def fmt(value: float) -> str:
    return f"{value:.3f}"


def _write(path: Path, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def write_pairs(analysis: Analysis, path: Path) -> Path:
    rows = [(p.a, p.b, fmt(p.similarity)) for p in analysis.pairs]
    return _write(path, PAIRS_HEADER, rows)


def write_reference(analysis: Analysis, path: Path) -> Path:
    rows = [(h.student, h.reference, fmt(h.similarity)) for h in analysis.reference_hits]
    return _write(path, REFERENCE_HEADER, rows)
