"""Run the whole grader suite N times on the reference solution while another process
spins on a CPU core, and report every run that did not pass everything.

    python scripts/grader_stress.py            # 50 runs
    python scripts/grader_stress.py -n 10 --submission tests/submissions/correct_asyncio

A check's verdict must not depend on machine speed, so the expected result is zero
failures. Exit status 0 iff every run passed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.api import grade  # noqa: E402
from grader.model import Status  # noqa: E402


def _spin(stop) -> None:  # noqa: ANN001 - a multiprocessing.Event
    while not stop.is_set():
        for _ in range(100_000):
            pass


def stress(runs: int, submission: Path, busy: bool = True, only: str | None = None) -> int:
    """Grade ``submission`` ``runs`` times; return the number of runs with a failure."""
    stop = multiprocessing.Event()
    spinner = multiprocessing.Process(target=_spin, args=(stop,), daemon=True) if busy else None
    if spinner is not None:
        spinner.start()
    failed_runs = 0
    walls: list[float] = []
    try:
        for i in range(1, runs + 1):
            start = time.monotonic()
            result = grade(submission, only=only)
            walls.append(time.monotonic() - start)
            bad = [c for c in result.checks if c.status not in (Status.PASSED,
                                                                 Status.NOT_APPLICABLE)]
            if bad:
                failed_runs += 1
                print(f"run {i}: {len(bad)} check(s) did not pass ({result.notes[0]})")
                for c in bad:
                    why = c.failure.message if c.failure else c.reason
                    print(f"    {c.id}: {c.status.value}: {why}")
            else:
                print(f"run {i}: all {len(result.checks)} checks passed in {walls[-1]:.1f} s",
                      flush=True)
    finally:
        stop.set()
        if spinner is not None:
            spinner.join(2)
            if spinner.is_alive():
                spinner.terminate()
    walls.sort()
    print(f"\n{runs} runs, {failed_runs} with a failure; wall time median"
          f" {walls[len(walls) // 2]:.2f} s, max {walls[-1]:.2f} s"
          f" ({'with' if busy else 'without'} a busy loop on another core)")
    return failed_runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=50)
    parser.add_argument("--submission", type=Path, default=ROOT / "reference_solution")
    parser.add_argument("--only", help="restrict to these checks (as for --only)")
    parser.add_argument("--no-busy", action="store_true", help="do not load another core")
    args = parser.parse_args(argv)
    return 1 if stress(args.runs, args.submission, not args.no_busy, args.only) else 0


if __name__ == "__main__":
    sys.exit(main())
