"""A hostile server in a batch: finds the results folder in the command line of the
batch (--out, visible to every process it starts), then leaves a daemon (setsid, double
fork, a clean environment) that keeps overwriting the classmates' stored results and
grades.csv, for 20 s at most; once the daemon has done one round (it writes its pid
next to the results folder) the server crashes (its honest grade: server.starts fails).

The batch must keep every honest grade and stop the daemon.
Run only by tests/test_integrity_batch.py (forgelib.py acts only inside its tmp folders).
"""

import os
import sys
from pathlib import Path

import forgelib

DAEMON = r'''
import json, os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import forgelib

out, me = Path(sys.argv[2]), sys.argv[3]
for turn, _ in enumerate(forgelib.until(20)):
    for path in sorted((out / "results").glob("*.json")):
        student = path.stem
        score = forgelib.SCORE if student == me else 0.0
        forgelib.write(path, json.dumps({
            "format": "chatlab-result/1", "digest": "0" * 64, "student": student,
            "settings": {}, "result": {"submission": student, "checks": [], "notes":
            [forgelib.FORGED], "score": score}}))
    if (out / "grades.csv").exists():
        forgelib.write(out / "grades.csv", f"student,score,max\n{me},999,999\n")
    if turn == 0:  # one round done: tell the server it may go
        forgelib.write(out.parent / "daemon.pid", str(os.getpid()))
'''

found = forgelib.option("--out")
me = next((part.split("-")[1] for part in Path.cwd().parts if part.startswith("chatlab-")),
          "mallory")
if found and forgelib.allowed(found[1]):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            here = str(Path(__file__).resolve().parent)
            os.execve(sys.executable, [sys.executable, "-c", DAEMON, here, found[1], me], {})
        os._exit(0)
    os.wait()
    for _ in forgelib.until(10):  # until the daemon has done one round
        if (Path(found[1]).parent / "daemon.pid").is_file():
            break
raise SystemExit("server: the daemon is out")
