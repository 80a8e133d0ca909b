"""The course notebooks run from top to bottom, against the model answer and the skeleton.

Each notebook is executed in a real Jupyter kernel (nbclient), as a student would run it,
twice:

* with ``CODE = "reference_solution"`` in its setup cell: no cell raises, no demo says it
  could not run, and every check cell reports all checks green;
* as it is stored (``CODE = "lab"``, the untouched skeleton): the notebook still runs to
  the end, and the check cell of every step that has a ``TODO`` in ``lab/`` reports
  failures.

The course in Brazilian Portuguese (``notebooks/pt_BR/``, the same code cells) runs the
same way, against the reference and against its own skeleton, ``lab_pt_BR/``, which
``CODE = "lab"`` names there.

Notebook 06 also runs once on the code of a student who finished steps 01-05, where its
leak demo must agree with the grader's ``server.no_leak``.

The notebooks share their helpers through ``notebooks/course.py``, start with the same setup
cell (``course.SETUP_CELL``) and are stored without outputs or execution counts. The time
each run takes is printed at the end of the session (and recorded as a junit property).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from chatpeer import load_module

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))  # the English course
COURSE = [
    "00_tour",
    "01_sockets",
    "02_framing",
    "03_threads",
    "04_broadcast",
    "05_client",
    "06_robustness",
    "07_extensions",
]
REFERENCE = ROOT / "reference_solution"
LAB = ROOT / "lab"
course = load_module(NOTEBOOK_DIR / "course.py", "course")
CODE_LINE = 'CODE = "lab"'  # in course.SETUP_CELL: the line a student changes
KERNEL_NAME = "python3"
CELL_TIMEOUT = 120  # seconds for one cell; a whole notebook normally takes seconds



@dataclass(frozen=True)
class Language:
    """One language of the course: where its notebooks are, which skeleton they run."""

    name: str
    folder: Path  # its notebooks; their kernel runs there, and imports its course module
    lab: Path  # the skeleton that CODE = "lab" names in these notebooks
    title: str  # how a notebook's title starts: "# Step 04 · "
    not_yet: tuple[str, ...]  # what a demo prints when it cannot run yet


LANGUAGES = {
    "en": Language("en", NOTEBOOK_DIR, LAB, "Step", ("✋", "did not work yet")),
    "pt_BR": Language("pt_BR", NOTEBOOK_DIR / "pt_BR", ROOT / "lab_pt_BR", "Etapa",
                      ("✋", "ainda não funcionou")),
}
# Every notebook of every language: the English ones first, under their own names.
ALL_NOTEBOOKS = [path for language in LANGUAGES.values()
                 for path in sorted(language.folder.glob("*.ipynb"))]
# What the notebooks print when a demo cannot run yet ("finish TODO(step NN) first").
NOT_YET_MARKERS = LANGUAGES["en"].not_yet
# What the demos of steps 04-07 print when the code they run misbehaves.
DEMO_FAILURE_MARKERS = (
    "✗",
    "the chat froze",
    "left behind:",
    "bob missed",
    "remembers nothing yet",
)
# Helpers shared by several notebooks belong in notebooks/course.py, not in their cells.
MAX_SHARED_LINES = 15
# How the grader's report shows a failure: a ✗ mark, or "N failed" with N > 0.
FAILED_MARK = "✗"


def failed_count_pattern() -> re.Pattern[str]:
    """ "N failed" or "N skipped" with N > 0, in every language the grader speaks: the
    words its catalogues give ("3 reprovadas", "1 pulada" in pt_BR)."""
    sys.path.insert(0, str(ROOT))
    try:
        from grader import i18n
    finally:
        sys.path.remove(str(ROOT))
    forms = sorted({i18n.translations(lang).ngettext(message, message, n)
                    for lang in i18n.available_languages()
                    for message in ("{count} failed", "{count} skipped") for n in (1, 2)})
    words = "|".join(re.escape(before) + r"[1-9]\d*" + re.escape(after)
                     for before, after in (form.split("{count}") for form in forms))
    return re.compile(rf"\b(?:{words})\b")


FAILED_COUNT = failed_count_pattern()
CHECK_CALL = re.compile(r"^\s*check\(", re.MULTILINE)
ANSI_COLOR = re.compile(r"\x1b\[[0-9;]*m")

DURATIONS: dict[str, float] = {}


def language_of(path: Path) -> Language:
    return next(lang for lang in LANGUAGES.values() if path.parent == lang.folder)


def notebook_id(path: Path) -> str:
    language = language_of(path)
    return path.stem if language.name == "en" else f"{language.name}-{path.stem}"


def todo_steps(lab: Path = LAB) -> set[int]:
    """The steps that leave work to the student in lab/ (a ``TODO(step NN)`` marker)."""
    steps = set()
    for source in lab.glob("*.py"):
        steps |= {int(n) for n in re.findall(r"TODO\(step (\d+)\)", source.read_text("utf-8"))}
    return steps


def step_of(path: Path) -> int:
    return int(path.stem.split("_", 1)[0])


# -- running a notebook -------------------------------------------------------------------


@pytest.fixture(scope="session")
def kernel_env(tmp_path_factory):
    """A ``python3`` kernelspec that runs *this* interpreter, first on JUPYTER_PATH.

    Without it, ``python3`` could resolve to a kernelspec of another Python installed on the
    machine, which lacks the project's packages.
    """
    data_dir = tmp_path_factory.mktemp("jupyter")
    spec_dir = data_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (chatlab tests)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        old = os.environ.get("JUPYTER_PATH")
        mp.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, [str(data_dir), old])))
        mp.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiets a debugger warning
        yield


def execute(path: Path, label: str, code: str | Path = "lab", until: str | None = None):
    """Run the notebook at ``path`` in a fresh kernel, in its folder, with ``CODE = code`` in
    its setup cell (as a student would set it); the executed copy. With ``until``, only the
    cells up to the first code cell that contains that text run."""
    nb = nbformat.read(path, as_version=4)
    setup = [cell for cell in nb.cells if cell.source == course.SETUP_CELL]
    assert len(setup) == 1, f"{path.name} has no setup cell (course.SETUP_CELL)"
    setup[0].source = setup[0].source.replace(CODE_LINE, f"CODE = {str(code)!r}")
    if until is not None:
        last = next(i for i, cell in enumerate(nb.cells) if until in cell.source)
        nb.cells = nb.cells[: last + 1]
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(path.parent)}},  # as Jupyter runs it
    )
    start = time.monotonic()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        message = ANSI_COLOR.sub("", str(error))
        pytest.fail(f"{notebook_id(path)} ({label}) stopped with an error:\n{message}",
                    pytrace=False)
    finally:
        DURATIONS[f"{notebook_id(path)} ({label})"] = time.monotonic() - start
    return nb


def output_text(cell) -> str:
    """Everything a code cell showed, as text (streams, results, errors)."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(ANSI_COLOR.sub("", "\n".join(out.get("traceback", []))))
        else:
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def check_reports(nb) -> list[str]:
    """The text each check cell (a cell that calls ``check(...)``) rendered."""
    return [
        output_text(cell)
        for cell in nb.cells
        if cell.cell_type == "code" and CHECK_CALL.search(cell.source)
    ]


