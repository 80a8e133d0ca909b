"""scripts/make_lab.py: lab/ is in sync with the reference, and the fence rules hold."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from textwrap import dedent

import pytest
from chatpeer import LAB, ROOT, load_module


@pytest.fixture(scope="module")
def make_lab():
    return load_module(ROOT / "scripts" / "make_lab.py", "make_lab_under_test")


def test_lab_is_in_sync_with_the_reference():
    result = subprocess.run(
        [sys.executable, "scripts/make_lab.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_generated_skeleton_compiles(make_lab):
    for name, text in make_lab.generated_files().items():
        compile(text, f"lab/{name}", "exec")


def test_stub_lines_replace_the_solution(make_lab):
    source = dedent(
        """\
        def f():
            before = 1
            # BEGIN SOLUTION step 03 "accept clients"
            # STUB: x = 1
            # STUB:
            # STUB: return x  # keep this comment
            return 42
            # END SOLUTION
        after = 2
        """
    )
    stripped = make_lab.strip_solutions(source)
    # an empty "# STUB:" line is a blank line (it keeps the fence's indent)
    assert [line.rstrip() for line in stripped.splitlines()] == [
        "def f():",
        "    before = 1",
        "    # TODO(step 03): accept clients. See notebooks/03_threads.ipynb.",
        "    x = 1",
        "",
        "    return x  # keep this comment",
        "after = 2",
    ]
    assert stripped.endswith("after = 2\n")


def test_fence_without_stub_raises_not_implemented(make_lab):
    source = dedent(
        """\
        class A:
            def g(self):
                # BEGIN SOLUTION step 02 "split 'lines'"
                return [1]
                # END SOLUTION
        """
    )
    stripped = make_lab.strip_solutions(source)
    assert stripped == dedent(
        """\
        class A:
            def g(self):
                # TODO(step 02): split 'lines'. See notebooks/02_framing.ipynb.
                raise NotImplementedError("step 02: split 'lines' (see notebooks/02_framing.ipynb)")
        """
    )
    namespace: dict = {}
    exec(compile(stripped, "<stripped>", "exec"), namespace)
    with pytest.raises(NotImplementedError, match=r"^step 02: split 'lines'"):
        namespace["A"]().g()


def test_text_without_fences_is_unchanged(make_lab):
    source = "a = 1\n# STUB: not in a fence\n# BEGIN SOLUTION but not a fence\n"
    assert make_lab.strip_solutions(source) == source


def test_several_fences(make_lab):
    source = (
        '# BEGIN SOLUTION step 04 "one"\nx = 1\n# END SOLUTION\n'
        "middle = True\n"
        '# BEGIN SOLUTION step 05 "two"\n# STUB: y = 0\ny = 2\n# END SOLUTION\n'
    )
    out = make_lab.strip_solutions(source)
    assert out.splitlines() == [
        "# TODO(step 04): one. See notebooks/04_broadcast.ipynb.",
        "raise NotImplementedError('step 04: one (see notebooks/04_broadcast.ipynb)')",
        "middle = True",
        "# TODO(step 05): two. See notebooks/05_client.ipynb.",
        "y = 0",
    ]


def test_solved_steps_keep_the_model_answer(make_lab):
    source = (
        '# BEGIN SOLUTION step 04 "one"\nx = 1\n# END SOLUTION\n'
        '# BEGIN SOLUTION step 05 "two"\n# STUB: y = 0\ny = 2\n# END SOLUTION\n'
    )
    out = make_lab.strip_solutions(source, solved={4})
    assert out.splitlines() == [
        "x = 1",
        "# TODO(step 05): two. See notebooks/05_client.ipynb.",
        "y = 0",
    ]


def test_all_steps_solved_is_the_reference_without_fences(make_lab):
    every_step = set(make_lab.NOTEBOOKS)
    for name, text in make_lab.generated_files(solved=every_step).items():
        reference = (ROOT / "reference_solution" / name).read_text(encoding="utf-8")
        fences = ("# BEGIN SOLUTION", "# STUB:", "# END SOLUTION")
        kept = [line for line in reference.splitlines() if not line.strip().startswith(fences)]
        assert text.splitlines() == kept, name


@pytest.mark.parametrize(
    ("source", "where", "words"),
    [
        ("x = 1\n# END SOLUTION\n", "f.py:2:", "END SOLUTION without BEGIN"),
        ('x = 1\n\n# BEGIN SOLUTION step 04 "a"\ny = 2\n', "f.py:3:", "BEGIN SOLUTION without END"),
        (
            '# BEGIN SOLUTION step 04 "a"\n# BEGIN SOLUTION step 05 "b"\n# END SOLUTION\n',
            "f.py:2:",
            "nested fence (opened at 1)",
        ),
        ('# BEGIN SOLUTION step 09 "a"\n# END SOLUTION\n', "f.py:1:", "step 09 has no notebook"),
    ],
    ids=["end-without-begin", "begin-without-end", "nested", "unknown-step"],
)
def test_malformed_fences_name_the_line(make_lab, source, where, words):
    with pytest.raises(make_lab.FenceError) as caught:
        make_lab.strip_solutions(source, "f.py")
    assert str(caught.value).startswith(where), str(caught.value)
    assert words in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_check_reports_a_stale_file(make_lab, tmp_path, monkeypatch, capsys):
    copy = tmp_path / "lab"
    shutil.copytree(LAB, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "protocol.py").write_text("# edited by hand\n", encoding="utf-8")
    (copy / "client.py").unlink()
    monkeypatch.setattr(make_lab, "TARGET", copy)
    assert make_lab.stale_files() == ["client.py", "protocol.py"]
    assert make_lab.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "lab/client.py is out of date" in out and "lab/protocol.py is out of date" in out


def test_main_writes_the_skeleton(make_lab, tmp_path, monkeypatch, capsys):
    target = tmp_path / "fresh_lab"
    monkeypatch.setattr(make_lab, "TARGET", target)
    assert make_lab.main([]) == 0
    for name, text in make_lab.generated_files().items():
        assert (target / name).read_text(encoding="utf-8") == text
    assert make_lab.stale_files() == []
    assert "wrote lab/server.py" in capsys.readouterr().out


# -- the skeleton in other languages (lab_pt_BR/) ---------------------------------------

TRANSLATED = ["pt_BR"]  # every language of scripts/make_lab.py but English


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_fence_has_a_translation(make_lab, lang):
    missing = make_lab.untranslated_fences(lang)
    assert not missing, (
        f"fences without a {lang} text in {make_lab.table_path(lang).relative_to(ROOT)}"
        " (their TODO stays in English):\n" + "\n".join(missing)
    )


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translation_table_has_no_stale_entry(make_lab, lang):
    fences = {make_lab.fence_key(step, what)
              for path in sorted(make_lab.SOURCE.glob("*.py"))
              for step, what in make_lab.fences(path.read_text(encoding="utf-8"))}
    stale = sorted(set(make_lab.words(lang).fences) - fences)
    assert not stale, "entries for fences that no longer exist:\n" + "\n".join(stale)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translated_skeleton_is_the_same_code(make_lab, lang):
    """Only the TODO comments and the stubs' messages change with the language."""
    english = make_lab.generated_files()
    for name, text in make_lab.generated_files(lang=lang).items():
        compile(text, f"lab_{lang}/{name}", "exec")
        pairs = list(zip(english[name].splitlines(), text.splitlines(), strict=True))
        changed = [(a, b) for a, b in pairs if a != b]
        assert changed, name
        for a, b in changed:
            assert a.lstrip().startswith(("# TODO(step", "raise NotImplementedError(")), (a, b)
            assert a[: len(a) - len(a.lstrip())] == b[: len(b) - len(b.lstrip())]


