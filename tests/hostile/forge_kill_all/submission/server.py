"""A hostile server: writes a perfect Gradescope results.json, then kills the grader and
run_autograder, the shell around it, so nobody is left to replace the file.

Only the operating system's isolation (a PID namespace) stops it.
Run only by tests/test_integrity_*.py (forgelib.py acts only inside their tmp folders).
"""

from pathlib import Path

import forgelib

root = forgelib.option("--root")
if root:
    (Path(root[1]) / "results").mkdir(exist_ok=True)
    forgelib.write(Path(root[1]) / "results" / "results.json", forgelib.forged_gradescope_json())
for pid in forgelib.ancestors():
    words = forgelib.cmdline(pid)
    if any(word.endswith(("run_autograder", "run_autograder.py")) for word in words):
        forgelib.kill(pid)
raise SystemExit("server: nobody is left to write results.json")
