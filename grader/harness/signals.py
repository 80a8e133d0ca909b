"""Sending a signal to a program the way its author expects it to arrive: in its main thread.

``kill()`` lets the kernel hand a signal to any thread of a process that does not block
it. CPython runs signal handlers in the main thread only, and a main thread blocked in
``accept()`` or ``recv()`` is not woken when another thread takes the signal: the handler
(``KeyboardInterrupt`` on Ctrl-C) waits for the next connection. Measured on the 2-core
machine with a Python program whose main thread waits in ``accept()`` beside three
threads waiting in ``recv()``, signals sent back to back under load: ``kill()`` left one
signal in 7,000 to 25,000 unhandled, enough for a correct server to fail a shutdown
check now and then. ``tgkill()`` aimed at the main thread interrupts its system call
every time (0 in 30,000).

A program whose main thread blocks the signal (one that waits for signals in a thread of
its own, as many C programs do) gets it as ``kill()`` sends it: aimed at the main thread,
it would stay pending there.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
from collections.abc import Callable
from pathlib import Path


def send_to_main_thread(pid: int, signum: int) -> None:
    """Send ``signum`` to process ``pid``, to its main thread unless that thread blocks it.

    Raises ProcessLookupError if there is no such process, PermissionError if it is not
    ours to signal, like :func:`os.kill`.
    """
    tgkill = _tgkill()
    if tgkill is not None and not _main_thread_blocks(pid, signum):
        if tgkill(pid, pid, signum) == 0:
            return
        # ESRCH: the main thread has ended while others run on (a zombie leader); let
        # the kernel pick a thread. EPERM is raised by os.kill below, as it should be.
    os.kill(pid, signum)


def _main_thread_blocks(pid: int, signum: int) -> bool:
    """Whether the main thread of ``pid`` blocks ``signum`` (False if that is unknown)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/task/{pid}/status").read_text().splitlines():
            if line.startswith("SigBlk:"):
                return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


@functools.cache
def _tgkill() -> Callable[[int, int, int], int] | None:
    """The C library's ``tgkill(tgid, tid, sig)`` (Linux, glibc 2.30 or musl), or None."""
    if not os.path.isdir("/proc/self/task"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).tgkill
    except (AttributeError, OSError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int)
    function.restype = ctypes.c_int
    return function
