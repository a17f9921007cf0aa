"""Seeded, deterministic mutations of model files: concrete edit lists a child process applies.

A mutant is described by its source file and a list of edits (JSON), so the corpus
costs no disk until a job runs, and a failing case is reproduced exactly from its
description (`apply_edits`). Kinds of edit:

    ["flip", pos, bit]            one bit flipped
    ["write", pos, "hex"]         bytes overwritten in place
    ["truncate", n]               the first n bytes kept
    ["insert", pos, start, n]     a copy of data[start:start+n] inserted at pos (a duplicated chunk)
    ["splice", start, end, "hex"] data[start:end] replaced (lengths may differ: a varint made huge)

Structural edits aim at what a loader follows: every offset, vector length and index
of the TFLite flatbuffer (`tflite_slots`) and every varint of the ONNX protobuf's
model, graph, node, tensor and shape messages (`onnx_varints`), set to huge values.
"""

from __future__ import annotations

import random
import struct
from typing import Any

from edgecnn.modelmeta import _Corrupt
from edgecnn.modelmeta import _varint as _read_varint

Edit = list[Any]


def apply_edits(data: bytes, edits: list[Edit]) -> bytes:
    buf = bytearray(data)
    for edit in edits:
        kind = edit[0]
        if kind == "flip":
            _, pos, bit = edit
            if pos < len(buf):
                buf[pos] ^= 1 << bit
        elif kind == "write":
            _, pos, hexbytes = edit
            raw = bytes.fromhex(hexbytes)
            buf[pos:pos + len(raw)] = raw
        elif kind == "truncate":
            del buf[edit[1]:]
        elif kind == "insert":
            _, pos, start, n = edit
            buf[pos:pos] = bytes(buf[start:start + n])
        elif kind == "splice":
            _, start, end, hexbytes = edit
            buf[start:end] = bytes.fromhex(hexbytes)
        else:
            raise ValueError(f"unknown edit {kind}")
    return bytes(buf)


# --------------------------------------------------------------------------- TFLite structure

# Which field of which table is what (tensorflow/lite/schema/schema.fbs); enough to reach
# every offset the interpreter follows. "vt": vector of tables, "vi": vector of 4-byte ints,
# "vb": vector of bytes (only its length word is a slot), "s": string, "t": table, "u": uint32.
_TFLITE = {
    "Model": {1: ("vt", "OperatorCode"), 2: ("vt", "SubGraph"), 3: ("s",), 4: ("vt", "Buffer"), 5: ("vi",),
              6: ("vt", "Metadata"), 7: ("vt", "SignatureDef")},
    "OperatorCode": {0: ("b",), 1: ("s",), 2: ("u",), 3: ("u",)},
    "SubGraph": {0: ("vt", "Tensor"), 1: ("vi",), 2: ("vi",), 3: ("vt", "Operator"), 4: ("s",)},
    "Tensor": {0: ("vi",), 1: ("b",), 2: ("u",), 3: ("s",), 4: ("t", "Quant"), 7: ("vi",)},
    "Quant": {0: ("vi",), 1: ("vi",), 2: ("vi",), 3: ("vb",), 6: ("u",)},
    "Operator": {0: ("u",), 1: ("vi",), 2: ("vi",), 3: ("b",), 4: ("t", None), 6: ("vb",)},
    "Buffer": {0: ("vb",)},
    "Metadata": {0: ("s",), 1: ("u",)},
    "SignatureDef": {0: ("vt", "TensorMap"), 1: ("vt", "TensorMap"), 2: ("s",), 4: ("u",)},
    "TensorMap": {0: ("s",), 1: ("u",)},
}


