"""A user's own images: DIR/<class name>/<image files>, one sub-folder per class.

Every image goes through runtime.preprocess.prepare, the same code that prepares
pictures at inference time, so the model trains on what it will later be shown.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DatasetError, ImageError
from ..log import Log, get_logger
from ..runtime.preprocess import prepare
from .base import Dataset

TEST_FRACTION = 0.2

logger = get_logger(__name__)


def class_folders(root: Path) -> list[Path]:
    if not root.exists():
        raise DatasetError(f"{root}: no such folder")
    if not root.is_dir():
        raise DatasetError(f"{root}: is a file; folder:DIR needs a folder with one sub-folder per class")
    folders = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    if not folders:
        raise DatasetError(f"{root}: no class sub-folders (expected {root}/<class name>/<images>)")
    if len(folders) < 2:
        raise DatasetError(f"{root}: only one class ({folders[0].name}); a classifier needs at least two")
    return folders


def read_class(folder: Path, size: tuple[int, int]) -> tuple[list[np.ndarray], list[str]]:
    images, skipped = [], []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        try:
            images.append(prepare(path, size))
        except ImageError as exc:
            skipped.append(str(exc))
    return images, skipped


def split_indices(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Hold out TEST_FRACTION of one class (at least one image when it has two or more)."""
    order = rng.permutation(n)
    n_test = 0 if n < 2 else max(1, int(round(n * TEST_FRACTION)))
    return order[n_test:], order[:n_test]


def load_folder(
    root: str | os.PathLike[str], seed: int = 0, size: tuple[int, int] = (28, 28), log: Log = logger.info
) -> Dataset:
    root = Path(root).expanduser()  # "folder:~/photos": the shell does not expand ~ after "folder:"
    rng = np.random.default_rng(seed)
    names, xs_tr, ys_tr, xs_te, ys_te, skipped = [], [], [], [], [], []
    for label, folder in enumerate(class_folders(root)):
        images, bad = read_class(folder, size)
        skipped.extend(bad)
        if not images:
            raise DatasetError(f"{folder}: class '{folder.name}' has no readable images")
        names.append(folder.name)
        stack = np.stack(images)
        tr, te = split_indices(len(stack), rng)
        xs_tr.append(stack[tr]); ys_tr.append(np.full(len(tr), label))
        xs_te.append(stack[te]); ys_te.append(np.full(len(te), label))
    warnings = []
    if skipped:
        warnings.append(f"skipped {len(skipped)} unreadable file(s) in {root}, e.g. {skipped[0]}")
        logger.warning(warnings[-1])
    return Dataset(
        f"folder:{root}", str(root.resolve()), names,
        np.concatenate(xs_tr), np.concatenate(ys_tr).astype(np.int64),
        np.concatenate(xs_te), np.concatenate(ys_te).astype(np.int64),
        synthetic=False, warnings=warnings,
    )
