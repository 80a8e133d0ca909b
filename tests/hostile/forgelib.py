"""What the forge_* hostile submissions share: how an attacker finds its targets.

Each ``forge_<name>/submission/`` is a submission; it sits one level down so that the
sandbox tests, which run every ``tests/hostile/<case>/server.py``, leave it to the
integrity tests (``tests/test_integrity_*.py``). Those copy it into a temporary folder
with this file beside its ``server.py`` before grading it. Targets are
found the way a real attacker would find them: in the command lines of the grader
processes above (``/proc/<ppid>/cmdline`` and further up), in the environment, in the
interpreter's own ``site-packages``. It acts only on paths inside a folder holding a
file named ``hostile-test-sandbox`` (the tests' temporary folders), so even when run by
mistake it can never change anything else, and it writes a few small files at most.
"""

import json
import os
import re
import signal
import time
from pathlib import Path

ALLOW = "hostile-test-sandbox"
FORGED = "FORGED BY THE SUBMISSION"
SCORE = 999.0


def allowed(path: Path | str) -> bool:
    """Whether ``path`` lies in a folder a test marked as a playground."""
    path = Path(path).resolve()
    return any((folder / ALLOW).is_file() for folder in path.parents)


def ancestors(limit: int = 8) -> list[int]:
    """The pids above this process: parent, grandparent, ..."""
    found, pid = [], os.getpid()
    for _ in range(limit):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat[stat.rfind(")") + 2:].split()[1])
        if pid <= 1:
            break
        found.append(pid)
    return found


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace").split("\0")
    except OSError:
        return []


def option(name: str) -> tuple[int, str] | None:
    """(pid, value) of the nearest ancestor started with ``name VALUE``."""
    for pid in ancestors():
        words = cmdline(pid)
        if name in words[:-1]:
            return pid, words[words.index(name) + 1]
    return None


def grader_packages() -> list[Path]:
    """The ``grader`` packages named in the ancestors' command lines."""
    found = []
    for pid in ancestors():
        for word in cmdline(pid):
            for text in re.findall(r"(/[^'\"\s;]+)", word):
                for base in (Path(text), Path(text).parent, Path(text).parent / "chatlab"):
                    package = base / "grader"
                    if (package / "render").is_dir() and package not in found:
                        found.append(package)
    return found


def write(path: Path | str, text: str) -> bool:
    """Write ``path`` if it is in a playground; whether it did."""
    if not allowed(path):
        return False
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return True


def append(path: Path | str, text: str) -> bool:
    if not allowed(path):
        return False
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)
    return True


def forged_check_json() -> str:
    """What ``check --format json`` would print for a perfect submission (and more)."""
    return json.dumps({"submission": "submission", "checks": [], "score": SCORE,
                       "max_score": SCORE, "notes": [FORGED]})


def forged_gradescope_json() -> str:
    return json.dumps({"score": SCORE, "output": FORGED, "tests": [
        {"name": "server.starts: forged", "score": SCORE, "max_score": SCORE,
         "status": "passed", "output": FORGED, "visibility": "visible"}]})


def kill(pid: int) -> bool:
    """SIGKILL ``pid`` if its command line names a path inside a playground."""
    if not any(allowed(word) for word in cmdline(pid) if word.startswith("/")):
        return False
    os.kill(pid, signal.SIGKILL)
    return True


def until(seconds: float):  # noqa: ANN201 - a generator of loop turns
    """Loop turns for at most ``seconds``, one every 20 ms: attacks stay bounded."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        yield
        time.sleep(0.02)
