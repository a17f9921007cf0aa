"""Fixtures for the runtime tests: the session's converted models, Keras's answers, image files.

The models are the ones tests/conftest.py trains and converts once per session; tests
copy a model into tmp_path before doing anything beside it (labels, manifests).
"""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

#: The synthetic test split the fixture model is evaluated on (seed 0, test offset).
TEST_SEED = 1_000_003
N_AGREEMENT = 1000


@pytest.fixture(scope="session")
def models(converted_dir: Path) -> Path:
    """model_int8.tflite, model_float32.tflite, model_float16.tflite, model.onnx with manifest and labels."""
    return converted_dir


@pytest.fixture(scope="session")
def int8_model(models: Path) -> Path:
    return models / "model_int8.tflite"


@pytest.fixture(scope="session")
def test_images() -> tuple[np.ndarray, np.ndarray]:
    """Ready 28x28 uint8 images of the synthetic test split and their labels."""
    from edgecnn.datasets.synthetic import synthetic_images

    return synthetic_images(N_AGREEMENT, TEST_SEED)


@pytest.fixture(scope="session")
def keras_probabilities(trained_dir: Path, test_images: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """What the Keras model says about test_images: the reference every format must agree with."""
    from edgecnn.tfenv import import_tensorflow

    import_tensorflow()
    import keras

    model = keras.models.load_model(trained_dir / "model.keras")
    x = test_images[0][..., None].astype(np.float32) / 255.0
    return np.asarray(model.predict(x, batch_size=256, verbose=0))


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


def run_python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter (crash isolation, clean sys.modules)."""
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout)
