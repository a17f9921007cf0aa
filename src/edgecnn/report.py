"""report.md for a pipeline run: tables and PNGs, and what to do next."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from .bench.machine import facts_line
from .documents import MANIFEST, read_json
from .fsutil import write_text_atomic


def md_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def conversion_section(out: Path) -> list[str]:
    manifest_path = out / "manifest.json"
    if not manifest_path.is_file():
        return ["No manifest.json: conversion did not run."]
    manifest = read_json(MANIFEST, manifest_path)
    rows = []
    for art in manifest.get("artifacts", []):
        rows.append([
            art.get("format"), art.get("file"), f"{art.get('bytes', 0) / 1024:.1f}",
            _pct(art.get("accuracy")), _pp(art.get("accuracy_drop_pp")), _pct(art.get("agreement")),
            f"{art.get('max_abs_diff', float('nan')):.2e}" if art.get("max_abs_diff") is not None else "-",
            "yes" if art.get("verified") else f"NO: {art.get('failure')}",
        ])
    keras = manifest.get("keras_accuracy")
    return [f"Keras model accuracy on the test split: {_pct(keras)}", "",
            md_table(["format", "file", "KB", "accuracy", "drop vs Keras", "agreement", "max abs diff", "verified"], rows)]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


def _pp(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} pp"


def evaluation_section(evaluation: dict[str, Any], out: Path) -> list[str]:
    names = [Path(m["model"]).name for m in evaluation["models"]]
    lines = [md_table(["model", "accuracy"], [[n, _pct(m["accuracy"])] for n, m in zip(names, evaluation["models"])]), ""]
    lines.append("Top-1 agreement between models:\n")
    lines.append(md_table(["", *names], [[n, *[_pct(v) for v in row]] for n, row in zip(names, evaluation["agreement"])]))
    for model, name in zip(evaluation["models"], names):
        if "int8" in name and model.get("confusion_png"):
            lines += ["", f"Confusion matrix of {name}:", "", f"![confusion {name}]({Path(model['confusion_png']).relative_to(out)})"]
    return lines


def bench_section(bench: dict[str, Any]) -> list[str]:
    rows = [[Path(r["model"]).name, r["backend"], r["threads"], r["batch"], r["load_ms"], r["p50_us"], r["p90_us"],
             r["p99_us"], r["images_per_s"], r["peak_rss_mb"], r["file_kb"], f"{r['ratio_to_fastest']:.2f}x"] for r in bench["rows"]]
    lines = [facts_line(bench["machine"]), "",
             md_table(["model", "backend", "threads", "batch", "load ms", "p50 us", "p90 us", "p99 us", "images/s",
                       "peak RSS MB", "KB", "vs fastest"], rows)]
    if bench.get("warning"):
        lines += ["", f"**{bench['warning']}**"]
    return lines


def format_rows(evaluation: dict[str, Any], bench: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for model in evaluation["models"]:
        timing = [r["p50_us"] for r in bench["rows"] if r["model"] == model["model"] and r["batch"] == 1]
        path = Path(model["model"])
        rows.append({"name": path.name, "accuracy": model["accuracy"], "kb": path.stat().st_size / 1024,
                     "p50_us": min(timing) if timing else None})
    return rows


def next_steps(out: Path) -> list[str]:
    return [
        "```sh",
        f"edgecnn classify --model {out}/model_int8.tflite photo.jpg",
        f"edgecnn camera --model {out}/model_int8.tflite --source 0",
        "make wheel   # dist/edgecnn-*.whl: the runtime, no TensorFlow",
        f"scp {out}/model_int8.tflite examples/pi_classify.py dist/edgecnn-*.whl pi@raspberrypi.local:~/edgecnn/",
        "# on the Pi, in ~/edgecnn: python3 -m venv --system-site-packages venv && venv/bin/pip install \"$(ls edgecnn-*.whl)[pi]\"",
        "# then: venv/bin/python pi_classify.py --model model_int8.tflite photo.jpg",
        "```",
    ]


def write_report(out: Path, train_report: dict[str, Any], evaluation: dict[str, Any], bench: dict[str, Any],
                 failure: str | None, seconds: float) -> Path:
    from .evaluate.plots import plot_formats, plot_training_curves

    dataset = train_report["dataset"]
    synthetic = " (SYNTHETIC data: these numbers say nothing about real photos)" if dataset.get("synthetic") else ""
    title = "SYNTHETIC data" if dataset.get("synthetic") else dataset["name"]
    plots = out / "plots"
    plot_training_curves(train_report["history"], f"training on {title}", plots / "training_curves.png")
    plot_formats(format_rows(evaluation, bench), f"formats on {title}", plots / "formats.png")
    lines = [
        "# edgecnn pipeline report", "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M:%S')} in {seconds:.0f} s. Dataset: **{dataset['name']}**{synthetic}, "
        f"{dataset['train_size']} training / {dataset['test_size']} test images.", "",
    ]
    if failure:
        lines += [f"**Conversion verification failed: {failure}**", ""]
    lines += [
        "## Training", "",
        f"{train_report['epochs_run']} of {train_report['epochs_requested']} epochs (best: {train_report['best_epoch']}), "
        f"{train_report['seconds_per_epoch']} s per epoch; test accuracy {_pct(train_report['test_accuracy'])}.", "",
        "![training curves](plots/training_curves.png)", "",
        "## Conversion", "", *conversion_section(out), "",
        "## Evaluation", "", *evaluation_section(evaluation, out), "",
        "## Speed (batch of one ready 28x28 image)", "", *bench_section(bench), "",
        "![formats](plots/formats.png)", "",
        "## Next", "", *next_steps(out), "",
    ]
    return write_text_atomic(out / "report.md", "\n".join(lines))
