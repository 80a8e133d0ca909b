"""The grader's verdicts must not depend on machine speed: the whole suite, many times
in a row on the reference solution with another core busy, must never fail. Slow (a few
minutes): run with `pytest -m slow tests/test_grader_stress.py`."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "grader_stress.py"


@pytest.mark.slow
def test_reference_never_fails_under_load() -> None:
    spec = importlib.util.spec_from_file_location("grader_stress", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.stress(runs=50, submission=SCRIPT.parent.parent / "reference_solution") == 0
