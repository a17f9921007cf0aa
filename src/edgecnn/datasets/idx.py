"""The IDX file format of MNIST and Fashion-MNIST, read strictly.

A truncated download or a wrong file renamed to look right must fail here with a
message naming the file, not later as a silently wrong training run.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..fsutil import write_bytes_atomic

_GZIP_MAGIC = b"\x1f\x8b"
_UINT8_TYPE = 0x08


def read_idx_bytes(path: str | os.PathLike[str], max_bytes: int | None = None) -> bytes:
    """The decompressed content of a raw or gzipped IDX file (gzip told by its magic, not its name).

    Never holds more than the size the IDX header declares plus one byte, so a gzip
    bomb (under any file name) costs no more memory than an honest file; `max_bytes`
    caps that declared size too. Raises DatasetError naming the file on any problem.
    """
    p = Path(path)
    try:
        with open(p, "rb") as raw:
            gzipped = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            if not gzipped:
                size = os.fstat(raw.fileno()).st_size
                if max_bytes is not None and size > max_bytes:
                    raise DatasetError(f"{p}: {size:,} bytes, more than the {max_bytes:,} an IDX file here may hold")
                return raw.read()
            with gzip.GzipFile(fileobj=raw) as stream:
                return _read_declared(stream, p, max_bytes)
    except DatasetError:
        raise
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DatasetError(f"{p}: corrupt or truncated gzip file ({exc})") from exc
    except OSError as exc:
        raise DatasetError(f"{p}: cannot read ({exc.strerror or exc})") from exc


def _read_declared(stream: gzip.GzipFile, path: Path, max_bytes: int | None) -> bytes:
    """Read a decompressing stream up to the IDX header's declared length, plus one byte to see a surplus."""
    head = stream.read(4)
    if len(head) < 4 or head[:2] != b"\x00\x00" or head[3] == 0:
        return head  # parse_idx reports it (too short / wrong magic)
    dims_bytes = stream.read(4 * head[3])
    header = head + dims_bytes
    if len(dims_bytes) < 4 * head[3]:
        return header
    declared = len(header) + math.prod(struct.unpack(f">{head[3]}I", dims_bytes))
    if max_bytes is not None and declared > max_bytes:
        raise DatasetError(f"{path}: header declares {declared:,} bytes, more than the {max_bytes:,} expected")
    return header + stream.read(declared - len(header) + 1)


def parse_idx(data: bytes, name: str = "<idx>") -> np.ndarray:
    """Parse IDX bytes into a uint8 array, checking magic number and exact length."""
    if len(data) < 4:
        raise DatasetError(f"{name}: too short to be an IDX file ({len(data)} bytes)")
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or ndim == 0:
        raise DatasetError(f"{name}: wrong magic number 0x{data[:4].hex()} (not an IDX file)")
    if type_code != _UINT8_TYPE:
        raise DatasetError(f"{name}: IDX type 0x{type_code:02x} is not unsigned byte (0x08)")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DatasetError(f"{name}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", data[4:header_len])
    expected = header_len + math.prod(dims)  # Python ints: 4 dims of 2^32 - 1 cannot wrap
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise DatasetError(
            f"{name}: {what}: header says {'x'.join(map(str, dims))} ({expected:,} bytes), file has {len(data):,}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(dims)


def read_idx(path: str | os.PathLike[str], max_bytes: int | None = None) -> np.ndarray:
    """A strictly checked uint8 array from a raw or gzipped IDX file; DatasetError names the file."""
    return parse_idx(read_idx_bytes(path, max_bytes), str(path))


def encode_idx(array: np.ndarray) -> bytes:
    a = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, _UINT8_TYPE, a.ndim) + struct.pack(f">{a.ndim}I", *a.shape)
    return header + a.tobytes()


def write_idx(path: str | os.PathLike[str], array: np.ndarray, compress: bool | None = None) -> Path:
    """Write an IDX file (gzipped when the name ends in .gz, unless told otherwise)."""
    p = Path(path)
    data = encode_idx(array)
    if compress if compress is not None else p.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    return write_bytes_atomic(p, data)
