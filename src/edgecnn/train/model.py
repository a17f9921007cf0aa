"""The seed CNN, exactly as agreed: 243,786 parameters, 28x28x1 in, 10 softmax out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import INPUT_SHAPE
from ..errors import ModelError, one_line

#: Trainable parameters per layer with weights, in order (Conv, Conv, Dense, Dense).
EXPECTED_PARAMS = (640, 36_928, 204_928, 1_290)
EXPECTED_TOTAL_PARAMS = 243_786


def build_model(num_classes: int = 10) -> Any:
    """Conv2D 64 3x3 -> MaxPool 2 -> Conv2D 64 3x3 -> MaxPool 2 -> Flatten -> Dense 128 -> Dense N."""
    from ..tfenv import import_tensorflow

    import_tensorflow()
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE, name="input"),
            layers.Conv2D(64, (3, 3), activation="relu", name="conv1"),
            layers.MaxPooling2D(2, 2, name="pool1"),
            layers.Conv2D(64, (3, 3), activation="relu", name="conv2"),
            layers.MaxPooling2D(2, 2, name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(128, activation="relu", name="dense"),
            layers.Dense(num_classes, activation="softmax", name="probabilities"),
        ],
        name="edgecnn_fashion_cnn",
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def summary_text(model: Any) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line), line_length=80)
    return "\n".join(lines)


def load_keras_model(path: Path) -> Any:
    """Load an image classifier for inference (not compiled: no optimizer needed); any failure is a ModelError."""
    from ..tfenv import import_tensorflow, quiet_stderr

    import_tensorflow()
    import keras

    try:
        with quiet_stderr():
            model = keras.models.load_model(path, compile=False, safe_mode=True)  # never runs a Lambda's code
    except Exception as exc:  # Keras raises ValueError, OSError, zipfile errors, KeyError...
        raise ModelError(f"{path}: not a readable Keras model ({one_line(exc)})") from exc
    check_image_model(path, model)
    return model


def check_image_model(path: Path, model: Any) -> None:
    """One 28x28x1 image input and one (batch, classes) output, or a ModelError saying what it has."""
    inputs, outputs = list(getattr(model, "inputs", None) or []), list(getattr(model, "outputs", None) or [])
    if len(inputs) != 1:
        raise ModelError(f"{path}: model has {len(inputs)} inputs; expected one image input {_shape((None, *INPUT_SHAPE))}")
    shape = tuple(inputs[0].shape)
    if shape[1:] != INPUT_SHAPE:
        raise ModelError(f"{path}: model input {_shape(shape)} is not an image input {_shape((None, *INPUT_SHAPE))}")
    if len(outputs) != 1 or len(tuple(outputs[0].shape)) != 2:
        got = ", ".join(_shape(tuple(o.shape)) for o in outputs) or "none"
        raise ModelError(f"{path}: model output {got} is not one (batch, classes) vector")


def _shape(shape: tuple) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
