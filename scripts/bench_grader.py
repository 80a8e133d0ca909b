"""Wall time of a full grading run: on the reference solution (budget 5 s) and on a
submission whose server crashes at start (budget 10 s).

    python scripts/bench_grader.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "reference solution": (ROOT / "reference_solution", 5.0),
    "server crashes at start": (ROOT / "tests" / "submissions" / "broken_crash_at_start", 10.0),
    "server never listens": (ROOT / "tests" / "submissions" / "broken_never_listens", 10.0),
}


def time_run(folder: Path) -> tuple[float, int]:
    """Seconds for `python -m grader check FOLDER` as a user runs it, and its exit code."""
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "grader", "check", str(folder),
                           "--format", "json"], cwd=ROOT, capture_output=True, check=False)
    return time.monotonic() - start, done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    over = 0
    for name, (folder, budget) in CASES.items():
        if not folder.is_dir():
            print(f"{name:<26} (missing: {folder})")
            continue
        times = sorted(time_run(folder)[0] for _ in range(args.repeat))
        best, median = times[0], times[len(times) // 2]
        verdict = "ok" if median < budget else "OVER BUDGET"
        over += median >= budget
        print(f"{name:<26} best {best:5.2f} s  median {median:5.2f} s  budget {budget:4.1f} s"
              f"  {verdict}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
