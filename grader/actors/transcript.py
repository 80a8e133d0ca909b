"""A check's transcript: who sent what, who received what, in order, with relative times."""

from __future__ import annotations

import threading
import time

from ..messages import L_
from ..model import TranscriptEntry

MAX_ENTRIES = 400  # beyond this, entries are counted but not kept (bursts, leak loops)
MAX_TEXT = 300  # characters of one entry's text kept for display


class Transcript:
    """Thread-safe, append-only record of a scenario; times are seconds since creation."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._entries: list[TranscriptEntry] = []
        self._dropped = 0
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.monotonic() - self._start

    def add(self, actor: str, action: str, text: str = "") -> None:
        if len(text) > MAX_TEXT:
            text = L_("{start}… ({count} characters in all)", start=str(text)[:MAX_TEXT],
                      count=len(text))
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._dropped += 1
                return
            self._entries.append(TranscriptEntry(round(self.now(), 3), actor, action, text))

    def note(self, text: str) -> None:
        self.add("grader", "note", text)

    def entries(self) -> list[TranscriptEntry]:
        with self._lock:
            entries = list(self._entries)
            if self._dropped:
                entries.append(
                    TranscriptEntry(
                        round(self.now(), 3),
                        "grader",
                        "note",
                        L_("{count} more events not shown", count=self._dropped),
                    )
                )
            return entries
