"""When students see each check: the rubric's ``[visibility]`` table.

::

    [visibility]
    default = "visible"                # every check not named below
    extension = "after_due_date"       # a level
    "server.*" = "after_published"     # a glob over check ids
    "server.history" = "hidden"        # one check id

The values are Gradescope's four (its autograder specification, "Controlling test case
visibility"): ``visible`` (always shown), ``after_due_date`` (shown once the due date,
or the late due date, has passed), ``after_published`` (shown once grades are
published) and ``hidden`` (never shown to students). Instructors see every check.

The most specific key wins: a check id, then a glob, then a level, then ``default``.
Between two globs that match, the one with more literal characters wins
(``"server.history*"`` over ``"server.*"``); two equally specific globs that match one
check and disagree are an error, as is a key that matches no check.

Visibility changes what a student is shown, never the points: a hidden check still
counts toward the grade.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .model import Level

VISIBLE = "visible"
AFTER_DUE_DATE = "after_due_date"
AFTER_PUBLISHED = "after_published"
HIDDEN = "hidden"
VISIBILITIES = (VISIBLE, AFTER_DUE_DATE, AFTER_PUBLISHED, HIDDEN)
DEFAULT_KEY = "default"
SECTION = "visibility"
_WILDCARDS = re.compile(r"\[[^\]]*\]|[*?]")


class _Check(Protocol):  # a CheckSpec or a CheckResult
    id: str
    level: Level


def _check_value(value: object, key: str, source: str) -> str:
    if isinstance(value, dict):  # `server.history = "hidden"`: TOML reads a table
        inner = next(iter(value), "name")
        raise ValueError(f"{source}: [{SECTION}] {key!r} is a table, not a value: quote"
                         f" a check id that has dots, e.g. \"{key}.{inner}\" = \"hidden\"")
    if value not in VISIBILITIES:
        raise ValueError(f"{source}: [{SECTION}] {key!r} must be one of"
                         f" {', '.join(VISIBILITIES)}, not {value!r}")
    return str(value)


def _is_glob(key: str) -> bool:
    return any(ch in key for ch in "*?[")


def _specificity(pattern: str) -> int:
    """How many characters of ``pattern`` are literal (not wildcards)."""
    return len(_WILDCARDS.sub("", pattern))


@dataclass(frozen=True)
class VisibilityRules:
    """The ``[visibility]`` table of a rubric, sorted by kind of key."""

    default: str = VISIBLE
    ids: dict[str, str] = field(default_factory=dict)
    globs: dict[str, str] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)
    source: str = "rubric"  # the rubric file, named in errors

    def of(self, check_id: str, level: Level | str) -> str:
        """The visibility of one check (ValueError when two globs disagree)."""
        if check_id in self.ids:
            return self.ids[check_id]
        matching = [(p, v) for p, v in self.globs.items() if fnmatch.fnmatchcase(check_id, p)]
        if matching:
            best = max(_specificity(p) for p, _ in matching)
            tied = [(p, v) for p, v in matching if _specificity(p) == best]
            if len({v for _, v in tied}) > 1:
                keys = " and ".join(repr(p) for p, _ in tied)
                raise ValueError(f"{self.source}: [{SECTION}] {keys} both match"
                                 f" {check_id!r}, equally specifically, and disagree;"
                                 f" name {check_id!r} itself")
            return tied[0][1]
        return self.levels.get(Level(level).value, self.default)

    def resolve(self, checks: Iterable[_Check]) -> Visibility:
        """Each of ``checks``' visibility, for the renderers."""
        return Visibility(self.default, {c.id: self.of(c.id, c.level) for c in checks})


@dataclass(frozen=True)
class Visibility:
    """What the renderers get: each check id's visibility (others: ``default``)."""

    default: str = VISIBLE
    by_id: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for value in (self.default, *self.by_id.values()):
            if value not in VISIBILITIES:
                raise ValueError(f"visibility must be one of {VISIBILITIES}, not {value!r}")

    def of(self, check_id: str) -> str:
        return self.by_id.get(check_id, self.default)

    def shown(self, check_id: str) -> bool:
        """Whether a student sees this check now."""
        return self.of(check_id) == VISIBLE


def parse_visibility(table: object, source: str,
                     known: list[_Check] | None = None) -> VisibilityRules:
    """Read a rubric's ``[visibility]`` table; ``known`` checks let a key that matches
    no check, or two globs that disagree, be reported now rather than while grading."""
    if not isinstance(table, dict):
        raise ValueError(f"{source}: [{SECTION}] must be a table of check ids, globs or"
                         f" levels, not {table!r}")
    level_names = {lv.value for lv in Level}
    default = VISIBLE
    ids: dict[str, str] = {}
    globs: dict[str, str] = {}
    levels: dict[str, str] = {}
    for key, value in table.items():
        checked = _check_value(value, key, source)
        if key == DEFAULT_KEY:
            default = checked
        elif key in level_names:
            levels[key] = checked
        else:
            (globs if _is_glob(key) else ids)[key] = checked
    rules = VisibilityRules(default, ids, globs, levels, source)
    if known is not None:
        known_ids = [c.id for c in known]
        for key in [*rules.ids, *rules.globs]:
            if not fnmatch.filter(known_ids, key):
                raise ValueError(f"{source}: [{SECTION}] {key!r} matches no check")
        rules.resolve(known)  # two globs that disagree: said now
    return rules
