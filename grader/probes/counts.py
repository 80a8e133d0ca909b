"""Threads and descriptors of a program under test, and waiting for them to settle.

Thread and descriptor counts have no event to wait on, so every wait here polls, with a
deadline, and stops early when the program exits (:func:`poll_until`). Thread ids
include a program's children; the plain thread count is the leader's alone. Children
are found from the parent's side (:func:`children`), not by reading every process.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import Protocol

import psutil

INTERVAL = 0.01  # seconds between two looks: counts change within microseconds


class Exits(Protocol):
    """What :func:`poll_until` needs of a program: a wait for its exit."""

    def wait_exit(self, timeout: float) -> int | None: ...


def poll_until(
    condition: Callable[[], bool], deadline: float, program: Exits | None = None,
    interval: float = INTERVAL,
) -> bool | None:
    """Look at ``condition`` until it holds (True) or the monotonic ``deadline`` passes
    (False); None if ``program`` exits first. Between two looks it waits on the
    program's exit, so an exit ends the wait at once."""
    while True:
        if condition():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        pause = min(interval, remaining)
        if program is not None:
            if program.wait_exit(pause) is not None:
                return None
        else:
            time.sleep(pause)  # nothing to wait on: the counts have no event


def children(pid: int) -> list[int]:
    """The pids of the children of process ``pid`` now (empty if it is gone).

    On Linux from ``/proc/<pid>/task/<tid>/children``: a few reads, where psutil reads
    the status of every process on the machine to find the same."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        if os.path.isdir("/proc/self/task"):
            return []  # Linux: the process is gone
        tasks = []
    except OSError:
        tasks = []
    found: list[int] = []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as listing:
                found += [int(word) for word in listing.read().split()]
        except FileNotFoundError:
            continue  # the thread ended meanwhile
        except OSError:
            break  # no such file on this kernel: ask psutil
    else:
        if tasks:
            return found
    with contextlib.suppress(psutil.Error):
        return [child.pid for child in psutil.Process(pid).children()]
    return []


def family(pid: int) -> list[psutil.Process]:
    """Process ``pid`` and its descendants now (empty if it is gone)."""
    pids, stack = [], [pid]
    while stack:
        current = stack.pop()
        pids.append(current)
        stack += children(current)
    found = []
    for each in pids:
        with contextlib.suppress(psutil.Error):
            found.append(psutil.Process(each))
    return found if found and found[0].pid == pid else []


def thread_count(pid: int) -> int:
    """Threads of process ``pid`` alone (0 if it is gone)."""
    try:
        return psutil.Process(pid).num_threads()
    except psutil.Error:
        return 0


def thread_ids(pid: int) -> set[int]:
    """The ids of every thread of process ``pid`` and of its children (empty if gone)."""
    ids: set[int] = set()
    for proc in family(pid):
        try:
            ids.update(t.id for t in proc.threads())
        except psutil.Error:
            continue
    return ids


def usage(pid: int) -> tuple[int, int]:
    """(threads, open descriptors) of process ``pid`` alone; (0, 0) if it is gone."""
    try:
        process = psutil.Process(pid)
        return process.num_threads(), process.num_fds()
    except psutil.Error:
        return 0, 0
