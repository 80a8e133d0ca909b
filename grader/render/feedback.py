"""One check's feedback as plain text, for the platforms that show it under a test."""

from __future__ import annotations

from ..i18n import gettext as _
from ..messages import show
from ..model import CheckResult, Status
from .text import details


def check_feedback(c: CheckResult) -> str:
    """Everything a student needs about one check: "Passed.", why it was skipped or
    not applicable, or what went wrong (expected, actual, transcript, hint)."""
    reason = show(c.reason)
    if c.status is Status.PASSED:
        return _("Passed.")
    if c.status is Status.NOT_APPLICABLE:
        return _("Not applicable: {reason}").format(reason=reason)
    if c.status is Status.SKIPPED:
        return (f"{reason[:1].upper()}{reason[1:]}.\n\n{_('Hint:')} {show(c.hint)}" if c.hint
                else reason)
    return "\n".join(line[2:] if line.startswith("  ") else line
                     for line in details(c)[2:]).strip()


def check_summary(c: CheckResult) -> str:
    """One line about one check: what happened, without the details."""
    if c.status is Status.FAILED and c.failure is not None:
        return show(c.failure.message)
    return check_feedback(c).split("\n\n")[0]
