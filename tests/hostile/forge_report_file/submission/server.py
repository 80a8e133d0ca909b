"""A hostile server: writes a perfect report where the grader will write its own,
then crashes (its honest grade: server.starts fails).

`check --output F`: F is found in the grader's command line. Gradescope: results.json
under the autograder root, found in the command line (--root) or the environment
(AUTOGRADER_ROOT). The grader must replace the file with its own report and say so.
Run only by tests/test_integrity_*.py (forgelib.py acts only inside their tmp folders).
"""

import os
from pathlib import Path

import forgelib

found = forgelib.option("--output")
if found:
    forgelib.write(found[1], forgelib.forged_check_json())
root = forgelib.option("--root")
root = root[1] if root else os.environ.get("AUTOGRADER_ROOT")
if root:
    (Path(root) / "results").mkdir(exist_ok=True)
    forgelib.write(Path(root) / "results" / "results.json", forgelib.forged_gradescope_json())
raise SystemExit("server: the report is written, the grader may stop now")
