"""Keras to TensorFlow Lite: full-integer int8, float32 and float16, each with its description embedded.

The int8 model is what a Pi should run: every op and activation int8 (biases int32),
per-channel weights, and int8 (or uint8) input and output tensors, so a camera frame
goes in as raw pixels minus 128 with no float math on the device.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from typing import Any

import numpy as np

from ..errors import ModelError, one_line
from ..modelmeta import METADATA_KEY
from .calibration import representative_dataset
from .describe import tensor_description


def _converter(model: Any) -> Any:
    from ..tfenv import import_tensorflow

    tf = import_tensorflow()
    return tf, tf.lite.TFLiteConverter.from_keras_model(model)


def convert_tflite(model: Any, fmt: str, calibration: np.ndarray | None = None, uint8_io: bool = False) -> bytes:
    """The .tflite bytes of `model` in format "int8", "float32" or "float16" (no metadata yet)."""
    tf, converter = _converter(model)
    if fmt == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif fmt == "int8":
        if calibration is None or not len(calibration):
            raise ModelError("int8 conversion needs calibration images")
        io_type = tf.uint8 if uint8_io else tf.int8
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset(calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = io_type
        converter.inference_output_type = io_type
    elif fmt != "float32":
        raise ValueError(f"not a TFLite format: {fmt}")
    from ..tfenv import quiet_stderr

    try:  # Keras' export prints "Saved artifact at ..." to stdout, the converter logs to fd 2
        with quiet_stderr(), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs")  # int8 I/O is intended
            return bytes(converter.convert())
    except Exception as exc:  # the converter's errors are long and many-typed; keep one line
        raise ModelError(f"TFLite {fmt} conversion failed: {one_line(exc, 300)}") from exc


def tflite_io(model_bytes: bytes) -> tuple[dict, dict]:
    """(input, output) descriptions as the interpreter reports them: what the device will see."""
    from ai_edge_litert.interpreter import Interpreter  # the [train] extra installs it

    from ..tfenv import quiet_stderr

    with quiet_stderr():  # "Created TensorFlow Lite XNNPACK delegate" goes to fd 2
        interpreter = Interpreter(model_content=bytes(model_bytes))

    def describe(detail: dict) -> dict:
        scale, zero_point = detail["quantization"]
        shape = detail.get("shape_signature", detail["shape"])
        return tensor_description(detail["name"], shape, detail["dtype"], scale, zero_point)

    return describe(interpreter.get_input_details()[0]), describe(interpreter.get_output_details()[0])


def embed_tflite_metadata(tflite_bytes: bytes, meta: dict, extra: dict[str, bytes] | None = None) -> bytes:
    """The model with `meta` as UTF-8 JSON in a Model.metadata entry named "edgecnn".

    tflite-support (which used to write metadata) is not installable on current Pythons,
    so this uses the flatbuffers object API TensorFlow ships with its schema. `extra`
    adds more entries (name -> buffer bytes). An existing entry of the same name is
    replaced, the others (min_runtime_version, ...) are kept. Bytes after the flatbuffer
    (packed files) are not carried over.
    """
    from ..tfenv import import_tensorflow

    import_tensorflow()
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(tflite_bytes))
    entries = {METADATA_KEY: json.dumps(meta, sort_keys=True).encode("utf-8"), **(extra or {})}
    added = []
    for name, data in entries.items():
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(data, dtype=np.uint8)
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name = name
        entry.buffer = len(model.buffers) - 1
        added.append(entry)
    kept = [m for m in (model.metadata or []) if _name(m.name) not in entries]
    model.metadata = kept + added
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def finish_tflite(tflite_bytes: bytes, meta: dict) -> bytes:
    """The .tflite file as written: edgecnn's "edgecnn" entry, the standard TFLITE_METADATA
    entry naming labels.txt as the output's labels, and labels.txt packed after the model
    (edgecnn.convert.tflite_metadata), so other TFLite tooling shows the class names too."""
    from ..fsutil import labels_text
    from .tflite_metadata import LABELS_FILE, METADATA_NAME, model_metadata, pack_associated_files

    names = list(meta["class_names"])
    standard = model_metadata(names, version=str(meta.get("edgecnn_version", "")),
                              description=f"edgecnn {meta.get('format', 'tflite')} classifier of {len(names)} classes")
    model = embed_tflite_metadata(tflite_bytes, meta, {METADATA_NAME: standard})
    return pack_associated_files(model, {LABELS_FILE: labels_text(names)})


def _name(name: Any) -> str:
    return name.decode("utf-8", "replace") if isinstance(name, (bytes, bytearray)) else str(name)
