"""Check a .tflite file's structure before an interpreter sees it.

tflite-runtime 2.14 (what many Raspberry Pis have) builds its model without running the
flatbuffer verifier: a truncated copy, a file of random bytes, or a few flipped bytes
make it read outside the buffer and the Python process dies with a segmentation fault.
No exception handler can catch that, so this module walks every table, vector and
string the interpreter will follow (Model, OperatorCode, SubGraph, Tensor,
QuantizationParameters, Operator, Buffer, Metadata, SignatureDef) and checks that
every offset, length and index stays inside the file. It reads only headers, never
weights, so it costs well under a millisecond for edgecnn's 256 KB model.

Field numbers are those of tensorflow/lite/schema/schema.fbs.
"""

from __future__ import annotations

import struct

from ..errors import ModelError

IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3
_MIN_SIZE = 24  # root offset, identifier, the smallest vtable and table

# Model fields
_M_VERSION, _M_OPCODES, _M_SUBGRAPHS, _M_DESCRIPTION, _M_BUFFERS = 0, 1, 2, 3, 4
_M_METADATA_BUFFER, _M_METADATA, _M_SIGNATURES = 5, 6, 7
# SubGraph fields
_SG_TENSORS, _SG_INPUTS, _SG_OUTPUTS, _SG_OPERATORS, _SG_NAME = 0, 1, 2, 3, 4
# Tensor fields
_T_SHAPE, _T_BUFFER, _T_NAME, _T_QUANT, _T_SPARSITY, _T_SHAPE_SIGNATURE = 0, 2, 3, 4, 6, 7
# QuantizationParameters fields: min, max, scale (float), zero_point (long), details
_Q_FLOAT_VECTORS, _Q_ZERO_POINT, _Q_DETAILS = (0, 1, 2), 3, 5
# Operator fields
_OP_OPCODE, _OP_INPUTS, _OP_OUTPUTS, _OP_OPTIONS, _OP_CUSTOM = 0, 1, 2, 4, 5
_OP_MUTATING, _OP_INTERMEDIATES, _OP_LARGE_OFFSET, _OP_LARGE_SIZE, _OP_OPTIONS_2 = 7, 8, 9, 10, 12
# OperatorCode, Buffer, Metadata, SignatureDef, TensorMap fields
_OC_CUSTOM = 1
_B_DATA, _B_OFFSET, _B_SIZE = 0, 1, 2
_MD_NAME, _MD_BUFFER = 0, 1
_SD_INPUTS, _SD_OUTPUTS, _SD_KEY, _SD_SUBGRAPH = 0, 1, 2, 4
_TM_NAME, _TM_TENSOR = 0, 1


class _Bad(Exception):
    """Internal: what is wrong, for the one-line ModelError."""


