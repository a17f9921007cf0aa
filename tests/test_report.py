"""report.md and the format plot, from made-up run results: readable numbers, a zoomed accuracy axis,
units, change against Keras that reads right, and next steps that work from a pip install."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from edgecnn.report import write_report

pytest.importorskip("matplotlib")


def format_rows() -> list[dict[str, Any]]:
    return [{"name": "model_int8.tflite", "accuracy": 0.963, "kb": 250.8, "p50_us": 25.86},
            {"name": "model_float32.tflite", "accuracy": 0.966, "kb": 2890.4, "p50_us": 58.88},
            {"name": "model.onnx", "accuracy": 0.966, "kb": 957.3, "p50_us": None}]


def test_format_plot_zooms_accuracy_and_labels_units() -> None:
    from edgecnn.evaluate.plots import formats_figure

    fig = formats_figure(format_rows(), "formats")
    fig.canvas.draw()
    accuracy, size, latency = fig.axes
    bottom, top = accuracy.get_ylim()
    assert 90 < bottom < 96.3 and 96.6 < top <= 100  # 0.963 and 0.966 are visibly apart, in %
    texts = {t.get_text() for ax in fig.axes for t in ax.texts}
    assert f"axis starts at {bottom:.1f}%, not 0" in texts
    assert {"96.30%", "96.60%", "2890", "251", "25.9", "not measured"} <= texts
    assert (accuracy.get_ylabel(), size.get_ylabel(), latency.get_ylabel()) == ("%", "KB", "us")
    ticks = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()] + [ax.yaxis.get_offset_text().get_text()
                                                                               for ax in fig.axes]
    assert not any("e+" in t or "1e" in t for t in texts | set(ticks))
    assert size.get_ylim()[0] == 0 and latency.get_ylim()[0] == 0


@pytest.fixture
def run_folder(tmp_path: Path, converted_dir: Path) -> Path:
    """A pipeline output folder: two real models and a manifest with one better, one worse than Keras."""
    out = tmp_path / "run"
    (out / "plots").mkdir(parents=True)
    for name in ("model_int8.tflite", "model_float32.tflite"):
        shutil.copyfile(converted_dir / name, out / name)
    manifest = json.loads((converted_dir / "manifest.json").read_text())
    manifest["artifacts"] = [a for a in manifest["artifacts"] if a["file"] in ("model_int8.tflite", "model_float32.tflite")]
    manifest["artifacts"][0].update(accuracy=0.9339, accuracy_drop_pp=-0.25)
    manifest["artifacts"][1].update(accuracy=0.9304, accuracy_drop_pp=0.1)
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def test_report_reads_right(run_folder: Path) -> None:
    out = run_folder
    models = [str(out / "model_int8.tflite"), str(out / "model_float32.tflite")]
    train = {"dataset": {"name": "fashion-mnist", "synthetic": False, "train_size": 60000, "test_size": 10000},
             "history": [{"epoch": 1, "loss": 0.5, "accuracy": 0.8}, {"epoch": 2, "loss": 0.4, "accuracy": 0.85}],
             "epochs_run": 2, "epochs_requested": 2, "best_epoch": 2, "seconds_per_epoch": 8.4973, "test_accuracy": 0.9314}
    evaluation = {"models": [{"model": m, "accuracy": a} for m, a in zip(models, (0.9339, 0.9304))],
                  "agreement": [[1.0, 0.99], [0.99, 1.0]]}
    bench_rows = [{"model": m, "backend": "litert", "threads": 1, "batch": 1, "load_ms": 147.58, "p50_us": p,
                   "p90_us": p + 0.123, "p99_us": p + 40.456, "images_per_s": 15023.7, "peak_rss_mb": 56.23,
                   "file_kb": 250.8, "ratio_to_fastest": r, "format": f}
                  for m, p, r, f in zip(models, (25.82, 59.57), (1.0, 2.31), ("tflite-int8", "tflite-float32"))]
    from edgecnn.bench.runner import fastest_verdict

    bench = {"machine": {"cpu": "AMD EPYC", "cpu_flags": ["avx2", "fma", "avx512_vnni"], "cores": 2, "machine": "x86_64",
                         "system": "Linux", "python": "3.11.7", "libraries": {}},
             "rows": bench_rows, "warning": None, "verdict": fastest_verdict(bench_rows, ["avx2", "fma", "avx512_vnni"])}
    report = write_report(out, train, evaluation, bench, None, 12.3).read_text()
    assert "8.5 s per epoch" in report and "8.497" not in report
    assert "change vs Keras" in report and "drop" not in report
    int8_row = next(line for line in report.splitlines() if line.startswith("| int8 |"))
    assert "| +0.25 pp better |" in int8_row and "| 93.39% |" in int8_row
    assert "| 0.10 pp lower |" in next(line for line in report.splitlines() if line.startswith("| float32 |"))
    speed = report.split("## Speed")[1].split("## Next")[0]
    assert "avx512_vnni" in speed and "fastest here: tflite-int8 (model_int8.tflite, litert), int8 uses VNNI" in speed
    assert "| 147.6 | 25.8 | 25.9 | 66.3 | 15024 | 56 | 250.8 | 1.00x |" in speed
    following = report.split("## Next")[1]
    assert "examples/" not in following and "make wheel" not in following and "dist/" not in following
    assert f"edgecnn classify --model {out}/model_int8.tflite photo.jpg" in following
    assert "pip install \"edgecnn[pi]" in following and "edgecnn classify --model model_int8.tflite" in following
    assert (out / "plots" / "formats.png").is_file()
