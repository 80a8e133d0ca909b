"""python -m grader probe: the bytes a server sends, and a draft profile that fits it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from grader.profile import load_profile
from grader.tools.probe import draft_profile, run_probe

ROOT = Path(__file__).resolve().parent.parent


def draft_of(tmp_path: Path, folder: Path, command: str) -> tuple[object, str]:
    probe = run_probe(folder, command)
    assert not probe.problem, probe.problem
    text = draft_profile(probe)
    (tmp_path / "draft.toml").write_text(text)
    return load_profile(tmp_path / "draft.toml"), text


def test_the_reference_is_drafted_as_the_chatlab_profile(tmp_path: Path) -> None:
    draft, _ = draft_of(tmp_path, ROOT / "reference_solution",
                        "{python} server.py --port {port}")
    chatlab = load_profile()
    for key in ("welcome", "chat", "joined", "left", "log_join", "log_leave", "greeting",
                "server_ready", "echo", "framing"):
        assert getattr(draft, key) == getattr(chatlab, key), key


def test_a_token_handshake_with_echo_is_drafted(tmp_path: Path) -> None:
    folder = ROOT / "tests" / "grader_fixtures" / "nick_token"
    draft, _ = draft_of(tmp_path, folder, "{python} server.py {port}")
    token = load_profile("nick_token")
    for key in ("greeting", "chat", "echo", "joined", "left", "welcome", "framing"):
        assert getattr(draft, key) == getattr(token, key), key


def test_the_command_prints_the_bytes_and_the_draft() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "grader", "probe", "tests/grader_fixtures/nick_token",
         "--server-cmd", "{python} server.py {port}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "b'NICK\\n'" in done.stdout and "b'ana:hello from ana\\n'" in done.stdout
    assert 'format = "{nick}:{text}"' in done.stdout


def test_a_server_that_never_listens_is_said_so(tmp_path: Path) -> None:
    (tmp_path / "server.py").write_text("import time\ntime.sleep(60)\n")
    probe = run_probe(tmp_path, "{python} server.py {port}")
    assert "did not listen" in probe.problem
