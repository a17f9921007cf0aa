"""Fixtures for the runtime tests: the golden models, Keras's answers, image files.

The models are the committed golden set in tests/runtime/golden/ (a small CNN trained on
the SYNTHETIC set and converted by scripts/make_golden_models.py), so `pytest tests/runtime`
runs with only the [pi] extra and pytest: no TensorFlow, no training. Each session works
on a copy of the set; tests still copy a model into tmp_path before doing anything beside
it (labels, manifests).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

#: The committed golden set (scripts/make_golden_models.py writes it).
GOLDEN = Path(__file__).resolve().parent / "golden"
#: The synthetic test images the golden reference probabilities are for (reference_images.png).
REFERENCE = json.loads((GOLDEN / "reference.json").read_text())
TEST_SEED = REFERENCE["seed"]
N_AGREEMENT = REFERENCE["count"]


#: Whether ONNX Runtime is installed: the [pi] extra has only a TFLite interpreter.
HAVE_ONNXRUNTIME = importlib.util.find_spec("onnxruntime") is not None
#: Whether ai-edge-litert is installed (not on 32-bit Pi OS, where tflite-runtime runs the models).
HAVE_LITERT = importlib.util.find_spec("ai_edge_litert") is not None
#: For tests of a .onnx model: skipped, with the reason, where onnxruntime is not installed (a Pi).
needs_onnxruntime = pytest.mark.skipif(not HAVE_ONNXRUNTIME,
                                       reason="onnxruntime is not installed (pip install 'edgecnn[onnx]')")
#: The golden model files, for parametrize: the .onnx one skipped without onnxruntime.
MODEL_FILES = ["model_int8.tflite", "model_float32.tflite", "model_float16.tflite",
               pytest.param("model.onnx", marks=needs_onnxruntime)]


@pytest.fixture(scope="session")
def converted_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the golden set: model_int8/float32/float16.tflite, model.onnx, manifest.json, labels.txt.

    Overrides tests/conftest.py's (which trains and converts with TensorFlow) for the
    runtime tests; a copy, so no test can change the committed files.
    """
    return Path(shutil.copytree(GOLDEN, tmp_path_factory.mktemp("golden") / "models"))


@pytest.fixture(scope="session")
def models(converted_dir: Path) -> Path:
    """model_int8.tflite, model_float32.tflite, model_float16.tflite, model.onnx with manifest and labels."""
    return converted_dir


@pytest.fixture(scope="session")
def uint8_model(converted_dir: Path) -> Path:
    """The golden int8 model converted with uint8 input and output (`edgecnn convert --uint8-io`)."""
    return converted_dir / "uint8" / "model_int8.tflite"


@pytest.fixture(scope="session")
def int8_model(models: Path) -> Path:
    return models / "model_int8.tflite"


@pytest.fixture(scope="session")
def test_images() -> tuple[np.ndarray, np.ndarray]:
    """The golden set's 28x28 uint8 synthetic test images and their labels, read from the committed PNG.

    Committed rather than drawn again: another numpy or Pillow (a Pi's) may draw the
    synthetic set slightly differently, and the reference probabilities are for these pixels.
    """
    with Image.open(GOLDEN / "reference_images.png") as grid:
        pixels = np.asarray(grid.convert("L"))
    rows, cols = pixels.shape[0] // 28, pixels.shape[1] // 28
    images = np.ascontiguousarray(pixels.reshape(rows, 28, cols, 28).transpose(0, 2, 1, 3).reshape(-1, 28, 28))
    digest = hashlib.sha256(images.tobytes()).hexdigest()
    assert digest == REFERENCE["images_sha256"], "tests/runtime/golden/reference_images.png does not match reference.json"
    return images, np.asarray(REFERENCE["labels"], np.int64)


@pytest.fixture(scope="session")
def keras_probabilities(test_images: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """What the Keras model said about test_images (saved with the golden set): every format must agree."""
    return np.load(GOLDEN / "keras_probabilities.npy")


def copy_model(src: Path, folder: Path, strip_metadata: bool = False) -> Path:
    """The model alone in `folder`; with strip_metadata its embedded "edgecnn" entry is renamed away.

    Renaming keeps every length and offset, so the file stays a valid model that simply
    has no metadata edgecnn recognises (as a model converted by another tool).
    """
    folder.mkdir(parents=True, exist_ok=True)
    data = src.read_bytes()
    if strip_metadata:
        data = data.replace(b"edgecnn", b"edgecnX")
    dest = folder / src.name
    dest.write_bytes(data)
    return dest


def save_png(path: Path, pixels: np.ndarray) -> Path:
    Image.fromarray(pixels).save(path)
    return path


def huge_png_header(path: Path, width: int = 20_000, height: int = 20_000) -> Path:
    """A tiny file that claims to be a width x height PNG: what a decompression bomb looks like."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1))  # one row; the header is what matters
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


#: For run_python: load the model named by argv[1] in a fresh process; exit 2 with its one-line error.
#: A fresh process, because a model file the checks miss may crash the interpreter (a segfault).
LOAD_MODEL = """
import sys
from edgecnn.errors import EdgecnnError
from edgecnn.runtime import Classifier
try:
    Classifier(sys.argv[1])
except EdgecnnError as exc:
    print(exc)
    sys.exit(2)
print("loaded")
"""


def run_python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter (crash isolation, clean sys.modules)."""
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout)
