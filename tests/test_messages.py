"""grader/messages.py: messages made in English, translated when shown; a stored result
keeps what translates them, and a profile's own words survive the translation."""

from __future__ import annotations

import ast
import copy
import gettext
import html
import json
import pickle
import re

import pytest
from chatpeer import ROOT

from grader import i18n, messages
from grader.checks import all_checks
from grader.messages import L_, CourseFile, Text, sentences, show
from grader.model import (
    CheckResult,
    Failure,
    FailureKind,
    Level,
    Status,
    SubmissionResult,
    TranscriptEntry,
)
from grader.profile import load_profile

WAITED = "{name} waited {seconds:.1f} s for {what}, but nothing arrived."


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """Each test starts in English, whatever the machine says, and leaves it so."""
    monkeypatch.setenv(i18n.ENV, "")
    monkeypatch.delenv(i18n.ENV)
    yield
    i18n.set_language(None)


def test_a_message_is_its_english_text_and_shows_in_the_language_asked():
    text = L_("Read {notebook}, section '{section}'.",
              notebook=CourseFile("notebooks/04_broadcast.ipynb"), section=L_("No echo"))
    assert isinstance(text, str)
    assert text == "Read notebooks/04_broadcast.ipynb, section 'No echo'."
    assert show(text) == text  # English: the language of the moment
    pt = show(text, "pt_BR")
    assert pt.startswith("Leia notebooks/pt_BR/04_broadcast.ipynb, seção '")
    assert "No echo" not in pt  # the section, a message of its own, is translated too
    i18n.set_language("pt_BR")
    assert show(text) == pt and str(text) == text  # str() stays English
    assert f"{text}" == "Read notebooks/04_broadcast.ipynb, section 'No echo'."


def test_values_stay_as_they_are_and_numbers_keep_their_format():
    text = L_("The server exited (status {status}) during the scenario; before that:"
              " {message}", status=1, message="Expected:")  # a value, though a msgid
    assert show(text, "pt_BR") == ("O servidor terminou (status 1) durante o cenário; antes"
                                   " disso: Expected:")
    assert L_("{count} more events not shown", count=3) == "3 more events not shown"
    timed = L_("The scenario did not finish within {seconds:.0f} s and was stopped: the"
               " program was too slow or stopped responding.", seconds=11.6)
    assert "12 s" in timed and "12 s" in show(timed, "pt_BR")


def test_plain_strings_and_none_are_shown_as_they_are():
    assert show("no msgid here", "pt_BR") == "no msgid here"
    assert show("Expected:", "pt_BR") == "Expected:"  # a plain str is a value, not a message
    assert show(None, "pt_BR") is None


def test_a_message_without_fields_keeps_its_braces():
    tip = Text("print() f'[join] {nick} {ip}:{port}'")
    assert tip == "print() f'[join] {nick} {ip}:{port}'" == show(tip, "pt_BR")


def test_a_translation_whose_fields_do_not_fit_shows_the_english(monkeypatch):
    class Broken(gettext.NullTranslations):
        def gettext(self, message):
            return "{nome} esperou" if message == WAITED else message

    monkeypatch.setattr(messages.i18n, "translations", lambda lang=None: Broken())
    text = L_(WAITED, name="ana", seconds=2.0, what="x")
    assert show(text, "pt_BR") == "ana waited 2.0 s for x, but nothing arrived."


def test_sentences_leave_out_what_is_empty():
    assert sentences() == "" and sentences("", None) == ""
    one = L_("Passed.")
    assert sentences(one, "") is one
    both = sentences(L_("Passed."), L_("a welcome"))
    assert both == "Passed. a welcome"
    assert show(both, "pt_BR") == "Aprovada. uma mensagem de boas-vindas"


def test_a_message_survives_copies_pickles_and_json():
    text = L_(WAITED, name="ana", seconds=4.0, what=L_("a welcome"))
    for again in (copy.deepcopy(text), pickle.loads(pickle.dumps(text)),
                  Text.from_dict(json.loads(json.dumps(text.to_dict())))):
        assert type(again) is Text and again == text
        assert show(again, "pt_BR") == show(text, "pt_BR")
        assert show(again, "pt_BR") != text
    assert json.dumps({"message": text}) == json.dumps({"message": str(text)})


