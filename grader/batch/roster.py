"""Who the students are: the roster file, and which submission folder is whose.

A roster is a CSV file with a header row and one row per student::

    folder,student_id,email,name
    ana,S001,ana@uni.edu,"Silva, Ana"

``folder`` (the student's entry in the submissions folder, a sub-folder or a ``.zip``)
and ``student_id`` are required in every row; ``email``, ``name``, ``section`` and
``login`` may be left out or empty. Headers are matched without regard to case,
spaces, ``-`` or ``_``, and the names platforms export are accepted too (see
:data:`ALIASES`: ``Student ID``, ``ID number``, ``SIS User ID``, ``Email address``,
``Full name``, ``Student``…); other columns are ignored. The file is read as UTF-8,
with or without the byte-order mark spreadsheets write; a header with ``;`` and no
``,`` (a spreadsheet in a locale with decimal commas) is read with ``;``.

Bad input stops the batch before anything is graded, with :class:`RosterError`
naming the file, the line and the value: an unreadable file, one that is not UTF-8,
a missing or repeated column, a row with more cells than the header (an unquoted
comma in a name), an empty folder or id, the same folder, id or email twice.

:func:`match` then pairs the roster with the folders found: roster students without
a submission (:attr:`RosterMatch.missing`) and submissions nobody in the roster owns
(:attr:`RosterMatch.unlisted`) are reported, never guessed at.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .discover import student_id as folder_id

REQUIRED = ("folder", "student_id")
OPTIONAL = ("email", "name", "section", "login")

# Accepted header names, after normalize(): ours, and those of the platforms' exports.
# Canvas's "ID" (its internal number) is deliberately not one: a Canvas export has both
# "ID" and "SIS User ID", and only the second is the institution's id.
ALIASES = {
    "folder": ("folder", "submission", "submission folder", "directory"),
    "student_id": ("student id", "studentid", "id number", "sis user id", "student number",
                   "matricula"),
    "email": ("email", "e mail", "email address", "mail"),
    "name": ("name", "full name", "student", "student name"),
    "section": ("section",),
    "login": ("login", "login id", "sis login id", "username"),
}


class RosterError(Exception):
    """The roster cannot be used; the message names the file, the line and the value."""


@dataclass(frozen=True)
class RosterEntry:
    """One student of the roster."""

    folder: str  # as the batch names the submission (discover.student_id of the cell)
    student_id: str  # the institution's id: Moodle's "ID number", Canvas's "SIS User ID"
    email: str = ""
    name: str = ""
    section: str = ""
    login: str = ""  # Canvas's "SIS Login ID"
    line: int = 0  # where it is in the file, for messages


@dataclass
class Roster:
    """Every student of a roster file, in file order."""

    source: str
    entries: list[RosterEntry] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # our name -> the file's header

    def by_folder(self) -> dict[str, RosterEntry]:
        return {e.folder: e for e in self.entries}

    def by_id(self) -> dict[str, RosterEntry]:
        return {e.student_id: e for e in self.entries}


@dataclass
class RosterMatch:
    """A roster against the submissions found."""

    entries: dict[str, RosterEntry]  # folder -> roster student, for every submission listed
    missing: list[RosterEntry]  # roster students without a submission
    unlisted: list[str]  # submissions (folders) no roster student owns


def normalize(header: str) -> str:
    """``" Student_ID "`` -> ``"student id"``: what header matching compares."""
    return re.sub(r"[\s_\-]+", " ", header.strip().lstrip("\ufeff")).strip().casefold()


def _column_for(header: str) -> str | None:
    key = normalize(header)
    for name, names in ALIASES.items():
        if key in names or key == name.replace("_", " "):
            return name
    return None


def load_roster(path: Path | str) -> Roster:
    """Read and check the roster at ``path``; :class:`RosterError` says what is wrong."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RosterError(f"cannot read the roster {source}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError(
            f"the roster {source} is not UTF-8 (byte 0x{data[exc.start]:02x} at offset"
            f" {exc.start}); save it as 'CSV UTF-8' from the spreadsheet") from None
    return parse_roster(text, source)


