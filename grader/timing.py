"""Deadlines that scale with the machine.

A correct submission must never fail because the machine is busy, and a broken one must
not make the student wait. So every deadline is a base value (right for an idle laptop)
times a *scale* measured on the spot: how long this machine takes to start a Python
process and do a loopback round trip, compared with a typical idle machine. The scale
never goes below 1 (the floor) and is capped so a hung program is still reported quickly.

Two deadlines per wait: by ``soft`` the answer should have come; if it comes between
``soft`` and ``hard`` the check fails as *too slow*; if nothing comes by ``hard`` it is
*hung*.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass, replace

TYPICAL_SPAWN = 0.035  # seconds to start `python -c "import socket, threading"` when idle
# (the package-free interpreter of grader.harness.interpreter, which runs the submission)
TYPICAL_ROUND_TRIP = 0.0003  # seconds for one small loopback round trip when idle
MAX_SCALE = 4.0  # so a hung program is still reported within HARD * 4 s
SOFT = 1.5  # seconds: an answer should come within this (times the scale)
HARD = 3.0  # seconds: after this much silence a program is hung (times the scale)
# Seconds a program gets to start: a server to print `listening on`, a client to connect.
# A correct one needs ~0.1 s; the wait is generous, not scaled (load can rise after
# calibration), and bounded so that a server that never listens, and a client that
# never connects, are each reported within it: the whole run stays under 10 s.
START = 5.0


@dataclass(frozen=True)
class Timing:
    """Scaled deadlines for one grading run."""

    scale: float = 1.0
    patience: float = HARD  # the hard deadline, before scaling

    @property
    def soft(self) -> float:
        return SOFT * self.scale

    @property
    def hard(self) -> float:
        return self.patience * self.scale

    def impatient(self) -> Timing:
        """These deadlines with ``hard`` cut down to ``soft``, for a wait whose answer,
        if it came later, would fail as too slow anyway: a missing answer is then
        reported at once instead of after the hard deadline, and no verdict changes."""
        return replace(self, patience=SOFT)

    @property
    def start(self) -> float:
        return START

    def of(self, seconds: float) -> float:
        """``seconds`` scaled for this machine."""
        return seconds * self.scale

    def describe(self) -> str:
        return (
            f"deadlines scaled x{self.scale:.2f}: answer within {self.soft:.1f} s, "
            f"hung after {self.hard:.1f} s"
        )


def _round_trip() -> float:
    """Best of a few loopback round trips through a socket pair, in seconds."""
    a, b = socket.socketpair()
    try:
        best = float("inf")
        for _ in range(20):
            t0 = time.perf_counter()
            a.sendall(b"x")
            b.recv(1)
            b.sendall(b"y")
            a.recv(1)
            best = min(best, time.perf_counter() - t0)
        return best
    finally:
        a.close()
        b.close()


def _spawn(python: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [python, "-c", "import socket, threading"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=30,
        check=False,
    )
    return time.perf_counter() - t0


def calibrate(python: str = sys.executable) -> Timing:
    """Measure this machine now and return the deadlines to use (never below the floor)."""
    ratio = max(_spawn(python) / TYPICAL_SPAWN, _round_trip() / TYPICAL_ROUND_TRIP)
    return Timing(scale=round(min(MAX_SCALE, max(1.0, ratio)), 2))
