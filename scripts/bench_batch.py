"""Benchmark of batch grading: the same class graded with 1 worker, then with the default.

    python scripts/bench_batch.py                  # 100 generated submissions, 1 and default jobs
    python scripts/bench_batch.py --count 20 --jobs 1,2,4

Prints the wall time of each run, the speed-up over the first one, and every grade
that differs between the runs (there must be none: a loaded machine is no reason for a
check to fail). Submissions come from ``scripts/make_submissions.py`` (generated again
unless ``--submissions`` names an existing folder); results go to ``bench-results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from make_submissions import MANIFEST, make_class  # noqa: E402

from grader.batch.parallel import default_jobs, run_batch  # noqa: E402
from grader.batch.store import ResultStore  # noqa: E402

TARGET_SECONDS = 180.0  # 100 submissions with the default jobs
TARGET_SPEEDUP = 1.6  # from 1 to 2 jobs


def verdicts(out: Path, students: list[str]) -> dict[str, dict[str, tuple[str, float]]]:
    """student -> check id -> (status, points), from a results folder."""
    store = ResultStore(out)
    table = {}
    for student in students:
        result = store.load_result(student)
        if result is not None:
            table[student] = {c.id: (str(c.status), c.points) for c in result.checks}
    return table


def differences(a: dict, b: dict) -> list[str]:
    """Human-readable lines, one per student graded differently in ``a`` and ``b``."""
    lines = []
    for student in sorted(set(a) | set(b)):
        left, right = a.get(student), b.get(student)
        if left == right:
            continue
        if left is None or right is None:
            lines.append(f"{student}: graded in only one run")
            continue
        changed = [
            f"{cid} {left.get(cid, ('absent',))[0]} -> {right.get(cid, ('absent',))[0]}"
            for cid in sorted(set(left) | set(right))
            if left.get(cid) != right.get(cid)
        ]
        lines.append(f"{student}: " + "; ".join(changed))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--jobs", default=f"1,{default_jobs()}",
                        help="comma-separated worker counts (default: 1 and the default)")
    parser.add_argument("--submissions", type=Path, help="grade this folder instead")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    subs = args.submissions
    if subs is None:
        subs = args.out / "submissions"
        make_class(subs, args.count, seed=args.seed)
    kinds = json.loads((subs / MANIFEST).read_text()) if (subs / MANIFEST).exists() else {}
    jobs_list = [int(j) for j in args.jobs.split(",")]

    runs: list[tuple[int, float, dict]] = []
    for jobs in jobs_list:
        out = args.out / f"jobs-{jobs}"
        print(f"--- grading {subs} with --jobs {jobs}", file=sys.stderr)
        start = time.monotonic()
        summary = run_batch(subs, out, jobs=jobs, regrade=True)
        elapsed = time.monotonic() - start
        if summary.failed:
            print(f"not graded: {summary.failed}", file=sys.stderr)
        runs.append((jobs, elapsed, verdicts(out, summary.students)))

    n = len(runs[0][2])
    print(f"\nbatch benchmark: {n} submissions, {os.cpu_count()} cores")
    base = runs[0][1]
    for jobs, elapsed, _ in runs:
        print(
            f"  --jobs {jobs}: {elapsed:7.1f} s total, {elapsed / max(n, 1):5.2f} s per "
            f"submission, speed-up {base / elapsed:4.2f}x"
        )
    if kinds:
        per_kind: dict[str, list[float]] = {}
        store = ResultStore(args.out / f"jobs-{jobs_list[0]}")
        for student in runs[0][2]:
            result = store.load_result(student)
            if result is not None:
                per_kind.setdefault(kinds.get(student, "?"), []).append(result.duration)
        slow = sorted(per_kind.items(), key=lambda kv: -statistics.fmean(kv[1]))[:5]
        print(
            f"  slowest kinds (--jobs {jobs_list[0]}): "
            + ", ".join(f"{k} {statistics.fmean(v):.1f}s" for k, v in slow)
        )
    diffs = [line for _, _, v in runs[1:] for line in differences(runs[0][2], v)]
    print(f"  grades differing between runs: {len(diffs)}")
    for line in diffs:
        print(f"    {line}")

    ok = not diffs
    by_jobs = {jobs: elapsed for jobs, elapsed, _ in runs}
    default = default_jobs()
    if default in by_jobs and n:
        scaled = by_jobs[default] * 100 / n
        print(
            f"  default jobs ({default}), scaled to 100 submissions: {scaled:.0f} s "
            f"(target < {TARGET_SECONDS:.0f} s)"
        )
        ok &= scaled < TARGET_SECONDS
    if 1 in by_jobs and 2 in by_jobs:
        speedup = by_jobs[1] / by_jobs[2]
        print(f"  speed-up 1 -> 2 jobs: {speedup:.2f}x (target >= {TARGET_SPEEDUP}x)")
        ok &= speedup >= TARGET_SPEEDUP
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
