"""Real small filesystems for the disk-full and failed-commit tests (root only; skipped elsewhere).

A tmpfs of a few hundred kilobytes fills up for real (ENOSPC from the kernel), and a
file bind-mounted over an artifact cannot be renamed (EBUSY): the two ways a commit
fails that no amount of monkeypatching would reproduce faithfully.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest


def _mount(*args: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a test filesystem needs root")
    proc = subprocess.run(["mount", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount here ({proc.stderr.strip() or proc.returncode})")


@contextlib.contextmanager
def tmpfs(path: Path, size_kb: int) -> Iterator[Path]:
    """A tmpfs of SIZE_KB kilobytes at PATH for the block."""
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path))
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def pinned(file: Path) -> Iterator[Path]:
    """FILE bind-mounted over itself: it can be read, but not renamed, replaced or linked."""
    _mount("--bind", str(file), str(file))
    try:
        yield file
    finally:
        subprocess.run(["umount", "-l", str(file)], check=False)


def fill(folder: Path, leave_kb: int) -> None:
    """Fill FOLDER's filesystem until about LEAVE_KB kilobytes are free."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize - leave_kb * 1024
    if free > 0:
        (folder / "filler").write_bytes(b"\0" * free)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file in FOLDER (hidden ones too) with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
