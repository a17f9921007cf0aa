"""Turn command-line arguments (files, folders, globs) into a list of images to classify.

A folder is searched recursively for files with an image extension; an explicit file
is always taken whatever its name, so that a corrupt or misnamed file gets an error
line naming it rather than being skipped in silence. An argument that matches
nothing becomes an error entry too, and the other arguments are still expanded.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

#: What a folder search picks up (lower-case suffixes Pillow reads).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"})
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Item:
    """One image to classify, or an argument that named nothing usable (`error` set)."""

    path: str
    error: str | None = None


def expand_paths(args: Iterable[str | os.PathLike[str]]) -> list[Item]:
    """Files, folders (recursively) and glob patterns to Items, in argument order, de-duplicated."""
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
    if path.is_dir():
        found = _images_in(path)
        return found or [Item(arg, "folder has no image files")]
    if path.exists() or os.path.lexists(path):
        return [Item(str(path))]
    if _GLOB_CHARS & set(arg):
        matches = sorted(glob.glob(os.path.expanduser(arg), recursive=True))
        files: list[Item] = []
        for match in matches:
            files.extend(_images_in(Path(match)) if Path(match).is_dir() else [Item(match)])
        return files or [Item(arg, "no files match this pattern")]
    return [Item(arg, "no such file")]


def _images_in(folder: Path) -> list[Item]:
    """Image files under `folder`, sorted, skipping hidden files and folders."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES:
                found.append(Item(str(Path(root) / name)))
    return found
