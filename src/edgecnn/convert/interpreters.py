"""Running an artifact in the interpreter a device will use: LiteRT for .tflite, ONNX Runtime for .onnx.

Verification goes through these real interpreters (not TensorFlow's own kernels), so
the accuracy in manifest.json is what a Pi running ai-edge-litert will see.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import EdgecnnError

BATCH = 256


def tflite_interpreter(model_bytes: bytes) -> Any:
    """An allocated LiteRT interpreter for the model (tensorflow.lite only if LiteRT is absent)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - the [train] extra installs ai-edge-litert
        from ..tfenv import import_tensorflow

        Interpreter = import_tensorflow().lite.Interpreter
    from ..tfenv import quiet_stderr

    with quiet_stderr():  # "Created TensorFlow Lite XNNPACK delegate" goes to fd 2
        interpreter = Interpreter(model_content=bytes(model_bytes), num_threads=1)
        interpreter.allocate_tensors()
    return interpreter


def quantize(x: np.ndarray, dtype: Any, scale: float | None, zero_point: int | None) -> np.ndarray:
    """float model input to the tensor's dtype, with the tensor's own scale and zero point."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f" or not scale:
        return x.astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale) + zero_point, info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, scale: float | None, zero_point: int | None) -> np.ndarray:
    """Quantized output back to probabilities, so every format is compared in the same units."""
    if not scale:
        return q.astype(np.float32)
    return ((q.astype(np.float32) - zero_point) * scale).astype(np.float32)


def run_tflite(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    """Probabilities (N, classes) for float inputs x in [0, 1], quantizing as the model asks."""
    interpreter = tflite_interpreter(model_bytes)
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    in_scale, in_zp = inp["quantization"]
    out_scale, out_zp = out["quantization"]
    chunks = []
    for start in range(0, len(x), BATCH):
        batch = quantize(x[start:start + BATCH], inp["dtype"], in_scale, in_zp)
        if tuple(inp["shape"]) != batch.shape:
            interpreter.resize_tensor_input(inp["index"], batch.shape)
            interpreter.allocate_tensors()
            inp = interpreter.get_input_details()[0]
        interpreter.set_tensor(inp["index"], batch)
        interpreter.invoke()
        chunks.append(dequantize(interpreter.get_tensor(out["index"]), out_scale, out_zp))
    return np.concatenate(chunks)


def onnx_session(model_bytes: bytes) -> Any:
    """An ONNX Runtime CPU session, one thread (what a Pi core gives)."""
    try:
        import onnxruntime as ort
    except ImportError:  # pragma: no cover - the [train] extra installs onnxruntime
        raise EdgecnnError("onnxruntime is not installed; install edgecnn[onnx]") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(bytes(model_bytes), options, providers=["CPUExecutionProvider"])


def run_onnx(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    """Probabilities (N, classes) from ONNX Runtime; ONNX artifacts all take float input."""
    session = onnx_session(model_bytes)
    name = session.get_inputs()[0].name
    chunks = [session.run(None, {name: x[s:s + BATCH].astype(np.float32)})[0] for s in range(0, len(x), BATCH)]
    return np.concatenate(chunks).astype(np.float32)
