"""A hostile server: plants a .pth file in the site-packages of the Python it runs on
(the grader's package-free environment, shared by every grading on the machine). Each
later Python program started on it notes where it ran in a log next to the batch's
results folder (found in the batch's command line). With a file `wait` next to it
(seconds, at most 10) it plants the file again and again for that long, so that
classmates graded at the same time start programs on it; then it crashes.

The grader must remove the file before any later grading uses the environment.
Run only by tests/test_integrity_batch.py (forgelib.py acts only inside its tmp folders).
"""

import site
from pathlib import Path

import forgelib

found = forgelib.option("--out")
if found:
    log = Path(found[1]).parent / "pth-ran.log"
    line = (f"import os; open({str(log)!r}, 'a').write(os.getcwd() + ' '"
            " + open('/proc/self/cmdline').read().replace(chr(0), ' ')[:200] + chr(10))\n")
    wait = Path(__file__).with_name("wait")
    seconds = min(10.0, float(wait.read_text())) if wait.is_file() else 0.0
    for _ in forgelib.until(seconds or 1.0):  # planted again if removed meanwhile
        for folder in site.getsitepackages():
            forgelib.write(Path(folder) / "zz_forge.pth", line)
        if not seconds:
            break
raise SystemExit("server: the .pth file is planted")
