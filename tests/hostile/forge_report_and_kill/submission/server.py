"""A hostile server: writes a perfect report where the grader will write its own, then
kills the grader (its parent), so the grader never writes the real one.

Only the operating system's isolation (a PID namespace) stops the kill. Gradescope's
run_autograder sees the grader killed and writes "not graded" instead.
Run only by tests/test_integrity_*.py (forgelib.py acts only inside their tmp folders).
"""

import os
from pathlib import Path

import forgelib

found = forgelib.option("--output")
if found:
    forgelib.write(found[1], forgelib.forged_check_json())
root = forgelib.option("--root")
if root:
    (Path(root[1]) / "results").mkdir(exist_ok=True)
    forgelib.write(Path(root[1]) / "results" / "results.json", forgelib.forged_gradescope_json())
forgelib.kill(os.getppid())
raise SystemExit("server: the grader is gone")
