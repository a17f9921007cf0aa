"""Writing artifacts so that a crash or Ctrl-C never leaves a half-written file.

Everything edgecnn writes goes to a temporary name in the destination folder and is
renamed into place only when complete; rename is atomic on one filesystem.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import UsageError


def ensure_output_dir(path: str | os.PathLike[str]) -> Path:
    """Create OUT (and parents) or explain in one line why it cannot be used."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: output path exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{out}: cannot create output folder ({exc.strerror or exc})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"{out}: output folder is not writable")
    return out


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside DEST; rename it to DEST only if the block succeeds.

    The temporary name keeps DEST's suffix because some writers (Keras) insist on it.
    """
    dest = Path(dest)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=f".tmp{dest.suffix}", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers create it themselves; some refuse to overwrite
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes_atomic(dest: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    return Path(dest)


def write_text_atomic(dest: str | os.PathLike[str], text: str) -> Path:
    return write_bytes_atomic(dest, text.encode("utf-8"))


def write_json_atomic(dest: str | os.PathLike[str], obj: Any) -> Path:
    return write_text_atomic(dest, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_labels_file(path: str | os.PathLike[str]) -> list[str]:
    """labels.txt: one class name per line, in index order.

    Checked by edgecnn.documents (regular file, size, strict UTF-8, name count and
    length); raises ModelError naming the file.
    """
    from .documents import read_labels

    return read_labels(path)


def write_labels_file(path: str | os.PathLike[str], names: list[str] | tuple[str, ...]) -> Path:
    return write_text_atomic(path, "".join(f"{name}\n" for name in names))
