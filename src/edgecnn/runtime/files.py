"""Turn command-line arguments (files, folders, globs) into a list of images to classify.

A folder is searched recursively for files with an image extension; an explicit file
is always taken whatever its name, so that a corrupt or misnamed file gets an error
line naming it rather than being skipped in silence. An argument that matches
nothing becomes an error entry too, and the other arguments are still expanded. A
folder that cannot be listed (no permission), named or met on the way down, is an
error entry of its own: never a quiet gap in the answers.

`os_problem` is the one place that turns an OSError into the words a user reads
("permission denied", "symbolic link loop", ...); `check_model_file` refuses, before a
byte is read, a model path that is not a regular file or is larger than MAX_MODEL_BYTES.
"""

from __future__ import annotations

import errno
import glob
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import ModelError

#: What a folder search picks up (lower-case suffixes Pillow reads).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"})
_GLOB_CHARS = set("*?[")

#: Largest model file the runtime reads: 256 MiB (edgecnn's own models are 0.25-1 MB).
MAX_MODEL_BYTES = 256 * 1024 * 1024

_OS_PROBLEMS = {errno.EACCES: "permission denied", errno.EPERM: "permission denied",
                errno.ELOOP: "symbolic link loop", errno.ENOENT: "no such file",
                errno.ENOTDIR: "a part of the path is not a folder", errno.ENAMETOOLONG: "file name too long"}


@dataclass(frozen=True)
class Item:
    """One image to classify, or an argument that named nothing usable (`error` set)."""

    path: str
    error: str | None = None


def os_problem(exc: OSError, path: str | os.PathLike[str] | None = None) -> str:
    """An OSError in a few words, without the path; `path` tells a broken link from a missing file."""
    if exc.errno == errno.ENOENT and path is not None and os.path.islink(path):
        return "broken symbolic link (its target does not exist)"
    return _OS_PROBLEMS.get(exc.errno or 0) or exc.strerror or type(exc).__name__


def file_kind(mode: int) -> str:
    """What a non-regular file is, for "is a FIFO, not ..." messages."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_model_file(path: Path) -> None:
    """Check that `path` (links followed) is a regular file of at most MAX_MODEL_BYTES.

    Why: reading a link to /dev/zero, a FIFO or a multi-gigabyte file would hang or
    exhaust memory before any format check could run.

    Raises:
        ModelError: naming the file: missing (or a broken link), unreadable, a folder,
            a FIFO, device or socket, or over the size limit.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        problem = os_problem(exc, path)
        raise ModelError(f"{path}: {'no such model file' if problem == 'no such file' else problem}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise ModelError(f"{path}: is a folder, not a model file")
    if not stat.S_ISREG(info.st_mode):
        raise ModelError(f"{path}: is {file_kind(info.st_mode)}, not a regular model file")
    if info.st_size > MAX_MODEL_BYTES:
        raise ModelError(f"{path}: {info.st_size / 2**20:,.0f} MiB is over the runtime's model size limit "
                         f"of {MAX_MODEL_BYTES // 2**20} MiB")


def read_model_file(path: str | os.PathLike[str]) -> bytes:
    """A model file's bytes, read once, only if it is a regular file of at most MAX_MODEL_BYTES.

    The type and size are checked on the opened file itself, and at most one byte
    past the cap is read, so a file swapped for a FIFO or a growing file between a
    check and the read cannot block or exhaust memory.

    Raises:
        ModelError: naming the file, for everything check_model_file refuses and for a
            read that fails or a file that grew past the limit or stopped being regular.
    """
    p = Path(path)
    check_model_file(p)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO swapped in cannot block the open
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise ModelError(f"{p}: is not a regular model file")
            data = fh.read(MAX_MODEL_BYTES + 1)
    except OSError as exc:
        raise ModelError(f"{p}: cannot read ({exc.strerror or exc})") from exc
    if len(data) > MAX_MODEL_BYTES:
        raise ModelError(f"{p}: over the runtime's model size limit of {MAX_MODEL_BYTES // 2**20} MiB")
    return data


def expand_paths(args: Iterable[str | os.PathLike[str]]) -> list[Item]:
    """Files, folders (recursively) and glob patterns to Items, in argument order, de-duplicated.

    Raises nothing for a bad argument: it becomes an Item with `error` set (missing, no
    match, an empty or unlistable folder), so a batch goes on and reports it.
    """
    items: list[Item] = []
    seen: set[str] = set()
    for arg in args:
        for item in _expand_one(str(arg)):
            if item.error or item.path not in seen:
                seen.add(item.path)
                items.append(item)
    return items


def _expand_one(arg: str) -> list[Item]:
    path = Path(arg).expanduser()
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ENOENT and not os.path.lexists(path) and _GLOB_CHARS & set(arg):
            return _glob(arg)
        return [Item(arg, os_problem(exc, path))]
    if stat.S_ISDIR(mode):
        return _images_in(path) or [Item(arg, "folder has no image files")]
    return [Item(str(path))]


def _glob(pattern: str) -> list[Item]:
    files: list[Item] = []
    for match in sorted(glob.glob(os.path.expanduser(pattern), recursive=True)):
        files.extend(_images_in(Path(match)) if Path(match).is_dir() else [Item(match)])
    return files or [Item(pattern, "no files match this pattern")]


def _images_in(folder: Path) -> list[Item]:
    """Image files under `folder`, sorted, skipping hidden files and folders.

    A folder that cannot be listed becomes an error Item in its place, so that
    `classify` reports it and exits 1 instead of skipping its files without a word.
    """
    found: list[Item] = []

    def unreadable(exc: OSError) -> None:
        found.append(Item(str(exc.filename or folder), os_problem(exc)))

    for root, dirs, names in os.walk(folder, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):  # os.path, not pathlib: a tenth of the time (10 us a file in pathlib)
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
                found.append(Item(os.path.join(root, name)))
    return found
