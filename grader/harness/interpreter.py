"""The Python that runs the submission: the standard library and nothing else.

Students write the chat with the standard library only, and their programs must run on
any Python. So the grader does not run them with its own interpreter, whose environment
holds the grader's packages (and, in a development install, import hooks that every
process start would pay for: ~25 ms, ~45 times per grading). It runs them with a
virtual environment made once from the same base interpreter, without packages and
without pip: a submission behaves as it does on a fresh machine, and each start costs
what a bare Python costs.

The environment lives in the user's cache folder (``$CHATLAB_CACHE``, else
``$XDG_CACHE_HOME/chatlab``, else ``~/.cache/chatlab``), one per base interpreter, made
atomically so parallel graders can race to make it. Where it cannot be made, the
grader's own interpreter is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import venv
from pathlib import Path

_lock = threading.Lock()
_cached: dict[str, str] = {}


def cache_folder() -> Path:
    """Where chatlab keeps what it makes once per machine."""
    explicit = os.environ.get("CHATLAB_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "chatlab"


def _interpreter(env_dir: Path) -> Path:
    if os.name == "nt":
        return env_dir / "Scripts" / "python.exe"
    return env_dir / "bin" / "python"


def _works(python: Path) -> bool:
    try:
        done = subprocess.run([str(python), "-c", "import socket, threading"],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def clean_python(base: str | None = None) -> str:
    """The interpreter to run submissions with: a package-free environment of ``base``
    (default: the interpreter beneath the grader's own environment), made on first use;
    the grader's own interpreter if that fails."""
    base = base or getattr(sys, "_base_executable", None) or sys.executable
    with _lock:
        if base in _cached:
            return _cached[base]
        _cached[base] = _make(base)
        return _cached[base]


def _make(base: str) -> str:
    version = ".".join(map(str, sys.version_info[:3]))
    tag = hashlib.sha256(os.path.realpath(base).encode()).hexdigest()[:10]
    target = cache_folder() / f"python-{version}-{tag}"
    python = _interpreter(target)
    if python.exists():
        return str(python)
    if target.exists():  # made from an interpreter that is gone: make it again
        shutil.rmtree(target, ignore_errors=True)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".making-", dir=target.parent))
    except OSError:
        return sys.executable
    try:
        # The base's own site-packages stay out (include-system-site-packages = false).
        builder = venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt", clear=True)
        builder.create(scratch)
        made = _interpreter(scratch)
        if not _works(made):
            return sys.executable
        _fix_paths(scratch, target)
        try:
            scratch.rename(target)  # atomic; another grader may have won the race
        except OSError:
            pass
    except Exception:  # noqa: BLE001 - any failure: run submissions with our interpreter
        return sys.executable
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(scratch)
    # Ours or the one another grader renamed there first: either was tried before.
    return str(python) if python.exists() else sys.executable


def _fix_paths(scratch: Path, target: Path) -> None:
    """Point the environment's own records at where it will live (only pyvenv.cfg's
    ``command`` line and the activate scripts name it; the interpreter does not care)."""
    for path in [scratch / "pyvenv.cfg", *scratch.glob("bin/activate*")]:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            path.write_text(path.read_text().replace(str(scratch), str(target)))
