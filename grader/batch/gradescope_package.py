"""Building ``autograder.zip`` for Gradescope.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once to build
the image, then runs ``run_autograder`` for every submission. The zip holds::

    setup.sh            installs Python >= 3.11 if needed, a venv, and the kit below
    run_autograder      grades /autograder/submission -> /autograder/results/results.json
    run_autograder.py   its Python entry (grader.batch.autograder), run with ``-I``
    chatlab/            a copy of this kit (pyproject.toml, grader/, reference_solution/)
    config/settings.json, and the rubric/profile files it names, if any

``run_autograder`` honours two environment variables, so the package can be tried
outside Gradescope (the tests do): ``AUTOGRADER_ROOT`` replaces ``/autograder`` and
``CHATLAB_PYTHON`` picks the interpreter (default: the venv ``setup.sh`` made).

The zip is reproducible: entries are sorted and carry a fixed timestamp.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import grader

from .autograder import not_graded

KIT_ROOT = Path(grader.__file__).resolve().parent.parent
KIT_DIR = "chatlab"
CONFIG_DIR = "config"
KIT_FOLDERS = ("grader", "reference_solution")
KIT_FILES = ("pyproject.toml", "README.md", "LICENSE")
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo"}
ZIP_TIME = (2024, 1, 1, 0, 0, 0)

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
export DEBIAN_FRONTEND=noninteractive

# The grader needs Python >= 3.11 (Gradescope's Ubuntu 22.04 image has 3.10).
PY=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        PY="$candidate"
        break
    fi
done
if [ -z "$PY" ]; then
    apt-get update -qq
    apt-get install -y -qq python3.11 python3.11-venv
    PY=python3.11
fi
if ! "$PY" -m venv "$ROOT/venv"; then
    apt-get update -qq
    apt-get install -y -qq "$(basename "$PY")-venv"
    "$PY" -m venv "$ROOT/venv"
fi
# bubblewrap jails every program of a submission (grader/harness/isolation.py): without
# it the grade still comes, with a note that the submission was not isolated.
if ! command -v bwrap >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq bubblewrap) || echo "bubblewrap not installed"
fi
"$ROOT/venv/bin/python3" -m pip install --quiet --upgrade pip
# Editable, so the grader finds the reference solution next to it.
"$ROOT/venv/bin/python3" -m pip install --quiet -e "$SOURCE/chatlab"
"$ROOT/venv/bin/python3" -m grader --version
# The package-free Python that runs submissions (grader.harness.interpreter), made now,
# not while the first student is graded.
"$ROOT/venv/bin/python3" -c \
    "from grader.harness.interpreter import clean_python; print(clean_python())"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission: it grades $ROOT/submission into
# $ROOT/results/results.json with run_autograder.py, and keeps that file only when the
# grader exited 0; otherwise (a crash, a kill, no file) it writes a "not graded" one.
# AUTOGRADER_ROOT replaces /autograder (to try the package elsewhere); CHATLAB_PYTHON
# picks the interpreter (default: the venv setup.sh made).
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
PYTHON="${CHATLAB_PYTHON:-$ROOT/venv/bin/python3}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"  # whatever is there was not written by this run
WORK="$(mktemp -d)"  # the grader's working directory: nothing of the student's in it
(cd "$WORK" && exec "$PYTHON" -I "$SOURCE/run_autograder.py" --root "$ROOT")
status=$?
rm -rf "$WORK"
if [ "$status" -ne 0 ] || [ ! -s "$RESULTS" ]; then
    echo "run_autograder: the grader exited with status $status; writing 'not graded'" >&2
    printf '%s\n' $NOT_GRADED_JSON > "$RESULTS.tmp.$$" && mv -f "$RESULTS.tmp.$$" "$RESULTS"
    [ "$status" -ne 0 ] || status=1
fi
exit "$status"
"""

