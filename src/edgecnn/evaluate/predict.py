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
from ..formats import KERAS, model_kind
from ..fsutil import read_labels_file


@dataclass
class LoadedModel:
    """A model ready to score uint8 (N, 28, 28) light-on-dark images; class_names None when unknown."""

    path: str
    class_names: list[str] | None
    probabilities: Callable[[np.ndarray], np.ndarray]
    views: str = "none"  # the test-time views its answers average (runtime models only)


def load_keras(model_path: str) -> LoadedModel:
    from ..train.model import load_keras_model
    from ..runtime.modelinput import to_model_input

    model = load_keras_model(Path(model_path))
    labels = Path(model_path).parent / LABELS_FILE  # what `edgecnn train` writes beside model.keras
    names = read_labels_file(labels) if labels.is_file() else None
    return LoadedModel(model_path, names,
                       lambda images: np.asarray(model.predict(to_model_input(images), batch_size=256, verbose=0)))


def load_runtime(model_path: str, views: str = "none") -> LoadedModel:
    """A .tflite/.onnx model through the runtime's Classifier; `views` as its argument ("none": the
    model itself, comparable with Keras and train.json; "auto": what `edgecnn classify` answers)."""
    from ..runtime import Classifier

    clf = Classifier(model_path, views=views)
    names = None if clf.info.labels_source == "indices" else list(clf.class_names)
    return LoadedModel(model_path, names, clf.probabilities, clf.views)


def check_model_path(model_path: str) -> str:
    """The model's kind (formats.model_kind) if `model_path` is a file evaluate can load (nothing is read).

    Raises ModelError naming the file when it is missing or of another format.
    """
    if not Path(model_path).is_file():
        raise ModelError(f"{model_path}: no such model file")
    return model_kind(model_path, keras_ok=True)


def load_model(model_path: str, views: str = "none") -> LoadedModel:
    """The model at `model_path`, ready to score; a ModelError if it is missing, unknown or unreadable.

    `views` applies to .tflite/.onnx models (runtime/views.py); a Keras model runs once per image.
    """
    if check_model_path(model_path) == KERAS:
        return load_keras(model_path)
    return load_runtime(model_path, views)  # .tflite or .onnx
