"""Signals reach a program's main thread, unless that thread blocks them.

Which thread takes a signal is the kernel's choice at delivery, so the tests stop the
program first (SIGSTOP): a signal sent then stays pending, and ``/proc`` shows where it
waits: ``SigPnd`` of one thread (aimed at it) or ``ShdPnd`` (the process's, for any
thread). Then the program is resumed and must act on it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.harness.signals import send_to_main_thread
from grader.probes.counts import poll_until

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")

DEADLINE = 10.0

# The main thread waits for a connection, as a chat server's does, beside a thread that
# could take the signal as well; the handler says which signal arrived.
SERVER = """
import signal, socket, sys, threading
signal.signal(signal.SIGUSR1, lambda *_: print("handled", flush=True) or sys.exit(0))
threading.Thread(target=threading.Event().wait, daemon=True).start()
listener = socket.create_server(("127.0.0.1", 0))
print("ready", flush=True)
listener.accept()
"""

# The main thread blocks the signal and a thread of its own waits for it (sigwait).
WAITER = """
import signal, threading
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
waiter = threading.Thread(target=lambda: print("waited", signal.sigwait({signal.SIGUSR1}),
                                               flush=True))
waiter.start()
print("ready", flush=True)
waiter.join()
"""


def stopped(code: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    os.kill(proc.pid, signal.SIGSTOP)
    assert poll_until(lambda: state(proc.pid) == "T",
                      time.monotonic() + DEADLINE), "the program did not stop"
    return proc


def state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def pending(pid: int, signum: int) -> dict[str, bool]:
    """Whether ``signum`` waits for the main thread alone, or for the whole process."""
    fields = dict(line.split(":", 1) for line in
                  Path(f"/proc/{pid}/task/{pid}/status").read_text().splitlines())
    bit = 1 << (signum - 1)
    return {name: bool(int(fields[name], 16) & bit) for name in ("SigPnd", "ShdPnd")}


def resumed(proc: subprocess.Popen[str]) -> str:
    os.kill(proc.pid, signal.SIGCONT)
    try:
        out, _ = proc.communicate(timeout=DEADLINE)
    finally:
        proc.kill()
        proc.wait()
    return out


def test_a_signal_is_aimed_at_the_main_thread_and_interrupts_accept() -> None:
    proc = stopped(SERVER)
    send_to_main_thread(proc.pid, signal.SIGUSR1)
    assert pending(proc.pid, signal.SIGUSR1) == {"SigPnd": True, "ShdPnd": False}
    assert resumed(proc) == "handled\n"
    assert proc.returncode == 0


def test_a_main_thread_that_blocks_the_signal_leaves_it_to_the_other_threads() -> None:
    proc = stopped(WAITER)
    send_to_main_thread(proc.pid, signal.SIGUSR1)
    assert pending(proc.pid, signal.SIGUSR1) == {"SigPnd": False, "ShdPnd": True}
    assert resumed(proc) == f"waited {signal.SIGUSR1!s}\n"


def test_a_process_that_is_gone_raises_like_kill() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    with pytest.raises(ProcessLookupError):
        send_to_main_thread(proc.pid, signal.SIGUSR1)
