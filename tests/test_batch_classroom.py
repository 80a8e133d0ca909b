"""The GitHub Classroom workflow template: well-formed, and it runs the grader once,
its result handed to the reporter one test per check.

No YAML library is a dependency, so a small parser for the block subset the template
uses (mappings, sequences, plain and quoted scalars, ``|`` blocks, comments) reads it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from grader.render.classroom import classroom_not_graded

TEMPLATE = Path(__file__).resolve().parent.parent / "grader" / "templates" / "classroom.yml"


def _scalar(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def _split_key(line: str) -> tuple[str, str]:
    match = re.match(r"""^("[^"]*"|'[^']*'|[^:#'"]+):(?:\s+(.*))?$""", line)
    assert match, f"not a 'key: value' line: {line!r}"
    return _scalar(match.group(1)), (match.group(2) or "")


def parse_yaml(text: str) -> Any:
    """Parse block-style YAML (no flow collections or anchors; of the multi-line
    scalars only ``|``, whose blank lines are dropped)."""
    lines: list[tuple[int, str]] = []
    for raw in text.splitlines():
        assert "\t" not in raw, "tabs are not allowed in YAML indentation"
        stripped = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if stripped.strip():
            lines.append((len(stripped) - len(stripped.lstrip()), stripped.strip()))
    pos = 0

    def block(indent: int) -> Any:
        nonlocal pos
        if lines[pos][1].startswith("- "):
            items = []
            while pos < len(lines) and lines[pos][0] == indent and lines[pos][1].startswith("- "):
                content = lines[pos][1][2:]
                if re.match(r"""^("[^"]*"|'[^']*'|[\w.-]+):(\s|$)""", content):
                    # "- key: value" opens a mapping indented past the dash
                    lines[pos] = (indent + 2, content)
                    items.append(block(indent + 2))
                else:
                    items.append(_scalar(content))
                    pos += 1
            return items
        mapping: dict[str, Any] = {}
        while pos < len(lines) and lines[pos][0] == indent and not lines[pos][1].startswith("- "):
            key, value = _split_key(lines[pos][1])
            assert key not in mapping, f"duplicate key {key!r}"
            pos += 1
            if value == "|":
                base = lines[pos][0] if pos < len(lines) else 0
                block_lines = []
                while pos < len(lines) and lines[pos][0] > indent:
                    block_lines.append(" " * (lines[pos][0] - base) + lines[pos][1])
                    pos += 1
                mapping[key] = "\n".join(block_lines) + "\n"
            elif value:
                mapping[key] = _scalar(value)
            elif pos < len(lines) and lines[pos][0] > indent:
                mapping[key] = block(lines[pos][0])
            elif pos < len(lines) and lines[pos][0] == indent and lines[pos][1].startswith("- "):
                mapping[key] = block(indent)
            else:
                mapping[key] = None
        return mapping

    doc = block(0)
    assert pos == len(lines), f"unparsed from line: {lines[pos]}"
    return doc


def test_parser_on_a_sample() -> None:
    doc = parse_yaml("a: 1\nb:\n  - x\n  - k: 'v'\n    n: 2\nc:\n  d: \"e: f\"  # note\n"
                     "s: |\n  if x; then\n    y: z\n  fi\nt: 3\n")
    assert doc == {"a": 1, "b": ["x", {"k": "v", "n": 2}], "c": {"d": "e: f"},
                   "s": "if x; then\n  y: z\nfi\n", "t": 3}


def test_workflow_shape() -> None:
    wf = parse_yaml(TEMPLATE.read_text(encoding="utf-8"))
    assert wf["name"] and "push" in wf["on"]
    job = wf["jobs"]["run-autograding-tests"]
    assert job["runs-on"] == "ubuntu-latest"
    steps = job["steps"]
    assert all("uses" in s or "run" in s for s in steps)
    assert all(re.search(r"@v\d+$", s["uses"]) for s in steps if "uses" in s)


def _steps() -> list[dict[str, Any]]:
    return parse_yaml(TEMPLATE.read_text(encoding="utf-8"))["jobs"]["run-autograding-tests"][
        "steps"]


def test_workflow_installs_and_runs_the_grader_once_for_the_grade() -> None:
    steps = _steps()
    runs = [s.get("run", "") for s in steps]
    assert any("pip install" in r and "chatlab" in r for r in runs)
    assert any(r.startswith("python -m grader check . --format json") for r in runs)
    assert not [s for s in steps if "autograding-command-grader" in s.get("uses", "")]
    grading = [s for s in steps if "--format classroom" in s.get("run", "")]
    assert [s["id"] for s in grading] == ["chatlab"]
    assert "python -m grader check . --format classroom --output chatlab-classroom.json" in (
        grading[0]["run"])


def test_the_reporter_reads_the_grading_step() -> None:
    reporter = next(s for s in _steps() if "grading-reporter" in s.get("uses", ""))
    runners = reporter["with"]["runners"]
    # src/main.js: each runner's <ID>_RESULTS; ids as its error message expects them
    assert re.fullmatch(r"([a-zA-Z0-9]+,)*[a-zA-Z0-9]+", runners)
    assert reporter["env"] == {
        f"{r.upper()}_RESULTS": f"${{{{ steps.{r}.outputs.result }}}}"
        for r in runners.split(",")}


def _run_grading_step(tmp_path: Path, stub: str) -> tuple[dict[str, Any], str]:
    """Run the grading step's script with ``python`` replaced by ``stub`` (a bash
    body); the decoded result it gave the reporter, and its log."""
    if shutil.which("bash") is None or shutil.which("base64") is None:
        pytest.skip("needs bash and base64")
    script = next(s for s in _steps() if s.get("id") == "chatlab")["run"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text(f"#!/usr/bin/env bash\n{stub}\n")
    (bin_dir / "python").chmod(0o755)
    work = tmp_path / "repo"
    work.mkdir()
    output = tmp_path / "github_output"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "GITHUB_OUTPUT": str(output)}
    run = subprocess.run(["bash", "-e", "-c", script], cwd=work, env=env,
                         capture_output=True, text=True, timeout=30, check=False)
    assert run.returncode == 0, run.stderr
    (line,) = output.read_text().splitlines()
    name, _, value = line.partition("=")
    assert name == "result"
    return json.loads(base64.b64decode(value).decode("utf-8")), run.stdout


WROTE = {"version": 1, "status": "fail", "max_score": 4,
         "tests": [{"name": "server.broadcast: …", "status": "fail", "score": 0,
                    "message": "é", "test_code": "", "filename": "", "line_no": 0}]}


def test_the_grading_step_hands_on_what_the_grader_wrote(tmp_path: Path) -> None:
    # the grader exits 1 when a check failed: the result is still the grade
    stub = ('for a in "$@"; do [ "$prev" = --output ] && out="$a"; prev="$a"; done\n'
            f"printf '%s' '{json.dumps(WROTE, ensure_ascii=False)}' > \"$out\"\nexit 1")
    result, log = _run_grading_step(tmp_path, stub)
    assert result == WROTE and "::error::" not in log


@pytest.mark.parametrize("stub", [
    "exit 2",  # a bad rubric, a missing folder
    "kill -9 $$",  # killed
    'for a in "$@"; do [ "$prev" = --output ] && : > "$a"; prev="$a"; done; exit 0',  # empty
])
def test_the_grading_step_records_no_points_when_the_grader_breaks(
        tmp_path: Path, stub: str) -> None:
    result, log = _run_grading_step(tmp_path, stub)
    assert result == classroom_not_graded()  # max_score 0: the reporter posts no points
    assert "::error::the grader stopped" in log
