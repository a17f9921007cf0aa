"""One reader for a model file: check its structure, then read what edgecnn embeds in it.

A .tflite or .onnx file copied alone to a Raspberry Pi must still know its class names,
input range, polarity and quantization. `edgecnn convert` writes that as UTF-8 JSON
under the key "edgecnn":

- TFLite: an entry of the Model table's `metadata` vector, named "edgecnn", whose
  `buffer` index points at a Buffer holding the JSON bytes;
- ONNX: a `metadata_props` entry (ModelProto field 14) with key "edgecnn".

`read_model` reads the file once (runtime.files.read_model_file: regular files under the
size cap), checks its structure, then finds and checks that entry; every problem is one
ModelError naming the file. Both formats are parsed here with the standard library (a
flatbuffer table walker, a protobuf field walker), so the runtime needs neither
tensorflow, tflite-support nor the `onnx` package.

Why the TFLite check walks the whole file: tflite-runtime 2.14 (what many Raspberry Pis
have) builds its model without running the flatbuffer verifier, so a truncated copy, a
file of random bytes or a few flipped bytes make it read outside the buffer and the
process dies with a segmentation fault that no exception handler can catch. The check
follows every table, vector and string the interpreter will (Model, OperatorCode,
SubGraph, Tensor, QuantizationParameters, Operator, Buffer, Metadata, SignatureDef) and
requires each offset, length and index to stay inside the file, and the sizes memory is
copied by to agree: a constant tensor's shape fits its buffer, and a DEQUANTIZE or QUANTIZE
output has as many elements as its input (LiteRT's XNNPACK delegate unpacks float16 weights
by the output's shape; a larger one is read past the weights). It reads headers, never
weights: well under a millisecond for edgecnn's 256 KB model. Field numbers are those of
tensorflow/lite/schema/schema.fbs. For ONNX, the top-level ModelProto fields must parse
(ONNX Runtime itself validates the graph when it loads the model).

The entry itself is checked by edgecnn.documents (strict UTF-8, size, depth, schema): a
model whose description says `"value_range": "0,1"` is refused rather than half-believed.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import documents
from .errors import ModelError
from .formats import ONNX, TFLITE, model_kind

METADATA_KEY = "edgecnn"

#: How a picture becomes the model's input; embedded in every artifact. The runtime's
#: `edgecnn.runtime.preprocess.prepare` is the implementation this describes, and the
#: Classifier reads each key: value_range (its pixel table), polarity and color.
PREPROCESSING: dict[str, Any] = {
    "value_range": [0.0, 1.0],
    "polarity": "light-on-dark",
    "color": "grayscale",
}

TFLITE_IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3
_MIN_SIZE = 24  # root offset, identifier, the smallest vtable and table

# TFLite Model fields
_M_VERSION, _M_OPCODES, _M_SUBGRAPHS, _M_DESCRIPTION, _M_BUFFERS = 0, 1, 2, 3, 4
_M_METADATA_BUFFER, _M_METADATA, _M_SIGNATURES = 5, 6, 7
# SubGraph fields
_SG_TENSORS, _SG_INPUTS, _SG_OUTPUTS, _SG_OPERATORS, _SG_NAME = 0, 1, 2, 3, 4
# Tensor fields
_T_SHAPE, _T_TYPE, _T_BUFFER, _T_NAME, _T_QUANT, _T_SPARSITY, _T_SHAPE_SIGNATURE = 0, 1, 2, 3, 4, 6, 7
#: Bits per element of the TensorType values with a fixed size (STRING, RESOURCE, VARIANT: none).
_TYPE_BITS = {0: 32, 1: 16, 2: 32, 3: 8, 4: 64, 6: 8, 7: 16, 8: 64, 9: 8, 10: 64, 11: 128, 12: 64, 15: 32,
              16: 16, 17: 4, 18: 16}
# QuantizationParameters fields: min, max, scale (float), zero_point (long), details
_Q_FLOAT_VECTORS, _Q_ZERO_POINT, _Q_DETAILS = (0, 1, 2), 3, 5
# Operator fields
_OP_OPCODE, _OP_INPUTS, _OP_OUTPUTS, _OP_OPTIONS, _OP_CUSTOM = 0, 1, 2, 4, 5
_OP_MUTATING, _OP_INTERMEDIATES, _OP_LARGE_OFFSET, _OP_LARGE_SIZE, _OP_OPTIONS_2 = 7, 8, 9, 10, 12
# OperatorCode, Buffer, Metadata, SignatureDef, TensorMap fields
_OC_DEPRECATED_BUILTIN, _OC_CUSTOM, _OC_BUILTIN = 0, 1, 3
_B_DATA, _B_OFFSET, _B_SIZE = 0, 1, 2
_MD_NAME, _MD_BUFFER = 0, 1
_SD_INPUTS, _SD_OUTPUTS, _SD_KEY, _SD_SUBGRAPH = 0, 1, 2, 4
_TM_NAME, _TM_TENSOR = 0, 1

#: Element-wise conversions (BuiltinOperator values): the output has the input's shape, so the
#: same number of elements. The XNNPACK delegate (LiteRT's default CPU delegate) unpacks a
#: DEQUANTIZE of constant weights when it is applied, before any kernel's Prepare, sizing the
#: copy by the output tensor's shape in the file (xnnpack_delegate.cc, PrepareOpsToDelegate:
#: `tensor_elements = output_tensor.bytes / sizeof(float)`, then DequantizeFloat16 reads that
#: many float16 values from the input's buffer); an output larger than its input reads past
#: the weights and the process dies with a segmentation fault.
_ELEMENTWISE_OPS = {6: "DEQUANTIZE", 114: "QUANTIZE"}

#: ONNX ModelProto.metadata_props; StringStringEntryProto key (1) and value (2).
_ONNX_METADATA_PROPS, _ONNX_KEY, _ONNX_VALUE = 14, 1, 2


class _Corrupt(Exception):
    """Internal: what is wrong with the file, for the one-line ModelError."""


# --------------------------------------------------------------------------- flatbuffers


class _Reader:
    """Bounds-checked little-endian reads of flatbuffer tables, vectors and strings."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def scalar(self, fmt: str, pos: int) -> int:
        width = struct.calcsize(fmt)
        if pos < 0 or pos + width > self.size:
            raise _Corrupt(f"offset {pos} is past the end of the file")
        return struct.unpack_from(fmt, self.data, pos)[0]

    def table(self, pos: int) -> "_Table":
        """The table at pos, after checking its vtable and its own extent."""
        vtable = pos - self.scalar("<i", pos)
        vt_size = self.scalar("<H", vtable)
        obj_size = self.scalar("<H", vtable + 2)
        if vt_size < 4 or vt_size % 2 or vtable + vt_size > self.size:
            raise _Corrupt(f"bad vtable at {vtable}")
        if obj_size < 4 or pos + obj_size > self.size:
            raise _Corrupt(f"table at {pos} runs past the end of the file")
        offsets = struct.unpack_from(f"<{(vt_size - 4) // 2}H", self.data, vtable + 4)
        if any(off >= obj_size for off in offsets):
            raise _Corrupt(f"table at {pos} has a field outside itself")
        return _Table(self, pos, offsets)

    def follow(self, pos: int) -> int:
        target = pos + self.scalar("<I", pos)
        if target >= self.size:
            raise _Corrupt(f"reference at {pos} points past the end of the file")
        return target

    def vector(self, pos: int, elem_size: int) -> tuple[int, int]:
        """(first element, length) of the vector at pos, checked to fit in the file."""
        length = self.scalar("<I", pos)
        if pos + 4 + length * elem_size > self.size:
            raise _Corrupt(f"vector at {pos} ({length} elements) runs past the end of the file")
        return pos + 4, length


