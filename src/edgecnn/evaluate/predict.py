"""Any model file as (class names, probabilities): Keras directly, TFLite and ONNX through the runtime.

Going through edgecnn.runtime.Classifier for .tflite/.onnx means evaluate measures
exactly what a user's device runs, quantization and label lookup included.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import ModelError
from ..filenames import LABELS_FILE
from ..fsutil import read_labels_file


@dataclass
class LoadedModel:
    """A model ready to score uint8 (N, 28, 28) light-on-dark images; class_names None when unknown."""

    path: str
    class_names: list[str] | None
    probabilities: Callable[[np.ndarray], np.ndarray]


def load_keras(model_path: str) -> LoadedModel:
    from ..train.model import load_keras_model
    from ..runtime.modelinput import to_model_input

    model = load_keras_model(Path(model_path))
    labels = Path(model_path).parent / LABELS_FILE  # what `edgecnn train` writes beside model.keras
    names = read_labels_file(labels) if labels.is_file() else None
    return LoadedModel(model_path, names,
                       lambda images: np.asarray(model.predict(to_model_input(images), batch_size=256, verbose=0)))


def load_runtime(model_path: str) -> LoadedModel:
    from ..runtime import Classifier

    clf = Classifier(model_path)
    names = None if clf.info.labels_source == "indices" else list(clf.class_names)
    return LoadedModel(model_path, names, clf.probabilities)


MODEL_SUFFIXES = (".keras", ".tflite", ".onnx")


def check_model_path(model_path: str) -> None:
    """A ModelError unless `model_path` is a file with a suffix evaluate can load (nothing is read)."""
    path = Path(model_path)
    if not path.is_file():
        raise ModelError(f"{model_path}: no such model file")
    if path.suffix not in MODEL_SUFFIXES:
        raise ModelError(f"{model_path}: unknown model format '{path.suffix}' (use .keras, .tflite or .onnx)")


def load_model(model_path: str) -> LoadedModel:
    """The model at `model_path`, ready to score; a ModelError if it is missing, unknown or unreadable."""
    check_model_path(model_path)
    path = Path(model_path)
    if path.suffix == ".keras":
        return load_keras(model_path)
    return load_runtime(model_path)  # .tflite or .onnx
