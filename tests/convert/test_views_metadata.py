"""convert records the test-time views a model was trained for; the runtime's default follows them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from edgecnn.convert.describe import trained_views
from edgecnn.modelmeta import read_metadata


def write_train_json(folder: Path, recipe: object) -> None:
    (folder / "train.json").write_text(json.dumps({"recipe": recipe}))


@pytest.mark.parametrize("augment, expected", [("flip-shift", "flip-shift"), ("shift", "shift"), ("none", "none"),
                                               ("something-new", "none")])
def test_views_follow_the_recorded_augmentation(tmp_path: Path, augment: str, expected: str) -> None:
    write_train_json(tmp_path, {"augment": augment})
    assert trained_views(tmp_path / "model.keras") == expected


def test_no_train_json_or_no_recipe_means_no_views(tmp_path: Path) -> None:
    assert trained_views(tmp_path / "model.keras") == "none"
    write_train_json(tmp_path, "not an object")
    assert trained_views(tmp_path / "model.keras") == "none"


def test_the_fixture_model_trained_without_flips_records_no_views(converted_dir: Path) -> None:
    from edgecnn.runtime import Classifier

    assert "views" not in read_metadata(converted_dir / "model_int8.tflite")  # bytes as before views existed
    assert Classifier(converted_dir / "model_int8.tflite").views == "none"


def test_a_flip_shift_model_is_classified_with_its_views(trained_dir: Path, tmp_path: Path) -> None:
    from edgecnn.convert import ConvertConfig, convert
    from edgecnn.runtime import Classifier

    source = tmp_path / "trained"
    shutil.copytree(trained_dir, source)
    report = json.loads((source / "train.json").read_text())
    report["recipe"]["augment"] = "flip-shift"
    (source / "train.json").write_text(json.dumps(report))
    convert(ConvertConfig(model_path=str(source / "model.keras"), formats=["int8"], out=str(tmp_path / "out"),
                          calibration_samples=50), log=lambda msg: None)
    model = tmp_path / "out" / "model_int8.tflite"
    assert read_metadata(model)["views"] == "flip-shift"
    assert Classifier(model).views == "flip-shift"  # "auto" reads them
    assert Classifier(model, views="none").views == "none"
