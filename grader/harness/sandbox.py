"""Running untrusted programs with limits, and leaving nothing behind.

A submission may crash, hang, ignore SIGTERM, start threads without end, fork a
grandchild that calls ``setsid()`` to leave its process group, print hundreds of
megabytes or allocate memory without end. :class:`Sandbox` starts it so that each of
these ends in bounded time, is reported as such, and leaves no process behind::

    box = Sandbox(Limits(memory=256 * MIB, threads=200))
    proc = box.start([sys.executable, "server.py", "--port", "0"], cwd=folder)
    ...
    proc.stop(grace=1.0)           # SIGTERM, then SIGKILL to every member
    assert not proc.survivors()
    proc.limit_exceeded            # None, or why the watchdog/kernel stopped it
    proc.output()                  # the last Limits.output_kept bytes, decoded

How members are found (``members()``):

    leader (Popen)  --- its process group (killpg)
       |            --- descendants through /proc parent links
       +- child  ------ a cgroup, when the pids controller is writable (root)
           +- setsid'd grandchild: re-parented to *us* (child subreaper), carries
              the CHATLAB_SANDBOX token in its environment, and was already seen
              by the watchdog while its parent lived

A program started in a PID namespace of its own (``contained``: a jail) cannot leave
it, so its members are simply its descendants, the pids seen before and the cgroup's,
found without reading every process on the machine.

Limits are set in the child before ``exec`` (``setrlimit``) and watched from outside by
a thread that counts threads, processes, resident memory and output bytes, because the
kernel limits alone have gaps (root ignores RLIMIT_NPROC; RLIMIT_AS is per process).
What this does *not* protect against is written in ``SANDBOX.md``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import psutil

from ..probes.counts import children
from ..streams import OutputTail

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

KIB = 1024
MIB = 1024 * KIB
TOKEN_VARIABLE = "CHATLAB_SANDBOX"
POLL_SECONDS = 0.1  # the watchdog's period
STOP = getattr(signal, "SIGSTOP", None)  # POSIX; elsewhere we kill without freezing
KILL = getattr(signal, "SIGKILL", signal.SIGTERM)
AS_MARGIN = 16 * MIB  # this close to RLIMIT_AS, a process is taken to be at its limit

# Reasons reported in ``limit_exceeded``; tests import them rather than copy them.
CPU_LIMIT = "resource limit exceeded: CPU time"
MEMORY_LIMIT = "resource limit exceeded: memory"
THREAD_LIMIT = "resource limit exceeded: too many threads"
PROCESS_LIMIT = "resource limit exceeded: too many processes"
OUTPUT_LIMIT = "resource limit exceeded: too much output"
FILE_SIZE_LIMIT = "resource limit exceeded: file size"

# Lines a Python program prints when the kernel refused it a resource.
_STDERR_SIGNS = (
    ("can't start new thread", THREAD_LIMIT),
    ("in start\n    _start_new_thread", THREAD_LIMIT),
    ("MemoryError", MEMORY_LIMIT),
    ("BlockingIOError: [Errno 11] Resource temporarily unavailable", PROCESS_LIMIT),
)


@dataclass(frozen=True)
class Limits:
    """What one sandboxed program (with everything it starts) may use. None = no limit."""

    memory: int | None = 512 * MIB
    """RLIMIT_AS of each process, and the watchdog's cap on the resident memory of all."""
    stack: int | None = 512 * KIB
    """RLIMIT_STACK; glibc sizes thread stacks by it, so ``threads`` fit in ``memory``."""
    cpu_seconds: int | None = 60
    """RLIMIT_CPU of each process (SIGXCPU, then SIGKILL one second later)."""
    threads: int | None = 256
    """Threads across all processes; the watchdog kills above it (cgroup pids.max too)."""
    processes: int | None = 16
    """Processes in the tree; the watchdog kills above it (RLIMIT_NPROC if not root)."""
    file_size: int | None = 16 * MIB
    """RLIMIT_FSIZE: the largest file the program may write."""
    output_kept: int = 256 * KIB
    """Bytes of stdout (and of stderr) kept: the tail; the rest is only counted."""
    output_total: int | None = 64 * MIB
    """Bytes of output after which the program is stopped."""


