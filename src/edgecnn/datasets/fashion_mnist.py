"""Fashion-MNIST from its four IDX files: found locally, checked, or downloaded once.

Where the files are looked for, in order: --data-dir, $EDGECNN_DATA, the Keras cache
(~/.keras/datasets/fashion-mnist). Downloads go to the first of those folders given
(else the Keras cache), through a temporary name, and are checked against the
published MD5s before use. Set EDGECNN_OFFLINE=1 to never try the network.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

import numpy as np

from .. import FASHION_MNIST_CLASSES
from ..errors import DatasetError
from ..fsutil import atomic_path
from .base import Dataset
from .idx import read_idx

#: Published MD5 of each gzipped file (zalandoresearch/fashion-mnist README).
FILES_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
EXPECTED_COUNTS = {"train": 60_000, "t10k": 10_000}
MIRRORS = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
DOWNLOAD_TIMEOUT_S = 15


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "fashion-mnist"


def search_dirs(data_dir: str | os.PathLike[str] | None) -> list[Path]:
    dirs = [Path(d) for d in (data_dir, os.environ.get("EDGECNN_DATA")) if d]
    dirs.append(keras_cache_dir())
    return dirs


def md5_file(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def find_file(gz_name: str, dirs: list[Path]) -> Path | None:
    """The gzipped file, or the raw one a user unpacked, from the first folder that has it."""
    for d in dirs:
        for name in (gz_name, gz_name[: -len(".gz")]):
            if (d / name).is_file():
                return d / name
    return None


def check_md5(path: Path) -> None:
    """Gzipped files must match the published MD5; raw ones are checked by header and size."""
    if path.suffix != ".gz":
        return
    actual = md5_file(path)
    expected = FILES_MD5[path.name]
    if actual != expected:
        raise DatasetError(f"{path}: MD5 {actual} does not match the published {expected} (corrupt or wrong file)")


def download(gz_name: str, dest_dir: Path, log: Callable[[str], None]) -> Path:
    if os.environ.get("EDGECNN_OFFLINE"):
        raise OSError("EDGECNN_OFFLINE is set")
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / gz_name
    last_error: Exception | None = None
    for mirror in MIRRORS:
        try:
            log(f"downloading {mirror}{gz_name}")
            with urllib.request.urlopen(mirror + gz_name, timeout=DOWNLOAD_TIMEOUT_S) as resp:
                payload = resp.read()
            with atomic_path(dest) as tmp:
                tmp.write_bytes(payload)
                if md5_file(tmp) != FILES_MD5[gz_name]:
                    raise OSError(f"{gz_name} from {mirror} failed its MD5 check")
            return dest
        except (OSError, urllib.error.URLError) as exc:
            last_error = exc
    raise OSError(str(getattr(last_error, "reason", last_error)))


def missing_files_message(dirs: list[Path], reason: str) -> str:
    return (
        f"Fashion-MNIST files not found and download failed ({reason}): put "
        + ", ".join(FILES_MD5)
        + f" in {dirs[0]} (or pass --data-dir DIR / set EDGECNN_DATA), or use --dataset synthetic"
    )


def locate_files(data_dir: str | os.PathLike[str] | None, log: Callable[[str], None] = print) -> dict[str, Path]:
    dirs = search_dirs(data_dir)
    found: dict[str, Path] = {}
    for gz_name in FILES_MD5:
        path = find_file(gz_name, dirs)
        if path is None:
            try:
                path = download(gz_name, dirs[0], log)
            except OSError as exc:
                raise DatasetError(missing_files_message(dirs, str(exc))) from None
        found[gz_name] = path
    return found


def load_split(images_path: Path, labels_path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    for p in (images_path, labels_path):
        check_md5(p)
    images, labels = read_idx(images_path), read_idx(labels_path)
    count = EXPECTED_COUNTS[split]
    if images.shape != (count, 28, 28):
        raise DatasetError(f"{images_path}: expected {count}x28x28 images, got {'x'.join(map(str, images.shape))}")
    if labels.shape != (count,):
        raise DatasetError(f"{labels_path}: expected {count} labels, got {'x'.join(map(str, labels.shape))}")
    if labels.max(initial=0) > 9:
        raise DatasetError(f"{labels_path}: label {int(labels.max())} out of range 0-9")
    return images, labels.astype(np.int64)


def load_fashion_mnist(data_dir: str | os.PathLike[str] | None = None, log: Callable[[str], None] = print) -> Dataset:
    files = locate_files(data_dir, log)
    x_train, y_train = load_split(files["train-images-idx3-ubyte.gz"], files["train-labels-idx1-ubyte.gz"], "train")
    x_test, y_test = load_split(files["t10k-images-idx3-ubyte.gz"], files["t10k-labels-idx1-ubyte.gz"], "t10k")
    source = str(files["train-images-idx3-ubyte.gz"].parent)
    return Dataset("fashion-mnist", source, list(FASHION_MNIST_CLASSES), x_train, y_train, x_test, y_test)
