"""Converting the Keras model: int8/float32/float16 TFLite and ONNX, verified (needs the [train] extra).

Importing this package is cheap; TensorFlow, tf2onnx and ONNX Runtime are imported
only inside the functions that use them.
"""

from ..filenames import ARTIFACT_FILES
from .config import ALL_FORMATS, DEFAULT_FORMATS, FORMATS, ConvertConfig
from .pipeline import ConvertResult, convert

__all__ = ["ALL_FORMATS", "ARTIFACT_FILES", "DEFAULT_FORMATS", "FORMATS", "ConvertConfig", "ConvertResult", "convert"]
