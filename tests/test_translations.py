"""The course in Brazilian Portuguese: notebooks/pt_BR/ is generated from the English
notebooks (their code cells word for word) and notebooks/translations/pt_BR/ (their
markdown cells), and is up to date; every markdown cell has a translation of its current
English text; the sections the grader's hints name exist there too.

Running the pt_BR notebooks is tests/test_notebooks.py's job, as for the English ones."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from chatpeer import ROOT, load_module

translations = load_module(ROOT / "scripts" / "make_translations.py", "make_translations_test")
ENGLISH = translations.english_notebooks()
LANGUAGES = translations.LANGUAGES
PAIRS = [(lang, path.stem) for lang in LANGUAGES for path in ENGLISH]


def pair_id(pair: tuple[str, str]) -> str:
    return f"{pair[0]}-{pair[1]}"


def test_there_is_a_translation_per_notebook():
    assert len(ENGLISH) == 8
    for lang, name in PAIRS:
        assert translations.translation_path(lang, name).is_file(), (lang, name)


def test_translated_notebooks_are_up_to_date():
    result = subprocess.run(
        [sys.executable, "scripts/make_translations.py", "--check"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_every_markdown_cell_is_translated_from_its_current_text(pair):
    lang, name = pair
    english = translations.read_notebook(translations.NOTEBOOKS / f"{name}.ipynb")
    result = translations.translate(english, translations.read_sections(lang, name), lang, name)
    assert not result.problems, "\n".join(result.problems)


@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_code_cells_are_the_english_ones(pair):
    """One source of truth for code: same cells, same order, same ids, same code."""
    lang, name = pair
    english = json.loads((translations.NOTEBOOKS / f"{name}.ipynb").read_text("utf-8"))
    translated = json.loads(translations.target_path(lang, name).read_text("utf-8"))
    assert [(c["id"], c["cell_type"]) for c in translated["cells"]] == [
        (c["id"], c["cell_type"]) for c in english["cells"]]
    for mine, theirs in zip(translated["cells"], english["cells"], strict=True):
        if theirs["cell_type"] == "code":
            assert mine == theirs, f"{name} cell {theirs['id']}"
        else:
            assert mine["source"] != theirs["source"], f"{name} cell {theirs['id']} is English"
    assert translated["metadata"]["kernelspec"] == english["metadata"]["kernelspec"]
    assert translated["metadata"]["chatlab"]["language"] == lang


def test_a_changed_english_notebook_is_noticed(monkeypatch, tmp_path):
    """Code flows from English by regenerating; a changed, new or vanished markdown cell
    is reported; so is a notebook not regenerated since."""
    notebooks = tmp_path / "notebooks"
    (notebooks / "translations" / "pt_BR").mkdir(parents=True)
    monkeypatch.setattr(translations, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(translations, "TRANSLATIONS", notebooks / "translations")

    def cell(cell_id, kind, text):
        extra = {"outputs": [], "execution_count": None} if kind == "code" else {}
        return {"cell_type": kind, "id": cell_id, "metadata": {}, "source": text, **extra}

    notebook = {"cells": [cell("a", "markdown", "# Step 09 · Title"), cell("b", "code", "x = 1"),
                          cell("c", "markdown", "Some words.")],
                "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4,
                "nbformat_minor": 5}
    english = notebooks / "09_test.ipynb"
    english.write_text(json.dumps(notebook), encoding="utf-8")
    assert translations.add_missing("pt_BR", "09_test") == 2
    assert translations.main(["--check"]) == 1  # untranslated, not generated
    md = translations.translation_path("pt_BR", "09_test")
    md.write_text(md.read_text("utf-8")
                  .replace(" untranslated -->\n# Step 09 · Title", " -->\n# Etapa 09 · Título")
                  .replace(" untranslated -->\nSome words.", " -->\nAlgumas palavras."),
                  encoding="utf-8")
    assert translations.main([]) == 0
    generated = json.loads(translations.target_path("pt_BR", "09_test").read_text("utf-8"))
    assert [c["source"] for c in generated["cells"]] == [
        ["# Etapa 09 · Título"], "x = 1", ["Algumas palavras."]]
    assert translations.main(["--check"]) == 0

    notebook["cells"][1]["source"] = "x = 2  # a code change"
    english.write_text(json.dumps(notebook), encoding="utf-8")
    assert translations.stale_notebooks("pt_BR") == [translations.target_path("pt_BR", "09_test")]
    assert translations.main([]) == 0  # regenerating carries the code over
    generated = json.loads(translations.target_path("pt_BR", "09_test").read_text("utf-8"))
    assert generated["cells"][1]["source"] == "x = 2  # a code change"

    notebook["cells"][2]["source"] = "Some other words."
    notebook["cells"].append(cell("d", "markdown", "New."))
    english.write_text(json.dumps(notebook), encoding="utf-8")
    problems = translations.build("pt_BR")[translations.target_path("pt_BR", "09_test")].problems
    assert any("cell c was translated from another English text" in p for p in problems)
    assert any("markdown cell d has no translation" in p for p in problems)
    assert translations.stamp("pt_BR", "09_test") == 1  # c is current again; d still missing
    problems = translations.build("pt_BR")[translations.target_path("pt_BR", "09_test")].problems
    assert len(problems) == 1 and "cell d has no translation" in problems[0]

    md.write_text(md.read_text("utf-8") + "\n<!-- cell zz -->\nOrphan.\n", encoding="utf-8")
    problems = translations.build("pt_BR")[translations.target_path("pt_BR", "09_test")].problems
    assert any("no cell zz in notebooks/09_test.ipynb" in p for p in problems)


def test_sections_are_parsed_with_their_fingerprints():
    text = ("header\n\n<!-- cell 01-00 en:0123abcd -->\n# Título\n\ntexto\n\n"
            "<!-- cell 01-02 en:89abcdef untranslated -->\nEnglish\n")
    first, second = translations.parse_sections(text)
    assert (first.cell_id, first.fingerprint) == ("01-00", "0123abcd")
    assert first.text == "# Título\n\ntexto"
    assert second.untranslated and second.text == "English"
    with pytest.raises(ValueError, match="a second section for cell 01-00"):
        translations.parse_sections(text + "<!-- cell 01-00 -->\nagain\n")


# -- what the pt_BR notebooks need around them -------------------------------------------


def headings(path) -> list[str]:
    notebook = json.loads(path.read_text("utf-8"))
    return [line.lstrip("#").strip() for cell in notebook["cells"]
            if cell["cell_type"] == "markdown"
            for line in "".join(cell["source"]).splitlines() if line.startswith("#")]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_grader_hints_name_sections_of_the_translated_notebooks(lang):
    """A hint says "section 'S'" of a notebook: in pt_BR, S's translation in the catalogue
    must be a heading of the pt_BR notebook (so the hints can be translated as they are)."""
    sys.path.insert(0, str(ROOT))
    try:
        from grader import i18n
        from grader.checks import all_checks
    finally:
        sys.path.remove(str(ROOT))
    pointer = re.compile(r"notebooks/(\S+?)\.ipynb, section '(.+?)'(?=[,.])")
    catalogue = i18n.translations(lang)
    missing = []
    for name, section in sorted({p for spec in all_checks() for p in pointer.findall(spec.hint)}):
        translated = catalogue.gettext(section)
        if not any(translated in heading for heading in headings(
                translations.target_path(lang, name))):
            missing.append(f"{name}: '{section}' is '{translated}', not a heading there")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_setup_cell_imports_the_course_in_its_language(lang):
    """`import course` in notebooks/<lang>/ is notebooks/course.py, speaking ``lang``."""
    code = ("import course; print(course.__file__); print(course.language());"
            " print(course.code_folder('lab').name)")
    env = {k: v for k, v in __import__("os").environ.items() if k != "CHATLAB_LANG"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "notebooks" / lang,
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(ROOT / "notebooks" / "course.py"), lang, f"lab_{lang}"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_files_the_translation_names_exist(lang):
    """What the translated notebooks and skeleton point to is there."""
    sys.path.insert(0, str(ROOT))
    try:
        from grader import i18n
        from grader.steps import notebook
    finally:
        sys.path.remove(str(ROOT))
    for step in range(8):
        assert (ROOT / i18n.course_file(notebook(step), lang)).is_file(), step
    assert (ROOT / i18n.course_file("lab/PROTOCOL.md", lang)).is_file()
    assert (ROOT / f"lab_{lang}").is_dir()


# -- the protocol, translated ------------------------------------------------------------

CODE_SPAN = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^```\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SECTION_NUMBER = re.compile(r"^## (\d+)\. ", re.MULTILINE)
TYPEFACE = {"code"}  # "Lines shown in `code`": the typeface, not a literal of the protocol


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_translated_protocol_keeps_every_wire_literal(lang):
    """The protocol is one in every language: each `literal` and each block of
    PROTOCOL.md is in the translation, byte for byte, and so are its numbered sections."""
    english = (ROOT / "lab" / "PROTOCOL.md").read_text("utf-8")
    translated = (ROOT / "lab" / f"PROTOCOL.{lang}.md").read_text("utf-8")
    missing = sorted(set(CODE_SPAN.findall(english)) - TYPEFACE
                     - set(CODE_SPAN.findall(translated)))
    assert not missing, "literals of PROTOCOL.md missing from the translation:\n" + "\n".join(
        missing)
    blocks = FENCE.findall(translated)
    assert all(block in blocks for block in FENCE.findall(english))
    assert SECTION_NUMBER.findall(translated) == SECTION_NUMBER.findall(english)
