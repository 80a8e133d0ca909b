"""The results folder of a batch: one file per student, written so a crash loses nothing.

Layout::

    RESULTS_DIR/results/<student>.json   a graded student, sealed (see below)
    RESULTS_DIR/errors/<student>.json    a student that could not be graded, and why
    RESULTS_DIR/batch.json               the settings the results were graded with
    RESULTS_DIR/.key                     the key of the seals (0600)

Only the batch's parent process writes here (:mod:`.parallel`): workers send their
results to it in memory.

**Seals.** A result file holds the student, the settings fingerprint it was graded
with and the result, with an HMAC-SHA256 digest of the three under a key made once per
results folder with :mod:`secrets` and kept in ``RESULTS_DIR/.key`` (mode 0600). A
file whose digest does not verify (changed by hand, by a submission, or copied from
another student or folder), or that was graded with other settings, counts as not
graded: the next run grades that student again. Trust model: the seal stops anyone
who cannot read ``.key`` (another user, when the folder is not shared; a submission
graded under the operating system's isolation, which sees neither the folder nor the
key). It does not stop a program running as the grader's own user without that
isolation: such a program can read the key. Within one run the parent also compares
every file it wrote with what it holds in memory, which needs no key.

Every file is written to a hidden temporary name in the same folder, flushed to disk,
then renamed over the final name with :func:`os.replace`, which is atomic: a reader (or
a resumed batch) sees the old file or the new one, never half of one. A temporary file
left by a crash is ignored and removed on the next run. A result file that does not load
(edited by hand, disk trouble) counts as not graded, so it is graded again.

A batch holds an advisory lock on ``RESULTS_DIR/.lock`` while it runs, so a second batch
started on the same folder stops at once instead of interleaving with the first.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
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
KEY = ".key"
SEAL = "chatlab-result/1"  # the format of a sealed result file
# Why a stored result does not count (ResultStore.check).
ABSENT, UNREADABLE, FORGED, OTHER_SETTINGS = (
    "absent", "unreadable", "does not verify (changed after the grader wrote it)",
    "was graded with other settings")
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
        self._key: bytes | None = None

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

    # -- the key ---------------------------------------------------------------------

    @property
    def key(self) -> bytes:
        """The seals' key: read once from ``.key``, made there (0600) if absent or bad.
        A new key makes every result sealed with the old one count as not graded."""
        if self._key is None:
            self._key = self._read_key() or self._new_key()
        return self._key

    def _read_key(self) -> bytes | None:
        path = self.root / KEY
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or (os.name == "posix" and info.st_mode & 0o077):
                return None  # a key others could read or write is no key
            text = os.read(fd, 200).decode("ascii", "replace").strip()
        finally:
            os.close(fd)
        try:
            key = bytes.fromhex(text)
        except ValueError:
            return None
        return key if len(key) == 32 else None

    def _new_key(self) -> bytes:
        key = secrets.token_bytes(32)
        self.root.mkdir(parents=True, exist_ok=True)
        # mkstemp makes the file readable and writable by its owner only (0600).
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=TMP_PREFIX + KEY, suffix=TMP_SUFFIX)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(key.hex() + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.root / KEY)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _sync_dir(self.root)
        return key

    # -- sealed results --------------------------------------------------------------

    def result_path(self, student: str) -> Path:
        return self.results_dir / f"{student}.json"

    def error_path(self, student: str) -> Path:
        return self.errors_dir / f"{student}.json"

    def has_key(self) -> bool:
        """Whether ``.key`` holds a usable key (without making one): results sealed
        earlier can only be verified when it does."""
        return self._key is not None or self._read_key() is not None

    def _digest(self, body: dict[str, Any], kind: str = SEAL) -> str:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hmac.new(self.key, f"{kind}\0{canonical}".encode(), hashlib.sha256).hexdigest()

    def seal_document(self, kind: str, body: dict[str, Any]) -> str:
        """``body`` as JSON text sealed under the folder's key for ``kind`` (a format
        name, so a document of one kind never verifies as another)."""
        body = json.loads(json.dumps(body))
        return json.dumps({"format": kind, "digest": self._digest(body, kind), "body": body},
                          indent=1, ensure_ascii=False) + "\n"

    def open_document(self, kind: str, text: str) -> dict[str, Any] | None:
        """The body of a document :meth:`seal_document` wrote, or None if it does not
        verify."""
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("format") != kind:
            return None
        body, digest = data.get("body"), data.get("digest")
        if not isinstance(body, dict) or not isinstance(digest, str):
            return None
        return body if hmac.compare_digest(digest, self._digest(body, kind)) else None

    def seal(self, student: str, result: SubmissionResult,
             settings: dict[str, Any] | None = None) -> str:
        """The text of ``student``'s result file: the result, sealed."""
        body = json.loads(json.dumps(  # as it will read back: tuples are lists, and so on
            {"student": student, "settings": settings or {}, "result": result.to_dict()},
            default=str))
        return json.dumps({"format": SEAL, "digest": self._digest(body), **body},
                          indent=1, ensure_ascii=False) + "\n"

    def save_result(self, student: str, result: SubmissionResult,
                    settings: dict[str, Any] | None = None) -> str:
        """Store a graded student, sealed; clears an error recorded by an earlier run.
        Returns the text written."""
        text = self.seal(student, result, settings)
        write_atomic(self.result_path(student), text)
        self.error_path(student).unlink(missing_ok=True)
        return text

    def check(self, student: str, settings: dict[str, Any] | None = None
              ) -> tuple[SubmissionResult | None, str]:
        """The stored result if it verifies (and, when ``settings`` is given, was graded
        with them), else None and why (:data:`ABSENT`, :data:`FORGED`, …)."""
        result, why, _ = self.check_text(student, settings)
        return result, why

    def read_text(self, student: str) -> str | None:
        """The stored result file's text, or None when absent or unreadable."""
        try:
            return self.result_path(student).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def check_text(self, student: str, settings: dict[str, Any] | None = None
                   ) -> tuple[SubmissionResult | None, str, str | None]:
        """As :meth:`check`, and the text of the file as read."""
        text = self.read_text(student)
        if text is None:
            exists = self.result_path(student).exists()
            return None, UNREADABLE if exists else ABSENT, None
        return (*self.verify(student, text, settings), text)

    def verify(self, student: str, text: str, settings: dict[str, Any] | None = None
               ) -> tuple[SubmissionResult | None, str]:
        """The result sealed in ``text`` if the seal verifies for ``student`` (and
        ``settings``), else None and why."""
        try:
            data = json.loads(text)
        except ValueError:
            return None, UNREADABLE
        if not isinstance(data, dict) or data.get("format") != SEAL:
            return None, FORGED
        body = {k: data.get(k) for k in ("student", "settings", "result")}
        digest = data.get("digest")
        if not isinstance(digest, str) or not hmac.compare_digest(digest, self._digest(body)):
            return None, FORGED
        if body["student"] != student:
            return None, FORGED  # another student's sealed result, copied over
        if settings is not None and body["settings"] != json.loads(json.dumps(settings)):
            return None, OTHER_SETTINGS
        try:
            return SubmissionResult.from_dict(body["result"]), ""
        except (ValueError, KeyError, TypeError):
            return None, UNREADABLE

    def load_result(self, student: str, settings: dict[str, Any] | None = None
                    ) -> SubmissionResult | None:
        """The stored result, or None when absent, unreadable or not verified."""
        return self.check(student, settings)[0]

    def save_error(self, student: str, message: str, detail: str = "") -> None:
        """Record that ``student`` could not be graded (retried on the next run)."""
        payload = {"student": student, "error": message, "detail": detail}
        write_atomic(self.error_path(student), json.dumps(payload, indent=1) + "\n")

    def load_error(self, student: str) -> str | None:
        try:
            data = json.loads(self.error_path(student).read_text(encoding="utf-8"))
            return str(data["error"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def is_graded(self, student: str, settings: dict[str, Any] | None = None) -> bool:
        return self.load_result(student, settings) is not None

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
