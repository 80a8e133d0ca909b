"""Isolation of a submission from the grader, from classmates and from the results.

The sandbox (:mod:`.sandbox`) bounds what a program may *use*; this module bounds what
it may *touch*. Each grading run (:func:`isolated_run`) gets:

- **a private copy** of the submission's folder, the only place its programs may write
  (a submission that edits its files, or writes logs, edits its copy);
- **a jail** for every program (:class:`Jail`, with bubblewrap, ``bwrap``): a mount
  namespace in which the file system is read-only and shows only the system, the Python
  that runs the submission, and the copy (the grader, the results, classmates' work and
  home folders are simply not there; a program started elsewhere, such as the reference
  solution for cross-play, also sees its own folder); a PID namespace, so the grader's
  processes cannot be seen, signalled or stopped, and every process of the run ends
  when its jail does; ``--die-with-parent``, so a jail never outlives the grader;
- **an identity of its own** when the grader runs as root (Gradescope, CI, containers):
  the programs run as an unprivileged uid made for the run, which owns only the copy;
- **a loopback of its own** (a network namespace) when the grader may make one: the
  run's programs and the grader's fake peers talk there, so no submission can reach or
  squat another's ports (a server that hard-codes its port gets one per check: see
  :meth:`Jail.fresh` and the runner).

Where one of these is missing (no bubblewrap, user namespaces disabled, not root) the
run goes on with what there is, and :attr:`Isolation.note` says, in the result, what
was not protected. What each mode protects is in ``SANDBOX.md``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import functools
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import psutil

T = TypeVar("T")
# An identity for the programs when the grader is root: far above the uids of real
# accounts (Debian hands out 1000-59999, systemd's dynamic users 61184-65519), one per
# grader process, so two batches on a machine never share one.
UID_BASE = 200_000
UID_SPAN = 100_000
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
RUN_PREFIX = "chatlab-run-"  # + the grader's pid: a copy whose grader is gone is swept
# What the copy leaves out: caches and tools' folders, never part of a program.
SKIP = shutil.ignore_patterns("__pycache__", ".git", ".venv", "venv", "*.pyc", ".ipynb_checkpoints")

OFF = ("isolation was turned off (CHATLAB_ISOLATION=off): the submission's programs"
       " could read and write what the grader's user can")
NO_JAIL = ("bubblewrap (bwrap) is not available, so the submission's programs could read"
           " and write what the grader's user can; install the bubblewrap package")
NO_NETWORK = ("the submission's programs shared the machine's loopback (no network"
              " namespace of their own: the grader was neither root nor in a user"
              " namespace of its own)")


@dataclass(frozen=True)
class Jail:
    """How to start one program of a run inside bubblewrap.

    Every jailed program is started from one thread of the run (:meth:`start`), which
    ends with the run: bubblewrap's ``--die-with-parent`` is tied to the *thread* that
    started it, so this is what makes every program of a run end with the run, and
    with the grader if the grader is killed."""

    bwrap: str
    writable: Path  # the private copy
    readable: tuple[Path, ...] = ()  # besides the system: the interpreter, the reference
    uid: int | None = None  # run as this uid (the grader is root), else as the grader
    starter: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="jail"),
        compare=False, repr=False)

    def fresh(self) -> Jail:
        """The same jail with a starting thread of its own, made by the first program
        started through it: that thread, and so its programs, are on the network of
        the thread that starts the first one (a check with a loopback of its own)."""
        return replace(self, starter=ThreadPoolExecutor(1, thread_name_prefix="jail"))

    def start(self, spawn: Callable[[], T]) -> T:
        """Call ``spawn`` (which starts a wrapped command) in the run's starting thread."""
        return self.starter.submit(spawn).result()

    def wrap(self, argv: Sequence[str], cwd: str | os.PathLike[str]) -> list[str]:
        """``argv`` as it runs in the jail, in ``cwd`` (the copy or a readable folder)."""
        args = [self.bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc",
                "--unshare-uts", "--unshare-cgroup-try"]
        for top in ("bin", "lib", "lib32", "lib64", "libx32", "sbin"):
            path = Path("/") / top
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        args += ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
        seen = {Path("/usr"), Path("/etc")}
        folders: set[Path] = set()
        # A program started in another folder (the reference solution, for cross-play)
        # sees that folder, read-only; the submission's own programs never do.
        here = Path(cwd).absolute()
        extra = [] if here.is_relative_to(self.writable) else [here]
        for path in (*self.readable, *extra, *_paths_in(argv), self.writable):
            if not path.exists() or any(path.is_relative_to(done) for done in seen):
                continue
            # Folders on the way are made anew, open to all: the real ones (/root is
            # 0700) would keep the run's uid out of what it is meant to see.
            for parent in reversed(path.parents[:-1]):
                if parent not in folders and parent != Path("/tmp"):
                    args += ["--perms", "0755", "--dir", str(parent)]
                    folders.add(parent)
            if path != self.writable:
                args += ["--ro-bind", str(path), str(path)]
                seen.add(path)
        # /tmp first: a private, empty one, on which the copy (often under /tmp) is
        # then mounted.
        args[1:1] = ["--tmpfs", "/tmp"]
        args += ["--bind", str(self.writable), str(self.writable),
                 "--dev", "/dev", "--proc", "/proc",
                 "--setenv", "TMPDIR", "/tmp", "--setenv", "HOME", str(self.writable),
                 "--chdir", os.fspath(cwd), "--"]
        if self.uid is not None:
            args += [_setpriv(), f"--reuid={self.uid}", f"--regid={self.uid}",
                     "--clear-groups", "--no-new-privs", "--"]
        return args + list(argv)