def is_green(report: str) -> bool:
    return FAILED_MARK not in report and not FAILED_COUNT.search(report)


# The grader's own words in an English report; none may be left in a Portuguese one.
# (Protocol literals such as `*** welcome ana` and the stubs' `step NN:` stay as they are.)
ENGLISH_REPORT_WORDS = ("What happened", "Expected:", "Actual:", "Hint:", "Transcript",
                        "Program output", " passed", " failed", " skipped", "Read notebooks",
                        "not written yet", "score ", "section '", "the server", "the client")


def english_words(path: Path, reports: list[str]) -> list[str]:
    """The English report words found in the check reports of a notebook in another
    language (none for the English course)."""
    if language_of(path).name == "en":
        return []
    return [word for report in reports for word in ENGLISH_REPORT_WORDS if word in report]


@pytest.mark.parametrize("lang", ["en", "pt_BR"])
def test_a_report_is_read_as_failed_in_every_language(lang, monkeypatch):
    """is_green reads the grader's own words: a failed or skipped check in either
    language is not green, an all-passed report is (a result made here, nothing run)."""
    sys.path.insert(0, str(ROOT))
    try:
        from grader import i18n
        from grader.model import CheckResult, Level, Status, SubmissionResult
        from grader.render.notebook import render_html
        from grader.render.text import render_text
    finally:
        sys.path.remove(str(ROOT))
    monkeypatch.setenv(i18n.ENV, lang)
    ok = CheckResult("server.starts", "the server starts", Level.CORE, 1, Status.PASSED, 1, 1)
    skipped = CheckResult("server.welcome", "welcome", Level.CORE, 4, Status.SKIPPED, 2,
                          reason="skipped: the server never accepted a connection")
    for render in (render_text, render_html):
        assert is_green(render(SubmissionResult("lab", [ok])))
        skipped_text = render(SubmissionResult("lab", [ok, skipped]))
        assert not is_green(skipped_text), skipped_text
    words = "2 puladas" if lang == "pt_BR" else "2 skipped"
    assert FAILED_COUNT.search(f"score 1/3 · {words}") and not FAILED_COUNT.search("0 failed")
    assert FAILED_COUNT.search("1 reprovada") and FAILED_COUNT.search("3 failed")


