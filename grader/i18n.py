"""What a student reads, in English or in Brazilian Portuguese: gettext for the kit.

::

    from grader.i18n import _, N_, ngettext

    print(_("Expected:"))                                    # "Esperado:" in pt_BR
    print(ngettext("{count} passed", "{count} passed", n).format(count=n))
    WORDS = {"x": N_("wrong line")}                          # marked here, translated at use
    PAIR = N_plural("{count} passed", "{count} passed")      # ngettext(*PAIR, n) at use

English is the source language: the messages in the code are the English text, and a
message with no translation is shown as it is. Messages are ``str.format`` templates with
named fields (``_("step {step:02d} is not written yet — see {notebook}")``), so that a
translation can put the fields in another order. A field is never a piece of a sentence
glued to another: it is a value (a nickname, a line received, a number), a whole noun
phrase that is a message of its own ("the welcome line"), or a whole sentence
(``grader.messages.sentences``).

The language, first that applies:

1. :func:`set_language` (``course.Demo(CODE, lang="pt_BR")``, ``--lang pt_BR``);
2. the environment variable ``CHATLAB_LANG`` (``pt_BR``; ``pt-BR`` and ``pt`` work too);
3. English.

``python -m grader check|batch`` refuses a language that has no catalogue, from
``--lang`` or from ``CHATLAB_LANG``, naming it and the languages there are; the library
shows such a language in English.

Only ``CHATLAB_LANG`` is read, not ``LANG``: a grader that changed language with the
machine's locale would give two students of one class different feedback.

The catalogues are ``grader/locale/<lang>/LC_MESSAGES/chatlab.po``. Only the ``.po``
file is kept: it is compiled in memory, on first use, into the ``.mo`` form that the
standard library's :class:`gettext.GNUTranslations` reads (a few milliseconds for the
whole catalogue). So a fresh clone, an editable install, an installed wheel and the
Gradescope package all work without a build step, and there is no binary file to keep
in step with its source. ``python -m grader.i18n compile DIR`` writes the ``.mo`` files
for tools that want them.

When messages are translated: when they are shown. A check's title, its hint, a skip's
reason and a failure's sentence are made while grading, as :class:`grader.messages.Text`
(``L_("{name} waited {seconds:.1f} s for {what}.", name=..., ...)``): a ``str`` whose
value is the English, which also keeps its msgid and fields. The renderers translate
them (``grader.messages.show``) into the language of the moment, so one result can be
shown in both languages, and whoever reads it next (a batch, a gradebook) may choose
another. A result stored as JSON (``SubmissionResult.to_dict``) keeps both: each field
holds the English text, as before, and the check's ``"i18n"`` entry holds, for each
field that is a message, its msgid, its fields and what else it needs to be translated
(``{"title": {"msgid": "..."}, "hint": {"msgid": ..., "fields": {...}}}``; the failure
and each transcript entry have their own). A result stored before that, or one whose
messages were plain strings, is shown in English, as it is.
"""

from __future__ import annotations

import ast
import functools
import gettext as _gettext
import io
import os
import re
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

DOMAIN = "chatlab"
ENV = "CHATLAB_LANG"
SOURCE_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_chosen: str | None = None  # set_language's choice; None: the environment decides


# -- which language ---------------------------------------------------------------------


def normalize(lang: str | None) -> str:
    """The catalogue name for ``lang``: "pt-BR", "pt_br.UTF-8" and "pt" are "pt_BR";
    "", "C", "en" and "en_US" are "en". An unknown language keeps its normalized name
    (and is shown in English)."""
    if not lang:
        return SOURCE_LANGUAGE
    name = lang.strip().split(".", 1)[0].split("@", 1)[0].replace("-", "_")
    language, _, region = name.partition("_")
    language = language.lower()
    if language in ("", "c", "posix", "en"):
        return SOURCE_LANGUAGE
    if language == "pt" and region.upper() in ("", "BR"):
        return "pt_BR"  # the one Portuguese the kit speaks
    return f"{language}_{region.upper()}" if region else language


