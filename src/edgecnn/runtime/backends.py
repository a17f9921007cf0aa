"""Loading a model into one interpreter and running raw tensors through it.

A .tflite model runs in the first importable of ai-edge-litert, tflite-runtime and
tensorflow.lite (that order: the first two start in a tenth of a second, TensorFlow
takes seconds and half a gigabyte); a .onnx model runs in ONNX Runtime. Every
backend exposes the same small surface (`input`, `output`, `run`), so the Classifier
above it never needs to know which one it has. Interpreter modules are imported
here, inside functions, and only the one in use.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import ModelError, UsageError, one_line
from ..formats import TFLITE
from ..modelmeta import ModelFile, read_model

#: TFLite interpreters in the order "auto" tries them: (backend name, module, pip package).
TFLITE_BACKENDS: tuple[tuple[str, str, str], ...] = (
    ("litert", "ai_edge_litert.interpreter", "ai-edge-litert"),
    ("tflite_runtime", "tflite_runtime.interpreter", "tflite-runtime"),
    ("tensorflow", "tensorflow.lite", "tensorflow"),
)
ONNX_BACKEND = "onnxruntime"
BACKEND_NAMES = ("auto",) + tuple(name for name, _, _ in TFLITE_BACKENDS) + (ONNX_BACKEND,)
_ALIASES = {"ai-edge-litert": "litert", "ai_edge_litert": "litert", "tflite-runtime": "tflite_runtime",
            "tflite": "tflite_runtime", "tf": "tensorflow", "ort": "onnxruntime", "onnx": "onnxruntime"}

#: Largest batch handed to an interpreter at once by `run`.
MAX_BATCH = 64


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output as the interpreter reports it."""

    name: str
    shape: tuple[int, ...]  # batch dimension first; -1 where the model leaves it open
    dtype: np.dtype
    scale: float | None  # None: not quantized
    zero_point: int | None


