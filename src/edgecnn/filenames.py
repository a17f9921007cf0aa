"""The names of the files edgecnn writes into an output folder, in one place.

`edgecnn train` writes MODEL_FILE, LABELS_FILE and TRAIN_JSON; `edgecnn convert` writes
one ARTIFACT_FILES entry per format, LABELS_FILE and MANIFEST_FILE. The runtime and
`evaluate` look for the same names beside a model. Standard library only, imports
nothing: the runtime reads these on a Raspberry Pi.
"""

from __future__ import annotations

MODEL_FILE = "model.keras"
LABELS_FILE = "labels.txt"
TRAIN_JSON = "train.json"
MANIFEST_FILE = "manifest.json"

#: File name of each `convert` format's artifact in the output folder.
ARTIFACT_FILES: dict[str, str] = {
    "int8": "model_int8.tflite",
    "float32": "model_float32.tflite",
    "float16": "model_float16.tflite",
    "onnx": "model.onnx",
    "onnx-int8": "model_int8.onnx",
}