class _Table:
    def __init__(self, reader: _Reader, pos: int, offsets: tuple[int, ...]) -> None:
        self.r, self.pos, self.offsets = reader, pos, offsets

    def field(self, index: int) -> int | None:
        off = self.offsets[index] if index < len(self.offsets) else 0
        return self.pos + off if off else None

    def scalar(self, index: int, fmt: str = "<I", default: int = 0) -> int:
        pos = self.field(index)
        return default if pos is None else self.r.scalar(fmt, pos)

    def vector(self, index: int, elem_size: int) -> tuple[int, int]:
        pos = self.field(index)
        return (0, 0) if pos is None else self.r.vector(self.r.follow(pos), elem_size)

    def ints(self, index: int, fmt: str = "<i") -> tuple[int, ...]:
        start, length = self.vector(index, struct.calcsize(fmt))
        return struct.unpack_from(f"<{length}{fmt[-1]}", self.r.data, start) if length else ()

    def tables(self, index: int) -> list[_Table]:
        start, length = self.vector(index, 4)
        return [self.r.table(self.r.follow(start + 4 * i)) for i in range(length)]

    def string(self, index: int) -> str | None:
        """The string field's text (bad UTF-8 shown as U+FFFD), None if absent; checked to fit."""
        pos = self.field(index)
        if pos is None:
            return None
        start, length = self.r.vector(self.r.follow(pos), 1)
        if start + length >= self.r.size:  # the terminating NUL must be in the file too
            raise _Corrupt(f"string at {start} runs past the end of the file")
        return self.r.data[start:start + length].decode("utf-8", "replace")

    def subtable(self, index: int) -> _Table | None:
        pos = self.field(index)
        return None if pos is None else self.r.table(self.r.follow(pos))


