"""`make demo`: the reference chat in action, then its grade, in either language."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from chatpeer import ROOT

DEMO = ROOT / "scripts" / "demo.py"
TIMEOUT = 120  # seconds: a conversation of ten lines, then one grading


def run_demo(lang: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CHATLAB_LANG"}
    env["CHATLAB_LANG"] = lang
    return subprocess.run([sys.executable, str(DEMO)], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=TIMEOUT)


@pytest.mark.parametrize(("lang", "words", "score"), [
    ("en", ("A global chat", "ana's screen", "(types) hello everyone!", "server log",
            "Grading reference_solution/"), "score"),
    ("pt_BR", ("Um chat global", "tela de ana", "(digita) hello everyone!", "log do servidor",
               "Corrigindo reference_solution/"), "nota"),
])
def test_the_demo_chats_then_grades_the_reference(lang, words, score):
    done = run_demo(lang)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for part in (*words, "ana: hello everyone!", "chen: olá! ação — 你好",
                 "bob (whisper): lunch later?", "*** chen left the chat"):
        assert part in done.stdout, part
    assert re.search(rf"^{score} (\d+)/\1 ·", done.stdout, re.M), "the reference gets every point"


def test_the_portuguese_demo_says_nothing_in_english():
    out = run_demo("pt_BR").stdout
    for english in ("screen", "(types)", "Grading", "A global chat", "passed", "failed",
                    "score "):
        assert english not in out, english
