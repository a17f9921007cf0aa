"""The on-device part of edgecnn: numpy, Pillow and one interpreter, never tensorflow.

    from edgecnn.runtime import Classifier
    clf = Classifier("model_int8.tflite")
    clf.classify("photo.jpg")   # [Prediction(label='Sneaker', index=7, score=0.97), ...]

Names are exported lazily so that `import edgecnn.runtime` costs nothing until a
model is loaded, and only the interpreter that model needs is ever imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .classifier import Classifier, Prediction

__all__ = ["Classifier", "Prediction"]


def __getattr__(name: str) -> Any:
    """Classifier and Prediction, imported on first use; AttributeError for any other name."""
    if name in __all__:
        from . import classifier

        return getattr(classifier, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
