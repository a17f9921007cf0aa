"""evaluate --views: the accuracy `edgecnn classify` gets with test-time views, on the golden int8 model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgecnn.cli import main
from edgecnn.datasets import load_dataset
from edgecnn.errors import UsageError
from edgecnn.evaluate.evaluate import EvaluateConfig, evaluate, format_report
from edgecnn.runtime import Classifier

GOLDEN = Path(__file__).resolve().parents[1] / "runtime" / "golden"


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    folder = shutil.copytree(GOLDEN, tmp_path / "golden")
    return Path(folder) / "model_int8.tflite"


def test_views_are_applied_reported_and_counted_by_hand(model: Path) -> None:
    ds = load_dataset("synthetic", limit=600, log=lambda m: None)
    results = {views: evaluate(EvaluateConfig([str(model)], dataset="synthetic", limit=600, views=views),
                               log=lambda m: None)["models"][0] for views in ("none", "flip")}
    for views, report in results.items():
        hand = Classifier(model, views=views).probabilities(ds.x_test).argmax(axis=1)
        assert report["views"] == views
        assert report["accuracy"] == pytest.approx(float(np.mean(hand == ds.y_test)))
    assert results["none"]["confusion_matrix"] != results["flip"]["confusion_matrix"]  # the views change answers


def test_the_cli_names_the_views_and_refuses_unknown_ones(model: Path, capsys) -> None:
    assert main(["evaluate", "--model", str(model), "--dataset", "synthetic", "--limit", "300", "--views", "shift",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["models"][0]["views"] == "shift"
    result = evaluate(EvaluateConfig([str(model)], dataset="synthetic", limit=300, views="shift"), log=lambda m: None)
    assert "(test-time views shift)" in format_report(result)
    with pytest.raises(UsageError, match="views must be one of"):
        evaluate(EvaluateConfig([str(model)], dataset="synthetic", limit=300, views="mirror"))
