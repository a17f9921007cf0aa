"""Every model format edgecnn writes, and which files it reads, in one table.

One row per `convert` format: its command-line name (and flag), the artifact's file
name, the engine that runs it (whose suffix the file has), the "format" written in its
embedded metadata, whether it is int8-quantized, and what verification holds it to.
The CLI, convert, verify, the pipeline, bench, evaluate and the runtime all read this
table (the shape of Ultralytics' `export_formats()`), and `model_kind` is the one rule
that tells a model file's kind from its name. Standard library only: the runtime
imports it on a Raspberry Pi.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError

#: Engines (file kinds the runtime runs) and their file suffix.
TFLITE, ONNX, KERAS = "tflite", "onnx", "keras"
ENGINE_SUFFIXES: dict[str, str] = {TFLITE: ".tflite", ONNX: ".onnx"}
#: What `convert` reads (lower case; `train` writes .keras).
KERAS_SUFFIXES: tuple[str, ...] = (".keras", ".h5", ".hdf5")

#: Verification of a float conversion: top-1 agreement with Keras on every test image,
#: probabilities within MAX_ABS_DIFF. int8 formats are held to --max-int8-drop instead.
MIN_AGREEMENT = 1.0
MAX_ABS_DIFF = 1e-4


@dataclass(frozen=True)
class ModelFormat:
    """One `convert` output format."""

    name: str  # as on the command line: --format NAME, --NAME
    file: str  # the artifact's file name in the output folder
    engine: str  # TFLITE or ONNX
    metadata_format: str  # the "format" in the artifact's embedded metadata
    int8: bool  # int8-quantized: calibrated, held to --max-int8-drop
    exact: bool  # must reproduce Keras (MIN_AGREEMENT, MAX_ABS_DIFF)
    help: str

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def suffix(self) -> str:
        return ENGINE_SUFFIXES[self.engine]


#: Every format `convert` can write, in the order they are built and reported.
FORMATS: tuple[ModelFormat, ...] = (
    ModelFormat("int8", "model_int8.tflite", TFLITE, "tflite-int8", True, False,
                "full-integer int8 TFLite (model_int8.tflite); the default"),
    ModelFormat("float32", "model_float32.tflite", TFLITE, "tflite-float32", False, True,
                "float32 TFLite (model_float32.tflite)"),
    ModelFormat("float16", "model_float16.tflite", TFLITE, "tflite-float16", False, False,
                "float16-weight TFLite (model_float16.tflite)"),
    ModelFormat("onnx", "model.onnx", ONNX, "onnx", False, True,
                "float32 ONNX through tf2onnx (model.onnx)"),
    ModelFormat("onnx-int8", "model_int8.onnx", ONNX, "onnx-int8", True, False,
                "static QDQ int8 ONNX calibrated like the TFLite int8 model (model_int8.onnx)"),
)
BY_NAME: dict[str, ModelFormat] = {f.name: f for f in FORMATS}
FORMAT_NAMES: tuple[str, ...] = tuple(BY_NAME)
#: With no format flag, `convert` does what a Pi needs most: full-integer int8 TFLite.
DEFAULT_FORMATS: tuple[str, ...] = ("int8",)


def model_kind(path: str | os.PathLike[str], keras_ok: bool = False) -> str:
    """TFLITE, ONNX (or, with keras_ok, KERAS) for a model file, from its suffix in any case.

    Raises ModelError naming the file for any other suffix; a Keras model where only the
    runtime's formats will do is told to be converted first.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    for engine, engine_suffix in ENGINE_SUFFIXES.items():
        if suffix == engine_suffix:
            return engine
    if suffix in KERAS_SUFFIXES:
        if keras_ok:
            return KERAS
        raise ModelError(f"{p}: a Keras model; convert it for the runtime first: edgecnn convert {p}")
    expected = ".keras, .tflite or .onnx" if keras_ok else ".tflite or .onnx"
    raise ModelError(f"{p}: unknown model format '{p.suffix}' (expected {expected})")


def format_of_file(name: str) -> ModelFormat | None:
    """The format whose artifact file name is `name` (a model renamed by its user: None)."""
    return next((f for f in FORMATS if f.file == name), None)
