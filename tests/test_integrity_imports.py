"""What the grader imports: nothing from the folder it is started in, and nothing at
all once a submission's programs run (so a module changed on disk meanwhile never runs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_integrity_fixtures import (
    FORGED,
    ROOT,
    TIMEOUT,
    environment,
    honest,
    hostile,
    playground,
    run_grader,
)

from grader.batch.integrity import grader_modules

SHADOWS = ("enum", "argparse", "re", "dataclasses", "pathlib", "typing", "shlex", "tempfile")
MARK = textwrap.dedent("""\
    import sys
    from pathlib import Path
    open(Path(__file__).with_name("shadow-was-imported.txt"), "a").write(__name__ + "\\n")
    """)


def _submission_with_shadows(base: Path) -> Path:
    sub = hostile("forge_json_module", base / "sub")
    for name in SHADOWS:  # more standard modules the grader imports, shadowed
        (sub / f"{name}.py").write_text(MARK)
    return sub


@pytest.mark.parametrize("entry", ["python -m grader", "chatlab-grader"])
def test_modules_in_the_starting_folder_are_never_imported(tmp_path: Path, entry: str) -> None:
    """The grader started from inside a submission that holds json.py (and more)."""
    base = playground(tmp_path)
    sub = _submission_with_shadows(base)
    report = base / "report.json"
    args = ["check", ".", "--only", "server.starts", "--format", "json", "--output",
            str(report)]
    if entry == "chatlab-grader":
        script = Path(sys.executable).with_name("chatlab-grader")
        done = subprocess.run([str(script), *args], cwd=sub, env=environment(),
                              capture_output=True, text=True, timeout=TIMEOUT)
    else:
        done = run_grader(*args, cwd=sub)
    assert done.returncode == 1, done.stderr[-2000:]
    assert not (sub / "json-was-imported.txt").exists()
    assert not (sub / "shadow-was-imported.txt").exists()
    text = report.read_text()
    assert FORGED not in text and json.loads(text)["score"] == 0


def test_the_preloaded_modules_are_every_module_of_the_grader() -> None:
    found = set()
    for path in (ROOT / "grader").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.add(".".join(parts))
    assert set(grader_modules()) == found - {"grader", "grader.__main__"}


AUDIT = textwrap.dedent("""\
    import os, sys
    log = sys.argv.pop(1)
    started = []

    def hook(event, args):
        if event in ("subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn",
                     "os.exec"):
            started.append(event)
        elif event == "import" and started:
            with open(log, "a") as f:
                f.write(f"{os.getpid()} {args[0]}\\n")

    sys.addaudithook(hook)
    sys.path.insert(0, sys.argv.pop(1))
    entry = sys.argv.pop(1)
    if entry == "cli":
        from grader.cli import main
    else:
        from grader.batch.autograder import main
    sys.exit(main(sys.argv[1:]))
    """)


def _audited(base: Path, entry: str, *args: str) -> list[str]:
    """Run ``entry`` (cli or autograder) under an audit hook: the modules imported
    after the first program (or process) was started."""
    log = base / "late-imports.txt"
    done = subprocess.run([sys.executable, "-I", "-c", AUDIT, str(log), str(ROOT), entry,
                           *args], cwd=base, env=environment(), capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize("fmt", ["json", "gradescope", "text", "html", "classroom",
                                 "prairielearn"])
def test_check_imports_nothing_once_the_submission_runs(tmp_path: Path, fmt: str) -> None:
    sub = honest(tmp_path / "sub")
    late = _audited(tmp_path, "cli", "check", str(sub), "--only", "server.starts,"
                    "unit.line_buffer,client.connects", "--format", fmt, "--output",
                    str(tmp_path / f"report.{fmt}"))
    assert late == []


def test_batch_imports_nothing_once_the_submissions_run(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    honest(subs / "alice")
    hostile("forge_report_file", subs / "bob")
    late = _audited(tmp_path, "cli", "batch", str(subs), "--out", str(tmp_path / "out"),
                    "--only", "server.starts,unit.line_buffer", "--jobs", "2")
    assert late == []
    assert (tmp_path / "out" / "report.html").is_file()


def test_the_autograder_imports_nothing_once_the_submission_runs(tmp_path: Path) -> None:
    root = tmp_path / "autograder"
    honest(root / "submission")
    (root / "source" / "config").mkdir(parents=True)
    (root / "source" / "config" / "settings.json").write_text('{"only": "server.starts"}')
    late = _audited(tmp_path, "autograder", "--root", str(root))
    assert late == []
    assert json.loads((root / "results" / "results.json").read_text())["score"] == 1


def test_the_entry_point_runs_isolated_from_a_folder_of_its_own(tmp_path: Path) -> None:
    """What a submission sees of the grader: python -I, a private working folder."""
    base = playground(tmp_path)
    sub = base / "sub"
    sub.mkdir()
    (sub / "server.py").write_text(textwrap.dedent("""\
        import os
        from pathlib import Path
        me = Path(__file__).resolve().parent
        parent = os.getppid()
        words = Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\\0")
        cwd = os.readlink(f"/proc/{parent}/cwd")
        (me / "seen.txt").write_text(f"{b'-I' in words}\\n{cwd}\\n")
        raise SystemExit(1)
        """))
    (sub / "client.py").write_text("raise SystemExit(0)\n")
    run_grader("check", ".", "--only", "server.starts", cwd=sub)
    isolated, cwd = (sub / "seen.txt").read_text().splitlines()
    assert isolated == "True"
    assert Path(cwd).name.startswith("chatlab-grader-") and cwd != str(sub)
    assert not Path(cwd).exists()  # removed when the grader ended
    assert os.getcwd() != cwd