class DurationReport:
    """A small plugin: prints how long each notebook run took, after all the tests."""

    def pytest_terminal_summary(self, terminalreporter):
        if not DURATIONS:
            return
        terminalreporter.write_sep("-", "notebook execution times")
        for name, seconds in sorted(DURATIONS.items()):
            terminalreporter.write_line(f"{seconds:6.1f} s  {name}")
        total = sum(DURATIONS.values())
        terminalreporter.write_line(f"{total:6.1f} s  total notebook execution time")


@pytest.fixture(scope="module", autouse=True)
def report_durations(request):
    """Register the report once; test output is captured, the terminal summary is not."""
    manager = request.config.pluginmanager
    if manager.get_plugin("chatlab-notebook-durations") is None:
        manager.register(DurationReport(), "chatlab-notebook-durations")


# -- the tests ------------------------------------------------------------------------------


def test_the_course_is_complete():
    assert [p.stem for p in NOTEBOOKS] == COURSE
    for language in LANGUAGES.values():
        assert [p.stem for p in sorted(language.folder.glob("*.ipynb"))] == COURSE, language


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=notebook_id)
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        index
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} were saved with outputs or execution counts; "
        "clear them (Jupyter: Edit > Clear Outputs of All Cells) before committing"
    )


def test_kernel_runs_this_python(kernel_env):
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys; print(sys.executable)")]
    )
    nbclient.NotebookClient(nb, timeout=60, kernel_name=KERNEL_NAME).execute()
    shown = output_text(nb.cells[0]).strip()
    assert Path(shown).resolve() == Path(sys.executable).resolve()


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=notebook_id)
def test_starts_with_the_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    first_code = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert first_code.source == course.SETUP_CELL, (
        f"{path.name}: the first code cell must be course.SETUP_CELL, word for word"
    )
    assert CODE_LINE in course.SETUP_CELL


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=notebook_id)
def test_title_names_the_step(path):
    nb = nbformat.read(path, as_version=4)
    first_line = nb.cells[0].source.splitlines()[0]
    title = language_of(path).title
    assert first_line.startswith(f"# {title} {step_of(path):02d} · "), first_line


def code_passages(path: Path, length: int) -> list[tuple[str, ...]]:
    """Every run of ``length`` consecutive non-blank lines inside one code cell, in order."""
    nb = nbformat.read(path, as_version=4)
    passages: dict[tuple[str, ...], None] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines = [line.rstrip() for line in cell.source.splitlines() if line.strip()]
        starts = range(len(lines) - length + 1)
        passages.update(dict.fromkeys(tuple(lines[i : i + length]) for i in starts))
    return list(passages)


def test_no_two_notebooks_share_a_long_passage():
    """No code passage of more than MAX_SHARED_LINES lines appears in two notebooks."""
    first_seen: dict[tuple[str, ...], str] = {}
    shared: dict[tuple[str, str], str] = {}  # (notebook, notebook): a line of what they share
    for path in NOTEBOOKS:
        for passage in code_passages(path, MAX_SHARED_LINES + 1):
            if passage in first_seen:
                shared.setdefault((first_seen[passage], path.name), passage[0])
            else:
                first_seen[passage] = path.name
    assert not shared, (
        f"code passages of more than {MAX_SHARED_LINES} lines repeated across notebooks (move"
        " them into notebooks/course.py):\n"
        + "\n".join(f"{a} and {b}: {line}" for (a, b), line in sorted(shared.items()))
    )


