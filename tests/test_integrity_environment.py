"""The package-free Python that runs submissions is inspected before every use, and
whatever a submission planted in it is undone (grader/harness/interpreter.py).

Every test makes its own environment in a temporary cache ($CHATLAB_CACHE), never the
machine's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.harness import interpreter

VERSION = f"python{sys.version_info[0]}.{sys.version_info[1]}"
pytestmark = pytest.mark.skipif(os.name != "posix", reason="the POSIX layout of a venv")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHATLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(interpreter, "_cached", {})
    python = Path(interpreter.clean_python())
    assert python.is_relative_to(tmp_path / "cache")
    interpreter.findings()
    return python.parent.parent


def _runs_clean(python: str, marker: Path) -> bool:
    subprocess.run([python, "-c", "pass"], check=True, timeout=60)
    return not marker.exists()


def test_planted_files_are_removed_before_the_next_use(env: Path, tmp_path: Path) -> None:
    marker = tmp_path / "planted-code-ran"
    site = env / "lib" / VERSION / "site-packages"
    (site / "zz.pth").write_text(f"import os; open({str(marker)!r}, 'w')\n")
    (site / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w')\n")
    (env / "lib" / VERSION / "usercustomize.py").write_text("x = 1\n")
    (env / "include" / VERSION / "evil.h").write_text("/* */\n")
    python = interpreter.clean_python()
    assert python == str(env / "bin" / "python")
    found = interpreter.findings()
    assert sorted(found) == sorted(f"extra: {p}" for p in (
        site / "zz.pth", site / "sitecustomize.py", env / "lib" / VERSION / "usercustomize.py",
        env / "include" / VERSION / "evil.h"))
    assert list(site.iterdir()) == []
    assert _runs_clean(python, marker)
    assert interpreter.clean_python() == python and interpreter.findings() == []


@pytest.mark.parametrize("change", ["pyvenv.cfg", "interpreter link", "writable by others",
                                    "a link in site-packages' place"])
def test_an_environment_not_as_made_is_made_anew(env: Path, tmp_path: Path, change: str) -> None:
    site = env / "lib" / VERSION / "site-packages"
    if change == "pyvenv.cfg":
        cfg = env / "pyvenv.cfg"
        cfg.write_text(cfg.read_text().replace("= false", "= true"))
    elif change == "interpreter link":
        link = env / "bin" / VERSION
        link.unlink()
        link.symlink_to("/bin/sh")
    elif change == "writable by others":
        site.chmod(0o777)
    else:
        site.rmdir()
        site.symlink_to(tmp_path)
    python = interpreter.clean_python()
    assert python == str(env / "bin" / "python")
    assert interpreter.findings()  # what was wrong, in words
    assert interpreter.inspect(env, sys._base_executable) == []
    assert "include-system-site-packages = false" in (env / "pyvenv.cfg").read_text()
    assert os.path.realpath(env / "bin" / "python") == os.path.realpath(sys._base_executable)
    assert not site.is_symlink() and site.stat().st_mode & 0o022 == 0
    done = subprocess.run([python, "-c", "import sys; print(sys.prefix)"], check=True,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == str(env)
    assert [p.name for p in env.parent.iterdir() if p.name.startswith(".stale")] == []


def test_a_fresh_environment_passes_inspection(env: Path) -> None:
    assert interpreter.inspect(env, sys._base_executable) == []
