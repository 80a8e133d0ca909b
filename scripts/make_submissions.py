"""Generate a class of submissions for the batch benchmark.

    python scripts/make_submissions.py                   # 100 into bench-results/submissions/
    python scripts/make_submissions.py --count 30 --out /tmp/class --broken 0.5

A mix of correct submissions (copies of ``reference_solution/``) and broken ones: the
kinds of ``tests/submissions/make_broken.py`` (a copy of the reference with one classic
mistake), taken in turn. About one student in ten gets a ``.zip`` instead of a folder, as learning
platforms export them (half of those with the files inside a sub-folder).
``submissions.json`` in the output folder says what each student got. The same
``--seed`` always gives the same class.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference_solution"
MANIFEST = "submissions.json"

sys.path.insert(0, str(ROOT / "tests" / "submissions"))
import make_broken  # noqa: E402


def python_files(folder: Path) -> dict[str, bytes]:
    """The submission's files (what a student hands in), by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".txt", ".md")
    }


def broken_sources() -> list[tuple[str, dict[str, bytes]]]:
    """(label, files) for every kind of broken submission, sorted by label."""
    return sorted(
        (mistake.folder, {name: text.encode() for name, text in make_broken.build(mistake).items()})
        for mistake in make_broken.MISTAKES
    )


def write_submission(out: Path, student: str, files: dict[str, bytes], as_zip: str) -> str:
    """Write one student as a folder, a flat zip or a zip with a sub-folder."""
    if as_zip == "folder":
        for rel, data in files.items():
            target = out / student / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return student
    buffer = io.BytesIO()
    prefix = f"{student}-chat/" if as_zip == "nested-zip" else ""
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in files.items():
            zf.writestr(prefix + rel, data)
    (out / f"{student}.zip").write_bytes(buffer.getvalue())
    return f"{student}.zip"


def make_class(
    out: Path, count: int = 100, broken_share: float = 0.4, seed: int = 1
) -> dict[str, str]:
    """Write ``count`` submissions into ``out``; returns student -> kind.

    ``out`` is replaced if an earlier run made it; any other non-empty folder is refused.
    """
    if out.exists() and any(out.iterdir()):
        if not (out / MANIFEST).is_file():
            raise SystemExit(f"{out} is not empty and was not made by this script; not touching it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    reference = python_files(REFERENCE)
    broken = broken_sources()
    n_broken = round(count * broken_share) if broken else 0
    kinds = ["correct"] * (count - n_broken) + [broken[i % len(broken)][0] for i in range(n_broken)]
    rng.shuffle(kinds)
    by_label = dict(broken)
    manifest = {}
    for i, kind in enumerate(kinds, start=1):
        student = f"student-{i:03d}"
        files = reference if kind == "correct" else by_label[kind]
        shape = rng.choices(["folder", "zip", "nested-zip"], weights=[18, 1, 1])[0]
        write_submission(out, student, files, shape)
        manifest[student] = kind
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="students (default 100)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "submissions")
    parser.add_argument("--broken", type=float, default=0.4, help="share of broken ones")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    manifest = make_class(args.out, args.count, args.broken, args.seed)
    correct = sum(kind == "correct" for kind in manifest.values())
    print(
        f"wrote {len(manifest)} submissions to {args.out}: {correct} correct, "
        f"{len(manifest) - correct} broken ({len(set(manifest.values()) - {'correct'})} kinds)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