@dataclass(frozen=True)
class Launch:
    """What a child needs before ``exec``: made by :meth:`Sandbox.prepare`, for programs
    started by other means (``pexpect.spawn(..., env=launch.env,
    preexec_fn=launch.preexec_fn)``), then watched with :meth:`Sandbox.adopt`."""

    env: dict[str, str]
    """The environment, with the token that marks every descendant."""
    preexec_fn: Callable[[], None] | None
    """Joins the cgroup and sets the limits; the child must also start a new session."""
    token: str
    cgroup: Path | None


class SandboxedProcess:
    """A started program; see the module docstring. Made by :meth:`Sandbox.start`
    (``popen`` set, output read here) or :meth:`Sandbox.adopt` (``popen`` None)."""

    def __init__(
        self,
        pid: int,
        popen: subprocess.Popen[bytes] | None,
        limits: Limits,
        launch: Launch,
        on_output: Callable[[bytes], None] | None = None,
        *,
        contained: bool = False,
    ) -> None:
        self.popen = popen
        # Started in a PID namespace of its own (bubblewrap's --unshare-pid): every
        # process it makes stays its descendant, whatever session or cgroup it moves
        # to, so its members are found from it, without reading every process.
        self.contained = contained
        self.limits = limits
        self.token = launch.token
        self._pid = pid
        self.pgid = pid  # the leader of a new session leads its process group
        self._cgroup = launch.cgroup
        self._on_output = on_output
        self._lock = threading.Lock()
        self._limit: str | None = None
        # Every member ever seen, by pid. psutil tells two processes with one pid apart by
        # their start time since boot, which, unlike create_time(), no clock change moves.
        self._known: dict[int, psutil.Process] = {}
        self._tails = {name: OutputTail(limits.output_kept) for name in ("stdout", "stderr")}
        self._done = threading.Event()
        self._readers = [
            threading.Thread(target=self._read, args=(name,), daemon=True, name=f"sandbox-{name}")
            for name, stream in (
                ("stdout", popen and popen.stdout), ("stderr", popen and popen.stderr)
            )
            if stream is not None
        ]
        for reader in self._readers:
            reader.start()
        self._watchdog = threading.Thread(target=self._watch, daemon=True, name="sandbox-watch")
        self._watchdog.start()

    # -- state ---------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def returncode(self) -> int | None:
        """The exit status; None while running, or always for an adopted process."""
        return None if self.popen is None else self.popen.poll()

    @property
    def limit_exceeded(self) -> str | None:
        """Why the program was stopped for using too much, or None."""
        with self._lock:
            if self._limit is not None:
                return self._limit
        status = self.returncode
        if status is not None and status < 0:
            by_signal = {
                getattr(signal, "SIGXCPU", None): CPU_LIMIT,
                getattr(signal, "SIGXFSZ", None): FILE_SIZE_LIMIT,
            }.get(-status)
            if by_signal:
                return by_signal
        return limit_from_output(self._tails["stderr"].text() + self._tails["stdout"].text())

    def wait(self, timeout: float | None = None) -> int | None:
        """The leader's exit status, or None if it still runs after ``timeout`` seconds.

        For an adopted process (whose status belongs to whoever started it) returns 0
        once it has ended."""
        if self.popen is not None:
            try:
                return self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return None
        with contextlib.suppress(psutil.Error):
            _wait_gone([psutil.Process(self.pid)], 1e9 if timeout is None else timeout)
            return None if _running(psutil.Process(self.pid)) else 0
        return 0

    def output(self, stream: str = "stdout") -> str:
        """The kept tail of ``stream`` ("stdout" or "stderr"), decoded leniently."""
        return self._tails[stream].text()

    def output_bytes(self, stream: str = "stdout") -> int:
        """All bytes the program wrote to ``stream``, kept or not."""
        return self._tails[stream].total

    # -- stopping ------------------------------------------------------------------

    def stop(self, grace: float = 1.0) -> int | None:
        """SIGTERM the group, wait ``grace`` seconds for the leader, then kill everything.

        Always ends with :meth:`kill_tree`: a leader that exits on SIGTERM may leave
        children behind. Returns the leader's exit status.
        """
        if self.wait(0) is None:
            self._signal_all(signal.SIGTERM)
            self.wait(grace)
        self.kill_tree()
        for reader in self._readers:
            reader.join(1.0)
        return self.returncode

    def kill_tree(self, timeout: float = 10.0) -> list[psutil.Process]:
        """SIGKILL every member until none is left; return the survivors (normally [])."""
        self._done.set()
        deadline = time.monotonic() + timeout
        cleared = False  # the last look found no member running
        while time.monotonic() < deadline:
            members = self.members()
            self._reap(members)
            running = [proc for proc in members if _running(proc)]
            if not running:
                cleared = True
                break
            # Freeze first so nobody forks between our scan and our kill.
            if STOP is not None:
                self._signal_all(STOP, running)
            self._signal_all(KILL, running)
            _wait_gone(running, 0.05)
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        # After a look that found nobody running, a second look would find nobody too:
        # every member seen was killed, and the dead do not fork.
        left = [] if cleared else self.survivors()
        if not left:
            self._remove_cgroup()
        return left

    def _remove_cgroup(self) -> None:
        _remove_cgroup(self._cgroup)

    def survivors(self) -> list[psutil.Process]:
        """Members still running (zombies excluded)."""
        alive = []
        for proc in self.members():
            with contextlib.suppress(psutil.Error):
                if proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
        return alive

    # -- finding members -----------------------------------------------------------

    def members(self, full: bool = True) -> list[psutil.Process]:
        """Every process that belongs to this program, found every way we know.

        ``full=False`` trusts the cgroup, when there is one, and skips the scan of
        every process on the machine (the watchdog's cheap path).
        """
        if not full and self._cgroup is not None:
            procs = (self._verified(pid) for pid in self._cgroup_pids())
            return [proc for proc in procs if proc is not None]
        with self._lock:
            known = list(self._known)  # an orphan seen before its parent went, too
        roots = [self.pid, *known, *self._cgroup_pids()]
        if self.contained:  # nothing it starts leaves its tree: walk the tree only
            return self._walk(roots, children)
        table = process_table()
        below: dict[int, list[int]] = {}
        for pid, (ppid, _) in table.items():
            below.setdefault(ppid, []).append(pid)
        roots += [pid for pid, (_, pgid) in table.items() if pgid == self.pgid]
        roots += [pid for pid in below.get(os.getpid(), [])
                  if pid != self.pid and self._tagged(pid)]
        return self._walk([pid for pid in roots if pid in table],
                          lambda pid: below.get(pid, []))

    def _walk(self, roots: list[int],
              children_of: Callable[[int], list[int]]) -> list[psutil.Process]:
        """``roots`` and everything below them, each verified, the grader left out."""
        found: dict[int, psutil.Process] = {}
        stack = list(roots)
        me = os.getpid()
        while stack:
            pid = stack.pop()
            if pid in found or pid == me:
                continue
            proc = self._verified(pid)
            if proc is None:
                continue
            found[pid] = proc
            stack.extend(children_of(pid))
        return list(found.values())

    def _cgroup_pids(self) -> list[int]:
        if self._cgroup is None:
            return []
        try:
            text = (self._cgroup / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(word) for word in text.split()]

    def _cgroup_refused(self) -> bool:
        """True once the pids cgroup refused a fork or a new thread."""
        if self._cgroup is None:
            return False
        try:
            words = (self._cgroup / "pids.events").read_text().split()
        except OSError:
            return False
        return "max" in words and words[words.index("max") + 1] != "0"

    def _tagged(self, pid: int) -> bool:
        try:
            return psutil.Process(pid).environ().get(TOKEN_VARIABLE) == self.token
        except (psutil.Error, OSError):
            return False

    def _verified(self, pid: int) -> psutil.Process | None:
        """The process ``pid`` unless it is gone or is a new process reusing a known pid."""
        try:
            proc = psutil.Process(pid)
        except psutil.Error:
            return None
        with self._lock:
            seen = self._known.setdefault(pid, proc)
            if seen != proc:  # the pid was reused by an unrelated process
                if pid == self.pid or not self._tagged(pid):
                    return None
                self._known[pid] = proc
        return proc

    # -- signals -------------------------------------------------------------------

    def _signal_all(self, signum: int, members: list[psutil.Process] | None = None) -> None:
        """Signal the process group, then each member outside it (each signal once)."""
        if hasattr(os, "killpg"):
            with contextlib.suppress(OSError):
                os.killpg(self.pgid, signum)
        for proc in self.members() if members is None else members:
            with contextlib.suppress(psutil.Error, OSError):
                if not hasattr(os, "getpgid") or os.getpgid(proc.pid) != self.pgid:
                    proc.send_signal(signum)

    def _reap(self, members: list[psutil.Process]) -> None:
        """Collect the exit status of re-parented members (our children now), not Popen's."""
        for proc in members:
            if proc.pid == self.pid:  # Popen's (or pexpect's) to reap, not ours
                continue
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(proc.pid, os.WNOHANG)

    def _flag(self, reason: str) -> None:
        with self._lock:
            if self._limit is None:
                self._limit = reason

    # -- threads -------------------------------------------------------------------

    def _read(self, name: str) -> None:
        assert self.popen is not None
        stream = self.popen.stdout if name == "stdout" else self.popen.stderr
        assert stream is not None
        fd = stream.fileno()
        tail = self._tails[name]
        total_cap = self.limits.output_total
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                if self._on_output is not None:
                    self._on_output(b"")  # end of file
                return
            tail.add(chunk)
            if self._on_output is not None:
                self._on_output(chunk)
            written = self.output_bytes("stdout") + self.output_bytes("stderr")
            if total_cap is not None and written > total_cap and self._limit is None:
                self._flag(OUTPUT_LIMIT)
                # Killed from another thread: this one must keep draining the pipe.
                threading.Thread(target=self.kill_tree, daemon=True).start()

    def _watch(self) -> None:
        """Count threads, processes and memory of all members until the program is gone."""
        while not self._done.wait(POLL_SECONDS):
            usage = [each for each in map(_usage, self.members(full=False)) if each is not None]
            if not usage:
                self._remove_cgroup()
                return
            reason = self._over_limit(usage)
            if reason is not None:
                self._flag(reason)
                self.kill_tree()
                return

    def _over_limit(self, usage: list[Usage]) -> str | None:
        """The limit the members together exceed, given each one's :class:`Usage`."""
        limits = self.limits
        if self._cgroup_refused():
            return THREAD_LIMIT
        if limits.threads is not None and sum(u.threads for u in usage) > limits.threads:
            return THREAD_LIMIT
        if limits.processes is not None and len(usage) > limits.processes:
            return PROCESS_LIMIT
        # The second test catches a program that keeps retrying at its RLIMIT_AS.
        if limits.memory is not None and (
            sum(u.rss for u in usage) > limits.memory
            or max(u.vms for u in usage) > limits.memory - AS_MARGIN
        ):
            return MEMORY_LIMIT
        return None


