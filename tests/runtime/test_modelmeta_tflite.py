"""The TFLite check's rule for element-wise ops: a DEQUANTIZE or QUANTIZE output has its input's element count.

The fuzz corpus (seed 1013, bitflip #170 of model_float16.tflite) found a file whose
DEQUANTIZE output - the float32 copy of conv1's float16 weights, a non-constant tensor -
had one dimension changed from 3 to 2051. LiteRT 2.3 applies its XNNPACK delegate in
allocate_tensors, and the delegate unpacks float16 weights before any kernel's Prepare,
sizing the copy by the output tensor's shape in the file: it reads 2051/3 times the
weights' buffer and the process dies with SIGSEGV. Without the delegate the interpreter
resizes the output to the input's shape and runs. modelmeta refuses such a file first.
These tests build the bad files from the golden models, so they do not depend on a
retrained fixture's byte offsets.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from edgecnn import modelmeta
from edgecnn.errors import ModelError
from edgecnn.modelmeta import check_tflite_bytes

from .conftest import GOLDEN, LOAD_MODEL, run_python

FLOAT16 = GOLDEN / "model_float16.tflite"
UINT8 = GOLDEN / "uint8" / "model_int8.tflite"


def _elementwise_outputs(data: bytes, builtin: int) -> list[tuple[int, list[int], int]]:
    """(output tensor, its shape, file position of its shape's first dimension) for each op of `builtin`."""
    r = modelmeta._Reader(data)
    model = r.table(r.scalar("<I", 0))
    codes = [max(oc.scalar(0, "<b"), oc.scalar(3, "<i")) for oc in model.tables(modelmeta._M_OPCODES)]
    subgraph = model.tables(modelmeta._M_SUBGRAPHS)[0]
    tensors = subgraph.tables(modelmeta._SG_TENSORS)
    found = []
    for op in subgraph.tables(modelmeta._SG_OPERATORS):
        if codes[op.scalar(modelmeta._OP_OPCODE)] != builtin:
            continue
        out = op.ints(modelmeta._OP_OUTPUTS)[0]
        tensor = tensors[out]
        shape_at = r.follow(tensor.field(modelmeta._T_SHAPE)) + 4
        found.append((out, list(tensor.ints(modelmeta._T_SHAPE)), shape_at))
    return found


def _with_dim(data: bytes, pos: int, value: int) -> bytes:
    edited = bytearray(data)
    struct.pack_into("<i", edited, pos, value)
    return bytes(edited)


def _conv1_weights_3_to_2051(data: bytes) -> tuple[bytes, int]:
    """The fuzz crash's edit: a 3 of a DEQUANTIZE output's shape (the weights as float32) made 2051."""
    for out, shape, shape_at in _elementwise_outputs(data, 6):
        if 3 in shape:
            return _with_dim(data, shape_at + 4 * shape.index(3), 2051), out
    raise AssertionError("no DEQUANTIZE output with a dimension of 3 in the golden float16 model")


def test_golden_models_pass_the_elementwise_rule() -> None:
    for path in sorted(GOLDEN.rglob("*.tflite")):
        check_tflite_bytes(path.read_bytes(), path.name)
    assert _elementwise_outputs(FLOAT16.read_bytes(), 6), "the float16 model has DEQUANTIZE ops"
    assert _elementwise_outputs(UINT8.read_bytes(), 114), "the uint8-io model has QUANTIZE ops"


def test_dequantize_output_larger_than_its_float16_input_is_refused() -> None:
    bad, out = _conv1_weights_3_to_2051(FLOAT16.read_bytes())
    with pytest.raises(ModelError, match=rf"corrupt or truncated TFLite model \(operator \d+ \(DEQUANTIZE\) turns "
                                         rf"tensor \d+ of shape .* into tensor {out} of shape .*2051.*; an "
                                         rf"element-wise op keeps the number of elements\)") as info:
        check_tflite_bytes(bad, "mutant.tflite")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("value", [1, 0, 4])
def test_any_dequantize_output_with_another_element_count_is_refused(value: int) -> None:
    data = FLOAT16.read_bytes()
    for out, shape, shape_at in _elementwise_outputs(data, 6):
        with pytest.raises(ModelError, match=rf"DEQUANTIZE\) turns tensor \d+ .* into tensor {out} "):
            check_tflite_bytes(_with_dim(data, shape_at, value if value != shape[0] else value + 1), "mutant")


def test_quantize_output_with_another_element_count_is_refused() -> None:
    data = UINT8.read_bytes()
    out, shape, shape_at = _elementwise_outputs(data, 114)[0]
    with pytest.raises(ModelError, match=rf"QUANTIZE\) turns tensor \d+ .* into tensor {out} "):
        check_tflite_bytes(_with_dim(data, shape_at + 4, shape[1] + 1), "mutant")


def test_the_fuzz_crash_is_a_one_line_error_in_a_fresh_process(tmp_path: Path) -> None:
    """LiteRT (XNNPACK) segfaulted on this file in allocate_tensors; now Classifier refuses it first."""
    bad, _ = _conv1_weights_3_to_2051(FLOAT16.read_bytes())
    path = tmp_path / "mutant.tflite"
    path.write_bytes(bad)
    proc = run_python(LOAD_MODEL, str(path))
    assert proc.returncode == 2, f"exit {proc.returncode} (negative = killed by a signal)\n{proc.stderr[-2000:]}"
    assert proc.stdout.count("\n") == 1 and "DEQUANTIZE" in proc.stdout, proc.stdout
