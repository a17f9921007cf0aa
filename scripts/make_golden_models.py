#!/usr/bin/env python3
"""Make the tiny golden models the runtime tests use, so `pytest tests/runtime` needs no TensorFlow.

    .venv/bin/python scripts/make_golden_models.py            # writes tests/runtime/golden/
    .venv/bin/python scripts/make_golden_models.py --out DIR  # anywhere else (the check test does this)

Needs the [train] extra (tensorflow, tf2onnx, onnx). A SMALL CNN (not the 243,786-weight
seed model: about 5,000 weights, so every file is a few KB to a few tens of KB) is trained
for a few epochs on the SYNTHETIC set, deterministically from SEED, and converted by
edgecnn's own `convert` (verified like any artifact), so the files carry the same
embedded metadata, labels and manifest as a real run:

    model_int8.tflite  model_float32.tflite  model_float16.tflite  model.onnx
    manifest.json  labels.txt               (one `convert` run, like converted_dir)
    uint8/model_int8.tflite (+ manifest.json, labels.txt)   (`convert --uint8-io`)
    reference_images.png      the synthetic test images themselves, 20 per row (committed, so a
                              Pi whose numpy/Pillow would draw them differently tests the same pixels)
    keras_probabilities.npy   the Keras model's softmax on those images
    reference.json            what those images are (seed, count, labels, sha256 of the pixels)

The Keras model itself is not kept: the runtime tests compare every format with the
.npy reference instead. tests/convert/test_golden_models.py regenerates the set and
checks that the committed files still match what this script makes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "tests" / "runtime" / "golden"

SEED = 0
TRAIN_IMAGES = 3000  # synthetic training split (the test split is 500); the seed recipe, a few epochs
EPOCHS = 15
CALIBRATION_SAMPLES = 200
FORMATS = ["int8", "float32", "float16", "onnx"]
#: The synthetic test images the reference probabilities are for (tests/runtime/conftest.py makes them).
REFERENCE_SEED = 1_000_003
REFERENCE_COUNT = 400  # 400 images: a 247 KB PNG
REFERENCE_FILE = "reference.json"
IMAGES_FILE = "reference_images.png"
IMAGES_PER_ROW = 20
PROBABILITIES_FILE = "keras_probabilities.npy"
UINT8_FOLDER = "uint8"


def build_small_model(num_classes: int) -> object:
    """Conv 8 -> pool -> Conv 16 -> pool -> Dense N: the seed CNN's shape at about 2% of its weights."""
    import keras
    from keras import layers

    from edgecnn import INPUT_SHAPE

    return keras.Sequential([
        keras.Input(shape=INPUT_SHAPE, name="input"),
        layers.Conv2D(8, (3, 3), activation="relu", name="conv1"),
        layers.MaxPooling2D(2, 2, name="pool1"),
        layers.Conv2D(16, (3, 3), activation="relu", name="conv2"),
        layers.MaxPooling2D(2, 2, name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(num_classes, activation="softmax", name="probabilities"),
    ], name="edgecnn_golden_cnn")


def train_small_model(work: Path, log=print) -> Path:
    """Train the small CNN on the synthetic set and save it (with train.json) in `work`."""
    from edgecnn.datasets import load_dataset
    from edgecnn.filenames import MODEL_FILE, TRAIN_JSON
    from edgecnn.tfenv import set_determinism
    from edgecnn.train.recipes import get_recipe
    from edgecnn.train.trainer import Split, compile_model, evaluate_test, fit

    set_determinism(SEED)
    dataset = load_dataset("synthetic", seed=SEED, limit=TRAIN_IMAGES, log=log)
    plan = replace(get_recipe("seed"), epochs=EPOCHS, augment="none")
    split = Split.of(dataset, 0.1, SEED)
    model = build_small_model(dataset.num_classes)
    compile_model(model, plan, split, plan.batch_size)
    fit(model, split, plan, dataset.num_classes, SEED, log, plan.batch_size)
    loss, accuracy = evaluate_test(model, split, dataset.num_classes, SEED, plan.batch_size)
    log(f"small CNN: {model.count_params()} weights, test accuracy {accuracy:.4f} (SYNTHETIC data)")
    model.save(work / MODEL_FILE)
    train_json = {"dataset": dataset.describe(), "synthetic": True, "seed": SEED, "limit": TRAIN_IMAGES,
                  "test_accuracy": accuracy}
    (work / TRAIN_JSON).write_text(json.dumps(train_json, indent=2) + "\n")
    return work / MODEL_FILE


def reference(model_path: Path) -> tuple[np.ndarray, dict]:
    """The Keras model's probabilities on the reference images, and what identifies those images."""
    import keras

    from edgecnn.datasets.synthetic import synthetic_images
    from edgecnn.runtime.modelinput import to_model_input

    images, labels = synthetic_images(REFERENCE_COUNT, REFERENCE_SEED)
    model = keras.models.load_model(model_path, compile=False)
    probabilities = np.asarray(model.predict(to_model_input(images), batch_size=256, verbose=0), np.float32)
    info = {"seed": REFERENCE_SEED, "count": REFERENCE_COUNT, "images_sha256": images_digest(images),
            "keras_accuracy": float(np.mean(probabilities.argmax(1) == labels)), "synthetic": True,
            "labels": [int(label) for label in labels]}
    return probabilities, info


def images_to_grid(images: np.ndarray) -> np.ndarray:
    """(N, H, W) images as one (N/IMAGES_PER_ROW * H, IMAGES_PER_ROW * W) picture, row by row."""
    n, h, w = images.shape
    return images.reshape(n // IMAGES_PER_ROW, IMAGES_PER_ROW, h, w).transpose(0, 2, 1, 3).reshape(
        n // IMAGES_PER_ROW * h, IMAGES_PER_ROW * w)


def grid_to_images(grid: np.ndarray, size: tuple[int, int] = (28, 28)) -> np.ndarray:
    """The inverse of images_to_grid (tests/runtime/conftest.py reads the committed PNG with it)."""
    h, w = size
    rows, cols = grid.shape[0] // h, grid.shape[1] // w
    return grid.reshape(rows, h, cols, w).transpose(0, 2, 1, 3).reshape(rows * cols, h, w)


def images_digest(images: np.ndarray) -> str:
    """sha256 of uint8 images: the runtime tests check they generate the pixels the reference is for."""
    return hashlib.sha256(np.ascontiguousarray(images, np.uint8).tobytes()).hexdigest()


def make(out: Path, log=print) -> Path:
    """Write the golden set into `out` (replaced as a whole); returns `out`."""
    from edgecnn.convert import ConvertConfig, convert
    from edgecnn.tfenv import import_tensorflow

    import_tensorflow()
    with tempfile.TemporaryDirectory(prefix="golden-") as tmp:
        work = Path(tmp)
        model_path = train_small_model(work, log)
        staged = work / "golden"
        quiet = lambda msg: None  # noqa: E731
        common = dict(model_path=str(model_path), calibration_samples=CALIBRATION_SAMPLES,
                      dataset="synthetic", seed=SEED, limit=TRAIN_IMAGES)
        convert(ConvertConfig(formats=list(FORMATS), out=str(staged), **common), log=quiet)
        convert(ConvertConfig(formats=["int8"], out=str(staged / UINT8_FOLDER), uint8_io=True, **common), log=quiet)
        probabilities, info = reference(model_path)
        np.save(staged / PROBABILITIES_FILE, probabilities)
        from PIL import Image

        from edgecnn.datasets.synthetic import synthetic_images

        Image.fromarray(images_to_grid(synthetic_images(REFERENCE_COUNT, REFERENCE_SEED)[0])).save(
            staged / IMAGES_FILE, optimize=True)
        (staged / REFERENCE_FILE).write_text(json.dumps(info, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(staged, out)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    log(f"wrote {out} ({total / 1024:.0f} KB); Keras accuracy on the reference images "
        f"{info['keras_accuracy']:.4f} (SYNTHETIC)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     epilog="example: python scripts/make_golden_models.py --out /tmp/golden")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder to write (default {DEFAULT_OUT})")
    make(parser.parse_args(argv).out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
