"""The GitHub Classroom workflow template: well-formed, and it runs the grader.

No YAML library is a dependency, so a small parser for the block subset the template
uses (mappings, sequences, plain and quoted scalars, comments) reads it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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
    """Parse block-style YAML (no flow collections, anchors or multi-line scalars)."""
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
            if value:
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
    doc = parse_yaml("a: 1\nb:\n  - x\n  - k: 'v'\n    n: 2\nc:\n  d: \"e: f\"  # note\n")
    assert doc == {"a": 1, "b": ["x", {"k": "v", "n": 2}], "c": {"d": "e: f"}}


def test_workflow_shape() -> None:
    wf = parse_yaml(TEMPLATE.read_text(encoding="utf-8"))
    assert wf["name"] and "push" in wf["on"]
    job = wf["jobs"]["run-autograding-tests"]
    assert job["runs-on"] == "ubuntu-latest"
    steps = job["steps"]
    assert all("uses" in s or "run" in s for s in steps)
    assert all(re.search(r"@v\d+$", s["uses"]) for s in steps if "uses" in s)


def test_workflow_installs_and_runs_the_grader() -> None:
    steps = parse_yaml(TEMPLATE.read_text(encoding="utf-8"))["jobs"]["run-autograding-tests"][
        "steps"
    ]
    runs = [s.get("run", "") for s in steps]
    assert any("pip install" in r and "chatlab" in r for r in runs)
    assert any(r.startswith("python -m grader check . --format json") for r in runs)
    graders = [s for s in steps if "autograding-command-grader" in s.get("uses", "")]
    assert graders and all(
        s["with"]["command"].startswith("python -m grader check .") for s in graders
    )
    # the reporter reads each graded step's result through <ID>_RESULTS
    reporter = next(s for s in steps if "grading-reporter" in s.get("uses", ""))
    ids = [s["id"] for s in graders]
    assert reporter["with"]["runners"] == ",".join(ids)
    for step_id in ids:
        assert reporter["env"][f"{step_id.upper()}_RESULTS"] == (
            f"${{{{ steps.{step_id}.outputs.result }}}}"
        )
    assert sum(s["with"]["max-score"] for s in graders) == 100
