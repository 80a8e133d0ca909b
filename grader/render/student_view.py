"""A student's view of a result: the checks they may see now, and a count of the rest.

The rubric's visibility (:mod:`grader.visibility`) decides; a check that is not
``visible`` is left out with its details, and the report says how many such checks
there are and when each kind is shown. Their points still count toward the grade, but
a student's report gives neither their verdicts nor the points they earned (as on
Gradescope, where hidden tests also hide the total).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from ..i18n import N_plural, ngettext
from ..messages import L_
from ..model import CheckResult, Status, SubmissionResult
from ..visibility import AFTER_DUE_DATE, AFTER_PUBLISHED, HIDDEN, Visibility

WHEN = {  # how a report says when a check not shown now is shown
    AFTER_DUE_DATE: N_plural("{count} shown after the due date",
                             "{count} shown after the due date"),
    AFTER_PUBLISHED: N_plural("{count} shown once grades are published",
                              "{count} shown once grades are published"),
    HIDDEN: N_plural("{count} hidden", "{count} hidden"),
}

NEEDS_WITHHELD = L_("skipped: it needs a check that is not shown here to pass first")


@dataclass(frozen=True)
class Withheld:
    """The checks a student does not see now."""

    counts: dict[str, int] = field(default_factory=dict)  # visibility -> number of checks
    max_points: float = 0.0  # what they are worth together
    points: float = 0.0  # what they earned together (for the platforms that need a total)

    @property
    def count(self) -> int:
        return sum(self.counts.values())


def student_view(result: SubmissionResult,
                 visibility: Visibility | None) -> tuple[SubmissionResult, Withheld]:
    """``result`` with only the checks a student sees now, and what was left out."""
    if visibility is None:
        return result, Withheld()
    shown = [c for c in result.checks if visibility.shown(c.id)]
    if len(shown) == len(result.checks):
        return result, Withheld()
    rest = [c for c in result.checks if not visibility.shown(c.id)]
    counts = Counter(visibility.of(c.id) for c in rest)
    withheld = Withheld(
        counts={v: counts[v] for v in WHEN if counts[v]},
        max_points=sum(c.max_points for c in rest if c.status is not Status.NOT_APPLICABLE),
        points=sum(c.points for c in rest),
    )
    return replace(result, checks=[without_names(c, rest) for c in shown]), withheld


def without_names(check: CheckResult, rest: list[CheckResult]) -> CheckResult:
    """``check`` with a skip reason that names none of ``rest`` (the check it waited
    for may be one a student does not see)."""
    if check.status is Status.SKIPPED and any(f"({c.id})" in check.reason for c in rest):
        return replace(check, reason=NEEDS_WITHHELD)
    return check


def withheld_sentence(withheld: Withheld, more: bool = True) -> str:
    """E.g. "3 more checks (5 points) count toward the grade but are not shown here:
    2 shown after the due date, 1 hidden." ("" when nothing is withheld)."""
    if not withheld.count:
        return ""
    kinds = ", ".join(ngettext(*WHEN[v], n).format(count=n) for v, n in withheld.counts.items())
    n = withheld.count
    if more:
        sentence = ngettext(
            "{count} more check ({points} points) counts toward the grade but is not shown"
            " here: {kinds}.",
            "{count} more checks ({points} points) count toward the grade but are not"
            " shown here: {kinds}.", n)
    else:
        sentence = ngettext(
            "{count} check ({points} points) counts toward the grade but is not shown"
            " here: {kinds}.",
            "{count} checks ({points} points) count toward the grade but are not shown"
            " here: {kinds}.", n)
    return sentence.format(count=n, points=f"{withheld.max_points:g}", kinds=kinds)


def more_checks(withheld: Withheld) -> str:
    """The name a platform's one test for the checks left out gets: "2 more checks"."""
    n = withheld.count
    return ngettext("{count} more check", "{count} more checks", n).format(count=n)