@dataclass
class Isolation:
    """What one grading run got; ``note`` words what it did not, for the result."""

    jail: Jail | None = None
    private_network: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        return "; ".join(self.notes)


@functools.cache
def bwrap_path() -> str | None:
    """bubblewrap, if it is installed and can make namespaces here (tried once)."""
    found = shutil.which("bwrap")
    if found is None:
        return None
    try:
        probe = subprocess.run(
            [found, "--ro-bind", "/", "/", "--unshare-pid", "--dev", "/dev", "--", "true"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found if probe.returncode == 0 else None


@functools.cache
def _setpriv() -> str:
    return shutil.which("setpriv") or "/usr/bin/setpriv"


def run_uid() -> int | None:
    """The uid the programs of this grader process run as, or None (not root)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return None
    return UID_BASE + os.getpid() % UID_SPAN


@contextlib.contextmanager
def isolated_run(folder: Path, python: str) -> Iterator[tuple[Path, Isolation]]:
    """For one grading run: the private copy of ``folder`` and how the run is isolated.
    The copy is removed afterwards, whatever happened."""
    isolation = Isolation()
    sweep_leftovers()
    if os.environ.get("CHATLAB_ISOLATION", "").lower() == "off":  # measuring its cost
        isolation.notes.append(OFF)
        yield folder, isolation
        return
    bwrap = bwrap_path()
    if bwrap is None:
        isolation.notes.append(NO_JAIL)
        with private_loopback(isolation):
            yield folder, isolation
        return
    uid = run_uid()
    with tempfile.TemporaryDirectory(prefix=f"{RUN_PREFIX}{os.getpid()}-",
                                     ignore_cleanup_errors=True) as tmp:
        copy = Path(tmp) / "submission"
        shutil.copytree(folder, copy, symlinks=False, ignore=SKIP,
                        ignore_dangling_symlinks=True)
        if uid is not None:
            _give(copy, uid)
        readable = [Path(sys.base_prefix), _open_to_all(_environment_root(python))]
        with private_loopback(isolation):
            # Made inside the run's network: its starting thread, and so every program,
            # is on the run's loopback.
            isolation.jail = Jail(bwrap, copy, tuple(readable), uid)
            try:
                yield copy, isolation
            finally:
                isolation.jail.starter.shutdown(wait=True)  # its programs end with it


@functools.cache
def sweep_leftovers() -> None:
    """Remove the copies left by graders that were killed before they could (once per
    process): a copy's folder is named after its grader's pid."""
    remove_orphaned_folders(RUN_PREFIX)


def remove_orphaned_folders(prefix: str) -> None:
    """Remove the temporary folders named ``<prefix><pid>-…`` whose process is gone."""
    base = Path(tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for path in base.glob(f"{prefix}*-*"):
            pid = path.name[len(prefix):].split("-", 1)[0]
            if pid.isdigit() and not psutil.pid_exists(int(pid)):
                shutil.rmtree(path, ignore_errors=True)


def _environment_root(python: str) -> Path:
    """The folder of the virtual environment (or installation) ``python`` belongs to."""
    return Path(python).absolute().parent.parent


def _open_to_all(folder: Path) -> Path:
    """``folder`` (an interpreter's), readable and searchable by the run's uid: a
    folder made with ``mkdtemp`` is 0700, which would keep it from its own Python."""
    with contextlib.suppress(OSError):
        mode = folder.stat().st_mode
        if mode & 0o055 != 0o055 and folder.stat().st_uid == os.geteuid():
            folder.chmod(mode | 0o055)
    return folder


def _give(root: Path, uid: int) -> None:
    """Make ``root`` and everything in it the run's own, and nobody else's."""
    os.chown(root, uid, uid)
    os.chmod(root, 0o700)
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            os.chown(os.path.join(base, name), uid, uid, follow_symlinks=False)


def _paths_in(argv: Sequence[str]) -> list[Path]:
    """Folders of the absolute paths a command names (a script, a test program)."""
    found = []
    for word in argv:
        if word.startswith("/") and "\n" not in word and len(word) < 4096:
            path = Path(word)
            with contextlib.suppress(OSError):
                if path.is_file():
                    found.append(path.parent)
                elif path.is_dir():
                    found.append(path)
    return found


# -- the network namespace -------------------------------------------------------------

_libc_lock = threading.Lock()


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name, use_errno=True) if name else None


@contextlib.contextmanager
def private_loopback(isolation: Isolation) -> Iterator[None]:
    """Within the block, the calling thread (and every thread or process it starts) is
    in a network namespace of its own with only ``lo``, up. Needs root (CAP_SYS_ADMIN);
    elsewhere the block runs on the machine's loopback and ``isolation`` notes it."""
    libc = _libc() if sys.platform.startswith("linux") else None
    if libc is None or not (os.geteuid() == 0 or _OWN_USER_NAMESPACE.is_set()):
        isolation.notes.append(NO_NETWORK)
        yield
        return
    with _libc_lock:
        saved = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        if libc.unshare(CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            isolation.notes.append(f"{NO_NETWORK} ({os.strerror(error)})")
            yield
            return
        try:
            _loopback_up()
            isolation.private_network = True
            yield
        finally:
            # Back to where the caller was. In a user namespace of our own the old
            # network belongs to the machine and cannot be joined again: the thread
            # stays in this (now empty) one until its next run makes another.
            if libc.setns(saved, CLONE_NEWNET) != 0 and not _OWN_USER_NAMESPACE.is_set():
                raise OSError(ctypes.get_errno(), "could not leave the run's network")
    finally:
        os.close(saved)


_OWN_USER_NAMESPACE = threading.Event()  # set once this process has entered one


def enter_user_namespace() -> bool:
    """Give this process a user namespace of its own, mapped to the same uid and gid,
    so that without root it may still make a network namespace per run. Only a process
    with a single thread may (the kernel's rule): call it first thing in a command or a
    worker. True if it did; False (and nothing changed) where the system does not allow
    it or the grader is root already."""
    libc = _libc() if sys.platform.startswith("linux") else None
    if libc is None or os.geteuid() == 0 or _OWN_USER_NAMESPACE.is_set():
        return _OWN_USER_NAMESPACE.is_set()
    uid, gid = os.geteuid(), os.getegid()
    if libc.unshare(CLONE_NEWUSER) != 0:
        return False
    try:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    except OSError:
        return False
    _OWN_USER_NAMESPACE.set()
    return True


def _loopback_up() -> None:
    """Bring ``lo`` up in the current network namespace (it starts down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))
