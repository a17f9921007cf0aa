"""The seed CNN, exactly as agreed: 243,786 parameters, 28x28x1 in, 10 softmax out."""

from __future__ import annotations

from typing import Any

from .. import INPUT_SHAPE

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
