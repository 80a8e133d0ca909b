"""Bring the message catalogues in ``grader/locale/`` up to date with the code.

The messages marked for translation are

* every ``_("…")``, ``gettext("…")``, ``N_("…")``, ``L_("…", **fields)``,
  ``ngettext("…", "…", n)`` and
  ``N_plural("…", "…")`` with literal strings, in ``grader/``, ``notebooks/course.py``
  and ``scripts/demo.py``;
* what the grader declares rather than writes in a call: each check's title (its
  docstring's first line), each section a hint names, and the words for a failure's kind.

``python scripts/update_catalogue.py`` rewrites every ``chatlab.po``: a new message is
added with an empty translation (a test fails until it has one), a message that is no
longer marked is kept at the end as obsolete (``#~``), and the translations already
there are kept. ``--check`` only reports, and exits 1 when a message has no translation.

    python scripts/update_catalogue.py           # rewrite grader/locale/*/LC_MESSAGES/chatlab.po
    python scripts/update_catalogue.py --check   # exit 1 if a marked message is untranslated
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import i18n  # noqa: E402

SOURCES = [ROOT / "grader", ROOT / "notebooks" / "course.py", ROOT / "scripts" / "demo.py"]
SINGULAR_CALLS = {"_", "gettext", "N_", "L_"}
PLURAL_CALLS = {"ngettext", "N_plural"}
FIELD = re.compile(r"(?<!\{)\{([^{}]*)\}")  # a str.format field, {{ and }} aside

HEADERS = {
    "pt_BR": (
        "# Brazilian Portuguese messages of chatlab: the grader and the course helpers.\n"
        "# Kept up to date by scripts/update_catalogue.py; tests/test_i18n.py fails while a\n"
        "# marked message has no translation here.\n",
        {
            "Project-Id-Version": "chatlab",
            "Language": "pt_BR",
            "MIME-Version": "1.0",
            "Content-Type": "text/plain; charset=UTF-8",
            "Content-Transfer-Encoding": "8bit",
            "Plural-Forms": "nplurals=2; plural=(n > 1);",
        },
    ),
}


@dataclass
class Message:
    """One message marked for translation, and where it comes from."""

    msgid: str
    plural: str | None = None
    where: list[str] = field(default_factory=list)  # "grader/cli.py:12", "check x: title"

    @property
    def key(self) -> tuple[str, str | None]:
        return self.msgid, self.plural


def _literal(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def scan_source(text: str, origin: str) -> tuple[list[Message], list[str]]:
    """The messages marked in one Python file, and the mistakes: a call such as
    ``_(f"…")``, whose message cannot be looked up because it changes at run time."""
    found: list[Message] = []
    mistakes: list[str] = []
    for node in ast.walk(ast.parse(text, origin)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = _call_name(node)
        if name not in SINGULAR_CALLS | PLURAL_CALLS:
            continue
        where = f"{origin}:{node.lineno}"
        wanted = 2 if name in PLURAL_CALLS else 1
        texts = [_literal(arg) for arg in node.args[:wanted]]
        if any(isinstance(arg, ast.JoinedStr) for arg in node.args[:wanted]):
            mistakes.append(f"{where}: {name}() of an f-string: use a template and .format()")
            continue
        if len(texts) < wanted or any(t is None for t in texts):
            continue  # a variable: the message is marked where it is written (N_)
        plural = texts[1] if wanted == 2 else None
        found.append(Message(texts[0], plural, [where]))
    found.sort(key=lambda message: int(message.where[0].rsplit(":", 1)[1]))
    return found, mistakes


def messages_in(text: object, role: str = "") -> list[tuple[str, str]]:
    """The msgids of a message (a grader.messages.Text) and of the messages in its
    fields and replacements, outermost first, each with the field it fills ("" for the
    message itself); none in a plain string."""
    from grader.messages import Text

    if not isinstance(text, Text):
        return []
    found = [(text.msgid, role)]
    for name, value in text.fields.items():
        found += messages_in(value, name)
    for _, new in text.replacements:
        found += messages_in(new, "replacement")
    return found


ROLES = {  # what a translator is told of a message declared in a check's hint
    "section": "its hint's section (a heading of the notebook the hint names)",
    "second": "its hint's tip",
    "paragraph": "its hint's paragraphs of PROTOCOL.md",
}


def declared_messages() -> list[Message]:
    """What the grader declares: check titles, their hints' sections, paragraphs and
    tips, and the words for a failure's kind."""
    from grader.checks import all_checks
    from grader.render import KIND_WORDS

    found = []
    for spec in all_checks():
        found += [Message(msgid, None, [f"check {spec.id}: its title"])
                  for msgid, _ in messages_in(spec.title)]
        found += [Message(msgid, None, [f"check {spec.id}: {ROLES.get(role, 'its hint')}"])
                  for msgid, role in messages_in(spec.hint)]
    for kind, words in KIND_WORDS.items():
        found.append(Message(words, None, [f"failure kind {kind.name}"]))
    first: dict[str, Message] = {}
    for message in found:  # one place each is enough for a translator
        first.setdefault(message.msgid, message)
    return list(first.values())