@pytest.mark.parametrize("stored", [
    {"fields": {}},  # no msgid
    {"msgid": 3},
    {"msgid": "x", "fields": ["a"]},
    {"msgid": "x", "replace": {"a": "b"}},
    "just text",
])
def test_a_damaged_stored_message_is_refused_naming_it(stored):
    with pytest.raises(ValueError, match="stored message"):
        Text.from_dict(stored)


def test_a_field_that_is_no_text_nor_number_is_kept_as_it_is_shown():
    error = OSError(111, "Connection refused")
    text = L_("The server could not be started: {error}.", error=error)
    assert text.fields["error"] == "[Errno 111] Connection refused"
    assert json.loads(json.dumps(text.to_dict()))["fields"]["error"] == str(error)


# -- stored results ----------------------------------------------------------------------


def _result() -> SubmissionResult:
    spec = next(s for s in all_checks() if s.id == "server.no_echo")
    failure = Failure(FailureKind.HUNG, L_(WAITED, name="ana", seconds=4.0,
                                           what=L_("a welcome")),
                      expected="'*** welcome ana'", actual=L_("a welcome"))
    return SubmissionResult("lab", [
        CheckResult(spec.id, spec.title, spec.level, spec.step, Status.FAILED,
                    spec.points, failure=failure, hint=spec.hint,
                    transcript=[TranscriptEntry(0.1, "grader", "note",
                                                L_("{count} more events not shown", count=2)),
                                TranscriptEntry(0.2, "ana", "received", "bob: hi")]),
        CheckResult("server.prefix", Text("a chat line arrives as `<nick>: <text>`, exactly"),
                    Level.CORE, 4, Status.SKIPPED, 2,
                    reason=L_("skipped: it needs '{title}' ({id}) to pass first",
                              title=spec.title, id=spec.id)),
    ])


def test_a_stored_result_keeps_the_english_and_what_translates_it():
    result = _result()
    data = json.loads(json.dumps(result.to_dict()))
    check = data["checks"][0]
    assert check["title"] == "the sender does not get its own line back"  # English, as before
    assert check["i18n"]["title"] == {"msgid": "the sender does not get its own line back"}
    assert check["failure"]["message"] == "ana waited 4.0 s for a welcome, but nothing arrived."
    assert check["failure"]["i18n"]["message"]["fields"]["what"] == {"msgid": "a welcome"}
    assert "expected" not in check["failure"]["i18n"]  # a value, not a message
    assert check["transcript"][0]["i18n"]["text"]["fields"] == {"count": 2}
    assert "i18n" not in check["transcript"][1]
    again = SubmissionResult.from_dict(data)
    assert again == result
    for mine, theirs in zip(again.checks, result.checks, strict=True):
        for name in ("title", "hint", "reason"):
            assert show(getattr(mine, name), "pt_BR") == show(getattr(theirs, name), "pt_BR")
    assert show(again.checks[0].failure.message, "pt_BR").startswith("ana esperou")
    assert show(again.checks[0].transcript[0].text, "pt_BR") == "mais 2 eventos não mostrados"


def test_a_result_stored_before_translations_is_shown_in_english():
    data = json.loads(json.dumps(_result().to_dict()))
    for check in data["checks"]:
        check.pop("i18n", None)
        if check["failure"]:
            check["failure"].pop("i18n")
        for entry in check["transcript"]:
            entry.pop("i18n", None)
    again = SubmissionResult.from_dict(data)
    assert type(again.checks[0].title) is str
    assert show(again.checks[0].failure.message, "pt_BR") == (
        "ana waited 4.0 s for a welcome, but nothing arrived.")


@pytest.mark.parametrize(("damage", "error"), [
    (lambda c: c.__setitem__("i18n", ["title"]), "must map field names"),
    (lambda c: c.__setitem__("i18n", {"colour": {"msgid": "x"}}), "'colour'"),
    (lambda c: c["i18n"].__setitem__("title", {"fields": {}}), "stored message"),
])
def test_a_damaged_i18n_entry_is_refused_naming_it(damage, error):
    data = json.loads(json.dumps(_result().to_dict()))
    damage(data["checks"][0])
    with pytest.raises(ValueError, match=error):
        SubmissionResult.from_dict(data)


# -- a profile's own words ---------------------------------------------------------------


