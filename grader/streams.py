"""Byte streams, with no I/O in them: cutting one into lines, and keeping its tail.

TCP and pipes deliver bytes in chunks that fall anywhere, so everything that reads a
program's output or a connection feeds its chunks to a :class:`LineSplitter` and gets
complete lines back; what is printed is kept as an :class:`OutputTail`, the last part
only, so a program that prints without end cannot eat the grader's memory::

    lines = LineSplitter(max_line=64 * 1024)
    lines.feed(b"ana: hi\\nbo")   # [b"ana: hi"]
    lines.feed(b"b: yo\\n")       # [b"bob: yo"]
    lines.finish()                 # b"" at end of stream (or the unterminated rest)
"""

from __future__ import annotations

import threading
from collections import deque


class LineSplitter:
    """Cuts bytes into lines at ``\\n`` (the ``\\n`` dropped, a ``\\r`` before it kept:
    callers that show lines strip it, callers that check framing must see it)."""

    def __init__(self, max_line: int | None = None) -> None:
        # A line without end must not grow without end: past ``max_line`` bytes only
        # its last part is kept (None: keep everything, for a reader with its own cap).
        self.max_line = max_line
        self._partial = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        """The lines that ``chunk`` completes, in order."""
        end = chunk.rfind(b"\n")
        if end < 0:
            self._partial += chunk
            self._trim()
            return []
        complete = (bytes(self._partial) + chunk[:end]).split(b"\n")
        self._partial = bytearray(chunk[end + 1:])
        self._trim()
        if self.max_line is not None:
            complete = [line[-self.max_line:] for line in complete]
        return complete

    def take_line(self) -> bytes | None:
        """The next complete line already buffered by :meth:`buffer`, or None (for a
        reader that keeps lines in the splitter and takes them one by one)."""
        end = self._partial.find(b"\n")
        if end < 0:
            return None
        line = bytes(self._partial[:end])
        del self._partial[: end + 1]
        return line

    def buffer(self, chunk: bytes) -> None:
        """Add ``chunk`` without cutting it; take lines with :meth:`take_line`."""
        self._partial += chunk

    @property
    def pending(self) -> bytearray:
        """The bytes received after the last complete line (read-write)."""
        return self._partial

    def finish(self) -> bytes:
        """At end of stream: the unterminated rest (``b""`` if none), and a clean slate."""
        rest, self._partial = bytes(self._partial), bytearray()
        return rest

    def _trim(self) -> None:
        if self.max_line is not None and len(self._partial) > self.max_line:
            del self._partial[: len(self._partial) - self.max_line]


class OutputTail:
    """The last ``cap`` bytes of a stream, and how many bytes came in all; thread-safe
    (a reader thread adds, the grader reads)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.total = 0
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._lock = threading.Lock()

    def add(self, chunk: bytes) -> None:
        with self._lock:
            self.total += len(chunk)
            self._chunks.append(chunk[-self.cap:])
            self._size += len(self._chunks[-1])
            while self._size - len(self._chunks[0]) >= self.cap:
                self._size -= len(self._chunks.popleft())

    def text(self) -> str:
        """The tail, decoded (bytes that are not UTF-8 shown as U+FFFD)."""
        with self._lock:
            data = b"".join(self._chunks)[-self.cap:]
        return data.decode("utf-8", "replace")
