"""The float input a Keras-trained edgecnn model takes, from the runtime's uint8 pixels.

`preprocess.prepare` turns any picture into uint8 (H, W) light-on-dark pixels; the
Classifier maps those to its interpreter's tensor with a lookup table. Training,
conversion (calibration and the Keras reference), evaluation and the benchmarks feed
the Keras model itself, which takes float32 (N, H, W, 1) in [0, 1]: this is that one
step, numpy only, so the runtime and the training side scale pixels the same way.
"""

from __future__ import annotations

import numpy as np


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) pixels to the float32 (N, H, W, 1) in [0, 1] the Keras model takes."""
    return (np.asarray(images).astype(np.float32) / 255.0)[..., np.newaxis]
