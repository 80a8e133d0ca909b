"""One check's feedback as plain text, for the platforms that show it under a test."""

from __future__ import annotations

from ..model import CheckResult, Status
from .text import details


def check_feedback(c: CheckResult) -> str:
    """Everything a student needs about one check: "Passed.", why it was skipped or
    not applicable, or what went wrong (expected, actual, transcript, hint)."""
    if c.status is Status.PASSED:
        return "Passed."
    if c.status is Status.NOT_APPLICABLE:
        return f"Not applicable: {c.reason}"
    if c.status is Status.SKIPPED:
        return f"{c.reason[:1].upper()}{c.reason[1:]}.\n\nHint: {c.hint}" if c.hint else c.reason
    return "\n".join(line[2:] if line.startswith("  ") else line
                     for line in details(c)[2:]).strip()


def check_summary(c: CheckResult) -> str:
    """One line about one check: what happened, without the details."""
    if c.status is Status.FAILED and c.failure is not None:
        return c.failure.message
    return check_feedback(c).split("\n\n")[0]
