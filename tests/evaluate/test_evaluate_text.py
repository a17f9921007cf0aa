"""evaluate's text report and its checks before any model or data is loaded (no TensorFlow needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgecnn.cli import main
from edgecnn.evaluate.evaluate import format_report

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Ankle boot"]


def fake_result(models: list[str], plots: str | None = None) -> dict:
    per_class = [{"class": c, "precision": 0.5, "recall": 0.25, "f1": 1 / 3, "support": 100 + i}
                 for i, c in enumerate(CLASSES)]
    reports = []
    for model in models:
        report = {"model": model, "accuracy": 0.9, "per_class": per_class,
                  "confusion_matrix": [[1 if i == j else 0 for j in range(4)] for i in range(4)]}
        if plots:
            report["confusion_png"] = str(Path(plots) / f"confusion_{Path(model).name.replace('.', '_')}.png")
        reports.append(report)
    result = {"dataset": {"name": "fashion-mnist", "synthetic": False, "test_size": 406, "classes": CLASSES},
              "models": reports, "agreement": [[1.0 if a == b else 0.98 for b in models] for a in models]}
    if plots:
        result["plots_dir"] = plots
    return result


def test_report_never_truncates_names_and_has_f1_and_support():
    models = ["artifacts/model.keras", "artifacts/model_int8.tflite", "artifacts/model_float16.tflite"]
    text = format_report(fake_result(models))
    for name in ("Pullover", "Ankle boot", "T-shirt/top", "model_int8.tflite", "model_float16.tflite"):
        assert name in text
    header = next(line for line in text.splitlines() if line.startswith("class"))
    assert header.split() == ["class", "precision", "recall", "F1", "support"]
    assert any(line.split() == ["Pullover", "0.500", "0.250", "0.333", "102"] for line in text.splitlines())


def test_agreement_matrix_names_rows_and_columns():
    models = ["a/model.keras", "a/model_int8.tflite"]
    lines = format_report(fake_result(models)).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("top-1 agreement"))
    assert "row's model" in lines[start] and "column's model" in lines[start]
    assert lines[start + 1].split() == ["model", "\\", "model", "1", "2"]
    assert lines[start + 2].split() == ["1", "model.keras", "100.00%", "98.00%"]
    assert lines[start + 3].split() == ["2", "model_int8.tflite", "98.00%", "100.00%"]


def test_same_file_name_in_two_folders_shows_the_paths():
    text = format_report(fake_result(["old/model.onnx", "new/model.onnx"]))
    assert "old/model.onnx" in text and "new/model.onnx" in text


def test_report_says_where_plots_went(tmp_path):
    text = format_report(fake_result(["m/model.onnx"], plots=str(tmp_path / "plots")))
    assert f"plots written to {tmp_path / 'plots'}" in text
    assert str(tmp_path / "plots" / "confusion_model_onnx.png") in text


def test_missing_matplotlib_stops_before_anything_loads(tmp_path, monkeypatch, capsys):
    import importlib.util

    import edgecnn.evaluate.evaluate as evaluate_module

    model = tmp_path / "model_int8.tflite"
    model.write_bytes(b"x")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    loaded = []
    monkeypatch.setattr(evaluate_module, "load_model", lambda path: loaded.append(path))
    code = main(["evaluate", "--model", str(model), "--plots", str(tmp_path / "plots")])
    assert code == 2 and loaded == []
    assert "need matplotlib" in capsys.readouterr().err
    assert not (tmp_path / "plots").exists()


def test_bad_second_model_stops_before_the_first_loads(tmp_path, monkeypatch, capsys):
    import edgecnn.evaluate.evaluate as evaluate_module

    good = tmp_path / "model_int8.tflite"
    good.write_bytes(b"x")
    loaded = []
    monkeypatch.setattr(evaluate_module, "load_model", lambda path: loaded.append(path))
    code = main(["evaluate", "--model", f"{good},{tmp_path / 'missing.onnx'}"])
    assert code == 2 and loaded == []
    assert "missing.onnx: no such model file" in capsys.readouterr().err


@pytest.mark.parametrize("flags", [["--model", "a.tflite,b.onnx"], ["--model", "a.tflite", "--model", "b.onnx"]])
def test_model_list_both_styles(flags):
    from edgecnn.cli import build_parser

    assert build_parser().parse_args(["evaluate", *flags]).model == ["a.tflite", "b.onnx"]
