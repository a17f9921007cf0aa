"""`edgecnn pipeline` end to end on a tiny synthetic run: report.md and PNGs that open."""

import pytest
from PIL import Image

from edgecnn.cli import main

pytestmark = pytest.mark.slow


def test_pipeline_writes_report_and_pictures(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["pipeline", "--dataset", "synthetic", "--epochs", "2", "--limit", "1200", "--calibration-samples", "100",
                 "--bench-runs", "10", "--out", str(out)])
    assert code == 0
    report = (out / "report.md").read_text()
    assert "SYNTHETIC" in report
    for section in ("## Training", "## Conversion", "## Evaluation", "## Speed", "## Next"):
        assert section in report
    for name in ("model_int8.tflite", "model_float32.tflite", "model_float16.tflite", "model.onnx", "model_int8.onnx"):
        assert (out / name).is_file() and f"| {name} |" in report
    assert "edgecnn classify --model" in report and "change vs Keras" in report and "fastest here:" in report
    assert "examples/" not in report.split("## Next")[1]  # works from a pip install, not only a checkout
    images = [line.split("](")[1].rstrip(")") for line in report.splitlines() if line.startswith("![")]
    assert {"plots/training_curves.png", "plots/formats.png"} <= set(images) and len(images) >= 3
    for rel in images:
        with Image.open(out / rel) as img:
            img.verify()
        with Image.open(out / rel) as img:
            assert img.format == "PNG" and img.size[0] > 200 and img.size[1] > 100


def test_failed_pipeline_leaves_no_folder(tmp_path, capsys):
    out = tmp_path / "new" / "run"
    assert main(["pipeline", "--dataset", "folder:" + str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_missing_matplotlib_stops_before_training(tmp_path, monkeypatch, capsys):
    """pip install ".[train]" then pipeline: one error naming matplotlib before any training, no folder."""
    import importlib.util

    import edgecnn.train.trainer as trainer

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    trained = []
    monkeypatch.setattr(trainer, "train", lambda *a, **k: trained.append(a))
    out = tmp_path / "run"
    assert main(["pipeline", "--dataset", "synthetic", "--epochs", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "matplotlib" in err and "edgecnn[train,plots]" in err and "nothing was run" in err
    assert trained == [] and not out.exists()
