"""Declaring checks: a decorated function whose docstring is the sentence the student sees.

::

    @check("server.welcome", step=4, points=2, depends=["server.starts"],
           hint=Hint("Welcome", "§2"))   # "Read notebooks/04_broadcast.ipynb, …"
    def welcome(ctx):
        \"\"\"the server welcomes a new nickname with `*** welcome <nick>`\"\"\"
        ...

The decorator only attaches a :class:`CheckSpec` to the function; :func:`collect` gathers
them from modules, so there is no global registry to mutate.
"""

from __future__ import annotations

import fnmatch
import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

from .i18n import N_
from .messages import CourseFile, Text, sentences
from .model import Level
from .steps import notebook

_ATTR = "__chatlab_check__"
# The sentence of a hint that says what to read (a protocol profile leaves it out).
READ = N_("Read {notebook}, section '{section}'.")
READ_WITH_PROTOCOL = N_("Read {notebook}, section '{section}', and PROTOCOL.md {paragraph}.")


@dataclass(frozen=True)
class Hint:
    """What to read when a check fails: a section of the notebook of the check's step
    (or of ``step``, when another notebook teaches it), a paragraph of PROTOCOL.md, a
    tip. The check's step is given once, in its declaration."""

    section: str
    protocol: str = ""  # e.g. "§4"
    tip: str = ""
    step: int | None = None  # another step's notebook; None: the check's own

    def text(self, step: int) -> str:
        """'Read notebooks/NN_x.ipynb, section 'S', and PROTOCOL.md §P.' and the tip, as
        a message: the section, the tip and a paragraph in words ("§2 and §4") are
        messages of their own, the notebook is shown as its translation."""
        fields = {"notebook": CourseFile(notebook(self.step if self.step is not None else step)),
                  "section": Text(self.section)}
        if self.protocol:
            paragraph = Text(self.protocol) if re.search(r"[^\W\d_]", self.protocol) \
                else self.protocol  # "§2 and §4" has words to translate, "§2" has none
            reading = Text(READ_WITH_PROTOCOL, {**fields, "paragraph": paragraph})
        else:
            reading = Text(READ, fields)
        return sentences(reading, Text(self.tip) if self.tip else "")


def is_reading(text: str) -> bool:
    """Whether ``text`` is the sentence of a hint that says what to read."""
    return isinstance(text, Text) and text.msgid in (READ, READ_WITH_PROTOCOL)


@dataclass(frozen=True)
class CheckSpec:
    """Everything the runner needs to know about one check."""

    id: str  # stable, e.g. "server.broadcast"; rubrics and gradebooks key on it
    title: str  # first docstring line: what the student sees (a Text: its msgid)
    func: Callable[[Any], None]  # called with a grader.context.Context
    step: int  # notebooks/NN_*.ipynb that teaches it
    points: float = 1.0
    level: Level = Level.CORE
    depends: tuple[str, ...] = ()  # ids that must pass first; otherwise this is skipped
    hint: str = ""  # what to read when it fails (a Text when made from a Hint)
    needs: tuple[str, ...] = ()  # profile features, see grader.profile.Profile.supports
    alone: bool = False  # measures time or resources: run while no other check runs
    cost: float = 1.0  # rough duration; among ready checks the costly ones start first
    own_server: bool = False  # measures the server itself: no server shared with others


def check(
    id: str,  # noqa: A002 - the natural name in a declaration
    *,
    step: int,
    points: float = 1.0,
    level: Level | str = Level.CORE,
    depends: Iterable[str] = (),
    hint: Hint | str = "",
    needs: Iterable[str] = (),
    alone: bool = False,
    cost: float = 1.0,
    own_server: bool = False,
) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Mark ``func`` as a check; its docstring's first line becomes the title."""

    def decorate(func: Callable[[Any], None]) -> Callable[[Any], None]:
        doc = inspect.getdoc(func)
        if not doc:
            raise ValueError(f"check {id!r} ({func.__qualname__}) needs a docstring: its title")
        spec = CheckSpec(
            id=id,
            title=Text(doc.strip().splitlines()[0].strip()),
            func=func,
            step=step,
            points=float(points),
            level=Level(level),
            depends=tuple(depends),
            hint=hint.text(step) if isinstance(hint, Hint) else hint,
            needs=tuple(needs),
            alone=alone,
            cost=cost,
            own_server=own_server,
        )
        setattr(func, _ATTR, spec)
        return func

    return decorate


def collect(modules: Iterable[ModuleType]) -> list[CheckSpec]:
    """The checks declared in ``modules``, in declaration order, validated."""
    specs: list[CheckSpec] = []
    for module in modules:
        found = [getattr(v, _ATTR) for v in vars(module).values() if hasattr(v, _ATTR)]
        found.sort(key=lambda s: s.func.__code__.co_firstlineno)
        specs.extend(found)
    ids = [s.id for s in specs]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate check ids: {sorted(duplicates)}")
    known = set(ids)
    for spec in specs:
        unknown = [d for d in spec.depends if d not in known]
        if unknown:
            raise ValueError(f"check {spec.id!r} depends on unknown check(s) {unknown}")
    return specs


def with_points(spec: CheckSpec, points: float) -> CheckSpec:
    return replace(spec, points=float(points))


def matches(spec: CheckSpec, token: str) -> bool:
    """Whether one selection token names ``spec``: an id or glob, a level, ``step:N``/``N``."""
    token = token.strip()
    if not token:
        return False
    if token in {lv.value for lv in Level}:
        return spec.level.value == token
    step = token.removeprefix("step:").removeprefix("step")
    if step.isdigit():
        return spec.step == int(step)
    return fnmatch.fnmatchcase(spec.id, token) or spec.id.split(".", 1)[-1] == token


def select(specs: list[CheckSpec], only: str | Iterable[str] | int | None) -> list[CheckSpec]:
    """The checks named by ``only`` plus everything they depend on, in declaration order.

    ``only`` is None (everything), a step number, or tokens (comma-separated or a list):
    ids (``server.broadcast``), globs (``client.*``), short names (``broadcast``),
    levels (``core``) and steps (``step:4``). An unknown token raises ValueError.
    """
    if only is None:
        return list(specs)
    if isinstance(only, int):
        tokens = [str(only)]
    elif isinstance(only, str):
        tokens = [t for t in only.split(",") if t.strip()]
    else:
        tokens = [str(t) for t in only]
    chosen: set[str] = set()
    for token in tokens:
        hit = {s.id for s in specs if matches(s, token)}
        if not hit:
            raise ValueError(f"no check matches {token!r} (try an id, a level or step:N)")
        chosen |= hit
    chosen = with_dependencies(specs, chosen)
    return [s for s in specs if s.id in chosen]


def with_dependencies(specs: list[CheckSpec], chosen: set[str]) -> set[str]:
    """``chosen`` plus every check they depend on, directly or not (they must run first)."""
    by_id = {s.id: s for s in specs}
    closed = set(chosen)
    stack = list(closed)
    while stack:
        for dep in by_id[stack.pop()].depends:
            if dep not in closed:
                closed.add(dep)
                stack.append(dep)
    return closed