class Usage(NamedTuple):
    """What one running member uses, as the watchdog counts it."""

    threads: int
    rss: int
    vms: int


def _usage(proc: psutil.Process) -> Usage | None:
    """The :class:`Usage` of a member, or None if it has ended (a zombie too). One look
    at ``/proc`` per file, shared by all three figures and the status (``oneshot``)."""
    try:
        with proc.oneshot():
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            memory = proc.memory_info()
            return Usage(proc.num_threads(), memory.rss, memory.vms)
    except psutil.Error:
        return None


class Sandbox:
    """Starts programs under :class:`Limits` and remembers them so :meth:`close` can
    end whatever is left. Usable as a context manager."""

    def __init__(self, limits: Limits | None = None, *, cgroup: bool = True) -> None:
        self.limits = limits or Limits()
        self.subreaper = enable_subreaper()
        self._use_cgroup = cgroup
        if cgroup:
            sweep_cgroups()
        self._started: weakref.WeakSet[SandboxedProcess] = weakref.WeakSet()

    def start(
        self,
        cmd: Sequence[str],
        cwd: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        *,
        merge_output: bool = False,
        stdin: int | None = subprocess.DEVNULL,
        on_output: Callable[[bytes], None] | None = None,
        contained: bool = False,
    ) -> SandboxedProcess:
        """Start ``cmd`` in ``cwd`` in a new session with the limits applied.

        ``merge_output`` sends stderr into the stdout pipe; ``on_output`` is called
        from a reader thread with every chunk read, kept or not, and with ``b""`` once
        at end of file. ``contained``: ``cmd`` runs its program in a PID namespace of
        its own (a jail), so its members are its descendants. Raises OSError if the
        command cannot be started at all.
        """
        launch = self.prepare(env)
        posix = os.name == "posix"
        try:
            popen = subprocess.Popen(
                list(cmd),
                cwd=os.fspath(cwd),
                env=launch.env,
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
                start_new_session=posix,
                preexec_fn=launch.preexec_fn if posix else None,
            )
        except BaseException:
            _remove_cgroup(launch.cgroup)
            raise
        proc = SandboxedProcess(popen.pid, popen, self.limits, launch, on_output,
                                contained=contained)
        self._started.add(proc)
        return proc

    def prepare(self, env: Mapping[str, str] | None = None) -> Launch:
        """The environment and pre-exec function for a child started elsewhere."""
        token = uuid.uuid4().hex
        environment = dict(os.environ if env is None else env)
        environment[TOKEN_VARIABLE] = token
        # glibc reserves 64 MiB of address space per malloc arena; a few are plenty.
        environment.setdefault("MALLOC_ARENA_MAX", "2")
        cgroup = _make_cgroup(token, self.limits) if self._use_cgroup else None
        return Launch(environment, child_setup(self.limits, cgroup), token, cgroup)

    def adopt(self, pid: int, launch: Launch, *, contained: bool = False) -> SandboxedProcess:
        """Watch and, on :meth:`SandboxedProcess.stop`, kill a child started elsewhere
        with ``launch`` in a new session (pexpect's children are). Its output and exit
        status stay with whoever started it."""
        proc = SandboxedProcess(pid, None, self.limits, launch, contained=contained)
        self._started.add(proc)
        return proc

    def close(self) -> None:
        """Kill everything this sandbox started that is still there."""
        for proc in list(self._started):
            proc.kill_tree()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- helpers ---------------------------------------------------------------------------


