"""grader/i18n.py and its catalogues: every message marked for translation has its
Brazilian Portuguese text, the catalogue compiles as gettext reads it, and the language
follows CHATLAB_LANG and set_language, English by default."""

from __future__ import annotations

import gettext
import io
import shutil
import subprocess
import sys

import pytest
from chatpeer import ROOT, load_module

sys.path.insert(0, str(ROOT))
try:
    from grader import i18n
finally:
    sys.path.remove(str(ROOT))

catalogues = load_module(ROOT / "scripts" / "update_catalogue.py", "update_catalogue_under_test")
LANGUAGES = [lang for lang in i18n.available_languages() if lang != i18n.SOURCE_LANGUAGE]
PO = {lang: catalogues.catalogue_path(lang) for lang in LANGUAGES}


@pytest.fixture(scope="module")
def marked():
    messages, mistakes = catalogues.marked_messages()
    return messages, mistakes


def test_pt_BR_has_a_catalogue():
    assert "pt_BR" in LANGUAGES
    assert PO["pt_BR"].is_file()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_marked_message_is_translated(lang, marked):
    messages, _ = marked
    missing = catalogues.untranslated(lang, messages)
    assert not missing, (
        f"{len(missing)} message(s) marked for translation have no {lang} text in"
        f" {PO[lang].relative_to(ROOT)} (run scripts/update_catalogue.py, then translate):\n"
        + "\n".join(f"  {m.msgid!r}  ({m.where[0]})" for m in missing)
    )


def test_the_seed_is_marked(marked):
    """The grader's headings, check titles and hint sections are in the catalogue."""
    msgids = {message.msgid for message in marked[0]}
    assert {"What happened ({kind}): {message}", "Expected:", "Hint:"} <= msgids
    assert "the sender does not get its own line back" in msgids  # server.no_echo's title
    assert "When recv() returns b''" in msgids  # a section a hint names, quotes and all
    assert "no answer (hung)" in msgids  # a failure kind


def test_no_message_is_an_f_string(marked):
    assert not marked[1], "\n".join(marked[1])


def test_scan_finds_calls_and_refuses_f_strings():
    source = (
        'from grader.i18n import _, N_, ngettext\n'
        'a = _("one {x}").format(x=1)\n'
        'b = ngettext("{n} cat", "{n} cats", 2)\n'
        'c = N_("marked")\n'
        'd = _(variable)\n'
        'e = _(f"bad {a}")\n'
    )
    found, mistakes = catalogues.scan_source(source, "f.py")
    assert [(m.msgid, m.plural) for m in found] == [
        ("one {x}", None), ("{n} cat", "{n} cats"), ("marked", None)]
    assert mistakes == ["f.py:6: _() of an f-string: use a template and .format()"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_fields(lang):
    """A translation has the same str.format fields as its English, in any order."""
    wrong = []
    for entry in i18n.parse_po(PO[lang].read_text("utf-8")):
        if not entry.msgid or not entry.translated:
            continue
        english = catalogues.fields(entry.msgid)
        wrong += [f"{entry.msgid!r} -> {text!r}" for text in entry.msgstr
                  if catalogues.fields(text) != english]
    assert not wrong, "fields differ from the English:\n" + "\n".join(wrong)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_is_as_the_script_writes_it(lang, marked):
    """The .po file is what update_catalogue.py makes of it (so a diff shows only what
    a translator changed)."""
    assert catalogues.merged(lang, marked[0]) == PO[lang].read_text("utf-8"), (
        f"run scripts/update_catalogue.py: {PO[lang].relative_to(ROOT)} is not up to date")


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext's msgfmt is not here")
@pytest.mark.parametrize("lang", LANGUAGES)
def test_msgfmt_agrees(lang, tmp_path):
    """GNU msgfmt accepts the catalogue (formats included), and its .mo translates every
    message as the one compiled in memory does."""
    mo = tmp_path / "chatlab.mo"
    done = subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(PO[lang])],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    theirs = gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))
    ours = gettext.GNUTranslations(io.BytesIO(i18n.compile_po(PO[lang].read_text("utf-8"))))
    for entry in i18n.parse_po(PO[lang].read_text("utf-8")):
        if entry.msgid_plural is not None:
            for n in (0, 1, 2, 5):
                assert (ours.ngettext(entry.msgid, entry.msgid_plural, n)
                        == theirs.ngettext(entry.msgid, entry.msgid_plural, n))
        elif entry.msgid:
            assert ours.gettext(entry.msgid) == theirs.gettext(entry.msgid), entry.msgid