@pytest.mark.parametrize("command", ["lab", "nbconvert"])
def test_jupyter_runs_in_this_environment(command):
    """`jupyter lab notebooks` (and nbconvert) work from the course environment itself."""
    jupyter = Path(sys.executable).parent / "jupyter"
    assert jupyter.exists(), f"{jupyter} is missing: install the course extra (make demo)"
    done = subprocess.run(
        [str(jupyter), command, "--version"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.fullmatch(r"\d+\.\d+\S*", done.stdout.strip()), done.stdout


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=notebook_id)
def test_runs_green_against_the_reference(path, kernel_env, record_property):
    nb = execute(path, "reference", code="reference_solution")
    record_property("seconds", round(DURATIONS[f"{notebook_id(path)} (reference)"], 2))
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        text = output_text(cell)
        markers = language_of(path).not_yet + (DEMO_FAILURE_MARKERS if step_of(path) >= 4
                                               else ())
        for marker in markers:
            assert marker not in text, f"{path.name} cell {index}: a demo failed:\n{text}"
        stderr = "".join(
            out.get("text", "")
            for out in cell.get("outputs", [])
            if out.get("output_type") == "stream" and out.get("name") == "stderr"
        )
        assert "Traceback" not in stderr, f"{path.name} cell {index} printed:\n{stderr}"
    reports = check_reports(nb)
    if step_of(path) >= 4:
        assert reports, f"{path.name} has no check cell"
    for report in reports:
        assert report.strip(), f"{path.name}: a check cell showed nothing"
        assert is_green(report), f"{path.name}: the reference fails a check:\n{report}"
    assert not english_words(path, reports), "\n".join(reports)


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=notebook_id)
def test_runs_to_the_end_against_the_skeleton(path, kernel_env, record_property):
    nb = execute(path, "skeleton")
    record_property("seconds", round(DURATIONS[f"{notebook_id(path)} (skeleton)"], 2))
    setup = next(cell for cell in nb.cells if cell.cell_type == "code")
    skeleton = language_of(path).lab
    # The setup cell shows the folder CODE = "lab" names: this language's skeleton.
    assert output_text(setup).strip().endswith(str(skeleton.resolve())), output_text(setup)
    reports = check_reports(nb)
    if step_of(path) in todo_steps(skeleton):
        assert reports, f"{path.name} has no check cell"
        for report in reports:
            assert not is_green(report), (
                f"{path.name}: against the untouched skeleton a check cell reports no "
                f"failure:\n{report}"
            )
    assert not english_words(path, reports), "\n".join(reports)


@pytest.fixture(scope="module")
def before_step_06(tmp_path_factory) -> Path:
    """The code of a student who has finished steps 01-05 and nothing else."""
    make_lab = load_module(ROOT / "scripts" / "make_lab.py", "make_lab_for_notebooks")
    folder = tmp_path_factory.mktemp("through_step_05")
    for name, text in make_lab.generated_files(solved=range(1, 6)).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_leak_demo_agrees_with_the_grader(kernel_env, before_step_06):
    """Before step 06, notebook 06's leak demo reports what it measured, and its one-at-a-time
    part (the scenario of the grader's server.no_leak) has the grader's verdict."""
    sys.path.insert(0, str(ROOT))
    try:
        from grader.api import grade
    finally:
        sys.path.remove(str(ROOT))
    nb = execute(
        NOTEBOOK_DIR / "06_robustness.ipynb", "up to the leak demo, through step 05",
        code=before_step_06, until="ONE_BY_ONE",
    )
    text = output_text(nb.cells[-1])
    [one_by_one] = [line for line in text.splitlines() if "one at a time" in line]
    checks = grade(before_step_06, only="server.no_leak").checks
    no_leak = next(check for check in checks if check.id == "server.no_leak")
    assert ("nothing stayed behind" in one_by_one) == no_leak.passed, (
        f"server.no_leak {no_leak.status}, the demo said:\n{text}"
    )
    assert "stuck" not in text, text


def test_grader_hints_name_existing_sections():
    """A failed check says "read notebooks/NN_x.ipynb, section 'S'": S must be a heading there."""
    sys.path.insert(0, str(ROOT))
    try:
        from grader.checks import all_checks
    finally:
        sys.path.remove(str(ROOT))
    pointer = re.compile(r"notebooks/(\S+?\.ipynb), section '([^']+)'")
    pointers = {found for spec in all_checks() for found in pointer.findall(spec.hint)}
    if not pointers:
        pytest.skip("the grader's hints name no notebook sections")
    missing = []
    for name, section in sorted(pointers):
        nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
        headings = [
            line.lstrip("#").strip()
            for cell in nb.cells
            if cell.cell_type == "markdown"
            for line in cell.source.splitlines()
            if line.startswith("#")
        ]
        if not any(section in heading for heading in headings):
            missing.append(f"{name}: section '{section}'")
    assert not missing, "hints point to sections that do not exist:\n" + "\n".join(missing)