class Backend:
    """A loaded model: `run(batch)` maps an input-dtype array (N, ...) to raw outputs (N, classes).

    `run` and `run_one` raise the interpreter's own exceptions (RuntimeError, ValueError,
    onnxruntime's errors) for an input the model refuses: the Classifier turns them into
    one-line ModelErrors naming the model.
    """

    name: str = ""
    version: str = ""
    input: TensorSpec
    output: TensorSpec
    run_one: Callable[[np.ndarray], np.ndarray]  # fastest path for a batch of exactly one

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Raw outputs (N, ...) for a batch of input-tensor values (N, ...)."""
        raise NotImplementedError


def normalize_backend(name: str | None) -> str:
    """The canonical backend name for `name` (any case, aliases such as "tflite"; None: "auto").

    Raises:
        UsageError: a name that is not a backend edgecnn knows.
    """
    key = (name or "auto").strip().lower()
    key = _ALIASES.get(key, key)
    if key not in BACKEND_NAMES:
        raise UsageError(f"unknown backend '{name}' (choose from {', '.join(BACKEND_NAMES)})")
    return key


def load_backend(model: str | os.PathLike[str] | ModelFile, num_threads: int | None = None, backend: str = "auto",
                 data: bytes | None = None) -> Backend:
    """Open a .tflite or .onnx model with the requested (or first available) interpreter.

    `model`: a path, or the file as modelmeta.read_model returned it (read and checked
    once; the Classifier passes that). `data`: with a path, the file's bytes when the
    caller has read them already.

    Raises:
        UsageError: an unknown backend name, one that cannot run this format, or num_threads < 1.
        ModelError: naming the file: unreadable, of another format, structurally unsound
            (see modelmeta.read_model), no interpreter installed, or refused by the interpreter.
    """
    key = normalize_backend(backend)
    if num_threads is not None and num_threads < 1:
        raise UsageError(f"num_threads must be at least 1 (got {num_threads})")
    if not isinstance(model, ModelFile):
        model = read_model(model, data)
    p = model.path
    if model.kind == TFLITE:
        if key == ONNX_BACKEND:
            raise UsageError(f"{p}: onnxruntime cannot run a .tflite model")
        return TFLiteBackend(p, model.data, num_threads, tflite_interpreter_class(key))
    if key not in ("auto", ONNX_BACKEND):
        raise UsageError(f"{p}: {key} cannot run an .onnx model (use onnxruntime)")
    return OnnxBackend(p, model.data, num_threads)


def tflite_interpreter_class(key: str) -> tuple[str, str, Any]:
    """(backend name, version, Interpreter class) for `key`, or the first importable one.

    Args:
        key: a TFLite backend name from normalize_backend, or "auto" (LiteRT, then
            tflite-runtime, then tensorflow.lite).

    Raises:
        ModelError: no TFLite interpreter importable ("auto"), or the one asked for is not,
            with each import's reason (a missing package, a wheel built for another numpy).
    """
    candidates = TFLITE_BACKENDS if key == "auto" else [b for b in TFLITE_BACKENDS if b[0] == key]
    problems: list[str] = []
    for name, module_name, package in candidates:
        try:
            if name == "tensorflow":
                from ..tfenv import import_tensorflow

                module = import_tensorflow().lite
            else:
                module = importlib.import_module(module_name)
        except Exception as exc:  # ImportError, or a wheel built for another numpy (AttributeError...)
            problems.append(f"{package}: {one_line(exc, typed=True)}")
            continue
        from .doctor import version_of

        return name, version_of(package) or "?", module.Interpreter
    if key == "auto":
        raise ModelError("no TFLite interpreter installed: pip install ai-edge-litert "
                         f"(or tflite-runtime 'numpy<2' on 32-bit Raspberry Pi OS); run edgecnn doctor "
                         f"({'; '.join(problems)})")
    raise ModelError(f"backend {key} is not usable ({problems[0]}); run edgecnn doctor")


class TFLiteBackend(Backend):
    """A TFLite model in LiteRT, tflite-runtime or tensorflow.lite (same Python API).

    Raises ModelError (naming the file) when the interpreter refuses the model or the model
    does not have exactly one input and one output. The file must have been checked by
    modelmeta.read_model first (load_backend does): some interpreters crash on bad files.
    """

    def __init__(self, path: Path, data: bytes, num_threads: int | None, interpreter: tuple[str, str, Any]) -> None:
        self.name, self.version, self._cls = interpreter
        self._data, self._threads, self._path = data, num_threads, path
        self._interp = self._new_interpreter()
        details_in, details_out = self._interp.get_input_details(), self._interp.get_output_details()
        if len(details_in) != 1 or len(details_out) != 1:
            raise ModelError(f"{path}: model has {len(details_in)} inputs and {len(details_out)} outputs; "
                             "edgecnn needs one image input and one class-score output")
        self.input, self.output = _tflite_spec(details_in[0]), _tflite_spec(details_out[0])
        self._in_index, self._out_index = details_in[0]["index"], details_out[0]["index"]
        self._batch_interp: Any = None  # created on first batch; False: batching refused
        self.run_one = self._bind_run_one()
        self._batch_size = 0

    def _new_interpreter(self) -> Any:
        from ..tfenv import quiet_stderr  # stdlib only; hides "Created TensorFlow Lite XNNPACK delegate"

        try:
            with quiet_stderr():
                interp = self._cls(model_content=self._data, num_threads=self._threads)
                interp.allocate_tensors()
        except Exception as exc:
            raise ModelError(f"{self._path}: {self.name} cannot load this model ({one_line(exc, 300)})") from exc
        return interp

    def _bind_run_one(self) -> Callable[[np.ndarray], np.ndarray]:
        """run_one as a closure over bound methods: exactly the bare interpreter's three calls."""
        set_tensor, invoke, get_tensor = self._interp.set_tensor, self._interp.invoke, self._interp.get_tensor
        in_index, out_index = self._in_index, self._out_index

        def run_one(x: np.ndarray) -> np.ndarray:
            """x already has the input tensor's exact shape and dtype: no checks, no copies."""
            set_tensor(in_index, x)
            invoke()
            return get_tensor(out_index)

        return run_one

    def run(self, batch: np.ndarray) -> np.ndarray:
        if len(batch) == 1:
            return self.run_one(batch.reshape(self.input_shape_one()))
        if self.input.shape[0] == -1 and self._batch_interp is not False:
            try:
                return np.concatenate([self._run_chunk(batch[i:i + MAX_BATCH]) for i in range(0, len(batch), MAX_BATCH)])
            except (RuntimeError, ValueError):  # a model that refuses to be resized: one image at a time
                self._batch_interp = False
        one = self.input_shape_one()
        return np.concatenate([self.run_one(x.reshape(one)) for x in batch])

    def input_shape_one(self) -> tuple[int, ...]:
        return (1,) + tuple(self.input.shape[1:])

    def _run_chunk(self, chunk: np.ndarray) -> np.ndarray:
        """A second interpreter resized to the chunk, so the single-image one never reallocates."""
        if self._batch_interp is None:
            self._batch_interp = self._new_interpreter()
            self._batch_size = 0
        interp = self._batch_interp
        if len(chunk) != self._batch_size:
            interp.resize_tensor_input(self._in_index, (len(chunk),) + tuple(self.input.shape[1:]))
            interp.allocate_tensors()
            self._batch_size = len(chunk)
        interp.set_tensor(self._in_index, np.ascontiguousarray(chunk))
        interp.invoke()
        return interp.get_tensor(self._out_index)


def _tflite_spec(d: dict) -> TensorSpec:
    signature = d.get("shape_signature")
    shape = tuple(int(v) for v in (signature if signature is not None and len(signature) else d["shape"]))
    scale, zero_point = d.get("quantization", (0.0, 0))
    quantized = bool(scale) and np.dtype(d["dtype"]).kind in "iu"
    return TensorSpec(str(d.get("name", "")), shape, np.dtype(d["dtype"]),
                      float(scale) if quantized else None, int(zero_point) if quantized else None)