def test_po_reading():
    text = (
        'msgid ""\nmsgstr ""\n"Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n\n'
        '#. a comment\n#, fuzzy\nmsgid "guess"\nmsgstr "palpite"\n\n'
        'msgid ""\n"two\\n"\n"lines"\nmsgstr "duas\\nlinhas"\n\n'
        'msgid "{n} cat"\nmsgid_plural "{n} cats"\nmsgstr[0] "{n} gato"\nmsgstr[1] "{n} gatos"\n'
        '\n#~ msgid "old"\n#~ msgstr "velho"\n'
    )
    entries = i18n.parse_po(text)
    assert [e.msgid for e in entries] == ["", "guess", "two\nlines", "{n} cat"]
    assert i18n.header(entries)["Plural-Forms"] == "nplurals=2; plural=(n > 1);"
    assert not entries[1].translated and entries[1].comments == ["#. a comment", "#, fuzzy"]
    catalogue = gettext.GNUTranslations(io.BytesIO(i18n.compile_po(text)))
    assert catalogue.gettext("guess") == "guess"  # fuzzy: English
    assert catalogue.gettext("two\nlines") == "duas\nlinhas"
    # Brazilian Portuguese: 0 and 1 are singular.
    assert [catalogue.ngettext("{n} cat", "{n} cats", n) for n in (0, 1, 2)] == [
        "{n} gato", "{n} gato", "{n} gatos"]
    assert catalogue.gettext("old") == "old"
    with pytest.raises(i18n.POError, match="line 2"):
        i18n.parse_po('msgid "a"\nnonsense\n')


@pytest.mark.parametrize(
    ("given", "name"),
    [("pt_BR", "pt_BR"), ("pt-BR", "pt_BR"), ("pt_br.UTF-8", "pt_BR"), ("pt", "pt_BR"),
     ("", "en"), (None, "en"), ("C", "en"), ("en_US", "en"), ("de_DE", "de_DE")],
)
def test_language_names(given, name):
    assert i18n.normalize(given) == name


def test_english_by_default_and_as_fallback(language):
    assert i18n.language() == "en"
    assert i18n._("Expected:") == "Expected:"
    i18n.set_language("pt_BR")
    assert i18n._("Expected:") == "Esperado:"
    assert i18n._("a message nobody translated") == "a message nobody translated"


def test_the_environment_chooses(language, monkeypatch):
    monkeypatch.setenv(i18n.ENV, "pt-BR")
    assert i18n.language() == "pt_BR"
    assert i18n._("Hint:") == "Dica:"
    assert i18n.ngettext("{count} failed", "{count} failed", 3).format(count=3) == "3 reprovadas"
    monkeypatch.setenv(i18n.ENV, "xx")  # no such catalogue: English
    assert i18n._("Hint:") == "Hint:"


def test_set_language_wins_and_is_passed_on(language, monkeypatch):
    monkeypatch.setenv(i18n.ENV, "en")
    assert i18n.set_language("pt-BR") == "pt_BR"
    assert i18n._("Hint:") == "Dica:"
    assert i18n.os.environ[i18n.ENV] == "pt_BR"  # programs started from here follow
    with pytest.raises(ValueError, match="languages: en, pt_BR"):
        i18n.set_language("xx")


def test_course_files_follow_the_language(language):
    assert i18n.course_file("notebooks/04_broadcast.ipynb") == "notebooks/04_broadcast.ipynb"
    i18n.set_language("pt_BR")
    assert i18n.course_file("notebooks/04_broadcast.ipynb") == "notebooks/pt_BR/04_broadcast.ipynb"
    assert i18n.course_file("lab/PROTOCOL.md") == "lab/PROTOCOL.pt_BR.md"
    assert i18n.course_file("lab/server.py") == "lab/server.py"


def test_compile_writes_mo_files(tmp_path):
    assert i18n.main(["compile", str(tmp_path)]) == 0
    mo = tmp_path / "pt_BR" / "LC_MESSAGES" / "chatlab.mo"
    found = gettext.translation("chatlab", tmp_path, languages=["pt_BR"])
    assert mo.is_file() and found.gettext("Hint:") == "Dica:"
