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

A submission runs as the grader's user and could plant a file there (a ``.pth`` file or
a ``sitecustomize`` module in its site-packages) that every later program would run,
in later gradings too. So :func:`clean_python` inspects the environment every time it
hands it out, which is before every grading (:func:`inspect`: a few ``lstat`` calls):
files a fresh environment does not hold are removed, and an environment whose
interpreter links, ``pyvenv.cfg``, owner or permissions are not as made is replaced by
a new one (built aside, then renamed into place). :func:`findings` says what was found.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import venv
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: graders on one machine do not take turns
    fcntl = None  # type: ignore[assignment]

_lock = threading.Lock()
_cached: dict[str, str] = {}
_found: list[str] = []  # what inspections found (and undid), for findings()
EXTRA = "extra: "  # the start of a finding that removing the file undoes
ACTIVATE = {"activate", "activate.csh", "activate.fish", "Activate.ps1", "activate.bat",
            "deactivate.bat", "activate.nu", "activate_this.py"}
CONFIG_KEYS = {"home", "include-system-site-packages", "version", "executable", "command",
               "prompt"}


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
    (default: the interpreter beneath the grader's own environment), made on first use
    and inspected, made clean again if need be, on every call; the grader's own
    interpreter if that fails."""
    base = base or getattr(sys, "_base_executable", None) or sys.executable
    with _lock:
        if _cached.get(base) == sys.executable:  # could not be made: do not try each time
            return sys.executable
        _cached[base] = _make(base)
        return _cached[base]


def findings() -> list[str]:
    """What inspections found wrong in the environment (and undid) since the last call."""
    with _lock:
        found, _found[:] = list(_found), []
    return found


def environment(base: str | None = None) -> Path:
    """The folder of the environment of ``base`` (made or not)."""
    base = base or getattr(sys, "_base_executable", None) or sys.executable
    version = ".".join(map(str, sys.version_info[:3]))
    tag = hashlib.sha256(os.path.realpath(base).encode()).hexdigest()[:10]
    return cache_folder() / f"python-{version}-{tag}"


def _make(base: str) -> str:
    target = environment(base)
    python = _interpreter(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return sys.executable
    with _taking_turns(target):
        if python.exists():
            problems = inspect(target, base)
            if not problems:
                return str(python)
            _found.extend(problems)
            if _remove_extras(target, base, problems):
                return str(python)
        # Missing, made from an interpreter that is gone, or not as made: a new one.
        fresh = _build(target)
        if fresh is None:
            return str(python) if python.exists() else sys.executable
        _swap(fresh, target)
    return str(python) if python.exists() else sys.executable


def _build(target: Path) -> Path | None:
    """A new environment in a scratch folder beside ``target``; None if it fails."""
    try:
        scratch = Path(tempfile.mkdtemp(prefix=".making-", dir=target.parent))
    except OSError:
        return None
    try:
        # The base's own site-packages stay out (include-system-site-packages = false).
        builder = venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt", clear=True)
        builder.create(scratch)
        if _works(_interpreter(scratch)):
            _fix_paths(scratch, target)
            return scratch
    except Exception:  # noqa: BLE001 - any failure: run submissions with our interpreter
        pass
    shutil.rmtree(scratch, ignore_errors=True)
    return None


def _swap(fresh: Path, target: Path) -> None:
    """Put ``fresh`` where ``target`` is, with two renames in a row, so a program started
    meanwhile finds one or the other; the old one is removed afterwards."""
    stale = None
    if target.exists() or target.is_symlink():
        stale = target.with_name(f".stale-{target.name}-{os.getpid()}")
        try:
            os.replace(target, stale)
        except OSError:
            shutil.rmtree(target, ignore_errors=True)
            stale = None
    try:
        fresh.rename(target)
    except OSError:  # another grader (not taking turns: no fcntl) won the race
        shutil.rmtree(fresh, ignore_errors=True)
    if stale is not None:
        shutil.rmtree(stale, ignore_errors=True)


@contextlib.contextmanager
def _taking_turns(target: Path) -> Iterator[None]:
    """Graders on this machine inspect and repair ``target`` one at a time."""
    handle = None
    if fcntl is not None:
        with contextlib.suppress(OSError):
            handle = open(target.with_name(f".{target.name}.lock"), "a")  # noqa: SIM115
    if handle is None:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# -- inspection ---------------------------------------------------------------------


def _layout() -> dict[str, object]:
    """What a fresh environment holds: name -> a folder's layout (a dict), FILE, LINK
    (to a sibling folder), INTERPRETERS (the interpreter links and activate scripts) or
    EMPTY (empty folders only). Names marked optional may be absent."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    if os.name == "nt":
        return {"pyvenv.cfg": FILE, "Scripts": INTERPRETERS, "Include": EMPTY,
                "Lib": {"site-packages": {}}}
    return {"pyvenv.cfg": FILE, "bin": INTERPRETERS, "include": EMPTY,
            "lib": {version: {"site-packages": {}}}, "lib64": LINK}


FILE, LINK, INTERPRETERS, EMPTY = "file", "link", "interpreters", "empty"
OPTIONAL = {"lib64", "include", "Include"}


def inspect(target: Path, base: str) -> list[str]:
    """What in the environment at ``target`` is not as a fresh one made from ``base``:
    one sentence per finding, starting with the path; those starting with
    :data:`EXTRA` are files a fresh environment does not hold, and nothing else."""
    problems: list[str] = []
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    try:
        info = os.lstat(target)
    except OSError:
        return [f"{target}: missing"]
    if not stat.S_ISDIR(info.st_mode):
        return [f"{target}: not a folder"]
    problems += _owner_and_mode(target, info, uid)
    _inspect_folder(target, _layout(), base, uid, problems, top=True)
    if not problems or all(p.startswith(EXTRA) for p in problems):
        problems += _config_problems(target / "pyvenv.cfg", base)
    return problems


def _inspect_folder(folder: Path, layout: dict[str, object], base: str, uid: int | None,
                    problems: list[str], top: bool = False) -> None:
    try:
        entries = {entry.name: Path(entry.path) for entry in os.scandir(folder)}
    except OSError as error:
        problems.append(f"{folder}: unreadable ({error.strerror})")
        return
    for name in sorted(set(layout) - set(entries) - (OPTIONAL if top else set())):
        problems.append(f"{folder / name}: missing")
    for name, path in sorted(entries.items()):
        if name not in layout:
            problems.append(f"{EXTRA}{path}")
            continue
        kind = layout[name]
        try:
            info = os.lstat(path)
        except OSError:
            continue  # gone meanwhile
        if kind == LINK:
            if not stat.S_ISLNK(info.st_mode) or os.readlink(path) != "lib":
                problems.append(f"{path}: not a link to lib")
            continue
        problems += _owner_and_mode(path, info, uid)
        if kind == FILE:
            if not stat.S_ISREG(info.st_mode):
                problems.append(f"{path}: not a file")
        elif not stat.S_ISDIR(info.st_mode):
            problems.append(f"{path}: not a folder")
        elif kind == INTERPRETERS:
            _inspect_interpreters(path, base, uid, problems)
        elif kind == EMPTY:
            _inspect_empty(path, uid, problems)
        else:
            assert isinstance(kind, dict)
            _inspect_folder(path, kind, base, uid, problems)


def _inspect_interpreters(folder: Path, base: str, uid: int | None,
                          problems: list[str]) -> None:
    """bin/: links to ``base`` (or to each other) named python*, and activate scripts."""
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        info = os.lstat(path)
        if entry.name in ACTIVATE and stat.S_ISREG(info.st_mode):
            problems += _owner_and_mode(path, info, uid)
        elif entry.name.lower().startswith("python") or "thon" in entry.name:
            if os.name == "nt":  # copies there, not links
                problems += _owner_and_mode(path, info, uid)
            elif not stat.S_ISLNK(info.st_mode):
                problems.append(f"{path}: not a link to {base}")
            elif not _leads_to(path, base):
                problems.append(f"{path}: leads to {os.path.realpath(path)}, not {base}")
        else:
            problems.append(f"{EXTRA}{path}")


def _leads_to(link: Path, base: str) -> bool:
    """Whether ``link`` leads to ``base``, through links to its siblings at most."""
    path = str(link)
    for _ in range(8):
        if not os.path.islink(path):
            return False
        target = os.readlink(path)
        if os.path.isabs(target):
            return target == base or os.path.realpath(target) == _real(base)
        if os.sep in target or (os.altsep and os.altsep in target):
            return os.path.realpath(path) == _real(base)
        path = os.path.join(os.path.dirname(path), target)
    return False


_reals: dict[str, str] = {}


def _real(path: str) -> str:
    """The resolved path of a base interpreter (computed once)."""
    if path not in _reals:
        _reals[path] = os.path.realpath(path)
    return _reals[path]


def _inspect_empty(folder: Path, uid: int | None, problems: list[str]) -> None:
    """include/: empty folders only."""
    for root, dirs, files in os.walk(folder):
        for name in files:
            problems.append(f"{EXTRA}{Path(root) / name}")
        for name in list(dirs):
            path = Path(root) / name
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                problems.append(f"{EXTRA}{path}")
                dirs.remove(name)
            else:
                problems += _owner_and_mode(path, info, uid)


def _owner_and_mode(path: Path, info: os.stat_result, uid: int | None) -> list[str]:
    found = []
    if uid is not None and info.st_uid != uid:
        found.append(f"{path}: owned by uid {info.st_uid}, not {uid}")
    if os.name != "nt" and info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        found.append(f"{path}: writable by others ({stat.filemode(info.st_mode)})")
    return found


def _config_problems(path: Path, base: str) -> list[str]:
    """pyvenv.cfg: nothing but venv's own keys; the base's site-packages left out; the
    home of ``base``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return [f"{path}: unreadable"]
    values = {}
    for line in text.splitlines():  # read as Python itself reads it (site.venv)
        key, equals, value = line.partition("=")
        if equals:
            values[key.strip().lower()] = value.strip()
    found = [f"{path}: unexpected setting {key!r}" for key in sorted(set(values) - CONFIG_KEYS)]
    if values.get("include-system-site-packages", "").lower() != "false":
        found.append(f"{path}: include-system-site-packages is not false")
    home = values.get("home", "")
    homes = {os.path.dirname(base), os.path.dirname(_real(base))}
    if home not in homes and os.path.realpath(home) not in homes:
        found.append(f"{path}: home is {values.get('home')!r}, not the folder of {base}")
    return found


def _remove_extras(target: Path, base: str, problems: list[str]) -> bool:
    """When files a fresh environment lacks are all that is wrong, remove them; True if
    the environment is clean then."""
    if any(not problem.startswith(EXTRA) for problem in problems):
        return False
    for problem in problems:
        path = Path(problem.removeprefix(EXTRA))
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    return not inspect(target, base)


def _fix_paths(scratch: Path, target: Path) -> None:
    """Point the environment's own records at where it will live (only pyvenv.cfg's
    ``command`` line and the activate scripts name it; the interpreter does not care)."""
    for path in [scratch / "pyvenv.cfg", *scratch.glob("bin/activate*")]:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            path.write_text(path.read_text().replace(str(scratch), str(target)))
