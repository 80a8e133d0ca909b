"""The one module that uses copydetect: fingerprints of code and the overlap of two.

copydetect (an optional extra: ``pip install 'chatlab[similarity]'``) tokenizes Python
with Pygments, replaces every name with one letter and every string with another, so
renamed variables change nothing, and keeps the hash of every run of :data:`NOISE`
characters of that text (winnowing, as MOSS does). Two documents share code where they
share hashes, wherever it sits in each file, so reordered functions still match.
Hashes also found in the boilerplate (the skeleton students start from, the model
answer) are dropped before comparing: that code is nobody's own.

Nothing here knows about students; :mod:`.compare` decides who is compared with whom.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from types import ModuleType
from typing import Any

INSTALL_HINT = "pip install 'chatlab[similarity]'"

# The shortest match that counts, in characters of tokenized code (about one statement);
# copydetect's default. With the guarantee equal to it the winnowing window is 1: every
# hash is kept, so the figures do not depend on which hashes a window happens to pick.
NOISE = 25
GUARANTEE = 25
WINDOW = GUARANTEE - NOISE + 1


class SimilarityUnavailable(RuntimeError):
    """copydetect is not installed."""


def require_copydetect() -> ModuleType:
    """The copydetect module, or :class:`SimilarityUnavailable` saying how to install it."""
    try:
        import copydetect
    except ImportError as error:
        raise SimilarityUnavailable(
            f"the similarity report needs copydetect, which is not installed: {INSTALL_HINT}"
        ) from error
    return copydetect


@dataclass(frozen=True)
class Match:
    """How much of two documents is the same code, and where."""

    share_a: float  # of a's own code (boilerplate excluded), the fraction also in b
    share_b: float
    slices_a: tuple[tuple[int, int], ...]  # (start, end) character ranges of a's text
    slices_b: tuple[tuple[int, int], ...]

    @property
    def similarity(self) -> float:
        """The larger share: one who copied half of a longer solution still stands out."""
        return max(self.share_a, self.share_b)


class Fingerprinter:
    """Makes comparable fingerprints, leaving out what the boilerplate texts contain."""

    def __init__(self, boilerplate: list[str] | tuple[str, ...] = ()) -> None:
        self._cd = require_copydetect()
        import numpy as np

        hashes: set[int] = set()
        for text in boilerplate:
            hashes |= self._fingerprint(text, None).hashes
        self._boilerplate = np.unique(np.array(sorted(hashes), dtype=np.int64))

    def _fingerprint(self, text: str, boilerplate: Any) -> Any:
        fp = self._cd.CodeFingerprint(
            "submission.py", NOISE, WINDOW, boilerplate=boilerplate, filter=True,
            language="python", fp=io.StringIO(text),
        )
        _repair_offsets(fp.offsets)
        return fp

    def fingerprint(self, text: str) -> Any:
        """copydetect's ``CodeFingerprint`` of ``text``, boilerplate removed."""
        return self._fingerprint(text, self._boilerplate)


def own_code_size(fingerprint: Any) -> int:
    """Characters of tokenized code left once the boilerplate is removed (0: none)."""
    return int(fingerprint.token_coverage)


def compare(a: Any, b: Any) -> Match:
    """The overlap of two fingerprints made by the same :class:`Fingerprinter`."""
    from copydetect import compare_files

    _, (share_a, share_b), (slices_a, slices_b) = compare_files(a, b)
    return Match(
        share_a=min(float(share_a), 1.0),
        share_b=min(float(share_b), 1.0),
        slices_a=_ranges(slices_a, a.raw_code),
        slices_b=_ranges(slices_b, b.raw_code),
    )


def _ranges(slices: Any, text: str) -> tuple[tuple[int, int], ...]:
    """copydetect's 2xN slice array as (start, end) pairs, clipped and widened to whole
    words (its ends can stop one character short of a name)."""
    if len(slices) == 0 or len(slices[0]) == 0:
        return ()
    out: list[tuple[int, int]] = []
    for start, end in zip(slices[0].tolist(), slices[1].tolist(), strict=True):
        start, end = max(0, int(start)), min(len(text), int(end))
        while 0 < start < len(text) and _word(text[start - 1]) and _word(text[start]):
            start -= 1
        while 0 < end < len(text) and _word(text[end - 1]) and _word(text[end]):
            end += 1
        if start >= end:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return tuple(out)


def _word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _repair_offsets(offsets: Any) -> None:
    """Correct, in place, copydetect 0.5's map from tokenized to original positions.

    Each row is ``[position in tokenized code, characters removed before it]`` and the
    second column never decreases, except that a class name's row holds the length of the
    name less one instead of the running total (``filter_code``), which sends a match that
    starts at a class name back towards the top of the file. The next row holds the true
    total plus that same length less one, so the true value is the difference.
    """
    if len(offsets) < 3:
        return
    removed = offsets[:, 1]
    for i in range(1, len(removed) - 1):
        if removed[i] < removed[i - 1]:
            removed[i] = removed[i + 1] - removed[i]