def tflite_slots(data: bytes) -> list[tuple[int, int]]:
    """(position, width) of every offset, length, index and type byte the loader follows, in file order."""
    slots: list[tuple[int, int]] = [(0, 4)]
    seen: set[int] = set()

    def u32(pos: int) -> int:
        return struct.unpack_from("<I", data, pos)[0]

    def table(pos: int, kind: str | None) -> None:
        if pos in seen or not 0 <= pos < len(data) - 4:
            return
        seen.add(pos)
        slots.append((pos, 4))  # soffset to the vtable
        vtable = pos - struct.unpack_from("<i", data, pos)[0]
        if not 0 <= vtable < len(data) - 4:
            return
        vt_size = struct.unpack_from("<H", data, vtable)[0]
        slots.append((vtable, 2))
        for index in range((vt_size - 4) // 2):
            slot = vtable + 4 + 2 * index
            if slot + 2 > len(data):
                return
            off = struct.unpack_from("<H", data, slot)[0]
            slots.append((slot, 2))
            if not off or kind is None:
                continue
            field = pos + off
            spec = _TFLITE.get(kind, {}).get(index)
            if spec is None or field + 4 > len(data):
                continue
            if spec[0] == "b":
                slots.append((field, 1))
                continue
            slots.append((field, 4))
            if spec[0] == "u":
                continue
            target = field + u32(field)
            if target + 4 > len(data):
                continue
            if spec[0] == "t":
                table(target, spec[1])
                continue
            slots.append((target, 4))  # vector or string length
            length = u32(target)
            if spec[0] == "vt":
                for i in range(min(length, 4096)):
                    elem = target + 4 + 4 * i
                    if elem + 4 > len(data):
                        break
                    slots.append((elem, 4))
                    table(elem + u32(elem), spec[1])
            elif spec[0] == "vi":
                slots.extend((target + 4 + 4 * i, 4) for i in range(min(length, 64))
                             if target + 8 + 4 * i <= len(data))

    try:
        table(u32(0), "Model")
    except (struct.error, IndexError, RecursionError):
        pass
    return sorted(set(slots))


# --------------------------------------------------------------------------- ONNX structure

#: Message fields to descend into: ModelProto.graph, .opset_import; GraphProto.node,
#: .initializer, .input, .output, .value_info; NodeProto.attribute; AttributeProto.t;
#: ValueInfoProto.type; TypeProto.tensor_type; TypeProto.Tensor.shape; shape.dim.
_ONNX_NESTED = {
    "model": {7: "graph", 8: "opset", 14: "prop"},
    "graph": {1: "node", 5: "tensor", 11: "value", 12: "value", 13: "value"},
    "node": {5: "attr"},
    "attr": {5: "tensor"},
    "value": {2: "type"},
    "type": {1: "ttype"},
    "ttype": {2: "shape"},
    "shape": {1: "dim"},
}
_SKIP_DEEP = {"tensor": {9, 4, 5, 7}}  # raw_data and the typed data lists: not walked


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """The product's own protobuf varint reader (edgecnn.modelmeta), with ValueError for a bad one."""
    try:
        return _read_varint(data, pos)
    except _Corrupt as exc:
        raise ValueError(str(exc)) from None


def encode_varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def onnx_varints(data: bytes) -> list[tuple[int, int, int]]:
    """(start, end, value) of every tag-following varint (values and lengths) in the walked messages."""
    spans: list[tuple[int, int, int]] = []

    def walk(start: int, end: int, kind: str, depth: int) -> None:
        pos = start
        while pos < end:
            key, pos = _varint(data, pos)
            number, wire = key >> 3, key & 7
            if wire == 0:
                value, after = _varint(data, pos)
                spans.append((pos, after, value))
                pos = after
            elif wire == 2:
                length, after = _varint(data, pos)
                spans.append((pos, after, length))
                nested = _ONNX_NESTED.get(kind, {}).get(number)
                if nested and depth < 8 and after + length <= end:
                    walk(after, after + length, nested, depth + 1)
                pos = after + length
            elif wire in (1, 5):
                pos += 8 if wire == 1 else 4
            else:
                return

    try:
        walk(0, len(data), "model", 0)
    except (ValueError, IndexError):
        pass
    return spans


# --------------------------------------------------------------------------- mutants

HUGE_32 = (0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0x10000000)
HUGE_64 = ((1 << 63) - 1, (1 << 64) - 1, 1 << 32, 1 << 31, (1 << 31) - 1, 10 ** 12)


def mutants(data: bytes, fmt: str, count: int, seed: int) -> list[tuple[str, list[Edit]]]:
    """`count` (kind, edits) mutants of a model file's bytes; the same for the same seed."""
    rng = random.Random(seed)
    size = len(data)
    slots = tflite_slots(data) if fmt == "tflite" else []
    spans = onnx_varints(data) if fmt == "onnx" else []
    structure = [pos for pos, _ in slots] or [start for start, _, _ in spans] or [0]
    kinds = ["bitflip", "overwrite", "truncate", "duplicate", "huge"]
    out: list[tuple[str, list[Edit]]] = []
    for n in range(count):
        kind = kinds[n % len(kinds)]
        edits: list[Edit] = []

        def position() -> int:  # half anywhere (mostly weights), half where the structure is
            if rng.random() < 0.5:
                return rng.randrange(size)
            return min(size - 1, rng.choice(structure) + rng.randrange(8))

        if kind == "bitflip":
            for _ in range(rng.choice((1, 1, 2, 4, 8, 32))):
                edits.append(["flip", position(), rng.randrange(8)])
        elif kind == "overwrite":
            for _ in range(rng.choice((1, 2, 4))):
                length = rng.choice((1, 2, 4, 8, 16, 64))
                fill = rng.choice(("random", "00", "ff", "7f", "80"))
                raw = rng.randbytes(length) if fill == "random" else bytes.fromhex(fill) * length
                edits.append(["write", position(), raw.hex()])
        elif kind == "truncate":
            cut = rng.choice((rng.randrange(64), rng.randrange(size), size - rng.randrange(1, 64),
                              rng.choice(structure)))
            edits.append(["truncate", max(0, cut)])
        elif kind == "duplicate":
            length = rng.choice((1, 4, 16, 256, 4096))
            start = rng.randrange(max(1, size - length))
            edits.append(["insert", position(), start, length])
        elif fmt == "tflite":
            for _ in range(rng.choice((1, 1, 2, 3))):
                pos, width = rng.choice(slots) if slots else (0, 4)
                if width == 4:
                    value = rng.choice(HUGE_32 + (size, size - 1, size + 4))
                    edits.append(["write", pos, struct.pack("<I", value).hex()])
                elif width == 2:
                    edits.append(["write", pos, struct.pack("<H", rng.choice((0xFFFF, 0x8000, 0x7FFF, 4)))
                                  .hex()])
                else:
                    edits.append(["write", pos, bytes([rng.choice((0xFF, 0x7F, 0x80, 17))]).hex()])
        else:  # onnx: one varint (a length, a dim, a type, a version) made huge; later spans shift, so one
            start, end, value = rng.choice(spans) if spans else (0, 1, 0)
            new = rng.choice(HUGE_64 + (value + 1, value * 2 + 1, size))
            edits.append(["splice", start, end, encode_varint(new).hex()])
        out.append((kind, edits))
    return out