def _check_model(r: _Reader) -> dict[str, bytes]:
    """Walk the whole Model (raising _Corrupt); its metadata entries as name -> buffer bytes."""
    root = r.scalar("<I", 0)
    if not 8 <= root < r.size:
        raise _Corrupt(f"root offset {root} outside the file")
    model = r.table(root)
    version = model.scalar(_M_VERSION)
    if version != SCHEMA_VERSION:
        raise _Corrupt(f"schema version {version}, expected {SCHEMA_VERSION}")
    opcodes = model.tables(_M_OPCODES)
    builtins = []
    for opcode in opcodes:
        opcode.string(_OC_CUSTOM)
        # the schema's rule: the code is the larger of builtin_code and deprecated_builtin_code
        builtins.append(max(opcode.scalar(_OC_DEPRECATED_BUILTIN, "<b"), opcode.scalar(_OC_BUILTIN, "<i")))
    buffers = model.tables(_M_BUFFERS)
    sizes = [len(_buffer_bytes(r, buffer)) for buffer in buffers]  # slices: no copy of the weights
    subgraphs = model.tables(_M_SUBGRAPHS)
    if not subgraphs:
        raise _Corrupt("no subgraph")
    for subgraph in subgraphs:
        _check_subgraph(subgraph, builtins, sizes)
    model.string(_M_DESCRIPTION)
    _check_indices(model.ints(_M_METADATA_BUFFER), len(buffers), "metadata buffer")
    entries: dict[str, bytes] = {}
    for meta in model.tables(_M_METADATA):
        name, index = meta.string(_MD_NAME), meta.scalar(_MD_BUFFER)
        _check_indices((index,), len(buffers), "metadata buffer")
        if name is not None:
            entries[name] = _buffer_bytes(r, buffers[index])
    for signature in model.tables(_M_SIGNATURES):
        _check_signature(signature, subgraphs)
    return entries


def _buffer_bytes(r: _Reader, buffer: _Table) -> bytes:
    """A Buffer's contents: inline, or (models over 2 GB) at an offset in the file (offset > 1).

    Both are checked whichever is used: an interpreter may follow the offset of a buffer
    that also has inline data.
    """
    start, length = buffer.vector(_B_DATA, 1)
    offset, size = buffer.scalar(_B_OFFSET, "<Q"), buffer.scalar(_B_SIZE, "<Q")
    if offset > 1 and offset + size > r.size:
        raise _Corrupt(f"weights at {offset} (+{size} bytes) are past the end of the file")
    if length:
        return r.data[start:start + length]
    return r.data[offset:offset + size] if offset > 1 else b""


def _check_subgraph(subgraph: _Table, builtins: list[int], buffer_sizes: list[int]) -> None:
    tensors = subgraph.tables(_SG_TENSORS)
    shapes = [_check_tensor(tensor, buffer_sizes) for tensor in tensors]
    n = len(tensors)
    _check_indices(subgraph.ints(_SG_INPUTS), n, "subgraph input tensor")
    _check_indices(subgraph.ints(_SG_OUTPUTS), n, "subgraph output tensor")
    subgraph.string(_SG_NAME)
    for index, op in enumerate(subgraph.tables(_SG_OPERATORS)):
        opcode = op.scalar(_OP_OPCODE)
        _check_indices((opcode,), len(builtins), "operator code")
        for field in (_OP_INPUTS, _OP_OUTPUTS, _OP_INTERMEDIATES):
            _check_indices(op.ints(field), n, "operator tensor", optional_ok=True)
        if builtins[opcode] in _ELEMENTWISE_OPS:
            _check_elementwise(_ELEMENTWISE_OPS[builtins[opcode]], index, op, shapes)
        op.vector(_OP_CUSTOM, 1)
        op.vector(_OP_MUTATING, 1)
        op.subtable(_OP_OPTIONS)
        op.subtable(_OP_OPTIONS_2)
        offset, size = op.scalar(_OP_LARGE_OFFSET, "<Q"), op.scalar(_OP_LARGE_SIZE, "<Q")
        if offset > 1 and offset + size > op.r.size:
            raise _Corrupt(f"custom options at {offset} are past the end of the file")


