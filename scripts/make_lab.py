"""Generate the student skeleton in ``lab/`` from ``reference_solution/``.

The reference solution is the single source of truth. Teaching parts are fenced::

    # BEGIN SOLUTION step 04 "send 'nick: text' to every other member"
    # STUB: pass            <- optional: what the skeleton runs instead
    ...the model answer...
    # END SOLUTION

In ``lab/`` each fence becomes a ``TODO(step NN)`` comment naming the notebook, followed
by the ``# STUB:`` lines, or by ``raise NotImplementedError("step NN: ...")`` when there
are none, so unfinished code fails with a message instead of a confusing traceback.

    python scripts/make_lab.py           # rewrite lab/*.py
    python scripts/make_lab.py --check   # exit 1 if lab/ is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Collection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "reference_solution"
TARGET = ROOT / "lab"
sys.path.insert(0, str(ROOT))  # the step map is the grader's (grader/steps.py)

from grader.steps import NOTEBOOKS, notebook  # noqa: E402

BEGIN = re.compile(r'^(?P<indent>\s*)# BEGIN SOLUTION step (?P<step>\d\d) "(?P<what>[^"]+)"\s*$')
STUB = re.compile(r"^\s*# STUB:(?: (?P<code>.*))?$")
END = re.compile(r"^\s*# END SOLUTION\s*$")


class FenceError(ValueError):
    """A solution fence is malformed; the message names the file and line."""


def notebook_for(step: int) -> str:
    return notebook(step)


def strip_solutions(text: str, origin: str = "<text>", solved: Collection[int] = ()) -> str:
    """Replace every solution fence in ``text`` with its TODO and stub.

    Fences of the steps in ``solved`` keep their model answer (without the fence
    comments): the code of a student who has finished those steps and no others.
    """
    out: list[str] = []
    lines = text.splitlines(keepends=True)
    index = 0
    while index < len(lines):
        begin = BEGIN.match(lines[index])
        if END.match(lines[index]):
            raise FenceError(f"{origin}:{index + 1}: END SOLUTION without BEGIN")
        if not begin:
            out.append(lines[index])
            index += 1
            continue
        indent, step, what = begin["indent"], int(begin["step"]), begin["what"]
        if step not in NOTEBOOKS:
            raise FenceError(f"{origin}:{index + 1}: step {step:02d} has no notebook")
        start = index
        index += 1
        stub: list[str] = []
        while index < len(lines) and (match := STUB.match(lines[index])):
            stub.append((indent + (match["code"] or "")).rstrip() + "\n")
            index += 1
        answer_start = index
        while index < len(lines) and not END.match(lines[index]):
            if BEGIN.match(lines[index]):
                raise FenceError(f"{origin}:{index + 1}: nested fence (opened at {start + 1})")
            index += 1
        if index == len(lines):
            raise FenceError(f"{origin}:{start + 1}: BEGIN SOLUTION without END")
        answer = lines[answer_start:index]
        index += 1  # skip END
        if step in solved:
            out.extend(answer)
            continue
        where = notebook_for(step)
        out.append(f"{indent}# TODO(step {step:02d}): {what}. See {where}.\n")
        if stub:
            out.extend(stub)
        else:
            message = f"step {step:02d}: {what} (see {where})"
            out.append(f"{indent}raise NotImplementedError({message!r})\n")
    return "".join(out)


def generated_files(solved: Collection[int] = ()) -> dict[str, str]:
    """File name -> skeleton text, for every Python file of the reference solution.

    With ``solved``, the steps a student has finished keep the model answer.
    """
    return {
        path.name: strip_solutions(
            path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)), solved
        )
        for path in sorted(SOURCE.glob("*.py"))
    }


def stale_files() -> list[str]:
    """Names of lab/ files that differ from what the reference solution generates."""
    stale = []
    for name, text in generated_files().items():
        target = TARGET / name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for name in stale:
            print(f"lab/{name} is out of date: run `make lab`")
        return 1 if stale else 0
    TARGET.mkdir(exist_ok=True)
    for name, text in generated_files().items():
        (TARGET / name).write_text(text, encoding="utf-8")
        print(f"wrote lab/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
