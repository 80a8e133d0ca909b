"""Rubrics: which checks count and for how many points (TOML an instructor copies).

::

    [rubric]
    name = "chatlab default"
    levels = ["core", "robustness", "extension"]   # levels that run
    exclude = ["server.history"]                    # ids or globs that do not run

    [points]
    "server.broadcast" = 4
    "client.*" = 1                                  # globs allowed; exact ids win

    [visibility]                                    # optional; see grader/visibility.py
    extension = "after_due_date"                    # a level, a glob or a check id
    "server.history" = "hidden"                     # the most specific key wins

Checks not listed under ``[points]`` keep the points they were declared with; checks
not covered by ``[visibility]`` are visible.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .model import CheckResult, Level
from .registry import CheckSpec, with_dependencies, with_points
from .visibility import SECTION as VISIBILITY_SECTION
from .visibility import Visibility, VisibilityRules, parse_visibility

DEFAULT_RUBRIC = Path(__file__).parent / "rubric.toml"


@dataclass(frozen=True)
class Rubric:
    name: str = "chatlab default"
    levels: tuple[Level, ...] = (Level.CORE, Level.ROBUSTNESS, Level.EXTENSION)
    exclude: tuple[str, ...] = ()
    points: dict[str, float] = field(default_factory=dict)
    visibility: VisibilityRules = field(default_factory=VisibilityRules)

    def visibility_for(self, checks: Iterable[CheckSpec | CheckResult]) -> Visibility:
        """When students see each of ``checks`` (what the renderers get)."""
        return self.visibility.resolve(checks)

    def applies_to(self, spec: CheckSpec) -> bool:
        return spec.level in self.levels and not any(
            fnmatch.fnmatchcase(spec.id, pattern) for pattern in self.exclude
        )

    def points_for(self, spec: CheckSpec) -> float:
        if spec.id in self.points:
            return self.points[spec.id]
        for pattern, value in self.points.items():
            if fnmatch.fnmatchcase(spec.id, pattern):
                return value
        return spec.points

    def apply(self, specs: list[CheckSpec]) -> list[CheckSpec]:
        """The checks this rubric grades, with its points. Dependencies of a graded
        check are kept (they must run first) even if the rubric excludes them."""
        chosen = with_dependencies(specs, {s.id for s in specs if self.applies_to(s)})
        return [with_points(s, self.points_for(s)) for s in specs if s.id in chosen]


def load_rubric(path: str | Path | None = None, known: list[CheckSpec] | None = None) -> Rubric:
    """Read a rubric file (the default one when ``path`` is None); ``known`` checks let
    a typo in an id be reported instead of silently ignored."""
    path = Path(path) if path is not None else DEFAULT_RUBRIC
    with open(path, "rb") as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path}: not valid TOML: {error}") from None
    unknown_sections = set(data) - {"rubric", "points", VISIBILITY_SECTION}
    if unknown_sections:
        raise ValueError(f"{path}: unknown section(s) {sorted(unknown_sections)}")
    head = data.get("rubric", {})
    unknown_keys = set(head) - {"name", "levels", "exclude"}
    if unknown_keys:
        raise ValueError(f"{path}: unknown key(s) {sorted(unknown_keys)} in [rubric]")
    try:
        levels = tuple(Level(v) for v in head.get("levels", [lv.value for lv in Level]))
    except ValueError as error:
        raise ValueError(f"{path}: [rubric] levels: {error}") from None
    points: dict[str, float] = {}
    for key, value in data.get("points", {}).items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{path}: [points] {key!r} must be a number >= 0, not {value!r}")
        points[key] = float(value)
    exclude = tuple(head.get("exclude", []))
    if known is not None:
        ids = [s.id for s in known]
        for pattern in [*points, *exclude]:
            if not fnmatch.filter(ids, pattern):
                raise ValueError(f"{path}: {pattern!r} matches no check")
    visibility = parse_visibility(data.get(VISIBILITY_SECTION, {}), str(path), known)
    return Rubric(name=head.get("name", path.stem), levels=levels, exclude=exclude,
                  points=points, visibility=visibility)
