"""`write_atomic` replaces a file whole, with the mode asked for, and leaves nothing behind when it fails."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from orchestration import atomic_file
from orchestration.atomic_file import write_atomic


def test_the_new_file_has_the_mode_from_its_creation(tmp_path: Path) -> None:
    target = tmp_path / "secret.json"
    write_atomic(target, '{"k": "é"}', mode=0o600)
    assert target.read_text(encoding="utf-8") == '{"k": "é"}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["secret.json"]


def test_without_a_mode_the_umask_decides_as_for_open(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "plain.txt", b"bytes", fsync=False)
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == 0o644


def test_a_replaced_file_gets_the_new_content(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    target.write_text("old")
    write_atomic(target, "new")
    assert target.read_text() == "new"


def test_fsync_runs_before_the_rename_and_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync")
        real_fsync(fd)

    def replace(src: str | Path, dst: str | Path) -> None:
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(atomic_file.os, "fsync", fsync)
    monkeypatch.setattr(atomic_file.os, "replace", replace)
    write_atomic(tmp_path / "durable", b"x")
    assert events == ["fsync", "replace"]
    events.clear()
    write_atomic(tmp_path / "cheap", b"x", fsync=False)
    assert events == ["replace"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "key.json"
    target.write_text("old")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_file.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["key.json"]


def test_a_missing_folder_is_the_callers_to_create(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "absent" / "file", b"x")
    assert os.listdir(tmp_path) == []