def available_languages() -> list[str]:
    """English, then every language that has a catalogue."""
    found = sorted(path.parent.parent.name
                   for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return [SOURCE_LANGUAGE, *found]


def language() -> str:
    """The language messages are shown in now."""
    return _chosen if _chosen is not None else normalize(os.environ.get(ENV))


def set_language(lang: str | None) -> str:
    """Show messages in ``lang`` from now on (None: as ``CHATLAB_LANG`` says); the
    language chosen. ``CHATLAB_LANG`` is set too, so the programs this process starts
    (batch workers, a notebook's grader) speak the same language."""
    global _chosen
    if lang is None:
        _chosen = None
        return language()
    _chosen = normalize(lang)
    if _chosen not in available_languages():
        raise ValueError(f"no messages in {lang!r}; languages: "
                         + ", ".join(available_languages()))
    os.environ[ENV] = _chosen
    return _chosen


# -- translating ------------------------------------------------------------------------


def translations(lang: str | None = None) -> _gettext.NullTranslations:
    """The catalogue of ``lang`` (default: :func:`language`), English as its fallback."""
    return _catalogue(normalize(lang) if lang is not None else language())


@functools.cache
def _catalogue(lang: str) -> _gettext.NullTranslations:
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == SOURCE_LANGUAGE or not po.is_file():
        return _gettext.NullTranslations()
    catalogue = _gettext.GNUTranslations(io.BytesIO(compile_po(po.read_text("utf-8"))))
    catalogue.add_fallback(_gettext.NullTranslations())
    return catalogue


def gettext(message: str) -> str:
    """``message`` in the current language (itself when it has no translation)."""
    return translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message that fits the number ``n``, in the current language."""
    return translations().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it now (``_()`` it at use)."""
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Mark a message with a plural for translation (``ngettext(*pair, n)`` it at use)."""
    return singular, plural


_ = gettext


# -- course files in the current language -----------------------------------------------

COURSE_FILES = {
    # language: (English path pattern, the path of its translation)
    "pt_BR": (
        (re.compile(r"^notebooks/(\d\d_\w+\.ipynb)$"), r"notebooks/pt_BR/\1"),
        (re.compile(r"^(.*)PROTOCOL\.md$"), r"\1PROTOCOL.pt_BR.md"),
    ),
}


def course_file(path: str, lang: str | None = None) -> str:
    """The translation of a course file named in a message ("notebooks/04_broadcast.ipynb"
    is "notebooks/pt_BR/04_broadcast.ipynb" in pt_BR); ``path`` when it has none."""
    for pattern, replacement in COURSE_FILES.get(language() if lang is None else
                                                 normalize(lang), ()):
        if pattern.match(path):
            return pattern.sub(replacement, path)
    return path


# -- .po files --------------------------------------------------------------------------


@dataclass
class Entry:
    """One message of a .po file."""

    msgid: str
    msgstr: list[str] = field(default_factory=lambda: [""])  # one per plural form
    msgid_plural: str | None = None
    flags: set[str] = field(default_factory=set)  # "fuzzy", "python-brace-format", …
    comments: list[str] = field(default_factory=list)  # every "#" line, kept as it is
    line: int = 0  # where its msgid is, for messages about it

    @property
    def translated(self) -> bool:
        """Every form has a text, and nobody flagged it as a guess (fuzzy)."""
        return "fuzzy" not in self.flags and all(self.msgstr)


class POError(ValueError):
    """A .po file that cannot be read; the message names the line."""


_PO_LINE = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


def _unquote(text: str, number: int) -> str:
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        raise POError(f"line {number}: not a quoted string: {text}") from None
    if not isinstance(value, str):
        raise POError(f"line {number}: not a quoted string: {text}")
    return value


def parse_po(text: str) -> list[Entry]:
    """The entries of a .po file, the header (msgid "") first; obsolete ones (#~) left out."""
    entries: list[Entry] = []
    comments: list[str] = []
    current: Entry | None = None
    field_name: tuple[str, int] | None = None  # what a continuation line extends

    def finish() -> None:
        nonlocal current, field_name
        if current is not None:
            entries.append(current)
        current, field_name = None, None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#"):
            if current is not None and field_name is not None:
                finish()  # a comment starts the next entry
            if not line.startswith("#~"):  # obsolete entries are not read
                comments.append(line)
            continue
        if line.startswith('"'):
            if current is None or field_name is None:
                raise POError(f"line {number}: a string continues nothing")
            name, index = field_name
            value = _unquote(line, number)
            if name == "msgid":
                current.msgid += value
            elif name == "msgid_plural":
                current.msgid_plural = (current.msgid_plural or "") + value
            elif name == "msgstr":
                current.msgstr[index] += value
            continue
        match = _PO_LINE.match(line)
        if match is None:
            raise POError(f"line {number}: cannot read {raw!r}")
        keyword, index_text, quoted = match.groups()
        value = _unquote(quoted, number)
        if keyword == "msgctxt":
            raise POError(f"line {number}: msgctxt is not used in this catalogue")
        if keyword == "msgid":
            finish()
            flags = {flag.strip() for c in comments if c.startswith("#,")
                     for flag in c[2:].split(",") if flag.strip()}
            current = Entry(value, flags=flags, comments=comments, line=number)
            comments = []
            field_name = ("msgid", 0)
            continue
        if current is None:
            raise POError(f"line {number}: {keyword} before msgid")
        if keyword == "msgid_plural":
            current.msgid_plural = value
            field_name = ("msgid_plural", 0)
            continue
        index = int(index_text) if index_text is not None else 0
        if index == 0:
            current.msgstr = [value]
        elif index == len(current.msgstr):
            current.msgstr.append(value)
        else:
            raise POError(f"line {number}: msgstr[{index}] out of order")
        field_name = ("msgstr", index)
    finish()
    return entries


def header(entries: list[Entry]) -> dict[str, str]:
    """The header's fields ("Plural-Forms": "nplurals=2; plural=(n > 1);", …)."""
    for entry in entries:
        if entry.msgid == "":
            pairs = (line.partition(":") for line in entry.msgstr[0].splitlines())
            return {key.strip(): value.strip() for key, _, value in pairs if key.strip()}
    return {}


def compile_po(text: str) -> bytes:
    """The .mo file (GNU gettext's binary catalogue) for the .po file ``text``, as bytes.

    Untranslated and fuzzy entries are left out, as msgfmt does, so they fall back to
    English.
    """
    messages: dict[bytes, bytes] = {}
    for entry in parse_po(text):
        if entry.msgid and not entry.translated:
            continue
        key = entry.msgid
        if entry.msgid_plural is not None:
            key += "\0" + entry.msgid_plural
        messages[key.encode("utf-8")] = "\0".join(entry.msgstr).encode("utf-8")
    keys = sorted(messages)  # GNU gettext looks messages up by binary search
    ids = b"".join(key + b"\0" for key in keys)
    strs = b"".join(messages[key] + b"\0" for key in keys)
    count = len(keys)
    start_ids = 7 * 4  # magic, revision, count, 2 table offsets, hash size and offset
    start_strs = start_ids + count * 8
    ids_at = start_strs + count * 8
    strs_at = ids_at + len(ids)
    table_ids, table_strs = [], []
    offset = 0
    for key in keys:
        table_ids += [len(key), ids_at + offset]
        offset += len(key) + 1
    offset = 0
    for key in keys:
        table_strs += [len(messages[key]), strs_at + offset]
        offset += len(messages[key]) + 1
    head = struct.pack("<7I", 0x950412DE, 0, count, start_ids, start_strs, 0, 0)
    tables = struct.pack(f"<{2 * count}I", *table_ids) + struct.pack(f"<{2 * count}I",
                                                                     *table_strs)
    return head + tables + ids + strs


def main(argv: list[str] | None = None) -> int:
    """``python -m grader.i18n compile DIR``: write DIR/<lang>/LC_MESSAGES/chatlab.mo."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "compile":
        print("usage: python -m grader.i18n compile DIR", file=sys.stderr)
        return 2
    for lang in available_languages()[1:]:
        po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        mo = Path(args[1]) / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
        mo.parent.mkdir(parents=True, exist_ok=True)
        mo.write_bytes(compile_po(po.read_text("utf-8")))
        print(f"wrote {mo}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
