"""Shared fixtures: one small model trained on the synthetic set, converted once.

Training and conversion are the slow parts of the suite, so they run once per test
session and every test that needs a model reads these artifacts (read-only: copy
them to tmp_path before changing anything).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("EDGECNN_OFFLINE", "1")  # edgecnn never touches the network in tests (only `network`-marked ones call pip)

#: Small but real: about 0.85+ test accuracy on the synthetic set in 3 epochs. The `seed`
#: recipe (no label smoothing) keeps its scores sharp, so the runtime tests that pick
#: "confident" items (score >= 0.9) have some; the default recipe's own tests are in tests/train.
FIXTURE_TRAIN_ARGS = dict(dataset="synthetic", recipe="seed", epochs=3, limit=3000, seed=0, batch_size=64)


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with model.keras, labels.txt and train.json from a synthetic run (skipped without TensorFlow).

    tests/runtime does not use it: its fixtures read the committed golden models instead.
    """
    pytest.importorskip("tensorflow", reason="training the fixture model needs the [train] extra")
    from edgecnn.train.trainer import TrainConfig, train

    out = tmp_path_factory.mktemp("trained")
    train(TrainConfig(out=str(out), **FIXTURE_TRAIN_ARGS), log=lambda msg: None)
    return out


@pytest.fixture(scope="session")
def converted_dir(trained_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """trained_dir's model converted to every format, with manifest.json and labels.txt."""
    from edgecnn.convert import ConvertConfig, convert

    out = tmp_path_factory.mktemp("converted")
    convert(
        ConvertConfig(model_path=str(trained_dir / "model.keras"), formats=["int8", "float32", "float16", "onnx"],
                      out=str(out), calibration_samples=200),
        log=lambda msg: None,
    )
    return out
