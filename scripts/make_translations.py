"""Generate the translated notebooks (``notebooks/pt_BR/``) from the English ones.

The English notebooks are the single source of truth for code: a translated notebook
has exactly their cells, in their order, with their ids, and their code cells word for
word. Only the markdown cells change, and their text comes from one file per notebook,
``notebooks/translations/<lang>/NN_name.md``, one section per markdown cell::

    <!-- cell 04-03 en:3f2a9c1b -->
    ## Registro: a primeira linha é o seu nome
    ...

``04-03`` is the cell's id in the English notebook; ``en:3f2a9c1b`` is a fingerprint of
the English text that was translated. When that English text changes, the fingerprint
no longer matches and the translation is reported as out of date until someone updates
it and its fingerprint (``--stamp NN_name`` writes the current fingerprints into a file).

    python scripts/make_translations.py           # rewrite notebooks/pt_BR/*.ipynb
    python scripts/make_translations.py --check   # exit 1 if a notebook is out of date,
                                                  # or a markdown cell is untranslated or
                                                  # translated from an older English text
    python scripts/make_translations.py --add-missing   # append a section (the English
                                                        # text, to translate) per new cell
    python scripts/make_translations.py --stamp 04_broadcast   # translations are current
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TRANSLATIONS = NOTEBOOKS / "translations"
LANGUAGES = ("pt_BR",)
HEADER = (
    "<!-- {lang} translation of notebooks/{name}.ipynb, made into notebooks/{lang}/{name}.ipynb"
    " by scripts/make_translations.py. One section per markdown cell: a line"
    ' "<!-- cell ID en:FINGERPRINT -->", then the text. -->\n'
)
SECTION = re.compile(r"^<!-- cell (?P<id>\S+)(?: en:(?P<fingerprint>[0-9a-f]{8}))?"
                     r"(?P<untranslated> untranslated)? -->$")


@dataclass
class Section:
    """The translation of one markdown cell."""

    cell_id: str
    text: str
    fingerprint: str | None  # of the English it translates; None: never stamped
    untranslated: bool = False  # added by --add-missing: still the English text
    line: int = 0


def shown(path: Path) -> str:
    """``path`` as messages name it: from the chatlab folder, when it is inside."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def fingerprint(text: str) -> str:
    """A short fingerprint of an English cell's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def english_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def translation_path(lang: str, name: str) -> Path:
    return TRANSLATIONS / lang / f"{name}.md"


def target_path(lang: str, name: str) -> Path:
    return NOTEBOOKS / lang / f"{name}.ipynb"


def read_notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def notebook_text(notebook: dict) -> str:
    """A notebook as Jupyter (nbformat) writes it, so that saving it changes nothing."""
    return json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def source(cell: dict) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def source_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def parse_sections(text: str, origin: str = "<text>") -> list[Section]:
    """The sections of a translation file, in order (what precedes the first is ignored)."""
    sections: list[Section] = []
    lines: list[str] = []

    def close() -> None:
        if sections:
            sections[-1].text = "".join(lines).strip("\n")

    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        match = SECTION.match(line.rstrip("\n"))
        if match is None:
            lines.append(line)
            continue
        close()
        lines = []
        if any(s.cell_id == match["id"] for s in sections):
            raise ValueError(f"{origin}:{number}: a second section for cell {match['id']}")
        sections.append(Section(match["id"], "", match["fingerprint"],
                                bool(match["untranslated"]), number))
    close()
    return sections


def section_text(section: Section) -> str:
    stamp = f" en:{section.fingerprint}" if section.fingerprint else ""
    flag = " untranslated" if section.untranslated else ""
    return f"<!-- cell {section.cell_id}{stamp}{flag} -->\n{section.text}\n"


def translation_text(lang: str, name: str, sections: list[Section]) -> str:
    return HEADER.format(lang=lang, name=name) + "".join(
        "\n" + section_text(section) for section in sections)


def read_sections(lang: str, name: str) -> list[Section]:
    path = translation_path(lang, name)
    if not path.exists():
        return []
    return parse_sections(path.read_text(encoding="utf-8"), shown(path))


@dataclass
class Result:
    """A translated notebook, and what is wrong with its translation."""

    notebook: dict
    problems: list[str]


def translate(english: dict, sections: list[Section], lang: str, name: str) -> Result:
    """The notebook ``english`` with its markdown cells in ``lang`` (from ``sections``).

    A cell with no translation keeps its English text, and is reported; so are a
    translation of an older English text and a section for a cell that does not exist.
    """
    by_id = {section.cell_id: section for section in sections}
    where = f"notebooks/translations/{lang}/{name}.md"
    problems: list[str] = []
    notebook = copy.deepcopy(english)
    ids = set()
    for index, cell in enumerate(notebook["cells"]):
        cell_id = cell.get("id")
        if cell_id is None:
            raise ValueError(f"notebooks/{name}.ipynb: cell {index} has no id")
        ids.add(cell_id)
        if cell["cell_type"] != "markdown":
            continue
        text = source(cell)
        section = by_id.get(cell_id)
        if section is None or section.untranslated or not section.text.strip():
            problems.append(f"{where}: markdown cell {cell_id} has no translation")
            continue
        if section.fingerprint != fingerprint(text):
            problems.append(
                f"{where}:{section.line}: cell {cell_id} was translated from another English"
                f" text (en:{section.fingerprint}, now en:{fingerprint(text)}): update the"
                f" translation, then run scripts/make_translations.py --stamp {name}")
        cell["source"] = source_lines(section.text)
    for section in sections:
        if section.cell_id not in ids:
            problems.append(f"{where}:{section.line}: no cell {section.cell_id} in"
                            f" notebooks/{name}.ipynb")
    notebook["metadata"]["chatlab"] = {
        "language": lang,
        "generated_from": f"../{name}.ipynb",
        "edit": f"../translations/{lang}/{name}.md, then scripts/make_translations.py",
    }
    return Result(notebook, problems)


def build(lang: str) -> dict[Path, Result]:
    """Every translated notebook of ``lang``, by the path it is written to."""
    results = {}
    for path in english_notebooks():
        name = path.stem
        results[target_path(lang, name)] = translate(
            read_notebook(path), read_sections(lang, name), lang, name)
    return results


def stale_notebooks(lang: str) -> list[Path]:
    """The translated notebooks that differ from what would be generated now."""
    return [path for path, result in build(lang).items()
            if not path.exists() or path.read_text(encoding="utf-8")
            != notebook_text(result.notebook)]


def add_missing(lang: str, name: str) -> int:
    """Append a section (the English text, marked untranslated) for every markdown cell
    the translation of ``name`` lacks; how many were added."""
    english = read_notebook(NOTEBOOKS / f"{name}.ipynb")
    sections = read_sections(lang, name)
    known = {section.cell_id for section in sections}
    added = [Section(cell["id"], source(cell), fingerprint(source(cell)), untranslated=True)
             for cell in english["cells"]
             if cell["cell_type"] == "markdown" and cell["id"] not in known]
    if added:
        order = [cell["id"] for cell in english["cells"]]
        sections = sorted(sections + added, key=lambda s: order.index(s.cell_id)
                          if s.cell_id in order else len(order))
        path = translation_path(lang, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(translation_text(lang, name, sections), encoding="utf-8")
    return len(added)


def stamp(lang: str, name: str) -> int:
    """Record that every section of ``name`` translates the current English text; how
    many fingerprints changed."""
    english = {cell["id"]: source(cell) for cell in
               read_notebook(NOTEBOOKS / f"{name}.ipynb")["cells"]}
    sections = read_sections(lang, name)
    changed = 0
    for section in sections:
        if section.cell_id in english and not section.untranslated:
            new = fingerprint(english[section.cell_id])
            changed += new != section.fingerprint
            section.fingerprint = new
    translation_path(lang, name).write_text(translation_text(lang, name, sections),
                                            encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report, write nothing")
    parser.add_argument("--lang", choices=LANGUAGES, action="append",
                        help="only this language (default: all)")
    parser.add_argument("--add-missing", action="store_true",
                        help="append the English text of every untranslated cell")
    parser.add_argument("--stamp", metavar="NOTEBOOK", action="append", default=[],
                        help="mark the translations of NOTEBOOK (e.g. 04_broadcast) current")
    args = parser.parse_args(argv)
    failed = False
    for lang in args.lang or LANGUAGES:
        for name in args.stamp:
            print(f"{name}: {stamp(lang, Path(name).stem)} fingerprint(s) updated")
        if args.add_missing:
            for path in english_notebooks():
                if added := add_missing(lang, path.stem):
                    print(f"{shown(translation_path(lang, path.stem))}:"
                          f" {added} section(s) to translate")
        results = build(lang)
        for path, result in results.items():
            for problem in result.problems:
                print(problem)
                failed = True
            if args.check:
                if not path.exists() or path.read_text("utf-8") != notebook_text(result.notebook):
                    print(f"{shown(path)} is out of date: run scripts/make_translations.py")
                    failed = True
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(notebook_text(result.notebook), encoding="utf-8")
            print(f"wrote {shown(path)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
