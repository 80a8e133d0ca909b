"""What every export format shares: the :class:`Export` it returns, and CSV writing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field


class ExportError(Exception):
    """An export cannot be written; the message says why and what to change."""


@dataclass
class Export:
    """One file an export format made."""

    filename: str  # written in RESULTS_DIR/exports/
    text: str
    left_out: dict[str, str] = field(default_factory=dict)  # folder -> why it is not there
    notes: list[str] = field(default_factory=list)  # what the instructor should know


def csv_text(rows: list[list[str]]) -> str:
    """``rows`` as CSV (RFC 4180: quotes where needed, doubled inside, CRLF line ends),
    UTF-8 without a byte-order mark, as Moodle and Canvas read it."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()