def marked_messages() -> tuple[list[Message], list[str]]:
    """Every message marked for translation, each once, in the order first found; and
    the mistakes found on the way."""
    messages: dict[tuple[str, str | None], Message] = {}
    mistakes: list[str] = []
    files = sorted(p for source in SOURCES for p in
                   ([source] if source.is_file() else source.rglob("*.py")))
    found: list[Message] = []
    for path in files:
        more, wrong = scan_source(path.read_text("utf-8"), str(path.relative_to(ROOT)))
        found += more
        mistakes += wrong
    found += declared_messages()
    for message in found:
        if message.key in messages:
            messages[message.key].where += message.where
        else:
            messages[message.key] = message
    return list(messages.values()), mistakes


def fields(text: str) -> list[str]:
    """The names of the ``str.format`` fields in ``text``, sorted ("{step:02d}" is step)."""
    return sorted(re.split(r"[:!]", name, maxsplit=1)[0] for name in FIELD.findall(text))


# -- writing .po files ---------------------------------------------------------------------


def quote(text: str) -> str:
    """``text`` as .po string lines: one line, or one per ``\\n`` after an empty first."""

    def one(part: str) -> str:
        escaped = (part.replace("\\", "\\\\").replace('"', '\\"')
                   .replace("\t", "\\t").replace("\n", "\\n"))
        return f'"{escaped}"'

    parts = text.splitlines(keepends=True)
    if len(parts) <= 1:
        return one(text)
    return '""\n' + "\n".join(one(part) for part in parts)


def po_entry(entry: i18n.Entry, obsolete: bool = False) -> str:
    lines = [] if obsolete else [c for c in entry.comments]
    lines.append(f"msgid {quote(entry.msgid)}")
    if entry.msgid_plural is not None:
        lines.append(f"msgid_plural {quote(entry.msgid_plural)}")
        lines += [f"msgstr[{i}] {quote(text)}" for i, text in enumerate(entry.msgstr)]
    else:
        lines.append(f"msgstr {quote(entry.msgstr[0])}")
    text = "\n".join(lines)
    if obsolete:
        text = "\n".join("#~ " + line for line in text.splitlines())
    return text + "\n"


def catalogue_path(lang: str) -> Path:
    return i18n.LOCALE_DIR / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"


def merged(lang: str, messages: list[Message]) -> str:
    """The .po text for ``lang``: ``messages`` in order, with the translations it had."""
    path = catalogue_path(lang)
    old = {(e.msgid, e.msgid_plural): e
           for e in (i18n.parse_po(path.read_text("utf-8")) if path.exists() else [])}
    comment, head = HEADERS[lang]
    nplurals = int(re.search(r"nplurals=(\d+)", head["Plural-Forms"])[1])
    header = i18n.Entry("", ["".join(f"{key}: {value}\n" for key, value in head.items())])
    out = [comment + po_entry(header)]
    for message in messages:
        before = old.pop(message.key, None)
        flags = {"python-brace-format"} if FIELD.search(message.msgid) else set()
        if before is not None:
            flags |= before.flags & {"fuzzy"}
            msgstr = before.msgstr
        else:
            msgstr = [""] * (nplurals if message.plural is not None else 1)
        # Files without line numbers: the catalogue does not change when code moves.
        comments = list(dict.fromkeys(
            f"#: {where.rsplit(':', 1)[0]}" if re.match(r"^[\w/.]+\.py:\d+$", where)
            else f"#. {where}" for where in message.where))
        if flags:
            comments.append("#, " + ", ".join(sorted(flags)))
        out.append(po_entry(i18n.Entry(message.msgid, msgstr, message.plural, flags,
                                       comments)))
    old.pop(("", None), None)
    out += [po_entry(entry, obsolete=True) for entry in old.values() if entry.translated]
    return "\n".join(out)


def untranslated(lang: str, messages: list[Message]) -> list[Message]:
    """The marked messages that ``lang``'s catalogue does not translate (yet)."""
    path = catalogue_path(lang)
    entries = i18n.parse_po(path.read_text("utf-8")) if path.exists() else []
    done = {(e.msgid, e.msgid_plural) for e in entries if e.translated}
    return [message for message in messages if message.key not in done]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report, rewrite nothing")
    args = parser.parse_args(argv)
    messages, mistakes = marked_messages()
    for mistake in mistakes:
        print(mistake)
    missing = 0
    for lang in HEADERS:
        if not args.check:
            catalogue_path(lang).parent.mkdir(parents=True, exist_ok=True)
            catalogue_path(lang).write_text(merged(lang, messages), encoding="utf-8")
            print(f"wrote {catalogue_path(lang).relative_to(ROOT)}: {len(messages)} messages")
        for message in untranslated(lang, messages):
            missing += 1
            print(f"{lang}: no translation for {message.msgid!r} ({message.where[0]})")
    return 1 if missing or mistakes else 0


if __name__ == "__main__":
    sys.exit(main())
