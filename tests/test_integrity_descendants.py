"""What the grader stops after a grading: the descendants that came after its snapshot.

A process that was there before (a notebook's other work, say) must never be taken for
a new one, even when the clock moves between the two looks.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from grader.batch.integrity import Descendants

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_a_clock_change_does_not_make_an_older_child_new(monkeypatch) -> None:
    linux = pytest.importorskip("psutil._pslinux")  # where psutil reads the boot time
    older = subprocess.Popen(SLEEPER)
    newer = None
    try:
        snapshot = Descendants.snapshot()
        shifted = linux.boot_time() + 2.0
        monkeypatch.setattr(linux, "boot_time", lambda: shifted)
        assert [p.pid for p in snapshot.new()] == []
        newer = subprocess.Popen(SLEEPER)
        assert [p.pid for p in snapshot.new()] == [newer.pid]
        assert len(snapshot.stop(timeout=10.0)) == 1  # what it stopped, in words
        assert snapshot.new() == []
        assert older.poll() is None  # untouched
    finally:
        for proc in (older, newer):
            if proc is not None:
                proc.kill()
                proc.wait()
