"""fsutil.OutputSet and output_folder on real filesystems: a set is committed whole or not at all."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from edgecnn.fsutil import STAGING_PREFIX, OutputSet, WriteError, commits_done, output_folder, signals_held
from tests.mounts import fill, pinned, snapshot, tmpfs

OLD = {"a.bin": b"old a" * 100, "b.bin": b"old b" * 100, "manifest.json": b'{"old": true}'}
NEW = {"a.bin": b"new a" * 100, "b.bin": b"new b" * 100, "c.bin": b"new c", "manifest.json": b'{"new": true}'}


def old_set(folder: Path) -> Path:
    for name, data in OLD.items():
        (folder / name).write_bytes(data)
    return folder


def stage_new(files: OutputSet) -> None:
    for name, data in NEW.items():
        files.write_bytes(name, data)


def test_commit_moves_the_whole_set_in_and_leaves_nothing_else(tmp_path: Path) -> None:
    out = old_set(tmp_path)
    before = commits_done()
    with OutputSet(out) as files:
        stage_new(files)
        assert snapshot(out) == OLD  # nothing visible before the commit
        written = files.commit(last="manifest.json")
    assert list(written) == ["a.bin", "b.bin", "c.bin", "manifest.json"]
    assert snapshot(out) == NEW
    assert sorted(p.name for p in out.iterdir()) == sorted(NEW)  # no staging folder left
    assert commits_done() == before + 1


def test_disk_full_while_staging_leaves_the_old_set(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", 64) as disk:
        out = old_set(disk)
        fill(disk, leave_kb=4)
        before = snapshot(out)
        with pytest.raises(WriteError) as caught:
            with OutputSet(out) as files:
                files.write_bytes("a.bin", b"x" * 200_000)
                files.commit(last="manifest.json")
        message = str(caught.value)
        assert "a.bin" in message and "no space left on device" in message and "\n" not in message
        assert snapshot(out) == before
        assert not [p for p in out.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_commit_failing_part_way_puts_the_old_set_back(tmp_path: Path) -> None:
    """b.bin cannot be replaced (a mount point): a.bin, already moved in, must go back to the old one."""
    out = old_set(_mkdir(tmp_path / "out"))
    with pinned(out / "b.bin"):
        with pytest.raises(WriteError) as caught:
            with OutputSet(out) as files:
                stage_new(files)
                files.commit(last="manifest.json")
        assert "b.bin: cannot move into place" in str(caught.value)
        assert "previous files are unchanged" in str(caught.value)
        assert snapshot(out) == OLD  # a.bin and manifest.json restored, c.bin gone
        assert sorted(p.name for p in out.iterdir()) == sorted(OLD)


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def test_output_folder_removes_only_what_it_created_and_only_if_empty(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        with output_folder(tmp_path / "new" / "deeper"):
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    kept = _mkdir(tmp_path / "kept")
    with pytest.raises(RuntimeError):
        with output_folder(kept):
            raise RuntimeError
    assert kept.is_dir()
    with pytest.raises(RuntimeError):
        with output_folder(tmp_path / "written") as out:
            (out / "result").write_text("x")
            raise RuntimeError
    assert (tmp_path / "written" / "result").exists()


def test_signal_during_a_commit_waits_for_its_end(tmp_path: Path) -> None:
    got: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: got.append(signum))
    try:
        with signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            assert got == []  # held
        assert got == [signal.SIGTERM]  # delivered after
    finally:
        signal.signal(signal.SIGTERM, previous)
