"""Wall time and CPU time of a full grading run: on the reference solution and on a copy
of it (which also plays against the reference: budget 5 s), and on submissions whose
server crashes at start or never listens (budget 10 s).

    python scripts/bench_grader.py [--repeat 3]

CPU time is the grader's and that of every process it started (servers, clients), user
plus system: what a batch of gradings competes for.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "submissions"))
import make_broken  # noqa: E402

COPY = Path(tempfile.gettempdir()) / "chatlab-bench-copy"
CASES = {
    "reference solution": (ROOT / "reference_solution", 5.0),
    "a copy of the reference": (COPY, 5.0),
    "server crashes at start": (ROOT / "tests" / "submissions" / "broken_crash_at_start", 10.0),
    "server never listens": (ROOT / "tests" / "submissions" / "broken_never_listens", 10.0),
}


def time_run(folder: Path) -> tuple[float, float, int]:
    """Seconds of wall and of CPU for `python -m grader check FOLDER` as a user runs it,
    and its exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "grader", "check", str(folder),
                           "--format", "json"], cwd=ROOT, capture_output=True, check=False)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    make_broken.ensure()  # the broken submissions below are made, not committed
    shutil.rmtree(COPY, ignore_errors=True)
    shutil.copytree(ROOT / "reference_solution", COPY,
                    ignore=shutil.ignore_patterns("__pycache__"))
    over = 0
    try:
        for name, (folder, budget) in CASES.items():
            if not folder.is_dir():
                print(f"{name:<26} (missing: {folder})")
                continue
            runs = [time_run(folder) for _ in range(args.repeat)]
            times = sorted(run[0] for run in runs)
            cpus = sorted(run[1] for run in runs)
            best, median = times[0], times[len(times) // 2]
            verdict = "ok" if median < budget else "OVER BUDGET"
            over += median >= budget
            print(f"{name:<26} best {best:5.2f} s  median {median:5.2f} s  budget"
                  f" {budget:4.1f} s  {verdict}   CPU median {cpus[len(cpus) // 2]:5.2f} s")
    finally:
        shutil.rmtree(COPY, ignore_errors=True)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
