"""Fashion-MNIST from its four IDX files: found locally, checked, or downloaded once.

Where the files are looked for, in order: --data-dir, $EDGECNN_DATA, the Keras cache
(~/.keras/datasets/fashion-mnist), Debian/Ubuntu's package `dataset-fashion-mnist`
(/usr/share/datasets/fashion-mnist). All four come from the first folder that holds
all four, so a run never mixes files from two places. Without one, they are
downloaded to the first of the user's folders (else the Keras cache). Set
EDGECNN_OFFLINE=1 to never try the network.

Integrity is checked on the decompressed IDX payload, not on the gzip bytes: Debian
recompressed the files (their .gz bytes differ from upstream's, the payload does
not), and a user may have unpacked them. One changed byte of payload is rejected.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from .. import FASHION_MNIST_CLASSES
from ..errors import DatasetError
from ..fsutil import atomic_path
from ..log import Log, get_logger
from .base import Dataset
from .idx import parse_idx, read_idx_bytes

#: MD5 of each file's decompressed IDX payload, and that payload's exact size in bytes.
#: The label payloads match zalandoresearch/fashion-mnist byte for byte; all four were
#: checked against Debian's dataset-fashion-mnist (see ../shared/DESIGN.md).
PAYLOADS = {
    "train-images-idx3-ubyte.gz": ("f4a8712d7a061bf5bd6d2ca38dc4d50a", 16 + 60_000 * 28 * 28),
    "train-labels-idx1-ubyte.gz": ("9018921c3c673c538a1fc5bad174d6f9", 8 + 60_000),
    "t10k-images-idx3-ubyte.gz": ("8181f5470baa50b63fa0f6fddb340f0a", 16 + 10_000 * 28 * 28),
    "t10k-labels-idx1-ubyte.gz": ("15d484375f8d13e6eb1aabb0c3f46965", 8 + 10_000),
}
FILE_NAMES = tuple(PAYLOADS)
EXPECTED_COUNTS = {"train": 60_000, "t10k": 10_000}
#: Where Debian and Ubuntu's `apt-get install dataset-fashion-mnist` puts the files.
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
APT_HINT = "on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist"
MIRRORS = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
DOWNLOAD_TIMEOUT_S = 15

logger = get_logger(__name__)


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "fashion-mnist"


def search_dirs(data_dir: str | os.PathLike[str] | None) -> list[Path]:
    """The folders looked in, in order; the first one is where a download goes."""
    dirs = [Path(d).expanduser() for d in (data_dir, os.environ.get("EDGECNN_DATA")) if d]
    dirs.append(keras_cache_dir())
    dirs.append(Path(os.environ.get("EDGECNN_SYSTEM_DATA", DEBIAN_DIR)))
    return dirs


def file_in(folder: Path, gz_name: str) -> Path | None:
    """The gzipped file, or the raw one a user unpacked, if `folder` has it."""
    for name in (gz_name, gz_name[: -len(".gz")]):
        if (folder / name).is_file():
            return folder / name
    return None


def files_in(folder: Path) -> dict[str, Path] | None:
    """All four files from `folder`, or None when any is missing."""
    found = {name: file_in(folder, name) for name in FILE_NAMES}
    return None if any(p is None for p in found.values()) else found  # type: ignore[return-value]


def payload_md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def read_checked(path: Path, gz_name: str) -> np.ndarray:
    """The file's IDX array, bounded by its known size, structurally checked, then matched against its MD5.

    Raises DatasetError naming the file when it is unreadable, too big, not a valid
    IDX file (truncated, wrong magic or type: said as such), or not the published
    content (one changed byte is enough).
    """
    expected_md5, size = PAYLOADS[gz_name]
    data = read_idx_bytes(path, max_bytes=size)
    array = parse_idx(data, str(path))
    actual = payload_md5(data)
    if actual != expected_md5:
        raise DatasetError(f"{path}: IDX payload MD5 {actual} is not Fashion-MNIST's {expected_md5} "
                           f"(corrupt or a different file)")
    return array


def download(gz_name: str, dest_dir: Path, log: Log) -> Path:
    """Fetch one file from the first mirror that answers, checked before it takes its final name."""
    if os.environ.get("EDGECNN_OFFLINE"):
        raise OSError("EDGECNN_OFFLINE is set")
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / gz_name
    last_error: Exception | None = None
    for mirror in MIRRORS:
        try:
            log(f"downloading {mirror}{gz_name}")
            with urllib.request.urlopen(mirror + gz_name, timeout=DOWNLOAD_TIMEOUT_S) as resp:
                payload = resp.read(PAYLOADS[gz_name][1] + 1)  # a gzip is never bigger than its payload here
            with atomic_path(dest) as tmp:
                tmp.write_bytes(payload)
                try:
                    read_checked(tmp, gz_name)
                except DatasetError as exc:
                    raise OSError(f"{gz_name} from {mirror} failed its check: {exc}") from exc
            return dest
        except (OSError, urllib.error.URLError) as exc:
            last_error = exc
    raise OSError(str(getattr(last_error, "reason", last_error)))


def missing_files_message(dirs: list[Path], reason: str) -> str:
    return (
        f"Fashion-MNIST files not found (looked in {', '.join(map(str, dirs))}) and download failed ({reason}): "
        f"{APT_HINT}, or put {', '.join(FILE_NAMES)} (gzipped or not) in one folder and pass --data-dir DIR "
        f"or set EDGECNN_DATA"
    )


def locate_files(data_dir: str | os.PathLike[str] | None, log: Log = logger.info) -> dict[str, Path]:
    """All four files from ONE folder: the first that has all four, else downloaded into the first folder.

    A folder holding only some of the files is reported and skipped, never mixed with another.
    """
    dirs = search_dirs(data_dir)
    for folder in dirs:
        found = files_in(folder)
        if found is not None:
            return found
        partial = [n for n in FILE_NAMES if file_in(folder, n)]
        if partial:
            logger.warning(f"{folder} has only {len(partial)} of the 4 Fashion-MNIST files; not using it")
    try:
        return {name: file_in(dirs[0], name) or download(name, dirs[0], log) for name in FILE_NAMES}
    except OSError as exc:
        raise DatasetError(missing_files_message(dirs, str(exc))) from exc


def load_split(images_path: Path, labels_path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images = read_checked(images_path, f"{split}-images-idx3-ubyte.gz")
    labels = read_checked(labels_path, f"{split}-labels-idx1-ubyte.gz")
    count = EXPECTED_COUNTS[split]
    if images.shape != (count, 28, 28):
        raise DatasetError(f"{images_path}: expected {count}x28x28 images, got {'x'.join(map(str, images.shape))}")
    if labels.shape != (count,):
        raise DatasetError(f"{labels_path}: expected {count} labels, got {'x'.join(map(str, labels.shape))}")
    return images, labels.astype(np.int64)


def load_fashion_mnist(data_dir: str | os.PathLike[str] | None = None, log: Log = logger.info) -> Dataset:
    files = locate_files(data_dir, log)
    x_train, y_train = load_split(files["train-images-idx3-ubyte.gz"], files["train-labels-idx1-ubyte.gz"], "train")
    x_test, y_test = load_split(files["t10k-images-idx3-ubyte.gz"], files["t10k-labels-idx1-ubyte.gz"], "t10k")
    source = str(files["train-images-idx3-ubyte.gz"].parent)
    return Dataset("fashion-mnist", source, list(FASHION_MNIST_CLASSES), x_train, y_train, x_test, y_test)
