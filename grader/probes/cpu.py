"""How much CPU a program's threads *wanted* over an interval, however busy the machine.

A busy loop is a thread that is always either running or waiting for a CPU. Its CPU
time alone depends on the machine's load (on a starved machine a spinning thread may get
a small share of a core), but its CPU time *plus its time waiting in the run queue* is
the whole interval, loaded or not; an idle server's threads, blocked in ``accept()`` or
``recv()``, have neither. Linux reports both figures per thread in
``/proc/<pid>/task/<tid>/schedstat`` (nanoseconds on a CPU, nanoseconds waiting for
one).

A thread running at the moment of reading may not have its latest stretch of CPU time
counted yet (the kernel adds it at the next scheduling event): callers that must not
miss it also read the process's CPU time, which includes it.

Only threads alive at both ends of the interval count: a thread that ends meanwhile was
finishing its work (a departed client's), not looping. Where the figures are missing,
:func:`snapshot` returns None and the caller measures another way: against a
:class:`Spinner`, a process that only spins, whose CPU time is what the machine gives
one spinning thread right now.
"""

from __future__ import annotations

import os
import subprocess
import sys

import psutil

Snapshot = dict[tuple[int, int], int]  # (pid, tid) -> ns on a CPU or waiting for one


def snapshot(pids: list[int]) -> Snapshot | None:
    """The run-or-wait time of every thread of ``pids`` now; None if the system does
    not report it."""
    taken: Snapshot = {}
    reported = False
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as stats:
                    on_cpu, waiting, _ = stats.read().split()
            except (OSError, ValueError):
                continue
            taken[(pid, int(tid))] = int(on_cpu) + int(waiting)
            reported = True
    return taken if reported else None


def demand(before: Snapshot, after: Snapshot) -> float:
    """Seconds the threads alive in both snapshots spent running or ready to run."""
    return sum(after[key] - before[key] for key in before.keys() & after.keys()) / 1e9


class Spinner:
    """A reference busy loop: a process that only spins, in its own session like the
    programs under test. Its CPU time over an interval is what the machine gave one
    spinning thread then, which a measured program's CPU time is compared with::

        with Spinner() as spinner:
            ...
            spinner.cpu()  # CPU seconds it got so far
    """

    def __init__(self, python: str = sys.executable) -> None:
        self._argv = [python, "-S", "-c", "while True: pass"]
        self._proc: subprocess.Popen[bytes] | None = None
        self._ps: psutil.Process | None = None

    def __enter__(self) -> Spinner:
        self._proc = subprocess.Popen(
            self._argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        self._ps = psutil.Process(self._proc.pid)
        return self

    def cpu(self) -> float:
        """CPU seconds (user + system) the spinner has used since it started."""
        assert self._ps is not None, "use it in a with block"
        try:
            times = self._ps.cpu_times()
        except psutil.Error:
            return 0.0
        return times.user + times.system

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.kill()  # by its PID: it is our own child
            self._proc.wait()
