"""What each isolation mechanism costs, measured one at a time (grader/harness/isolation.py).

    python scripts/bench_isolation.py [--repeat 30]

- a program started in a jail (bubblewrap: mount, PID, IPC, UTS namespaces) against the
  same program started bare, for ``true`` and for the package-free Python with ``pass``;
- a loopback of its own (a network namespace with ``lo`` up, made and left);
- the private copy of a submission (the reference solution: copied, given to the run's
  uid when the grader is root) together with the run's loopback: one ``isolated_run``;
- how many programs one grading of the reference starts, so the figures above can be
  multiplied out.

Wall time is the median per call, in milliseconds. (No CPU column: a jailed program's
own CPU time is not reported to the grader, and a network namespace is torn down by a
kernel worker, so rusage would under-count what isolation costs the machine.)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import api  # noqa: E402
from grader.harness import isolation  # noqa: E402
from grader.harness.interpreter import clean_python  # noqa: E402


def measure(call: Callable[[], object], repeat: int) -> float:
    """Median wall milliseconds of ``call``."""
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        walls.append(time.perf_counter() - start)
    return statistics.median(walls) * 1000


def programs_per_grading() -> int:
    """Programs one grading of the reference starts through its jail."""
    started = [0]
    original = isolation.Jail.start

    def counting(self: isolation.Jail, spawn: Callable[[], object]) -> object:
        started[0] += 1
        return original(self, spawn)

    isolation.Jail.start = counting  # type: ignore[method-assign]
    try:
        api.grade(ROOT / "reference_solution")
    finally:
        isolation.Jail.start = original  # type: ignore[method-assign]
    return started[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    bwrap = isolation.bwrap_path()
    python = clean_python()
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        commands = {"true": ["/bin/true"], "python -c pass": [python, "-I", "-S", "-c", "pass"]}
        for name, argv in commands.items():
            rows.append((f"{name}, bare", measure(
                lambda argv=argv: subprocess.run(argv, check=True), args.repeat)))
            if bwrap is not None:
                jail = isolation.Jail(bwrap, folder, (Path(sys.base_prefix),
                                                      Path(python).parent.parent))
                rows.append((f"{name}, in a jail", measure(
                    lambda argv=argv, jail=jail: subprocess.run(jail.wrap(argv, folder),
                                                                check=True),
                    args.repeat)))

    def loopback() -> None:
        run = isolation.Isolation()
        with isolation.private_loopback(run):
            pass

    rows.append(("a loopback of its own", measure(loopback, args.repeat)))

    def whole_run() -> None:
        with isolation.isolated_run(ROOT / "reference_solution", python):
            pass

    rows.append(("private copy + loopback (isolated_run)", measure(whole_run, args.repeat)))
    if bwrap is None:
        print("bubblewrap is not available here: no jail figures")
    print(f"{'mechanism':<42} {'wall ms':>8}")
    for name, wall in rows:
        print(f"{name:<42} {wall:>8.1f}")
    print(f"programs started per grading of the reference: {programs_per_grading()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
