"""notebooks/course.py speaks the course's language: English by default, Brazilian Portuguese
with lang="pt_BR" (or CHATLAB_LANG), where CODE = "lab" is the Portuguese skeleton."""

from __future__ import annotations

import re

import pytest
from chatpeer import ROOT, load_module


@pytest.fixture
def course(monkeypatch):
    # Set, then removed: whatever the test sets is undone afterwards (set_language sets it).
    monkeypatch.setenv("CHATLAB_LANG", "")
    monkeypatch.delenv("CHATLAB_LANG")
    module = load_module(ROOT / "notebooks" / "course.py", "course_in_two_languages")
    yield module
    module.set_language(None)


def test_course_speaks_english_by_default(course, capsys):
    demo = course.Demo("reference_solution")
    assert repr(demo).startswith("demos and checks run the code in ")
    assert course.code_folder("lab") == (ROOT / "lab").resolve()
    with demo.needs_step(4):
        raise RuntimeError("boom")
    out = capsys.readouterr().out
    assert "✋ This demo did not work yet (RuntimeError: boom)." in out
    assert "   Finish TODO(step 04) (and the steps before it), save the file,\n" in out
    assert "   then run this cell again.\n" in out


def test_course_in_portuguese(course, capsys):
    demo = course.Demo("reference_solution", lang="pt_BR")
    assert repr(demo).startswith("as demos e as verificações executam o código de ")
    with demo.needs_step(4):
        raise RuntimeError("boom")
    out = capsys.readouterr().out
    assert "✋ Esta demo ainda não funcionou (RuntimeError: boom)." in out
    assert "   Termine o TODO(step 04) (e as etapas anteriores), salve o arquivo\n" in out
    # In Portuguese, CODE = "lab" is the skeleton whose TODOs are in Portuguese.
    assert course.code_folder("lab") == (ROOT / "lab_pt_BR").resolve()
    assert course.Demo("lab").code == (ROOT / "lab_pt_BR").resolve()
    with pytest.raises(FileNotFoundError, match="A pasta .* não existe"):
        course.code_folder("no_such_folder")


def test_course_reads_todo_comments_in_both_languages(course):
    english = course.todos(ROOT / "lab")
    portuguese = course.todos(ROOT / "lab_pt_BR")
    assert [todo.step for todo in english] == [todo.step for todo in portuguese]
    assert [todo.where for todo in english] == [todo.where for todo in portuguese]
    first = next(todo for todo in portuguese if todo.step == 2)
    assert first.what == "corte os bytes do buffer em linhas completas"
    assert not any(re.search(r"(See|Veja) ", todo.what) for todo in english + portuguese)
