"""Each artifact against the Keras model on the test split, in its real interpreter.

What a float conversion must reproduce exactly (top-1 on every test image, probabilities
to 1e-4) and what int8 may lose (accuracy, in percentage points) are the thresholds
below; a miss marks the artifact failed in manifest.json and the run exits 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .interpreters import run_onnx, run_tflite

#: Float conversions that must match Keras: 100% top-1 agreement, probabilities within this.
EXACT_FORMATS = ("onnx", "float32")
MAX_ABS_DIFF = 1e-4
MIN_AGREEMENT = 1.0
#: Formats held to --max-int8-drop.
INT8_FORMATS = ("int8", "onnx-int8")


@dataclass
class Verification:
    """How one artifact did on the test split, as stored in manifest.json."""

    accuracy: float
    accuracy_drop_pp: float
    agreement: float
    max_abs_diff: float
    failure: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "accuracy": round(self.accuracy, 6),
            "accuracy_drop_pp": round(self.accuracy_drop_pp, 4),
            "agreement": round(self.agreement, 6),
            "max_abs_diff": float(f"{self.max_abs_diff:.3g}"),
            "verified": self.failure is None,
            "failure": self.failure,
        }


def predict(fmt: str, model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    """Probabilities from the artifact's own interpreter (LiteRT or ONNX Runtime)."""
    return run_onnx(model_bytes, x) if fmt.startswith("onnx") else run_tflite(model_bytes, x)


def compare(fmt: str, probs: np.ndarray, reference: np.ndarray, labels: np.ndarray,
            max_int8_drop: float) -> Verification:
    """Accuracy, drop vs Keras, top-1 agreement and max |p - p_keras|, judged by the format's threshold."""
    keras_acc = float(np.mean(reference.argmax(1) == labels))
    acc = float(np.mean(probs.argmax(1) == labels))
    drop = (keras_acc - acc) * 100.0
    agreement = float(np.mean(probs.argmax(1) == reference.argmax(1)))
    diff = float(np.max(np.abs(probs.astype(np.float64) - reference))) if len(probs) else 0.0
    return Verification(acc, drop, agreement, diff, judge(fmt, drop, agreement, diff, max_int8_drop))


def judge(fmt: str, drop: float, agreement: float, diff: float, max_int8_drop: float) -> str | None:
    """The reason an artifact fails verification, or None if it passes."""
    if fmt in EXACT_FORMATS:
        if agreement < MIN_AGREEMENT:
            return f"top-1 agreement with Keras {agreement:.2%} is below 100%"
        if diff > MAX_ABS_DIFF:
            return f"max probability difference {diff:.2g} exceeds {MAX_ABS_DIFF:g}"
    if fmt in INT8_FORMATS and drop > max_int8_drop:
        return f"accuracy drop {drop:.2f} pp exceeds --max-int8-drop {max_int8_drop:g} pp"
    return None
