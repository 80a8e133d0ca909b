"""The results folder of a batch: one file per student, written so a crash loses nothing.

Layout::

    RESULTS_DIR/results/<student>.json   a graded student (SubmissionResult.to_dict())
    RESULTS_DIR/errors/<student>.json    a student that could not be graded, and why
    RESULTS_DIR/batch.json               the settings the results were graded with

Every file is written to a hidden temporary name in the same folder, flushed to disk,
then renamed over the final name with :func:`os.replace`, which is atomic: a reader (or
a resumed batch) sees the old file or the new one, never half of one. A temporary file
left by a crash is ignored and removed on the next run. A result file that does not load
(edited by hand, disk trouble) counts as not graded, so it is graded again.

A batch holds an advisory lock on ``RESULTS_DIR/.lock`` while it runs, so a second batch
started on the same folder stops at once instead of interleaving with the first.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not POSIX: no protection against two batches in one folder
    fcntl = None  # type: ignore[assignment]

from ..model import SubmissionResult

RESULTS = "results"
ERRORS = "errors"
MANIFEST = "batch.json"
LOCK = ".lock"
TMP_PREFIX = "."
TMP_SUFFIX = ".tmp"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that ``path`` is never seen half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TMP_PREFIX + path.name, suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_dir(path.parent)


def _sync_dir(folder: Path) -> None:
    # The rename itself must reach the disk for a power cut not to undo it.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class StoreBusy(Exception):
    """Another batch is writing to the same results folder."""


class ResultStore:
    """Reads and writes the per-student files of one results folder."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.results_dir = self.root / RESULTS
        self.errors_dir = self.root / ERRORS

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder for one batch; a second batch on it gets :class:`StoreBusy`."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK, "a") as handle:
            if fcntl is not None:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise StoreBusy(f"another batch is writing to {self.root}") from None
            yield  # the lock goes with the file descriptor

    def prepare(self) -> None:
        """Create the folders and remove temporary files a crashed run left behind."""
        for folder in (self.results_dir, self.errors_dir):
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.glob(TMP_PREFIX + "*" + TMP_SUFFIX):
                stale.unlink(missing_ok=True)

    def result_path(self, student: str) -> Path:
        return self.results_dir / f"{student}.json"

    def error_path(self, student: str) -> Path:
        return self.errors_dir / f"{student}.json"

    def save_result(self, student: str, result: SubmissionResult) -> None:
        """Store a graded student; clears an error recorded by an earlier run."""
        write_atomic(self.result_path(student), json.dumps(result.to_dict(), indent=1) + "\n")
        self.error_path(student).unlink(missing_ok=True)

    def save_error(self, student: str, message: str, detail: str = "") -> None:
        """Record that ``student`` could not be graded (retried on the next run)."""
        payload = {"student": student, "error": message, "detail": detail}
        write_atomic(self.error_path(student), json.dumps(payload, indent=1) + "\n")

    def load_result(self, student: str) -> SubmissionResult | None:
        """The stored result, or None when absent or unreadable."""
        try:
            data = json.loads(self.result_path(student).read_text(encoding="utf-8"))
            return SubmissionResult.from_dict(data)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def load_error(self, student: str) -> str | None:
        try:
            data = json.loads(self.error_path(student).read_text(encoding="utf-8"))
            return str(data["error"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def is_graded(self, student: str) -> bool:
        return self.load_result(student) is not None

    def students(self) -> list[str]:
        """Every student with a stored result, sorted."""
        if not self.results_dir.is_dir():
            return []
        return sorted(
            p.stem for p in self.results_dir.glob("*.json") if not p.name.startswith(TMP_PREFIX)
        )

    def read_manifest(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.root / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def write_manifest(self, settings: dict[str, Any]) -> None:
        write_atomic(self.root / MANIFEST, json.dumps(settings, indent=1, sort_keys=True) + "\n")
