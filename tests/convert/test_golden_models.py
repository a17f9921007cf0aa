"""The committed golden models (tests/runtime/golden/) are what scripts/make_golden_models.py makes.

The runtime tests run on those files without TensorFlow; this test, where TensorFlow is
installed, regenerates the set (about 15 s on the 2-core AMD EPYC) and compares it with
the committed one. Training and TFLite conversion are deterministic on the CPU (seeded,
deterministic ops), so the .tflite files, labels, reference probabilities and reference
description must be byte-identical; tf2onnx names a few constants differently on each
run, so the ONNX model is compared by its metadata and its outputs. A change to convert,
describe or the training code that changes the artifacts fails here until the golden set
is regenerated (`python scripts/make_golden_models.py`) and committed with it.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "runtime" / "golden"
BYTE_IDENTICAL = ["model_int8.tflite", "model_float32.tflite", "model_float16.tflite", "uint8/model_int8.tflite",
                  "labels.txt", "uint8/labels.txt", "keras_probabilities.npy", "reference.json", "reference_images.png"]


def _script():
    spec = importlib.util.spec_from_file_location("make_golden_models", REPO / "scripts" / "make_golden_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _script().make(tmp_path_factory.mktemp("golden") / "golden", log=lambda msg: None)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _comparable_manifest(path: Path) -> dict:
    """manifest.json less what differs run to run: the temporary source path, model.keras's
    zip timestamps (its sha256), and the ONNX file's bytes (tf2onnx's constant names)."""
    manifest = json.loads(path.read_text())
    manifest.pop("source_model", None)
    for entry in manifest.get("artifacts", []):
        if entry.get("format", "").startswith("onnx"):
            entry.pop("sha256", None)
            entry.pop("bytes", None)
    return manifest


@pytest.mark.slow
def test_golden_set_is_what_the_script_makes(regenerated: Path) -> None:
    assert _files(regenerated) == _files(GOLDEN)
    changed = [name for name in BYTE_IDENTICAL if (regenerated / name).read_bytes() != (GOLDEN / name).read_bytes()]
    assert not changed, f"regenerate tests/runtime/golden (python scripts/make_golden_models.py): {changed} differ"
    for manifest in ("manifest.json", "uint8/manifest.json"):
        assert _comparable_manifest(regenerated / manifest) == _comparable_manifest(GOLDEN / manifest), manifest


@pytest.mark.slow
def test_golden_onnx_model_gives_the_same_answers(regenerated: Path) -> None:
    from edgecnn.modelmeta import read_metadata
    from edgecnn.runtime import Classifier
    from edgecnn.datasets.synthetic import synthetic_images

    assert read_metadata(regenerated / "model.onnx") == read_metadata(GOLDEN / "model.onnx")
    images = synthetic_images(200, 1_000_003)[0]
    new, old = (Classifier(folder / "model.onnx").probabilities(images) for folder in (regenerated, GOLDEN))
    assert np.abs(new - old).max() <= 1e-6
