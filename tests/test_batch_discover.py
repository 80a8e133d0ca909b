"""Finding students in a submissions folder and unpacking their archives safely."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from grader.batch.discover import (
    DiscoveryError,
    Submission,
    UnsafeArchive,
    discover,
    find_root,
    materialize,
    safe_extract,
    student_id,
)


def make_zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_folders_and_zips_are_students_sorted(tmp_path: Path) -> None:
    (tmp_path / "carol").mkdir()
    (tmp_path / "alice").mkdir()
    make_zip(tmp_path / "bob.zip", {"server.py": "x"})
    (tmp_path / "notes.txt").write_text("not a submission")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "__MACOSX").mkdir()
    found = discover(tmp_path)
    assert [s.student for s in found] == ["alice", "bob", "carol"]
    assert found[1].is_archive and not found[0].is_archive


def test_results_folder_inside_submissions_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "alice").mkdir()
    (tmp_path / "results").mkdir()
    assert [s.student for s in discover(tmp_path, exclude=tmp_path / "results")] == ["alice"]


def test_student_ids_are_file_name_safe() -> None:
    assert student_id("Ana Souza (2)") == "Ana_Souza__2"
    assert student_id("../../etc") == "etc"
    assert student_id("joão") == "jo_o"
    assert student_id("...") == "_"


def test_two_entries_for_one_student_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "alice").mkdir()
    make_zip(tmp_path / "alice.zip", {"server.py": "x"})
    with pytest.raises(DiscoveryError, match="alice"):
        discover(tmp_path)


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DiscoveryError, match="not found"):
        discover(tmp_path / "nope")


def test_zip_with_nested_folder_is_found(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "alice.zip",
        {"chat/lab/server.py": "s", "chat/lab/client.py": "c", "__MACOSX/._server.py": "junk"},
    )
    root = materialize(Submission("alice", archive), tmp_path / "work")
    assert root.name == "lab" and (root / "client.py").read_text() == "c"
    assert not (tmp_path / "work" / "submission" / "__MACOSX").exists()


def test_folder_is_copied_not_used_in_place(tmp_path: Path) -> None:
    src = tmp_path / "alice"
    src.mkdir()
    (src / "server.py").write_text("s")
    (src / "__pycache__").mkdir()
    root = materialize(Submission("alice", src), tmp_path / "work")
    (root / "server.py").write_text("changed")
    assert (src / "server.py").read_text() == "s"
    assert not (root / "__pycache__").exists()


@pytest.mark.parametrize(
    "name",
    ["../evil.py", "lab/../../evil.py", "/tmp/evil.py", "C:/evil.py", "..\\evil.py"],
)
def test_path_traversal_is_refused_and_nothing_escapes(tmp_path: Path, name: str) -> None:
    archive = make_zip(tmp_path / "m.zip", {"server.py": "ok", name: "pwned"})
    dest = tmp_path / "deep" / "dest"
    with pytest.raises(UnsafeArchive, match="refused"):
        safe_extract(archive, dest)
    assert not list(tmp_path.rglob("evil.py"))
    assert not (dest / "server.py").exists()  # checked before anything is written


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("server.py")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UnsafeArchive, match="symbolic link"):
        safe_extract(archive, tmp_path / "dest")


def test_size_caps_are_enforced_while_writing(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("server.py", b"\0" * 200_000)  # compresses to almost nothing
    with pytest.raises(UnsafeArchive, match="larger than"):
        safe_extract(archive, tmp_path / "a", max_file_bytes=100_000)
    with pytest.raises(UnsafeArchive, match="more than"):
        safe_extract(archive, tmp_path / "b", max_total_bytes=100_000)


def test_too_many_files_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "many.zip", {f"f{i}.txt": "x" for i in range(20)})
    with pytest.raises(UnsafeArchive, match="20 files"):
        safe_extract(archive, tmp_path / "dest", max_files=10)


def test_not_a_zip_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "alice.zip"
    fake.write_text("this is not a zip")
    with pytest.raises(UnsafeArchive, match="not a readable zip"):
        safe_extract(fake, tmp_path / "dest")


def test_find_root_falls_back_to_the_folder(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert find_root(tmp_path) == tmp_path
    (tmp_path / "a" / "b" / "server.py").write_text("s")
    assert find_root(tmp_path) == tmp_path / "a" / "b"
