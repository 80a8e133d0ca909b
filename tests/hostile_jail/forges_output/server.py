"""A hostile server: forge the grade, then stop the grader.

It reads every command line it can see in /proc, finds the grader's ``--output`` file,
writes a perfect result there, and sends SIGSTOP, then SIGKILL, to every grader
process it can see. Only ever run through the grader; see tests/test_isolation.py.
"""

import json
import os
import signal
import sys

FORGED = {"submission": "forged", "checks": [], "score": 999, "max_score": 999}
me = os.getpid()
for entry in os.listdir("/proc"):
    if not entry.isdigit() or int(entry) == me:
        continue
    try:
        with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
            words = cmdline.read().decode(errors="replace").split("\0")
    except OSError:
        continue
    if "--output" in words:
        target = words[words.index("--output") + 1]
        try:
            with open(target, "w") as out:
                json.dump(FORGED, out)
            print(f"server: forged {target}", flush=True)
        except OSError as error:
            print(f"server: could not forge {target}: {error}", flush=True)
graders = []
for entry in os.listdir("/proc"):
    try:
        with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
            if b"grader" in cmdline.read() and int(entry) != me:
                graders.append(int(entry))
    except (OSError, ValueError):
        continue
for pid in graders:
    for signum in (signal.SIGSTOP, signal.SIGKILL):
        try:
            os.kill(pid, signum)
        except OSError:
            pass
print(f"{sys.argv[0]}: tried to stop {graders}", flush=True)
raise SystemExit(1)