def _check_elementwise(name: str, index: int, op: _Table, shapes: list[tuple[int, ...]]) -> None:
    """An element-wise op's first output has as many elements as its first input (both shapes known)."""
    inputs, outputs = op.ints(_OP_INPUTS), op.ints(_OP_OUTPUTS)
    if not inputs or not outputs or inputs[0] < 0 or outputs[0] < 0:
        return
    src, dst = shapes[inputs[0]], shapes[outputs[0]]
    if any(d < 0 for d in src + dst):  # -1: not known until the interpreter resizes it
        return
    if math.prod(src) != math.prod(dst):
        raise _Corrupt(f"operator {index} ({name}) turns tensor {inputs[0]} of shape {list(src)} "
                       f"({math.prod(src)} elements) into tensor {outputs[0]} of shape {list(dst)} "
                       f"({math.prod(dst)} elements); an element-wise op keeps the number of elements")


def _check_tensor(tensor: _Table, buffer_sizes: list[int]) -> tuple[int, ...]:
    """Check one Tensor table; its shape."""
    shape = tensor.ints(_T_SHAPE)
    if any(d < -1 for d in shape):
        raise _Corrupt(f"tensor shape {list(shape)}")
    tensor.ints(_T_SHAPE_SIGNATURE)
    buffer = tensor.scalar(_T_BUFFER)
    _check_indices((buffer,), len(buffer_sizes), "tensor buffer")
    tensor.string(_T_NAME)
    sparse = tensor.subtable(_T_SPARSITY) is not None
    quant = tensor.subtable(_T_QUANT)
    if quant is not None:
        for field in _Q_FLOAT_VECTORS:
            quant.vector(field, 4)
        quant.vector(_Q_ZERO_POINT, 8)
        quant.subtable(_Q_DETAILS)
    item_bits = _TYPE_BITS.get(tensor.scalar(_T_TYPE, "<b"))
    if buffer_sizes[buffer] and not sparse and item_bits and all(d >= 0 for d in shape):
        needed = -(-math.prod(shape) * item_bits // 8)
        if buffer_sizes[buffer] < needed:  # the interpreter would read its weights past the buffer
            raise _Corrupt(f"tensor shape {list(shape)} needs {needed} bytes, its buffer {buffer} has "
                           f"{buffer_sizes[buffer]}")
    return shape


def _check_signature(signature: _Table, subgraphs: list[_Table]) -> None:
    signature.string(_SD_KEY)
    index = signature.scalar(_SD_SUBGRAPH)
    _check_indices((index,), len(subgraphs), "signature subgraph")
    n_tensors = subgraphs[index].vector(_SG_TENSORS, 4)[1]
    for field in (_SD_INPUTS, _SD_OUTPUTS):
        for tensor_map in signature.tables(field):
            tensor_map.string(_TM_NAME)
            _check_indices((tensor_map.scalar(_TM_TENSOR),), n_tensors, "signature tensor")


def _check_indices(indices: tuple[int, ...], count: int, what: str, optional_ok: bool = False) -> None:
    for i in indices:
        if not (0 <= i < count or (optional_ok and i == -1)):
            raise _Corrupt(f"{what} index {i} out of range (0..{count - 1})")


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
    """ModelProto.metadata_props as undecoded key -> value bytes (protobuf does not enforce UTF-8).

    Raises ModelError when the top-level fields do not parse.
    """
    try:
        return _onnx_entries(data)
    except _Corrupt as exc:
        raise ModelError(f"not a valid ONNX model ({exc})") from exc


def _onnx_entries(data: bytes) -> dict[bytes, bytes]:
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


# --------------------------------------------------------------------------- public


@dataclass(frozen=True)
class ModelFile:
    """A model file read once and checked: its bytes, its kind and its embedded description."""

    path: Path
    kind: str  # formats.TFLITE or formats.ONNX
    data: bytes
    entry: bytes | None  # the raw "edgecnn" entry; None when the model has none
    metadata: dict[str, Any] | None  # that entry, decoded and checked


def read_model(path: str | os.PathLike[str], data: bytes | None = None) -> ModelFile:
    """Read (unless `data` is given), check and describe a .tflite or .onnx file.

    Raises:
        ModelError: naming the file, when it is missing, not a regular file, over the
            runtime's size cap, of another format (a .keras model is told to convert first),
            structurally unsound (truncated, corrupt, foreign bytes) or when its "edgecnn"
            entry fails edgecnn.documents' checks.
    """
    p, kind, data = _read(path, data)
    entry = _entries(p, kind, data).get(METADATA_KEY.encode() if kind == ONNX else METADATA_KEY)
    return ModelFile(p, kind, data, entry, None if entry is None else decode_metadata(p, entry))


def _read(path: str | os.PathLike[str], data: bytes | None) -> tuple[Path, str, bytes]:
    """(path, kind, bytes): a missing file or a folder is said before its name is judged."""
    from .runtime.files import check_model_file, read_model_file  # regular files under the size cap only

    p = Path(path)
    if data is None:
        check_model_file(p)
    kind = model_kind(p)
    return p, kind, read_model_file(p) if data is None else data


def _entries(path: Path, kind: str, data: bytes) -> dict:
    """The metadata entries of a checked model of `kind`; ModelError naming `path` otherwise."""
    if kind == TFLITE:
        if not data:
            raise ModelError(f"{path}: empty file (0 bytes), not a TFLite model")
        if len(data) < _MIN_SIZE or data[4:8] != TFLITE_IDENTIFIER:
            raise ModelError(f"{path}: not a TFLite model (no '{TFLITE_IDENTIFIER.decode()}' flatbuffer "
                             f"identifier){_hint(data)}")
    elif not data:
        raise ModelError(f"{path}: empty file (0 bytes), not an ONNX model")
    try:
        return _check_model(_Reader(data)) if kind == TFLITE else _onnx_entries(data)
    except (_Corrupt, struct.error, RecursionError) as exc:
        name = "TFLite" if kind == TFLITE else "ONNX"
        raise ModelError(f"{path}: corrupt or truncated {name} model ({exc}); copy or convert it again") from exc


def _hint(data: bytes) -> str:
    if data[:2] == b"PK":
        return "; it is a zip archive (a .keras model? convert it first: edgecnn convert MODEL.keras)"
    if data[:1] == b"\x08":
        return "; it looks like an ONNX file, name it .onnx"
    return ""


def check_tflite_bytes(data: bytes, name: str = "model") -> None:
    """Raise ModelError naming `name` unless `data` is a structurally sound TFLite model."""
    _entries(Path(name), TFLITE, data)


def tflite_metadata_entries(data: bytes) -> dict[str, bytes]:
    """Every (name -> buffer bytes) entry of a checked .tflite Model's metadata vector; ModelError if unsound."""
    return _entries(Path("model.tflite"), TFLITE, data)


def embedded_entry(path: str | os.PathLike[str], data: bytes | None = None) -> bytes | None:
    """The raw bytes of the "edgecnn" entry in a .tflite or .onnx file, or None if it has none.

    Raises ModelError (naming the file) as read_model does, except for the entry's own checks.
    """
    p, kind, data = _read(path, data)
    return _entries(p, kind, data).get(METADATA_KEY.encode() if kind == ONNX else METADATA_KEY)


def decode_metadata(path: str | os.PathLike[str], raw: bytes) -> dict[str, Any]:
    """An "edgecnn" entry's bytes as the checked JSON object; ModelError naming `path` otherwise."""
    meta = documents.parse_json(documents.EMBEDDED_METADATA, raw, str(path))
    if not isinstance(meta, dict):
        raise ModelError(f"{path}: embedded '{METADATA_KEY}' metadata is not a JSON object")
    return meta


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The edgecnn description embedded in a .tflite or .onnx file, or None if it has none.

    Raises ModelError (naming the file) as read_model does.
    """
    return read_model(path).metadata


__all__ = ["METADATA_KEY", "PREPROCESSING", "ModelFile", "read_model", "read_metadata", "embedded_entry",
           "decode_metadata", "check_tflite_bytes", "tflite_metadata_entries", "onnx_metadata_props",
           "onnx_metadata_raw"]
