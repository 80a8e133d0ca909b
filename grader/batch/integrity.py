"""What keeps a grade the grader's own, whatever the submission's programs do.

A submission runs as the grader's user, so while it runs it can write any file the
grader can: the report the grader is about to write, a module the grader has not
imported yet, another student's stored result. The grader therefore

- imports every module it will ever need (:func:`preload`) before the first program
  of a submission starts, so a module changed on disk meanwhile is never run;
- renders a result from its own memory and writes it only once every program the
  submission started is gone (:class:`Descendants`), atomically, replacing whatever
  is there (:func:`write_report`);
- notices, and says so in the report, when the file it is about to write was
  created meanwhile, or when its own files changed while the submission ran
  (:class:`GraderFiles`).

What this cannot stop without the operating system's help (a submission that kills
the grader, reads its keys, or changes files the grader reads later) is listed in
``grader/harness/SANDBOX.md``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pkgutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from ..probes.counts import children
from .store import write_atomic


# Every module of the grader (a test checks the list against the source tree). Named
# here rather than found by walking the package, so a file added to the package by
# someone else is never imported by the grader.
def grader_modules() -> list[str]:
    """Every module of the grader package (its entry point aside), found on disk, so
    that a module added later is preloaded too."""
    import grader

    found = [info.name for info in pkgutil.walk_packages(grader.__path__, "grader.")]
    return sorted(name for name in found if name != "grader.__main__")


# Standard library modules that other modules import only when first used (found by
# tests/test_integrity_imports.py, which fails naming any module imported after the
# first program of a submission started).
LATER_STDLIB = (
    "encodings.idna", "encodings.ascii", "encodings.latin_1", "stringprep", "unicodedata",
    "_strptime", "json.decoder", "json.encoder", "json.scanner", "csv", "hmac", "secrets",
    "zipfile", "statistics", "html", "html.entities", "multiprocessing.connection",
    "multiprocessing.context", "multiprocessing.popen_fork", "multiprocessing.process",
    "multiprocessing.reduction", "multiprocessing.util", "pty", "tty", "termios",
    "resource", "fcntl", "select", "selectors", "shlex", "tempfile", "shutil", "traceback",
    "linecache", "tokenize", "token",
)


def preload() -> None:
    """Import everything the grader may need later: call before any submission runs."""
    for name in (*grader_modules(), *LATER_STDLIB):
        with contextlib.suppress(ImportError):  # e.g. fcntl, pty, termios on Windows
            importlib.import_module(name)


# -- the programs of a submission ---------------------------------------------------


@dataclass
class Descendants:
    """This process's descendants that were not there at :meth:`snapshot` time.

    The grader (a child subreaper: an orphaned grandchild is re-parented to it, see
    ``grader.harness.sandbox``) is the ancestor of every program a submission starts,
    however they fork or leave their session. :meth:`stop` freezes and kills those
    still running after grading, so nothing of the submission can act once the
    grader writes its result; it returns what it stopped, in words.
    """

    # psutil compares processes by pid and start time since boot, which no clock change
    # moves (create_time() would: it adds the boot time, as the wall clock now puts it).
    before: set[psutil.Process] = field(default_factory=set)

    @classmethod
    def snapshot(cls) -> Descendants:
        return cls(set(_children(psutil.Process())))

    def new(self, spare: set[int] = frozenset()) -> list[psutil.Process]:
        """Descendants started since the snapshot (not those of earlier ones, nor the
        children ``spare`` names, nor theirs)."""
        found = []
        stack = [p for p in _direct(psutil.Process())
                 if p not in self.before and p.pid not in spare]
        while stack:
            proc = stack.pop()
            found.append(proc)
            stack.extend(_direct(proc))
        return [p for p in found if _running(p)]

    def stop(self, timeout: float = 10.0, spare: set[int] = frozenset()) -> list[str]:
        """Freeze, then kill, every new descendant (but ``spare``'s) until none is left;
        what was stopped, in words."""
        return _stop(lambda: self.new(spare), timeout)


def stop_family(pid: int, timeout: float = 10.0) -> list[str]:
    """Freeze, then kill, process ``pid`` and all its descendants; what was stopped.
    Frozen first, the family cannot fork or react while it is being killed."""
    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return []

    def family() -> list[psutil.Process]:
        return [p for p in [root, *_children(root)] if _running(p)]

    return _stop(family, timeout, keep={pid})


def _stop(find, timeout: float, keep: set[int] = frozenset()) -> list[str]:  # noqa: ANN001
    stopped: dict[int, str] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs = find()
        if not procs:
            break
        for proc in procs:
            stopped.setdefault(proc.pid, _describe(proc))
            _signal(proc, getattr(signal, "SIGSTOP", signal.SIGTERM))
        for proc in procs:
            _signal(proc, getattr(signal, "SIGKILL", signal.SIGTERM))
        _reap(procs, min(deadline, time.monotonic() + 1.0), keep)
    return list(stopped.values())


def _direct(proc: psutil.Process) -> list[psutil.Process]:
    """The children of ``proc`` (see :func:`grader.probes.counts.children`)."""
    found = []
    for pid in sorted(set(children(proc.pid))):
        with contextlib.suppress(psutil.Error):
            found.append(psutil.Process(pid))
    return found


def _children(proc: psutil.Process) -> list[psutil.Process]:
    found, stack = [], _direct(proc)
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(_direct(child))
    return found


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def printable(text: str) -> str:
    """``text`` with control characters (a terminal's escape sequences) made visible:
    what a submission chose (a command line, a file name) is shown, never obeyed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _describe(proc: psutil.Process) -> str:
    try:
        command = " ".join(proc.cmdline())[:120] or proc.name()
    except psutil.Error:
        command = "?"
    return f"process {proc.pid} ({printable(command)})"


def _signal(proc: psutil.Process, signum: int) -> None:
    with contextlib.suppress(psutil.Error, OSError):
        proc.send_signal(signum)


def _reap(procs: list[psutil.Process], deadline: float, keep: set[int]) -> None:
    """Collect the exit status of those that are our children (but ``keep``, whose
    status belongs to whoever started them); wait for the others."""
    me = os.getpid()
    while True:
        alive = []
        for proc in procs:
            with contextlib.suppress(psutil.Error, ChildProcessError, OSError):
                if proc.pid not in keep and proc.ppid() == me:
                    os.waitpid(proc.pid, os.WNOHANG)
            if _running(proc):
                alive.append(proc)
        if not alive or time.monotonic() >= deadline:
            return
        psutil.wait_procs(alive, timeout=0.05)


# -- the grader's own files ---------------------------------------------------------


class GraderFiles:
    """A record of the grader package's files (size, times, inode), to tell whether
    anything changed them while a submission ran. Costs a stat per file."""

    def __init__(self, root: Path | None = None) -> None:
        import grader

        self.root = root or Path(grader.__file__).resolve().parent
        self.seen = self._scan()

    def _scan(self) -> dict[str, tuple[int, int, int, int]]:
        found = {}
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                path = os.path.join(folder, name)
                with contextlib.suppress(OSError):
                    st = os.lstat(path)
                    found[os.path.relpath(path, self.root)] = (
                        st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        return found

    def changed(self) -> list[str]:
        """Files added, removed or changed since the record was made."""
        now = self._scan()
        return sorted(k for k in set(now) | set(self.seen) if now.get(k) != self.seen.get(k))


def tampering_notes(changed: list[str], report: Path | None, existed: bool) -> list[str]:
    """Plain sentences for what was found while the submission ran."""
    notes = []
    if existed and report is not None:
        notes.append(
            f"integrity: {report} was written by another program while the submission"
            " ran; the grader replaced it with its own report."
        )
    if changed:
        shown = printable(", ".join(changed[:5])) + (" ..." if len(changed) > 5 else "")
        notes.append(
            "integrity: the grader's own files changed while the submission ran"
            f" ({shown}); this report was made by the code loaded before grading"
            " started. Reinstall the grader before grading again."
        )
    return notes


def environment_findings(when: str = "") -> list[str]:
    """Inspect the submissions' Python (if it was made), undoing what was planted in it;
    what was found (see :mod:`grader.harness.interpreter`)."""
    from ..harness import interpreter

    if not interpreter.environment().exists():
        return []
    interpreter.clean_python()
    return [f"{when}{': ' if when else ''}{printable(finding)}"
            for finding in interpreter.findings()]


def environment_note(findings: list[str]) -> list[str]:
    """The sentence a report gets for ``findings``."""
    if not findings:
        return []
    shown = "; ".join(f.removeprefix("extra: ") for f in findings[:3])
    return [f"integrity: the Python that runs submissions held what a fresh one does not"
            f" ({shown}); it was removed or made anew, so no later program runs it."]


def write_report(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text`` (a temporary file in the same folder,
    then a rename): whatever another program left there is gone."""
    write_atomic(path, text)
