"""Grading of the foreign fixtures (tests/foreign/): per fixture, the wall time of one
grading with its profile, how many of its verdicts disagree with its expected.toml
(false failures, missed defects, other disagreements) and how many planted defects were
named by a failing check.

    python scripts/bench_foreign.py [--repeat 3] [fixture ...]

The time is the median of the repetitions; a verdict counts as disagreeing if it did in
any of them. Verdicts that depend on a race in the fixture itself (RACY in
tests/test_foreign_grading.py) are left out of the counts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_foreign_grading import FIXTURES, FOREIGN, RACY  # noqa: E402

from grader import api  # noqa: E402
from grader.timing import calibrate  # noqa: E402


def bench(name: str, repeat: int, timing) -> dict:  # noqa: ANN001 - a grader Timing
    """Grade fixture ``name`` ``repeat`` times and compare with its ground truth."""
    with open(FOREIGN / name / "expected.toml", "rb") as f:
        truth = tomllib.load(f)
    walls: list[float] = []
    false_failures: set[str] = set()
    missed: set[str] = set()
    other: set[str] = set()
    named: set[str] = set()
    for _ in range(repeat):
        start = time.monotonic()
        result = api.grade(FOREIGN / name, profile=FOREIGN / name / "profile.toml",
                           timing=timing)
        walls.append(time.monotonic() - start)
        got = {c.id: c.status.value for c in result.checks}
        for check_id, entry in truth["checks"].items():
            if check_id in RACY.get(name, {}) or got[check_id] == entry["verdict"]:
                continue
            if got[check_id] == "failed":
                false_failures.add(check_id)
            elif entry["verdict"] == "failed":
                missed.add(check_id)
            else:
                other.add(check_id)
        for defect, info in truth.get("defects", {}).items():
            if any(got[c] == "failed" for c in info["checks"]):
                named.add(defect)
    return {"wall": statistics.median(walls), "false_failures": sorted(false_failures),
            "missed": sorted(missed), "other": sorted(other),
            "defects": len(truth.get("defects", {})), "named": len(named)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("fixtures", nargs="*", default=FIXTURES)
    args = parser.parse_args()
    timing = calibrate()
    print(f"{'fixture':<22} {'time':>7} {'false failures':>15} {'missed':>7}"
          f" {'other':>6} {'defects named':>14}")
    bad = 0
    for name in args.fixtures:
        row = bench(name, args.repeat, timing)
        wrong = row["false_failures"] + row["missed"] + row["other"]
        bad += bool(wrong)
        print(f"{name:<22} {row['wall']:>6.1f}s {len(row['false_failures']):>15}"
              f" {len(row['missed']):>7} {len(row['other']):>6}"
              f" {row['named']:>9} of {row['defects']}"
              + (f"   ({', '.join(wrong)})" if wrong else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
