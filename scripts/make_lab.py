"""Generate the student skeleton in ``lab/`` from ``reference_solution/``.

The reference solution is the single source of truth. Teaching parts are fenced::

    # BEGIN SOLUTION step 04 "send 'nick: text' to every other member"
    # STUB: pass            <- optional: what the skeleton runs instead
    ...the model answer...
    # END SOLUTION

In ``lab/`` each fence becomes a ``TODO(step NN)`` comment naming the notebook, followed
by the ``# STUB:`` lines, or by ``raise NotImplementedError("step NN: ...")`` when there
are none, so unfinished code fails with a message instead of a confusing traceback.

With ``--lang pt_BR`` the skeleton goes to ``lab_pt_BR/``: the same code, its TODO
comments and stub messages in Brazilian Portuguese, naming the notebooks of
``notebooks/pt_BR/``. The texts come from ``notebooks/translations/pt_BR/lab.toml``,
keyed by step and fence text; a fence without one keeps its English text.

    python scripts/make_lab.py                # rewrite lab/*.py
    python scripts/make_lab.py --lang pt_BR   # rewrite lab_pt_BR/*.py
    python scripts/make_lab.py --check        # exit 1 if lab/ or lab_pt_BR/ is out of date
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "reference_solution"
TARGET = ROOT / "lab"
sys.path.insert(0, str(ROOT))  # the step map is the grader's (grader/steps.py)

from grader.i18n import course_file  # noqa: E402
from grader.steps import NOTEBOOKS, notebook  # noqa: E402

SOURCE_LANGUAGE = "en"
# Each language but English has its table: notebooks/translations/<lang>/lab.toml.
LANGUAGES = (SOURCE_LANGUAGE, "pt_BR")

BEGIN = re.compile(r'^(?P<indent>\s*)# BEGIN SOLUTION step (?P<step>\d\d) "(?P<what>[^"]+)"\s*$')
STUB = re.compile(r"^\s*# STUB:(?: (?P<code>.*))?$")
END = re.compile(r"^\s*# END SOLUTION\s*$")


class FenceError(ValueError):
    """A solution fence is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Words:
    """How one language writes a fence's TODO comment and stub message."""

    lang: str = SOURCE_LANGUAGE
    see: str = "See"  # "# TODO(step 02): <what>. See <notebook>."
    see_lower: str = "see"  # "step 02: <what> (see <notebook>)"
    fences: dict[str, str] = field(default_factory=dict)  # "step 02: <English>" -> text

    def what(self, step: int, english: str) -> str:
        return self.fences.get(fence_key(step, english), english)


def fence_key(step: int, what: str) -> str:
    """How a translation table names a fence: "step 02: <its English text>"."""
    return f"step {step:02d}: {what}"


def table_path(lang: str) -> Path:
    return ROOT / "notebooks" / "translations" / lang / "lab.toml"


@functools.cache
def words(lang: str = SOURCE_LANGUAGE) -> Words:
    """The words of ``lang``, read from its translation table."""
    if lang == SOURCE_LANGUAGE:
        return Words()
    if lang not in LANGUAGES:
        raise ValueError(f"no skeleton in {lang!r}; languages: {', '.join(LANGUAGES)}")
    table = tomllib.loads(table_path(lang).read_text(encoding="utf-8"))
    return Words(lang, table["see"], table["see_lower"], dict(table["fences"]))


def target(lang: str = SOURCE_LANGUAGE) -> Path:
    """Where the skeleton of ``lang`` goes: lab/, lab_pt_BR/."""
    return TARGET if lang == SOURCE_LANGUAGE else ROOT / f"lab_{lang}"


def notebook_for(step: int, lang: str = SOURCE_LANGUAGE) -> str:
    return course_file(notebook(step), lang)


def fences(text: str) -> list[tuple[int, str]]:
    """(step, English text) of every solution fence in ``text``, in order."""
    return [(int(m["step"]), m["what"]) for m in map(BEGIN.match, text.splitlines()) if m]


def untranslated_fences(lang: str) -> list[str]:
    """The fences of reference_solution/ that ``lang``'s table does not translate, as
    "file: step NN: text"."""
    table = words(lang).fences
    return [f"{path.name}: {fence_key(step, what)}"
            for path in sorted(SOURCE.glob("*.py"))
            for step, what in fences(path.read_text(encoding="utf-8"))
            if fence_key(step, what) not in table]


def strip_solutions(
    text: str, origin: str = "<text>", solved: Collection[int] = (),
    lang: str = SOURCE_LANGUAGE,
) -> str:
    """Replace every solution fence in ``text`` with its TODO and stub, in ``lang``.

    Fences of the steps in ``solved`` keep their model answer (without the fence
    comments): the code of a student who has finished those steps and no others.
    """
    language = words(lang)
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
        where = notebook_for(step, lang)
        what = language.what(step, what)
        out.append(f"{indent}# TODO(step {step:02d}): {what}. {language.see} {where}.\n")
        if stub:
            out.extend(stub)
        else:
            message = f"step {step:02d}: {what} ({language.see_lower} {where})"
            out.append(f"{indent}raise NotImplementedError({message!r})\n")
    return "".join(out)


def generated_files(
    solved: Collection[int] = (), lang: str = SOURCE_LANGUAGE
) -> dict[str, str]:
    """File name -> skeleton text, for every Python file of the reference solution.

    With ``solved``, the steps a student has finished keep the model answer.
    """
    return {
        path.name: strip_solutions(
            path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)), solved, lang
        )
        for path in sorted(SOURCE.glob("*.py"))
    }


def stale_files(lang: str = SOURCE_LANGUAGE, folder: Path | None = None) -> list[str]:
    """Names of the skeleton's files (in lab/, or ``lang``'s folder) that differ from
    what the reference solution generates."""
    folder = target(lang) if folder is None else folder
    stale = []
    for name, text in generated_files(lang=lang).items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale


def _shown(lang: str, out: Path | None) -> str:
    """The folder as messages name it: lab, lab_pt_BR, or the --out path."""
    if out is not None:
        return str(out)
    return "lab" if lang == SOURCE_LANGUAGE else f"lab_{lang}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    parser.add_argument("--lang", choices=LANGUAGES,
                        help="the skeleton's language (default: English, in lab/; with"
                             " --check: every language)")
    parser.add_argument("--out", type=Path, help="write (or check) this folder instead")
    args = parser.parse_args(argv)
    if args.check:
        stale = 0
        for lang in [args.lang] if args.lang else LANGUAGES:
            for name in stale_files(lang, args.out):
                stale += 1
                print(f"{_shown(lang, args.out)}/{name} is out of date: run `make lab`")
        return 1 if stale else 0
    lang = args.lang or SOURCE_LANGUAGE
    folder = args.out or target(lang)
    folder.mkdir(exist_ok=True)
    for name, text in generated_files(lang=lang).items():
        (folder / name).write_text(text, encoding="utf-8")
        print(f"wrote {_shown(lang, args.out)}/{name}")
    if lang != SOURCE_LANGUAGE:
        for fence in untranslated_fences(lang):
            print(f"no {lang} text for {fence}: it stays in English; add it to"
                  f" {table_path(lang).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
