"""The code a comparison reads: each student's ``.py`` files as one text.

Students are found exactly as ``batch`` finds them (:mod:`grader.batch.discover`: one
sub-folder or ``.zip`` per student, archives unpacked with its safety checks into a
temporary folder). Only ``.py`` files count, read from the folder that holds the
student's ``server.py`` (wherever the zip put it) downwards. A student's files are joined
in path order into one text, so code moved from one file to another still matches and
each pair of students gets one figure; :class:`CodeFile` remembers where each file sits
in that text for the side-by-side view.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.batch.discover import (
    IGNORED_DIRS,
    DiscoveryError,
    UnsafeArchive,
    discover,
    materialize,
)

MAX_FILE_BYTES = 512 * 1024  # a larger .py file is generated or pasted data, not read
SEPARATOR = "\n\n"  # between two files in a student's text

__all__ = ["CodeFile", "DiscoveryError", "Source", "from_folder", "load_submissions"]


@dataclass(frozen=True)
class CodeFile:
    path: str  # relative to the submission's root, with "/"
    start: int  # where the file's text begins in Source.text
    end: int


@dataclass
class Source:
    """The code of one submission, past submission, skeleton or model answer."""

    name: str  # the student's identifier, or a label such as "2024/alice"
    text: str = ""
    files: tuple[CodeFile, ...] = ()
    notes: list[str] = field(default_factory=list)  # files left out, and why


def _python_files(root: Path) -> list[Path]:
    """The ``.py`` files under ``root`` in path order; links are neither read nor entered
    (one could point anywhere on the grader's machine)."""
    found = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if d not in IGNORED_DIRS and not d.startswith(".")]
        for name in names:
            path = Path(folder, name)
            if name.endswith(".py") and not path.is_symlink() and path.is_file():
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def from_folder(folder: Path | str, name: str, only: str | None = None) -> Source:
    """Every ``.py`` file under ``folder`` (or just the file ``only``) as one
    :class:`Source`."""
    root = Path(folder)
    source = Source(name)
    parts: list[str] = []
    files: list[CodeFile] = []
    offset = 0
    paths = [root / only] if only is not None else _python_files(root)
    for path in paths:
        rel = path.relative_to(root).as_posix()
        if path.stat().st_size > MAX_FILE_BYTES:
            source.notes.append(f"{rel} left out: larger than {MAX_FILE_BYTES // 1024} KiB")
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        if parts:
            parts.append(SEPARATOR)
            offset += len(SEPARATOR)
        parts.append(text)
        files.append(CodeFile(rel, offset, offset + len(text)))
        offset += len(text)
    source.text = "".join(parts)
    source.files = tuple(files)
    return source


def load_submissions(
    folder: Path | str, *, prefix: str = "", exclude: Path | None = None
) -> tuple[list[Source], dict[str, str]]:
    """The students of a submissions folder, and those that could not be read (why).

    ``prefix`` is put before each identifier (``"2024/"`` for a past year) so that names
    from different years never collide. :class:`DiscoveryError` if the folder is unusable.
    """
    sources: list[Source] = []
    refused: dict[str, str] = {}
    for submission in discover(folder, exclude=exclude):
        name = prefix + submission.student
        with tempfile.TemporaryDirectory(prefix="chatlab-similarity-") as tmp:
            try:
                root = materialize(submission, tmp)
            except (UnsafeArchive, OSError) as error:
                refused[name] = str(error)
                continue
            sources.append(from_folder(root, name))
    return sources, refused
