"""Messages translated when they are shown, not when they are made.

A check fails long before anybody reads why, and one result may be read in two
languages (a student's notebook in Portuguese, the instructor's gradebook in English).
So the grader keeps what it says as :class:`Text`: the English template (the msgid of
the catalogue) and its fields, and translates it when a renderer shows it::

    from grader.messages import L_, show

    why = L_("{name} waited {seconds:.1f} s for {what}, but nothing arrived.",
             name="ana", seconds=4.0, what=L_("the welcome"))
    str(why)              # the English: "ana waited 4.0 s for the welcome, but nothing arrived."
    show(why, "pt_BR")    # "ana esperou 4.0 s por a mensagem de boas-vindas, …"

A :class:`Text` *is* a ``str``, whose value is the English text: code that compares,
stores or prints a message keeps working, in English, and only :func:`show` translates.
A field is shown as it is (a received line, a nickname, a number with its format), unless
it is a :class:`Text` itself (a noun phrase such as "the welcome", translated with the
sentence) or a :class:`CourseFile` (a course file named in the message, which has its own
translation: ``notebooks/pt_BR/…``, ``PROTOCOL.pt_BR.md``).

A message without fields is not a template: its braces are shown as they are (a tip that
quotes ``f'[join] {nick}'``). A translation whose fields do not fit is never fatal: the
English is shown instead.

``L_("…")`` marks the message for ``scripts/update_catalogue.py`` as ``_("…")`` does; its
first argument must be a literal string.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import i18n

Field = Any  # str | int | float | bool | None | Text | CourseFile; others become str
SENTENCES = i18n.N_("{first} {second}")  # two sentences, one after the other


def _shown(value: Field, lang: str | None) -> Field:
    return value.shown(lang) if isinstance(value, (Text, CourseFile)) else value


class CourseFile(str):
    """A course file named in a message; shown as its translation in each language."""

    def shown(self, lang: str | None = None) -> str:
        return i18n.course_file(str(self), lang)

    def __reduce__(self) -> tuple[Any, ...]:
        return CourseFile, (str(self),)

    def __repr__(self) -> str:
        return f"CourseFile({str(self)!r})"


class Text(str):
    """A message to translate when shown: an English template (the msgid), its fields,
    and replacements made after translating (a protocol profile's own words for
    chatlab's lines, see :meth:`grader.profile.Profile.speak`). Its ``str`` value is the
    English text."""

    msgid: str
    fields: dict[str, Field]
    replacements: tuple[tuple[str, Field], ...]  # not ``replace``: str.replace stays

    def __new__(cls, msgid: str, fields: Mapping[str, Field] | None = None,
                replace: Iterable[tuple[str, Field]] = ()) -> Text:
        fields = {name: _field(value) for name, value in (fields or {}).items()}
        replace = tuple((old, _field(new)) for old, new in replace)
        self = super().__new__(cls, _render(msgid, fields, replace, i18n.SOURCE_LANGUAGE))
        self.msgid, self.fields, self.replacements = msgid, fields, replace
        return self

    def shown(self, lang: str | None = None) -> str:
        """This message in ``lang`` (default: the language of the moment)."""
        return _render(self.msgid, self.fields, self.replacements, lang)

    def replaced(self, pairs: Iterable[tuple[str, Field]]) -> Text:
        """This message with more replacements made once it is translated."""
        return Text(self.msgid, self.fields, (*self.replacements, *pairs))

    def to_dict(self) -> dict[str, Any]:
        """What translates it later (JSON): the msgid, its fields, the replacements."""
        data: dict[str, Any] = {"msgid": self.msgid}
        if self.fields:
            data["fields"] = {name: _encode(value) for name, value in self.fields.items()}
        if self.replacements:
            data["replace"] = [[old, _encode(new)] for old, new in self.replacements]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Text:
        """The message :meth:`to_dict` stored; ValueError names what is wrong in it."""
        if not isinstance(data, Mapping) or not isinstance(data.get("msgid"), str):
            raise ValueError(f"a stored message needs a string 'msgid': {data!r}")
        fields = data.get("fields", {})
        replace = data.get("replace", [])
        if not isinstance(fields, Mapping) or not isinstance(replace, list):
            raise ValueError(f"a stored message's fields and replacements: {data!r}")
        return cls(data["msgid"], {name: _decode(value) for name, value in fields.items()},
                   [(old, _decode(new)) for old, new in replace])

    def __reduce__(self) -> tuple[Any, ...]:
        return Text, (self.msgid, self.fields, self.replacements)

    def __repr__(self) -> str:
        return f"L_({self.msgid!r}{''.join(f', {k}={v!r}' for k, v in self.fields.items())})"


def _render(msgid: str, fields: dict[str, Field], replace: tuple[tuple[str, Field], ...],
            lang: str | None) -> str:
    if not msgid:
        return ""
    template = i18n.translations(lang).gettext(msgid)
    if fields:
        shown = {name: _shown(value, lang) for name, value in fields.items()}
        try:
            text = template.format(**shown)
        except (KeyError, IndexError, ValueError):  # a translation that does not fit
            text = msgid.format(**shown)
    else:
        text = template
    for old, new in replace:
        text = text.replace(old, str(_shown(new, lang)))
    return text


def _field(value: object) -> Field:
    """A field as a message keeps it: text, numbers and messages as they are, any other
    object (an exception, a path) as its ``str``, which is how it would be shown."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _encode(value: Field) -> Any:
    if isinstance(value, Text):
        return value.to_dict()
    if isinstance(value, CourseFile):
        return {"course_file": str(value)}
    return value


def _decode(value: Any) -> Field:
    if isinstance(value, Mapping):
        if "course_file" in value:
            return CourseFile(value["course_file"])
        return Text.from_dict(value)
    return value


def L_(msgid: str, /, **fields: Field) -> Text:  # noqa: N802 - gettext's naming
    """The message ``msgid`` with ``fields``, translated when shown (marked for the
    catalogue)."""
    return Text(msgid, fields)


def sentences(*parts: str | None) -> str:
    """Sentences shown one after the other (each translated on its own); empty parts
    left out, "" when none is left."""
    kept = [part for part in parts if part]
    if not kept:
        return ""
    text = kept[0]
    for part in kept[1:]:
        text = Text(SENTENCES, {"first": text, "second": part})
    return text


def show(value: str | None, lang: str | None = None) -> str | None:
    """``value`` as the reader sees it: a :class:`Text` or :class:`CourseFile` in
    ``lang`` (default: the language of the moment), any other string as it is."""
    return _shown(value, lang)
