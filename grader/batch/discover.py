"""Finding the students in a submissions folder and unpacking their work safely.

A submissions folder holds one entry per student: a sub-folder, or a ``.zip`` file as
learning platforms export them. The student's identifier is the entry's name (without
``.zip``), kept as a file-name-safe string because it names the result file.

Archives come from students, so they are unpacked defensively: members with an absolute
path, a drive letter or a ``..`` component are refused (they would write outside the
destination), symbolic links are refused, and the number of files, the size of each file
and the total size are capped while the bytes are written, not trusted from the headers
(a "zip bomb" lies about its sizes).
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_FILES = 2000  # members in one archive
MAX_FILE_BYTES = 20 * 1024 * 1024  # one unpacked file
MAX_TOTAL_BYTES = 100 * 1024 * 1024  # one unpacked archive
MARKER = "server.py"  # the file that tells where a submission's root is
IGNORED_DIRS = {"__MACOSX", "__pycache__", ".git", ".venv", "venv", "node_modules"}

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._@+-]")


class DiscoveryError(Exception):
    """The submissions folder cannot be turned into a list of students."""


class UnsafeArchive(Exception):
    """A student's archive was refused; the message says which member and why."""


@dataclass(frozen=True)
class Submission:
    """One student's work as found in the submissions folder."""

    student: str  # file-name-safe identifier: names the result file and the CSV row
    source: Path  # the sub-folder or the .zip file

    @property
    def is_archive(self) -> bool:
        return self.source.suffix.lower() == ".zip" and self.source.is_file()


def student_id(name: str) -> str:
    """``name`` made safe as a file name: other characters become ``_``."""
    cleaned = _UNSAFE_CHARS.sub("_", name).strip("._")
    return cleaned or "_"


def discover(folder: Path | str, *, exclude: Path | None = None) -> list[Submission]:
    """Every student in ``folder``, sorted by identifier.

    Hidden entries, ``__MACOSX`` and ``exclude`` (e.g. the results folder when it sits
    inside the submissions folder) are ignored. Two entries that map to the same
    identifier (``alice/`` and ``alice.zip``) are an error: neither grade would be safe.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DiscoveryError(f"submissions folder not found: {root}")
    skip = exclude.resolve() if exclude is not None else None
    found: dict[str, Submission] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.name in IGNORED_DIRS:
            continue
        if skip is not None and entry.resolve() == skip:
            continue
        if entry.is_dir():
            name = entry.name
        elif entry.is_file() and entry.suffix.lower() == ".zip":
            name = entry.stem
        else:
            continue
        sid = student_id(name)
        if sid in found:
            raise DiscoveryError(
                f"two submissions for student {sid!r}: {found[sid].source.name} and "
                f"{entry.name}; keep one of them"
            )
        found[sid] = Submission(sid, entry)
    return sorted(found.values(), key=lambda s: s.student)


def _member_path(name: str) -> PurePosixPath:
    """The relative path a member may be written to, or :class:`UnsafeArchive`."""
    normalized = name.replace("\\", "/")
    path = PurePosixPath(normalized)
    if normalized.startswith("/") or re.match(r"^[A-Za-z]:", normalized):
        raise UnsafeArchive(f"refused {name!r}: absolute path")
    if any(part == ".." for part in path.parts):
        raise UnsafeArchive(f"refused {name!r}: path leaves the archive ('..')")
    return path


def safe_extract(
    archive: Path | str,
    dest: Path | str,
    *,
    max_files: int = MAX_FILES,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> Path:
    """Unpack ``archive`` into ``dest`` or raise :class:`UnsafeArchive`; returns ``dest``.

    Every member's path is checked before anything is written; sizes are checked while
    writing, so a refused archive may leave partial files in ``dest`` (a temporary
    folder the caller discards).
    """
    target = Path(dest)
    target.mkdir(parents=True, exist_ok=True)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeArchive(f"not a readable zip file: {exc}") from exc
    with zf:
        members = zf.infolist()
        if len(members) > max_files:
            raise UnsafeArchive(f"refused: {len(members)} files (at most {max_files})")
        plan = []
        for info in members:
            rel = _member_path(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise UnsafeArchive(f"refused {info.filename!r}: symbolic link")
            if rel.parts and rel.parts[0] in IGNORED_DIRS:
                continue
            plan.append((info, rel))
        total = 0
        for info, rel in plan:
            out = target.joinpath(*rel.parts)
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with zf.open(info) as src, open(out, "wb") as dst:
                while chunk := src.read(64 * 1024):
                    written += len(chunk)
                    total += len(chunk)
                    if written > max_file_bytes:
                        raise UnsafeArchive(
                            f"refused {info.filename!r}: larger than {max_file_bytes} bytes"
                        )
                    if total > max_total_bytes:
                        raise UnsafeArchive(
                            f"refused: unpacks to more than {max_total_bytes} bytes"
                        )
                    dst.write(chunk)
    return target


def find_root(folder: Path | str, marker: str = MARKER) -> Path:
    """The shallowest folder under ``folder`` holding ``marker``, else ``folder`` itself.

    Students zip their work in many shapes (``alice.zip/server.py``,
    ``alice.zip/chat/lab/server.py``); the grader wants the folder with the programs.
    """
    base = Path(folder)
    if (base / marker).is_file():
        return base
    level = [base]
    for _ in range(6):
        nxt: list[Path] = []
        for d in level:
            for child in sorted(d.iterdir()):
                if child.is_dir() and not child.is_symlink() and child.name not in IGNORED_DIRS:
                    if (child / marker).is_file():
                        return child
                    nxt.append(child)
        if not nxt:
            break
        level = nxt
    return base


def materialize(submission: Submission, dest: Path | str) -> Path:
    """A private copy of the submission under ``dest``; returns the folder to grade.

    Folders are copied (symbolic links stay links, so nothing outside is pulled in);
    archives go through :func:`safe_extract`.
    """
    work = Path(dest) / "submission"
    if submission.is_archive:
        safe_extract(submission.source, work)
    else:
        shutil.copytree(
            submission.source,
            work,
            symlinks=True,
            ignore=shutil.ignore_patterns(*IGNORED_DIRS, "*.pyc"),
        )
    return find_root(work)
