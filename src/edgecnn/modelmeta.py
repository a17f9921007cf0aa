"""Reading the description edgecnn embeds in every model file, with the stdlib only.

A .tflite or .onnx file copied alone to a Raspberry Pi must still know its class
names, input range, polarity and quantization. `edgecnn convert` writes that as
UTF-8 JSON under the key "edgecnn":

- TFLite: an entry of the Model table's `metadata` vector, named "edgecnn", whose
  `buffer` index points at a Buffer holding the JSON bytes;
- ONNX: a `metadata_props` entry (ModelProto field 14) with key "edgecnn".

Both formats are parsed here by hand (a flatbuffer table walker and a protobuf
field walker) so that the runtime needs neither tensorflow, tflite-support nor the
`onnx` package. A truncated or foreign file gives None (no edgecnn entry) or a
ModelError naming the file, never an IndexError or struct.error. The entry itself
is checked by edgecnn.documents (strict UTF-8, size, depth, schema): a model whose
description says `"value_range": "0,1"` is refused rather than half-believed.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

from . import documents
from .errors import ModelError

METADATA_KEY = "edgecnn"

#: How a picture becomes the model's input; embedded in every artifact. The runtime's
#: `edgecnn.runtime.preprocess.prepare` is the implementation this describes, and the
#: Classifier reads each key: value_range (its pixel table), polarity and color.
PREPROCESSING: dict[str, Any] = {
    "value_range": [0.0, 1.0],
    "polarity": "light-on-dark",
    "color": "grayscale",
}

#: TFLite Model table field indices (tensorflow/lite/schema/schema.fbs).
_MODEL_BUFFERS, _MODEL_METADATA = 4, 6
#: Metadata table: name (0), buffer (1). Buffer table: data (0), offset (1), size (2).
_META_NAME, _META_BUFFER = 0, 1
_BUF_DATA, _BUF_OFFSET, _BUF_SIZE = 0, 1, 2

#: ONNX ModelProto.metadata_props; StringStringEntryProto key (1) and value (2).
_ONNX_METADATA_PROPS, _ONNX_KEY, _ONNX_VALUE = 14, 1, 2


class _Corrupt(Exception):
    """Internal: an offset or length points outside the file."""


# --------------------------------------------------------------------------- TFLite


class _FlatBuffer:
    """Bounds-checked reads of flatbuffer tables, vectors and strings (little endian)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def _unpack(self, fmt: str, pos: int) -> int:
        size = struct.calcsize(fmt)
        if pos < 0 or pos + size > len(self.data):
            raise _Corrupt(f"read of {size} bytes at {pos} past the end ({len(self.data)} bytes)")
        return struct.unpack_from(fmt, self.data, pos)[0]

    def root(self) -> int:
        return self._unpack("<I", 0)

    def field_pos(self, table: int, index: int) -> int | None:
        """Absolute position of field `index` of the table at `table`, or None if absent."""
        vtable = table - self._unpack("<i", table)
        vt_size = self._unpack("<H", vtable)
        slot = 4 + 2 * index
        if slot + 2 > vt_size:
            return None
        off = self._unpack("<H", vtable + slot)
        return table + off if off else None

    def deref(self, pos: int) -> int:
        return pos + self._unpack("<I", pos)

    def vector(self, table: int, index: int) -> tuple[int, int] | None:
        """(start of elements, length) of a vector field."""
        pos = self.field_pos(table, index)
        if pos is None:
            return None
        vec = self.deref(pos)
        length = self._unpack("<I", vec)
        return vec + 4, length

    def table_at(self, elements: int, i: int) -> int:
        return self.deref(elements + 4 * i)

    def string(self, table: int, index: int) -> str | None:
        pos = self.field_pos(table, index)
        if pos is None:
            return None
        start = self.deref(pos)
        return self.bytes_at(start + 4, self._unpack("<I", start)).decode("utf-8", "replace")

    def uint(self, table: int, index: int, fmt: str = "<I") -> int:
        pos = self.field_pos(table, index)
        return 0 if pos is None else self._unpack(fmt, pos)

    def bytes_at(self, start: int, length: int) -> bytes:
        if start < 0 or length < 0 or start + length > len(self.data):
            raise _Corrupt(f"{length} bytes at {start} run past the end ({len(self.data)} bytes)")
        return self.data[start:start + length]


def _tflite_buffer(fb: _FlatBuffer, model: int, index: int) -> bytes:
    """Contents of Model.buffers[index], inline or (models > 2 GB) at an offset in the file."""
    buffers = fb.vector(model, _MODEL_BUFFERS)
    if buffers is None or not 0 <= index < buffers[1]:
        raise _Corrupt(f"metadata points at buffer {index}, which does not exist")
    buf = fb.table_at(buffers[0], index)
    data = fb.vector(buf, _BUF_DATA)
    if data is not None and data[1]:
        return fb.bytes_at(data[0], data[1])
    offset, size = fb.uint(buf, _BUF_OFFSET, "<Q"), fb.uint(buf, _BUF_SIZE, "<Q")
    return fb.bytes_at(offset, size) if offset > 1 else b""