def test_a_profile_speaks_its_own_lines_in_every_language():
    profile = load_profile("portuguese_prompt")
    spec = next(s for s in all_checks() if s.id == "server.leave_quit")
    title, hint = profile.speak(spec.title), profile.speak(spec.hint)
    assert str(title) == profile.speak(str(spec.title))  # as the English was spoken
    assert str(hint) == profile.speak(str(spec.hint))
    assert not str(hint).startswith("Read ")  # another course has no notebooks
    assert f"`{profile.quit}`" in show(title, "pt_BR") and "/quit" not in show(title, "pt_BR")
    assert show(title, "pt_BR") != str(title)  # translated, then in the profile's words
    assert profile.speak(Text("")) == ""


def test_every_check_is_spoken_alike_as_message_and_as_text():
    """Speaking a message changes what its English says exactly as speaking the text."""
    for name in ("no_framing", "portuguese_prompt", "nick_token"):
        profile = load_profile(name)
        for spec in all_checks():
            for text in (spec.title, spec.hint):
                assert str(profile.speak(text)) == profile.speak(str(text)), (name, spec.id)


# -- every message the grader builds is one the catalogue has ----------------------------

FAILURE_CLASSES = {"CheckFailure", "Mismatch", "Missing", "Unexpected", "Hung", "TooSlow",
                   "Crashed", "ResourceLimit", "NotApplicable", "Failure"}
MESSAGE_KEYWORDS = {"what", "why", "message", "reason", "expected", "actual", "hint"}
# Where a student's report comes from: not the batch tools, the load generator, the
# similarity report (their words are the instructor's, in English for now).
NOT_FOR_STUDENTS = ("batch", "tools", "similarity")


def _words(node) -> str | None:
    """The fixed text of a literal string (an f-string's constant parts), if it is one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    return None


def _is_sentence(text: str | None) -> bool:
    """Words for a reader, not a value: two words in a row, and not a quoted line of the
    protocol ("'listening on 127.0.0.1:5000'")."""
    return bool(text and re.search(r"[A-Za-z]{2,} [a-z]", text)
                and not text.startswith(("'", '"', "*** ")))


def unmarked_messages(source: str, origin: str) -> list[str]:
    """Literal strings that reach a student as a message without being marked (L_)."""
    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        args: list[ast.expr] = []
        if name in FAILURE_CLASSES:
            args += node.args[:2] if name == "Failure" else node.args[:1]
        if name in ("expect_closed", "note") and node.args:
            args.append(node.args[0])
        if name == "add" and len(node.args) == 3:  # a transcript entry's text
            args.append(node.args[2])
        args += [kw.value for kw in node.keywords if kw.arg in MESSAGE_KEYWORDS]
        for arg in args:
            for value in ([arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]):
                if _is_sentence(_words(value)):
                    found.append(f"{origin}:{value.lineno}: {_words(value)[:60]!r}")
    return found


def test_the_grader_marks_every_message_it_builds():
    """A failure's sentence, an expected or actual in words, a transcript note: each is
    L_("…") (so the catalogue has it), never a plain or f-string (shown in English)."""
    folder = ROOT / "grader"
    found = []
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[1] in NOT_FOR_STUDENTS:
            continue
        found += unmarked_messages(path.read_text("utf-8"), str(relative))
    assert not found, "messages not marked with L_():\n" + "\n".join(found)


def test_the_scan_finds_unmarked_messages():
    source = (
        'raise Mismatch("ana got the wrong line.", expected="the welcome", actual=line)\n'
        'peer.expect_line(what=f"the line {x!r}", why=L_("ok, it is marked"))\n'
        'ctx.transcript.add("grader", "note", f"ana sends {n} bytes")\n'
        'raise Hung(L_("fine") if a else "not fine at all")\n'
        'raise Crashed(L_("x"), expected="\'listening on 1.2.3.4:5\'", actual="LineTooLong")\n'
    )
    assert [line.split(": ", 1)[0] for line in unmarked_messages(source, "f.py")] == [
        "f.py:1", "f.py:1", "f.py:2", "f.py:3", "f.py:4"]


def test_a_message_is_a_string_for_every_string_method():
    """Code that treats a message as the str it is (html.escape, replace, split) works."""
    message = L_("{name} sent <{what}> & left", name="ana", what="a&b")
    assert html.escape(message) == "ana sent &lt;a&amp;b&gt; &amp; left"
    assert message.replace("ana", "bob") == "bob sent <a&b> & left"
    assert message.split(" ")[0] == "ana"
