"""Class probabilities from any model file: Keras directly, TFLite and ONNX through the runtime.

Going through edgecnn.runtime.Classifier for .tflite/.onnx means evaluate measures
exactly what a user's device runs, quantization included.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..fsutil import read_labels_file


def keras_probabilities(model_path: str, images: np.ndarray) -> np.ndarray:
    from ..tfenv import import_tensorflow
    from ..train.trainer import to_model_input

    import_tensorflow()
    import keras

    try:
        model = keras.models.load_model(model_path)
    except Exception as exc:
        raise ModelError(f"{model_path}: not a loadable Keras model ({str(exc).splitlines()[0][:200]})") from None
    return np.asarray(model.predict(to_model_input(images), batch_size=256, verbose=0))


def runtime_probabilities(model_path: str, images: np.ndarray) -> np.ndarray:
    from ..runtime import Classifier

    return np.asarray(Classifier(model_path).probabilities(images))


def probabilities(model_path: str, images: np.ndarray) -> np.ndarray:
    """(N, classes) probabilities for uint8 (N, 28, 28) light-on-dark images."""
    path = Path(model_path)
    if not path.is_file():
        raise ModelError(f"{model_path}: no such model file")
    if path.suffix == ".keras":
        return keras_probabilities(model_path, images)
    if path.suffix in (".tflite", ".onnx"):
        return runtime_probabilities(model_path, images)
    raise ModelError(f"{model_path}: unknown model format '{path.suffix}' (use .keras, .tflite or .onnx)")


def model_labels(model_path: str) -> list[str] | None:
    """The class names a model was trained with, from its metadata or the files beside it."""
    path = Path(model_path)
    if path.suffix in (".tflite", ".onnx"):
        from ..modelmeta import read_metadata

        meta = read_metadata(path)
        if meta and meta.get("class_names"):
            return list(meta["class_names"])
    for name in ("manifest.json",):
        if (path.parent / name).is_file():
            names = json.loads((path.parent / name).read_text()).get("class_names")
            if names:
                return list(names)
    if (path.parent / "labels.txt").is_file():
        return read_labels_file(path.parent / "labels.txt")
    return None


def recorded_dataset(model_path: str) -> str | None:
    """The dataset a model was trained on, from train.json or manifest.json beside it."""
    folder = Path(model_path).parent
    for name in ("train.json", "manifest.json"):
        if (folder / name).is_file():
            try:
                dataset = json.loads((folder / name).read_text()).get("dataset", {})
            except json.JSONDecodeError:
                continue
            if isinstance(dataset, dict) and dataset.get("name"):
                return str(dataset["name"])
    return None