def process_table() -> dict[int, tuple[int, int]]:
    """``{pid: (parent pid, process group)}`` of every process on the machine.

    On Linux one read of ``/proc/<pid>/stat`` each (a few ms for hundreds of processes,
    several times faster than psutil); elsewhere psutil and ``os.getpgid``.
    """
    table: dict[int, tuple[int, int]] = {}
    if os.path.isdir("/proc/self"):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                fd = os.open(f"/proc/{entry.name}/stat", os.O_RDONLY)
                try:
                    data = os.read(fd, 4096)
                finally:
                    os.close(fd)
            except OSError:
                continue  # gone meanwhile
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
            fields = data[data.rfind(b")") + 2 :].split()
            table[int(entry.name)] = (int(fields[1]), int(fields[2]))
        return table
    for proc in psutil.process_iter(["ppid"]):
        try:
            group = os.getpgid(proc.pid) if hasattr(os, "getpgid") else -1
        except OSError:
            continue
        table[proc.pid] = (proc.info["ppid"], group)
    return table


def limit_from_output(text: str) -> str | None:
    """The limit a program's output says it hit (a ``MemoryError`` traceback, "can't
    start new thread"…), or None. For adopted programs, whose output we do not read."""
    for sign, reason in _STDERR_SIGNS:
        if sign in text:
            return reason
    return None


