"""Each artifact against the Keras model on the test split, through the device's own code.

An artifact is checked with edgecnn.runtime.Classifier from a file that holds nothing
but the artifact: the interpreter a Pi uses (LiteRT, ONNX Runtime), the runtime's own
pixel quantization, and the class names embedded in the file. So the accuracy in
manifest.json is what `edgecnn classify` and pi_classify.py will see.

What a float conversion must reproduce exactly (top-1 on every test image, probabilities
to 1e-4) and what int8 may lose (accuracy, in percentage points) are set per format in
edgecnn.formats; a miss marks the artifact failed in manifest.json and the run exits 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tempfile
from pathlib import Path

import numpy as np

from .. import formats
from ..evaluate.metrics import accuracy, agreement
from ..progress import in_chunks


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


def predict(file_name: str, model_bytes: bytes, images: np.ndarray) -> np.ndarray:
    """(N, classes) probabilities for uint8 (N, H, W) test images, from the runtime, one thread.

    The artifact is not written to OUT yet (nothing is, until every artifact is built),
    so it is run from a private temporary folder with no labels.txt or manifest beside it.
    The images go in chunks, counted by a progress bar on a terminal.
    """
    from ..runtime import Classifier
    from ..tfenv import quiet_stderr

    with tempfile.TemporaryDirectory(prefix="edgecnn-verify-") as folder:
        path = Path(folder) / file_name
        path.write_bytes(model_bytes)
        with quiet_stderr():
            classifier = Classifier(path, num_threads=1, views="none")  # the model itself, as Keras
        return in_chunks(classifier.probabilities, images, f"verifying {file_name}").astype(np.float64)


def compare(fmt: str, probs: np.ndarray, reference: np.ndarray, labels: np.ndarray,
            max_int8_drop: float) -> Verification:
    """Accuracy, drop vs Keras, top-1 agreement and max |p - p_keras|, judged by the format's threshold."""
    predicted, expected = probs.argmax(1), reference.argmax(1)
    acc = accuracy(labels, predicted)
    drop = (accuracy(labels, expected) - acc) * 100.0
    agree = agreement(predicted, expected)
    diff = float(np.max(np.abs(probs.astype(np.float64) - reference))) if len(probs) else 0.0
    return Verification(acc, drop, agree, diff, judge(fmt, drop, agree, diff, max_int8_drop))


def judge(fmt: str, drop: float, agreement: float, diff: float, max_int8_drop: float) -> str | None:
    """The reason an artifact fails verification, or None if it passes."""
    spec = formats.BY_NAME[fmt]
    if spec.exact:
        if agreement < formats.MIN_AGREEMENT:
            return f"top-1 agreement with Keras {agreement:.2%} is below {formats.MIN_AGREEMENT:.0%}"
        if diff > formats.MAX_ABS_DIFF:
            return f"max probability difference {diff:.2g} exceeds {formats.MAX_ABS_DIFF:g}"
    if spec.int8 and drop > max_int8_drop:
        return f"accuracy drop {drop:.2f} pp exceeds --max-int8-drop {max_int8_drop:g} pp"
    return None