def tflite_metadata_entries(data: bytes) -> dict[str, bytes]:
    """Every (name -> buffer bytes) entry of a .tflite Model's metadata vector."""
    fb = _FlatBuffer(data)
    model = fb.root()
    entries = fb.vector(model, _MODEL_METADATA)
    if entries is None:
        return {}
    out: dict[str, bytes] = {}
    for i in range(entries[1]):
        meta = fb.table_at(entries[0], i)
        name = fb.string(meta, _META_NAME)
        if name is not None:
            out[name] = _tflite_buffer(fb, model, fb.uint(meta, _META_BUFFER))
    return out


def _read_tflite(data: bytes) -> bytes | None:
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise _Corrupt("not a TFLite flatbuffer (no TFL3 identifier)")
    return tflite_metadata_entries(data).get(METADATA_KEY)


# --------------------------------------------------------------------------- ONNX


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        if pos >= len(data):
            raise _Corrupt("varint runs past the end")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise _Corrupt("varint longer than 10 bytes")


def protobuf_fields(data: bytes) -> list[tuple[int, int, Any]]:
    """Top-level (field number, wire type, value) of a protobuf message; bytes for wire type 2."""
    fields, pos = [], 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1 or wire == 5:
            size = 8 if wire == 1 else 4
            if pos + size > len(data):
                raise _Corrupt("fixed-width field runs past the end")
            value, pos = data[pos:pos + size], pos + size
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise _Corrupt(f"field {number} of {length} bytes runs past the end")
            value, pos = data[pos:pos + length], pos + length
        else:
            raise _Corrupt(f"unsupported protobuf wire type {wire}")
        if number == 0:
            raise _Corrupt("protobuf field number 0")
        fields.append((number, wire, value))
    return fields


def onnx_metadata_raw(data: bytes) -> dict[bytes, bytes]:
    """ModelProto.metadata_props as undecoded key -> value bytes (protobuf does not enforce UTF-8)."""
    props: dict[bytes, bytes] = {}
    for number, wire, value in protobuf_fields(data):
        if number != _ONNX_METADATA_PROPS or wire != 2:
            continue
        entry = {n: v for n, w, v in protobuf_fields(value) if w == 2}
        props[entry.get(_ONNX_KEY, b"")] = entry.get(_ONNX_VALUE, b"")
    return props


def onnx_metadata_props(data: bytes) -> dict[str, str]:
    """ModelProto.metadata_props as a dict, without the onnx package (bad UTF-8 shown as U+FFFD)."""
    return {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in onnx_metadata_raw(data).items()}


def _read_onnx(data: bytes) -> bytes | None:
    return onnx_metadata_raw(data).get(METADATA_KEY.encode())


# --------------------------------------------------------------------------- public


def embedded_entry(path: str | os.PathLike[str], data: bytes | None = None) -> bytes | None:
    """The raw bytes of the "edgecnn" entry in a .tflite or .onnx file, or None if it has none.

    Raises ModelError (naming the file) when the file is missing, unreadable, or not
    a model of that format as far as this stdlib walker can tell. `data`: the file's
    bytes when the caller has them already.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".tflite", ".onnx"):
        raise ModelError(f"{p}: unknown model format '{suffix}' (expected .tflite or .onnx)")
    from .runtime.files import read_model_file  # regular files under the size cap only

    data = read_model_file(p) if data is None else data
    try:
        return _read_tflite(data) if suffix == ".tflite" else _read_onnx(data)
    except (_Corrupt, struct.error, RecursionError) as exc:
        raise ModelError(f"{p}: not a valid {suffix[1:].upper()} model ({exc})") from None


def decode_metadata(path: str | os.PathLike[str], raw: bytes) -> dict[str, Any]:
    """An "edgecnn" entry's bytes as the checked JSON object; ModelError naming `path` otherwise."""
    meta = documents.parse_json(documents.EMBEDDED_METADATA, raw, str(path))
    if not isinstance(meta, dict):
        raise ModelError(f"{path}: embedded '{METADATA_KEY}' metadata is not a JSON object")
    return meta


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The edgecnn description embedded in a .tflite or .onnx file, or None if it has none.

    Raises ModelError (naming the file) when the file is missing, unreadable, not a
    model of that format, or its edgecnn entry fails edgecnn.documents' checks.
    """
    raw = embedded_entry(path)
    return None if raw is None else decode_metadata(path, raw)


__all__ = ["METADATA_KEY", "PREPROCESSING", "read_metadata", "embedded_entry", "decode_metadata",
           "tflite_metadata_entries", "onnx_metadata_props", "onnx_metadata_raw"]