CGROUP_PREFIX = "chatlab-"  # + the grader's pid + a token


def _cgroup_bases() -> list[Path]:
    bases = [Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")]
    return [base for base in bases if (base / "cgroup.procs").exists()]


@functools.cache
def sweep_cgroups() -> None:
    """Empty and remove the cgroups of graders that were killed before they could (once
    per process): every process in one is a leftover of a submission."""
    if not sys.platform.startswith("linux"):
        return
    for base in _cgroup_bases():
        with contextlib.suppress(OSError):
            for path in base.glob(f"{CGROUP_PREFIX}*-*"):
                pid = path.name[len(CGROUP_PREFIX):].split("-", 1)[0]
                if not pid.isdigit() or psutil.pid_exists(int(pid)):
                    continue
                with contextlib.suppress(OSError):
                    (path / "cgroup.kill").write_text("1")  # v2: the kernel kills all
                with contextlib.suppress(OSError):
                    for member in (path / "cgroup.procs").read_text().split():
                        os.kill(int(member), signal.SIGKILL)
                _wait_empty(path, 2.0)
                _remove_cgroup(path)


def _wait_empty(cgroup: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if not (cgroup / "cgroup.procs").read_text().strip():
                return
        time.sleep(0.01)  # the kernel is reaping them: no event to wait on


def _remove_cgroup(cgroup: Path | None) -> None:
    if cgroup is not None:
        with contextlib.suppress(OSError):
            cgroup.rmdir()  # only succeeds once it is empty


def _wait_gone(procs: list[psutil.Process], timeout: float) -> None:
    """Poll until none of ``procs`` runs. Never waitpid(): the leader's status is Popen's."""
    deadline = time.monotonic() + timeout
    while any(_running(proc) for proc in procs) and time.monotonic() < deadline:
        time.sleep(0.005)


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def enable_subreaper() -> bool:
    """Make this process adopt orphaned descendants (Linux); False where unsupported.

    Without it a grandchild whose parent died is re-parented to init and can only be
    found by the token in its environment (or its cgroup).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        pr_set_child_subreaper = 36
        return libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def child_setup(limits: Limits, cgroup: Path | None = None) -> Callable[[], None] | None:
    """The function run in the child between fork and exec: join the cgroup, set limits.

    Also usable as ``preexec_fn`` of ``pexpect.spawn``. It only makes system calls, so
    it is safe to run in a child forked from a threaded program.
    """
    if resource is None:
        return None
    settings: list[tuple[int, int]] = []

    def add(name: str, value: int | None, slack: int = 0) -> None:
        number = getattr(resource, name, None)
        if value is not None and number is not None:
            settings.append((number, value + slack))

    add("RLIMIT_AS", limits.memory)
    add("RLIMIT_STACK", limits.stack)
    add("RLIMIT_CPU", limits.cpu_seconds)
    add("RLIMIT_FSIZE", limits.file_size)
    add("RLIMIT_CORE", 0)
    if limits.processes is not None and os.geteuid() != 0:
        # Counted per user, threads included: allow what the user already runs.
        add("RLIMIT_NPROC", limits.processes + (limits.threads or 0), _user_tasks())
    procs_file = str(cgroup / "cgroup.procs") if cgroup is not None else None
    cpu = getattr(resource, "RLIMIT_CPU", None)

    def setup() -> None:
        # A signal the grader ignores or blocks (a shell's `cmd &` ignores Ctrl-C; some
        # job runners block it) would stay so across exec, and the program would never
        # see it: start every program with the defaults, so that Ctrl-C and SIGTERM
        # mean what they usually do.
        for signum in _DEFAULT_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _DEFAULT_SIGNALS)
        if procs_file is not None:
            with contextlib.suppress(OSError):
                fd = os.open(procs_file, os.O_WRONLY)
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
        for number, value in settings:
            soft, hard = resource.getrlimit(number)
            # Hard one second above soft for CPU: SIGXCPU first, SIGKILL if ignored.
            new_hard = value + 1 if number == cpu else value
            if hard != resource.RLIM_INFINITY:
                value, new_hard = min(value, hard), min(new_hard, hard)
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(number, (value, new_hard))

    return setup


_DEFAULT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP",
                                                             "SIGQUIT") if hasattr(signal, name))


def _user_tasks() -> int:
    uid = os.getuid()
    count = 0
    for proc in psutil.process_iter(["uids", "num_threads"]):
        uids = proc.info["uids"]
        if uids is not None and uids.real == uid:
            count += proc.info["num_threads"] or 1
    return count


def _make_cgroup(token: str, limits: Limits) -> Path | None:
    """A pids cgroup capping the number of tasks (threads count), or None if unavailable.

    Works with the v1 ``pids`` hierarchy or a v2 hierarchy whose root delegates ``pids``;
    needs write access (normally root). Unlike RLIMIT_NPROC, the kernel enforces it for
    root too, and every descendant stays in it, whatever session it moves to.
    """
    if not sys.platform.startswith("linux") or limits.threads is None:
        return None
    candidates = [Path("/sys/fs/cgroup/pids")]
    root = Path("/sys/fs/cgroup")
    with contextlib.suppress(OSError):
        if "pids" in (root / "cgroup.subtree_control").read_text().split():
            candidates.append(root)
    for base in candidates:
        if not (base / "cgroup.procs").exists() or not os.access(base, os.W_OK):
            continue
        path = base / f"{CGROUP_PREFIX}{os.getpid()}-{token[:12]}"
        try:
            path.mkdir()
        except OSError:
            continue
        try:
            # A little above the watchdog's cap, so the watchdog usually names it first.
            (path / "pids.max").write_text(str(limits.threads + 8))
            return path
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
    return None
