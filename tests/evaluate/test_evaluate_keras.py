"""evaluate on a Keras model and a small synthetic set, checked against a hand count."""

import json

import numpy as np
import pytest

from edgecnn.cli import main
from edgecnn.datasets import load_dataset
from edgecnn.runtime.modelinput import to_model_input

pytestmark = pytest.mark.slow


def test_accuracy_matches_hand_count(trained_dir, tmp_path, capsys):
    model = trained_dir / "model.keras"
    code = main(["evaluate", "--model", str(model), "--dataset", "synthetic", "--limit", "600", "--json",
                 "--plots", str(tmp_path / "plots")])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    import keras

    ds = load_dataset("synthetic", limit=600)
    pred = keras.models.load_model(model).predict(to_model_input(ds.x_test), verbose=0).argmax(axis=1)
    hand = sum(int(p == t) for p, t in zip(pred, ds.y_test)) / len(ds.y_test)
    report = result["models"][0]
    assert result["dataset"]["synthetic"] is True and result["dataset"]["test_size"] == len(ds.y_test) == 100
    assert report["accuracy"] == pytest.approx(hand)
    matrix = np.array(report["confusion_matrix"])
    assert matrix.sum() == 100 and np.trace(matrix) == round(hand * 100)
    for cls, row in enumerate(report["per_class"]):
        n_true = int((ds.y_test == cls).sum())
        if n_true:
            assert row["recall"] == pytest.approx(((pred == cls) & (ds.y_test == cls)).sum() / n_true)
    from PIL import Image

    png = tmp_path / "plots" / "confusion_model_keras.png"
    assert Image.open(png).size[0] > 100


def test_class_mismatch_is_an_error(trained_dir, tmp_path, capsys):
    from PIL import Image

    for name in ("cats", "dogs"):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(3):
            picture = Image.new("L", (40, 40), 0)  # a light square on black: an item, not a blank picture
            picture.paste(120 + 40 * i, (8 + i, 10, 30, 32 - i))
            picture.save(tmp_path / "data" / name / f"{i}.png")
    code = main(["evaluate", "--model", str(trained_dir / "model.keras"), "--dataset", f"folder:{tmp_path / 'data'}"])
    err = capsys.readouterr().err
    assert code == 2 and "do not match the dataset" in err and "\n" not in err.strip()


def test_model_that_does_not_load(tmp_path, capsys):
    bad = tmp_path / "model.keras"
    bad.write_bytes(b"not a zip")
    code = main(["evaluate", "--model", str(bad), "--dataset", "synthetic", "--limit", "100"])
    err = capsys.readouterr().err
    assert code == 2 and "not a readable Keras model" in err
