"""Keras to ONNX through tf2onnx, plus optional static QDQ int8 with ONNX Runtime.

`tf2onnx.convert.from_keras` fails on Keras 3 models (KeyError on a keras_tensor
name), so the model is wrapped in a tf.function with an explicit TensorSpec and
converted with `from_function`. The graph input is named "input", the output
"probabilities", and the batch dimension is dynamic ("batch").
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import INPUT_SHAPE, __version__
from ..errors import ModelError, one_line
from ..modelmeta import METADATA_KEY
from .describe import tensor_description

INPUT_NAME, OUTPUT_NAME, BATCH_DIM = "input", "probabilities", "batch"


def export_onnx(model: Any, opset: int) -> Any:
    """The float32 ONNX ModelProto of a Keras model (no metadata yet)."""
    from ..tfenv import import_tensorflow, quiet_stderr

    tf = import_tensorflow()
    import tf2onnx

    spec = tf.TensorSpec((None, *INPUT_SHAPE), tf.float32, name=INPUT_NAME)
    function = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    try:
        with quiet_stderr():
            proto, _ = tf2onnx.convert.from_function(function, input_signature=[spec], opset=opset)
    except Exception as exc:
        raise ModelError(f"ONNX export (opset {opset}) failed: {one_line(exc, 300)}") from exc
    _rename_io(proto)
    proto.producer_name, proto.producer_version = "edgecnn", __version__
    return proto


def _rename_io(proto: Any) -> None:
    """Stable names ("input", "probabilities") and a named dynamic batch dimension."""
    graph = proto.graph
    renames = {graph.input[0].name: INPUT_NAME, graph.output[0].name: OUTPUT_NAME}
    for node in graph.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]
    for value in (graph.input[0], graph.output[0]):
        value.name = renames[value.name]
        value.type.tensor_type.shape.dim[0].dim_param = BATCH_DIM


def onnx_io(proto: Any) -> tuple[dict, dict]:
    """(input, output) descriptions from the graph's value infos."""
    import onnx

    def describe(value: Any) -> dict:
        tensor = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        return tensor_description(value.name, shape, dtype)

    return describe(proto.graph.input[0]), describe(proto.graph.output[0])


def finish_onnx(proto: Any, meta: dict) -> bytes:
    """Embed `meta` as metadata_props["edgecnn"], check the model, and serialize it."""
    import onnx

    kept = [(p.key, p.value) for p in proto.metadata_props if p.key != METADATA_KEY]
    del proto.metadata_props[:]
    for key, value in kept + [(METADATA_KEY, json.dumps(meta, sort_keys=True))]:
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ModelError(f"exported ONNX model fails onnx.checker: {one_line(exc, 300)}") from exc
    return proto.SerializeToString()


def quantize_onnx_int8(proto: Any, calibration: np.ndarray) -> Any:
    """Static QDQ int8 (per-channel weights, int8 activations) calibrated on the same images as TFLite.

    The input and output stay float32: QDQ models take the same tensors as the float one.
    """
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(calibration[i:i + 50] for i in range(0, len(calibration), 50))

        def get_next(self) -> dict | None:
            batch = next(self._batches, None)
            return None if batch is None else {INPUT_NAME: batch.astype(np.float32)}

    with tempfile.TemporaryDirectory(prefix="edgecnn-onnx-int8-") as tmp:
        src, dst = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        onnx.save(proto, src)
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)  # "consider pre-processing": verification measures the result instead
        try:
            quantize_static(
                src, dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
            )
        except Exception as exc:
            raise ModelError(f"ONNX int8 quantization failed: {one_line(exc, 300)}") from exc
        finally:
            logging.disable(previous)
        return onnx.load(dst)
