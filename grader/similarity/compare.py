"""Who is compared with whom, and the ranked results.

- Every two current students, once (``a`` before ``b`` in name order).
- Every current student with every past submission (``--past``); never two past ones.
- Every current student with each model answer (``--reference``), kept apart from the
  pairs: handing in the model answer is one finding about one student, not a pair.

For the pairs, the skeleton (``--base``) and the model answers are boilerplate: code
that is theirs is nobody's own, so two students who both kept the skeleton, or both
followed the model answer, do not look alike for it. For the comparison with a model
answer only the skeleton is boilerplate, or a copy of the answer would score nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .engine import Fingerprinter, Match, compare, own_code_size
from .sources import Source


@dataclass(frozen=True)
class Pair:
    """Two submissions and how alike they are; ``b`` is a past one if ``past``."""

    a: str
    b: str
    match: Match
    past: bool = False

    @property
    def similarity(self) -> float:
        return self.match.similarity


@dataclass(frozen=True)
class ReferenceHit:
    """How much of a student's own code is a model answer's."""

    student: str
    reference: str
    match: Match  # side a is the student

    @property
    def similarity(self) -> float:
        return self.match.share_a


@dataclass
class Analysis:
    students: list[Source]
    past: list[Source] = field(default_factory=list)
    references: list[Source] = field(default_factory=list)
    base: list[Source] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)  # highest similarity first
    reference_hits: list[ReferenceHit] = field(default_factory=list)  # likewise
    own_size: dict[str, int] = field(default_factory=dict)  # code beyond the skeleton
    refused: dict[str, str] = field(default_factory=dict)  # not compared: why
    seconds: float = 0.0

    def student(self, name: str) -> Source:
        return _named(self.students, name)

    def past_one(self, name: str) -> Source:
        return _named(self.past, name)

    def reference(self, name: str) -> Source:
        return _named(self.references, name)


def _named(sources: list[Source], name: str) -> Source:
    for source in sources:
        if source.name == name:
            return source
    raise KeyError(name)


def _ranked(items: list, key: Callable) -> list:
    return sorted(items, key=lambda item: (-item.similarity, *key(item)))


def analyse(
    students: Sequence[Source],
    *,
    base: Sequence[Source] = (),
    references: Sequence[Source] = (),
    past: Sequence[Source] = (),
) -> Analysis:
    """Compare as described in the module's docstring; results ranked, ties by name."""
    started = time.perf_counter()
    result = Analysis(list(students), list(past), list(references), list(base))
    skeleton = [s.text for s in base]
    fingerprints = Fingerprinter(skeleton + [r.text for r in references])
    prints = {s.name: fingerprints.fingerprint(s.text) for s in [*students, *past]}
    result.own_size = {s.name: own_code_size(prints[s.name]) for s in students}

    pairs = []
    for i, a in enumerate(students):
        for b in students[i + 1 :]:
            pairs.append(Pair(a.name, b.name, compare(prints[a.name], prints[b.name])))
        for b in past:
            pairs.append(Pair(a.name, b.name, compare(prints[a.name], prints[b.name]), True))
    result.pairs = _ranked(pairs, lambda p: (p.a, p.b))

    if references:
        against_answer = Fingerprinter(skeleton)
        answers = {r.name: against_answer.fingerprint(r.text) for r in references}
        hits = []
        for s in students:
            own = against_answer.fingerprint(s.text)
            result.own_size[s.name] = own_code_size(own)  # the model answer counts here
            for name, answer in answers.items():
                hits.append(ReferenceHit(s.name, name, compare(own, answer)))
        result.reference_hits = _ranked(hits, lambda h: (h.student, h.reference))
    result.seconds = time.perf_counter() - started
    return result