def parse_roster(text: str, source: str = "roster") -> Roster:
    """The roster in ``text`` (the contents of ``source``), checked."""
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first and "," not in first else ","
    numbered = [(line, row) for line, row in _rows(text, delimiter, source)
                if any(cell.strip() for cell in row)]
    if not numbered:
        raise RosterError(f"{source}: the roster is empty; its first line must be a header"
                          f" such as {','.join(REQUIRED + OPTIONAL[:2])}")
    header_line, header = numbered[0]
    columns = _columns(header, source, header_line)
    roster = Roster(source, columns={k: header[i] for k, i in columns.items()})
    seen: dict[str, dict[str, RosterEntry]] = {"folder": {}, "student_id": {}, "email": {}}
    for line, row in numbered[1:]:
        if len(row) > len(header):
            raise RosterError(
                f"{source}, line {line}: {len(row)} cells for {len(header)} columns"
                f" ({','.join(row)!r}); a value with a comma must be in double quotes")
        cells = {k: (row[i].strip() if i < len(row) else "") for k, i in columns.items()}
        for name in REQUIRED:
            if not cells[name]:
                raise RosterError(f"{source}, line {line}: no {name}"
                                  f" (column {roster.columns[name]!r} is empty)")
        entry = RosterEntry(
            folder=folder_id(_strip_zip(cells["folder"])), student_id=cells["student_id"],
            email=cells.get("email", ""), name=cells.get("name", ""),
            section=cells.get("section", ""), login=cells.get("login", ""), line=line)
        for name, value in (("folder", entry.folder), ("student_id", entry.student_id),
                            ("email", entry.email.casefold())):
            if not value:
                continue
            other = seen[name].get(value)
            if other is not None:
                shown = cells[name] if name != "folder" else entry.folder
                raise RosterError(f"{source}: {name} {shown!r} is on line {other.line} and"
                                  f" line {line}; each student must appear once")
            seen[name][value] = entry
        roster.entries.append(entry)
    return roster


def _strip_zip(folder: str) -> str:
    return folder[:-4] if folder.lower().endswith(".zip") else folder


def _columns(header: list[str], source: str, line: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = _column_for(cell)
        if name is None:
            continue
        if name in found:
            raise RosterError(f"{source}, line {line}: columns {header[found[name]]!r} and"
                              f" {cell!r} both give the {name}; keep one of them")
        found[name] = index
    absent = [name for name in REQUIRED if name not in found]
    if absent:
        accepted = "; ".join(f"{name}: {', '.join(ALIASES[name])}" for name in absent)
        raise RosterError(f"{source}, line {line}: the header {','.join(header)!r} has no"
                          f" {' and no '.join(absent)} column (accepted names: {accepted})")
    return found


def _rows(text: str, delimiter: str, source: str) -> list[tuple[int, list[str]]]:
    """Every CSV row with the line it starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, start = [], 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise RosterError(f"{source}, line {start}: not a readable CSV row: {exc}") from None
    return rows


def match(roster: Roster, folders: Iterable[str]) -> RosterMatch:
    """Pair ``roster`` with the submission folders found (as the batch names them)."""
    found = sorted(set(folders))
    by_folder = roster.by_folder()
    return RosterMatch(
        entries={f: by_folder[f] for f in found if f in by_folder},
        missing=[e for e in roster.entries if e.folder not in set(found)],
        unlisted=[f for f in found if f not in by_folder],
    )


def resolve_students(requested: Iterable[str], folders: Iterable[str],
                     roster: Roster | None = None) -> list[str]:
    """The submission folders ``requested`` names (each value may be a comma list):
    folder names, or roster ids when a roster is given. Raises :class:`RosterError`
    naming every id that is neither."""
    known = set(folders)
    by_id = roster.by_id() if roster is not None else {}
    chosen, unknown = [], []
    for wanted in (w.strip() for value in requested for w in value.split(",")):
        if not wanted:
            continue
        if wanted in by_id and by_id[wanted].folder in known:
            chosen.append(by_id[wanted].folder)
        elif wanted in known:
            chosen.append(wanted)
        elif wanted in by_id:
            unknown.append(f"{wanted} (roster folder {by_id[wanted].folder!r} has no"
                           " submission)")
        else:
            unknown.append(wanted)
    if unknown:
        where = " nor a student_id of the roster" if roster is not None else ""
        raise RosterError(f"unknown student(s): {', '.join(unknown)}: not a submission"
                          f" folder{where}; nothing was graded")
    if not chosen:
        raise RosterError("no student named: give --student ID[,ID...]")
    return sorted(set(chosen))
