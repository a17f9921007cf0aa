"""`edgecnn convert` writes its output set whole or not at all (issue 13, item 3), on real filesystems.

A tmpfs that fills up gives the kernel's own ENOSPC; a file bind-mounted over an artifact
makes the commit fail part-way. Either way: one line, exit 2, and the folder's previous
models, labels.txt and manifest.json exactly as they were (so the manifest still matches).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edgecnn.cli import main
from edgecnn.fsutil import STAGING_PREFIX
from tests.mounts import fill, pinned, snapshot, tmpfs

pytestmark = pytest.mark.slow

OLD_SET = ("model_int8.tflite", "model.onnx", "labels.txt", "manifest.json")


def old_set(converted_dir: Path, folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    for name in OLD_SET:
        shutil.copy(converted_dir / name, folder / name)
    return snapshot(folder)


def convert_into(capsys: pytest.CaptureFixture, trained_dir: Path, out: Path) -> tuple[int, str]:
    rc = main(["convert", str(trained_dir / "model.keras"), "--int8", "--onnx", "--calibration-samples", "100",
               "--out", str(out)])
    return rc, capsys.readouterr().err.strip()


def assert_unchanged(out: Path, before: dict[str, bytes]) -> None:
    assert snapshot(out) == before
    assert not [p.name for p in out.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_disk_full_keeps_the_previous_set(trained_dir: Path, converted_dir: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    """Room for the new int8 model but not the ONNX one: the old int8 model must not be replaced."""
    with tmpfs(tmp_path / "disk", 1800) as disk:
        out = disk / "models"
        before = old_set(converted_dir, out)
        fill(disk, leave_kb=400)
        rc, err = convert_into(capsys, trained_dir, out)
        assert rc == 2 and len(err.splitlines()) == 1, err
        assert err.startswith("edgecnn: error: ") and "no space left on device" in err and str(out) in err
        assert_unchanged(out, before)

        fresh = disk / "fresh" / "out"
        rc, err = convert_into(capsys, trained_dir, fresh)
        assert rc == 2 and "no space left on device" in err
        assert not (disk / "fresh").exists()  # the folders this run created are gone again


def test_commit_failing_part_way_restores_the_previous_set(trained_dir: Path, converted_dir: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    """model.onnx cannot be replaced; model_int8.tflite (moved in before it) must be put back."""
    out = tmp_path / "models"
    before = old_set(converted_dir, out)
    with pinned(out / "model.onnx"):
        rc, err = convert_into(capsys, trained_dir, out)
        assert rc == 2 and len(err.splitlines()) == 1, err
        assert "model.onnx: cannot move into place" in err and "previous files are unchanged" in err
        assert_unchanged(out, before)
