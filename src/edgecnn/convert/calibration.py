"""The representative images that set int8 activation ranges.

Drawn class-balanced from the training split: quantization ranges fitted to a few
classes clip the activations of the others, which shows up as an accuracy drop on
exactly those classes.
"""

from __future__ import annotations

import sys
from typing import Callable, Iterator

import numpy as np

from ..datasets import Dataset
from ..errors import DatasetError, UsageError
from ..progress import track
from ..runtime.modelinput import to_model_input


def balanced_indices(labels: np.ndarray, num_classes: int, samples: int, seed: int) -> np.ndarray:
    """`samples` indices, as equal per class as the data allows, in a seeded random order."""
    if samples < num_classes:
        raise UsageError(
            f"--calibration-samples {samples} is too small: need at least one image per class ({num_classes})"
        )
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in range(num_classes)]
    empty = [c for c, idx in enumerate(per_class) if len(idx) == 0]
    if empty:
        raise DatasetError(f"calibration set too small: the training split has no images of class(es) {empty}")
    quota = [samples // num_classes + (1 if c < samples % num_classes else 0) for c in range(num_classes)]
    chosen = [idx[:q] for idx, q in zip(per_class, quota)]
    short = samples - sum(len(c) for c in chosen)
    if short > 0:  # a small class could not fill its quota: top up from the others' leftovers
        leftovers = np.concatenate([idx[q:] for idx, q in zip(per_class, quota)])
        chosen.append(rng.permutation(leftovers)[:short])
    return rng.permutation(np.concatenate(chosen))


def calibration_images(dataset: Dataset, samples: int, seed: int) -> np.ndarray:
    """float32 (N, 28, 28, 1) model inputs for calibration, N = min(samples, training images)."""
    idx = balanced_indices(dataset.y_train, dataset.num_classes, samples, seed)
    return to_model_input(dataset.x_train[idx])


def representative_dataset(images: np.ndarray) -> Callable[[], Iterator[list[np.ndarray]]]:
    """The generator factory TFLiteConverter wants: one single-image batch per step.

    On a terminal the converter's pass over the images shows a progress bar (edgecnn.progress).
    The stream is taken now: the conversion itself runs with stdout redirected (Keras' export
    prints to it), and the bar must still reach the terminal.
    """
    stream = sys.stdout

    def generate() -> Iterator[list[np.ndarray]]:
        for i in track(range(len(images)), len(images), "calibrating int8", unit="image", stream=stream):
            yield [images[i:i + 1]]

    return generate