class _Reader:
    """Bounds-checked little-endian reads of flatbuffer tables, vectors and strings."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def scalar(self, fmt: str, pos: int) -> int:
        width = struct.calcsize(fmt)
        if pos < 0 or pos + width > self.size:
            raise _Bad(f"offset {pos} is past the end of the file")
        return struct.unpack_from(fmt, self.data, pos)[0]

    def table(self, pos: int) -> "_Table":
        """The table at pos, after checking its vtable and its own extent."""
        vtable = pos - self.scalar("<i", pos)
        vt_size = self.scalar("<H", vtable)
        obj_size = self.scalar("<H", vtable + 2)
        if vt_size < 4 or vt_size % 2 or vtable + vt_size > self.size:
            raise _Bad(f"bad vtable at {vtable}")
        if obj_size < 4 or pos + obj_size > self.size:
            raise _Bad(f"table at {pos} runs past the end of the file")
        offsets = struct.unpack_from(f"<{(vt_size - 4) // 2}H", self.data, vtable + 4)
        if any(off >= obj_size for off in offsets):
            raise _Bad(f"table at {pos} has a field outside itself")
        return _Table(self, pos, offsets)

    def follow(self, pos: int) -> int:
        target = pos + self.scalar("<I", pos)
        if target >= self.size:
            raise _Bad(f"reference at {pos} points past the end of the file")
        return target

    def vector(self, pos: int, elem_size: int) -> tuple[int, int]:
        """(first element, length) of the vector at pos, checked to fit in the file."""
        length = self.scalar("<I", pos)
        if pos + 4 + length * elem_size > self.size:
            raise _Bad(f"vector at {pos} ({length} elements) runs past the end of the file")
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

    def string(self, index: int) -> None:
        pos = self.field(index)
        if pos is not None:
            start, length = self.r.vector(self.r.follow(pos), 1)
            if start + length >= self.r.size:  # the terminating NUL must be in the file too
                raise _Bad(f"string at {start} runs past the end of the file")

    def subtable(self, index: int) -> _Table | None:
        pos = self.field(index)
        return None if pos is None else self.r.table(self.r.follow(pos))


def check_tflite_bytes(data: bytes, name: str = "model") -> None:
    """Raise ModelError naming the file unless `data` is a structurally sound TFLite model."""
    if not data:
        raise ModelError(f"{name}: empty file (0 bytes), not a TFLite model")
    if len(data) < _MIN_SIZE or data[4:8] != IDENTIFIER:
        raise ModelError(f"{name}: not a TFLite model (no '{IDENTIFIER.decode()}' flatbuffer identifier){_hint(data)}")
    try:
        _check_model(_Reader(data))
    except (_Bad, struct.error) as exc:
        raise ModelError(f"{name}: corrupt or truncated TFLite model ({exc}); copy or convert it again") from None


def _hint(data: bytes) -> str:
    if data[:2] == b"PK":
        return "; it is a zip archive (a .keras model? convert it first: edgecnn convert MODEL.keras)"
    if data[:1] == b"\x08":
        return "; it looks like an ONNX file, name it .onnx"
    return ""


def _check_model(r: _Reader) -> None:
    root = r.scalar("<I", 0)
    if not 8 <= root < r.size:
        raise _Bad(f"root offset {root} outside the file")
    model = r.table(root)
    version = model.scalar(_M_VERSION)
    if version != SCHEMA_VERSION:
        raise _Bad(f"schema version {version}, expected {SCHEMA_VERSION}")
    opcodes = model.tables(_M_OPCODES)
    for opcode in opcodes:
        opcode.string(_OC_CUSTOM)
    buffers = model.tables(_M_BUFFERS)
    for buffer in buffers:
        _check_buffer(r, buffer)
    subgraphs = model.tables(_M_SUBGRAPHS)
    if not subgraphs:
        raise _Bad("no subgraph")
    for subgraph in subgraphs:
        _check_subgraph(subgraph, len(opcodes), len(buffers))
    model.string(_M_DESCRIPTION)
    _check_indices(model.ints(_M_METADATA_BUFFER), len(buffers), "metadata buffer")
    for meta in model.tables(_M_METADATA):
        meta.string(_MD_NAME)
        _check_indices((meta.scalar(_MD_BUFFER),), len(buffers), "metadata buffer")
    for signature in model.tables(_M_SIGNATURES):
        _check_signature(signature, subgraphs)


def _check_buffer(r: _Reader, buffer: _Table) -> None:
    buffer.vector(_B_DATA, 1)
    offset, size = buffer.scalar(_B_OFFSET, "<Q"), buffer.scalar(_B_SIZE, "<Q")
    if offset > 1 and offset + size > r.size:
        raise _Bad(f"weights at {offset} (+{size} bytes) are past the end of the file")


def _check_subgraph(subgraph: _Table, n_opcodes: int, n_buffers: int) -> None:
    tensors = subgraph.tables(_SG_TENSORS)
    for tensor in tensors:
        _check_tensor(tensor, n_buffers)
    n = len(tensors)
    _check_indices(subgraph.ints(_SG_INPUTS), n, "subgraph input tensor")
    _check_indices(subgraph.ints(_SG_OUTPUTS), n, "subgraph output tensor")
    subgraph.string(_SG_NAME)
    for op in subgraph.tables(_SG_OPERATORS):
        _check_indices((op.scalar(_OP_OPCODE),), n_opcodes, "operator code")
        for field in (_OP_INPUTS, _OP_OUTPUTS, _OP_INTERMEDIATES):
            _check_indices(op.ints(field), n, "operator tensor", optional_ok=True)
        op.vector(_OP_CUSTOM, 1)
        op.vector(_OP_MUTATING, 1)
        op.subtable(_OP_OPTIONS)
        op.subtable(_OP_OPTIONS_2)
        offset, size = op.scalar(_OP_LARGE_OFFSET, "<Q"), op.scalar(_OP_LARGE_SIZE, "<Q")
        if offset > 1 and offset + size > op.r.size:
            raise _Bad(f"custom options at {offset} are past the end of the file")


def _check_tensor(tensor: _Table, n_buffers: int) -> None:
    shape = tensor.ints(_T_SHAPE)
    if any(d < -1 for d in shape):
        raise _Bad(f"tensor shape {list(shape)}")
    tensor.ints(_T_SHAPE_SIGNATURE)
    _check_indices((tensor.scalar(_T_BUFFER),), n_buffers, "tensor buffer")
    tensor.string(_T_NAME)
    tensor.subtable(_T_SPARSITY)
    quant = tensor.subtable(_T_QUANT)
    if quant is not None:
        for field in _Q_FLOAT_VECTORS:
            quant.vector(field, 4)
        quant.vector(_Q_ZERO_POINT, 8)
        quant.subtable(_Q_DETAILS)


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
            raise _Bad(f"{what} index {i} out of range (0..{count - 1})")
