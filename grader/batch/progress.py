"""The progress line of a batch run, on stderr.

On a terminal one line is redrawn in place::

    [#########.................]  34/100 done · 2 failed · 64 remaining · ETA 1:52

Anywhere else (a log file, CI) a plain line is printed per finished student, so the log
reads top to bottom. "failed" counts students that could not be graded at all (a broken
archive, a grader crash), not students who lost points. The time left is estimated from
the pace of this run only: students skipped because an earlier run graded them are done
but say nothing about speed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from ..i18n import gettext as _

BAR_WIDTH = 24


def format_duration(seconds: float) -> str:
    """``75`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``."""
    total = max(0, int(round(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Counts finished students and shows done / failed / remaining / time left."""

    def __init__(
        self,
        total: int,
        *,
        already_done: int = 0,
        stream: TextIO | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.done = already_done  # graded, including by an earlier run
        self.failed = 0
        self._stream = stream if stream is not None else sys.stderr
        self._tty = self._stream.isatty() if tty is None else tty
        self._clock = clock
        self._start = clock()
        self._finished_here = 0
        self._width = 0

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.done - self.failed)

    def eta(self) -> float | None:
        """Seconds left at this run's pace; None until one student finished here."""
        if self._finished_here == 0:
            return None
        per_student = (self._clock() - self._start) / self._finished_here
        return per_student * self.remaining

    def status(self) -> str:
        eta = self.eta()
        left = _("ETA {time}").format(time="--:--" if eta is None else format_duration(eta))
        if self.remaining == 0:
            left = _("in {time}").format(time=format_duration(self._clock() - self._start))
        width = len(str(self.total))
        return _("{done}/{total} done · {failed} failed · {remaining} remaining · {left}").format(
            done=f"{self.done:>{width}}", total=self.total, failed=self.failed,
            remaining=self.remaining, left=left)

    def bar(self) -> str:
        filled = (
            BAR_WIDTH if self.total == 0 else (self.done + self.failed) * BAR_WIDTH // self.total
        )
        return "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]"

    def start(self) -> None:
        """Show the initial state (a line on a terminal, a header otherwise)."""
        if self._tty:
            self._redraw()
        else:
            self._print(_("grading {remaining} of {total} submissions ({done} already"
                          " graded)").format(remaining=self.remaining, total=self.total,
                                             done=self.done))

    def update(self, student: str, *, ok: bool, summary: str = "") -> None:
        """Count one finished student; ``summary`` is e.g. ``"18/20"`` or the error."""
        self._finished_here += 1
        if ok:
            self.done += 1
        else:
            self.failed += 1
        if self._tty:
            self._redraw()
        else:
            mark = f"{_('ok'):<6}" if ok else _("FAILED")
            words = [mark, student, summary, "|", self.status()]
            self._print(" ".join(w for w in words if w))

    def close(self) -> None:
        """End the in-place line so later output starts on a fresh line."""
        if self._tty:
            self._redraw()
            self._stream.write("\n")
            self._stream.flush()

    def message(self, text: str) -> None:
        """Print a note without garbling the progress line."""
        if self._tty:
            self._stream.write("\r" + " " * self._width + "\r")
        self._print(text)
        if self._tty:
            self._redraw()

    def _redraw(self) -> None:
        line = f"{self.bar()} {self.status()}"
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self._stream.write("\r" + line + " " * pad)
        self._stream.flush()

    def _print(self, text: str) -> None:
        self._stream.write(text + "\n")
        self._stream.flush()