def test_pt_BR_todos_name_the_pt_BR_notebooks(make_lab):
    todo = re.compile(r"# TODO\(step (\d\d)\): .+\. Veja notebooks/pt_BR/\1_\w+\.ipynb\.$")
    stub = re.compile(r"NotImplementedError\((['\"])step (\d\d): .+ \(veja notebooks/pt_BR/"
                      r"\2_\w+\.ipynb\)\1\)$")
    for name, text in make_lab.generated_files(lang="pt_BR").items():
        for line in text.splitlines():
            if "TODO(" in line:
                assert todo.search(line.strip()), f"{name}: {line.strip()}"
            if "raise NotImplementedError" in line:
                assert stub.search(line.strip()), f"{name}: {line.strip()}"


def test_pt_BR_stub_is_what_the_grader_recognises(make_lab):
    """The grader skips a check whose program raised a stub: "step NN:" is its marker, in
    every language."""
    sys.path.insert(0, str(ROOT))
    try:
        from grader.tracebacks import unwritten_step
    finally:
        sys.path.remove(str(ROOT))
    namespace: dict = {}
    code = make_lab.generated_files(lang="pt_BR")["protocol.py"]
    exec(compile(code, "lab_pt_BR/protocol.py", "exec"), namespace)
    with pytest.raises(NotImplementedError) as raised:
        namespace["LineBuffer"]().feed(b"hi\n")
    assert str(raised.value) == (
        "step 02: corte os bytes do buffer em linhas completas"
        " (veja notebooks/pt_BR/02_framing.ipynb)")
    assert unwritten_step(f"NotImplementedError: {raised.value}") == 2


def test_a_fence_without_translation_keeps_its_english(make_lab, monkeypatch):
    source = '# BEGIN SOLUTION step 04 "brand new"\nx = 1\n# END SOLUTION\n'
    out = make_lab.strip_solutions(source, lang="pt_BR")
    assert out.splitlines() == [
        "# TODO(step 04): brand new. Veja notebooks/pt_BR/04_broadcast.ipynb.",
        "raise NotImplementedError('step 04: brand new (veja notebooks/pt_BR/04_broadcast.ipynb)')",
    ]


def test_main_writes_and_checks_another_language(make_lab, tmp_path, capsys):
    out = tmp_path / "lab_pt"
    assert make_lab.main(["--lang", "pt_BR", "--out", str(out)]) == 0
    assert "wrote " in capsys.readouterr().out
    for name, text in make_lab.generated_files(lang="pt_BR").items():
        assert (out / name).read_text(encoding="utf-8") == text
    assert make_lab.main(["--check", "--lang", "pt_BR", "--out", str(out)]) == 0
    (out / "server.py").write_text("# edited\n", encoding="utf-8")
    assert make_lab.main(["--check", "--lang", "pt_BR", "--out", str(out)]) == 1
    assert "server.py is out of date" in capsys.readouterr().out