# The Python side of run_autograder: the kit packed next to it comes first on the path
# (under -I neither PYTHONPATH nor the working directory is on it).
ENTRY = '''"""Gradescope's entry, run by run_autograder as ``python -I run_autograder.py``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "chatlab"))

from grader.batch.autograder import main  # noqa: E402 - the kit's path first

sys.exit(main())
'''

NOT_GRADED_JSON = json.dumps(not_graded(), ensure_ascii=False)


def _shell_quote(text: str) -> str:
    """``text`` as one single-quoted bash word."""
    return "'" + text.replace("'", "'\\''") + "'"


README_STUB = "# chatlab\n\nThe chatlab grader, packed for a Gradescope autograder.\n"


def _kit_files(kit_root: Path, folders: tuple[str, ...]) -> Iterator[tuple[Path, str]]:
    """(file on disk, path inside ``chatlab/``) for every file of the kit to pack."""
    for name in KIT_FILES:
        if (kit_root / name).is_file():
            yield kit_root / name, name
    for folder in folders:
        base = kit_root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(kit_root)
            if path.is_file() and not path.is_symlink():
                if SKIP_PARTS & set(rel.parts) or path.suffix in SKIP_SUFFIXES:
                    continue
                yield path, rel.as_posix()


def _add(zf: zipfile.ZipFile, name: str, data: bytes, *, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    mode = 0o755 if executable else 0o644
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build_package(
    out: Path | str,
    *,
    rubric: Path | str | None = None,
    profile: Path | str | None = None,
    only: str | None = None,
    with_reference: bool = True,
    kit_root: Path | None = None,
) -> Path:
    """Write the Gradescope autograder zip to ``out`` and return its path.

    ``rubric`` must be a file, and a valid rubric (ValueError); ``profile`` a file or
    the name of a shipped profile; they and ``only`` are what every submission will be
    graded with. Without the reference solution the cross-play checks are skipped, but
    student code, which runs in the same container, cannot read it.
    """
    kit = kit_root or KIT_ROOT
    if not (kit / "grader" / "__init__.py").is_file():
        raise FileNotFoundError(f"no grader package in {kit}")
    settings: dict[str, str] = {}
    extra: dict[str, bytes] = {}
    if rubric is not None:
        path = Path(rubric)
        if not path.is_file():
            raise FileNotFoundError(f"rubric file not found: {path}")
        from ..checks import all_checks
        from ..rubric import load_rubric

        load_rubric(path, all_checks())  # a typo is said now, not to every student
        settings["rubric"] = "rubric.toml"
        extra["rubric.toml"] = path.read_bytes()
    if profile is not None:
        path = Path(profile)
        if path.is_file():
            settings["profile"] = "profile.toml"
            extra["profile.toml"] = path.read_bytes()
        else:
            settings["profile"] = str(profile)  # a profile shipped with the grader
    if only is not None:
        settings["only"] = only

    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        _add(zf, "setup.sh", SETUP_SH.encode(), executable=True)
        script = RUN_AUTOGRADER.replace("$NOT_GRADED_JSON", _shell_quote(NOT_GRADED_JSON))
        _add(zf, "run_autograder", script.encode(), executable=True)
        _add(zf, "run_autograder.py", ENTRY.encode())
        names = set()
        folders = KIT_FOLDERS if with_reference else ("grader",)
        for path, rel in _kit_files(kit, folders):
            names.add(rel)
            _add(zf, f"{KIT_DIR}/{rel}", path.read_bytes())
        if "README.md" not in names:  # pyproject.toml names it; pip refuses without it
            _add(zf, f"{KIT_DIR}/README.md", README_STUB.encode())
        _add(zf, f"{CONFIG_DIR}/settings.json", (json.dumps(settings, indent=1) + "\n").encode())
        for name, data in sorted(extra.items()):
            _add(zf, f"{CONFIG_DIR}/{name}", data)
    os.replace(tmp, target)
    return target