_ONNX_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
                "tensor(uint8)": np.uint8, "tensor(int8)": np.int8}


class OnnxBackend(Backend):
    """An ONNX model in ONNX Runtime on the CPU.

    Raises ModelError (naming the file) when onnxruntime is not installed, the model's
    external data lies outside its folder, ONNX Runtime refuses the model, or the model
    does not have exactly one input and one output of a float or 8-bit integer type.
    """

    name = ONNX_BACKEND

    def __init__(self, path: Path, data: bytes, num_threads: int | None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelError(f"{path}: onnxruntime is not installed: pip install 'edgecnn[onnx]'") from None
        self.version = getattr(ort, "__version__", "?")
        options = ort.SessionOptions()
        options.log_severity_level = 4  # fatal only: errors reach the user as edgecnn's one line, not ORT's log
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        folder = check_external_data(path, data)
        # Loaded from bytes, ONNX Runtime would look for external data in the current directory.
        options.add_session_config_entry("session.model_external_initializers_file_folder_path", str(folder))
        try:
            # ONNX Runtime print()s an "EP Error" banner on stdout when a session fails; stdout is
            # the answer channel (--json), and the failure reaches the user as one line anyway.
            with contextlib.redirect_stdout(io.StringIO()):
                self._session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
            inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
            if len(inputs) != 1 or len(outputs) != 1:
                raise ModelError(f"{path}: model has {len(inputs)} inputs and {len(outputs)} outputs; "
                                 "edgecnn needs one image input and one class-score output")
            self.input, self.output = _onnx_spec(path, inputs[0]), _onnx_spec(path, outputs[0])
        except ModelError:
            raise
        except Exception as exc:  # incl. UnicodeDecodeError from tensor names or shapes that are not UTF-8
            raise ModelError(f"{path}: not a loadable ONNX model ({one_line(exc, 300)})") from exc
        self._in_name, self._out_names = inputs[0].name, [outputs[0].name]

    def run_one(self, x: np.ndarray) -> np.ndarray:
        return self._session.run(self._out_names, {self._in_name: x})[0]

    def run(self, batch: np.ndarray) -> np.ndarray:
        if self.input.shape[0] != -1:
            one = (1,) + tuple(self.input.shape[1:])
            return np.concatenate([self.run_one(x.reshape(one)) for x in batch])
        return np.concatenate([self.run_one(batch[i:i + MAX_BATCH]) for i in range(0, len(batch), MAX_BATCH)])


#: How an ONNX TensorProto's external_data entry {key: "location", value: ...} starts on the wire:
#: field 1 (key), 8 bytes, "location", then field 2 (value) with its length next.
_LOCATION_KEY = b"\x0a\x08location\x12"


def external_data_locations(data: bytes) -> list[str]:
    """Every external-data location an ONNX model names, in any graph or subgraph.

    Found by the entries' protobuf encoding, so the runtime needs no `onnx` package.
    Raises nothing: undecodable bytes are replaced, a truncated entry gives a short name.
    """
    found, start = [], 0
    while (at := data.find(_LOCATION_KEY, start)) != -1:
        pos = at + len(_LOCATION_KEY)
        length = shift = 0
        while pos < len(data) and shift < 35:  # a varint: 7 bits a byte, high bit "more"
            byte = data[pos]
            length |= (byte & 0x7F) << shift
            pos, shift = pos + 1, shift + 7
            if not byte & 0x80:
                break
        found.append(data[pos:pos + length].decode("utf-8", "replace"))
        start = pos
    return found


def check_external_data(path: Path, data: bytes) -> Path:
    """The model's folder, against which its external data is resolved.

    Args:
        path: the model file (for the folder and the error message).
        data: the model file's bytes.

    Returns:
        The model's resolved folder.

    Raises:
        ModelError: a location is absolute, holds a NUL, or leads out of that folder (`..`,
            a link): a model must not make the runtime read arbitrary files.
    """
    folder = path.resolve().parent
    for location in external_data_locations(data):
        target = (folder / location).resolve()
        if os.path.isabs(location) or "\0" in location or not target.is_relative_to(folder):
            raise ModelError(f"{path}: external data location '{location}' is outside the model's folder; refused")
    return folder


def _onnx_spec(path: Path, arg: Any) -> TensorSpec:
    dtype = _ONNX_DTYPES.get(arg.type)
    if dtype is None:
        raise ModelError(f"{path}: tensor '{arg.name}' has type {arg.type}; edgecnn handles float and 8-bit integers")
    shape = tuple(d if isinstance(d, int) and d > 0 else -1 for d in arg.shape)
    return TensorSpec(arg.name, shape, np.dtype(dtype), None, None)
