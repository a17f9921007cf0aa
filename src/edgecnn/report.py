"""report.md for a pipeline run: tables and PNGs, and what to do next."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from . import __version__
from .bench.machine import facts_line
from .bench.runner import verdict_line
from .convert.manifest import change_vs_keras
from .documents import MANIFEST, read_json
from .filenames import ARTIFACT_FILES, MANIFEST_FILE
from .fsutil import write_text_atomic


def md_table(header: list[str], rows: list[list[Any]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def conversion_section(out: Path) -> list[str]:
    """Keras's accuracy and one row per converted artifact, from OUT/manifest.json."""
    manifest_path = out / MANIFEST_FILE
    if not manifest_path.is_file():
        return [f"No {MANIFEST_FILE}: conversion did not run."]
    manifest = read_json(MANIFEST, manifest_path)
    rows = []
    for art in manifest.get("artifacts", []):
        rows.append([
            art.get("format"), art.get("file"), f"{art.get('bytes', 0) / 1024:.1f}",
            _pct(art.get("accuracy")), change_vs_keras(art.get("accuracy_drop_pp")), _pct(art.get("agreement")),
            f"{art.get('max_abs_diff', float('nan')):.2e}" if art.get("max_abs_diff") is not None else "-",
            "yes" if art.get("verified") else f"NO: {art.get('failure')}",
        ])
    keras = manifest.get("keras_accuracy")
    return [f"Keras model accuracy on the test split: {_pct(keras)}", "",
            md_table(["format", "file", "KB", "accuracy", "change vs Keras", "agreement", "max abs diff", "verified"], rows)]


def _pct(value: float | None) -> str:
    """A 0-1 fraction as a percentage with 2 decimals."""
    return "-" if value is None else f"{value * 100:.2f}%"


def evaluation_section(evaluation: dict[str, Any], out: Path) -> list[str]:
    """Accuracy per model, the agreement matrix, and the int8 confusion matrices."""
    names = [Path(m["model"]).name for m in evaluation["models"]]
    lines = [md_table(["model", "accuracy"], [[n, _pct(m["accuracy"])] for n, m in zip(names, evaluation["models"])]), ""]
    lines.append("Top-1 agreement between models:\n")
    lines.append(md_table(["", *names], [[n, *[_pct(v) for v in row]] for n, row in zip(names, evaluation["agreement"])]))
    for model, name in zip(evaluation["models"], names):
        if "int8" in name and model.get("confusion_png"):
            lines += ["", f"Confusion matrix of {name}:", "", f"![confusion {name}]({Path(model['confusion_png']).relative_to(out)})"]
    return lines


def bench_section(bench: dict[str, Any]) -> list[str]:
    """The machine line, one row per benchmarked configuration, and which format is fastest here and why."""
    rows = [[Path(r["model"]).name, r["backend"], r["threads"], r["batch"], f"{r['load_ms']:.1f}", f"{r['p50_us']:.1f}",
             f"{r['p90_us']:.1f}", f"{r['p99_us']:.1f}", f"{r['images_per_s']:.0f}", f"{r['peak_rss_mb']:.0f}",
             f"{r['file_kb']:.1f}", f"{r['ratio_to_fastest']:.2f}x"] for r in bench["rows"]]
    lines = [facts_line(bench["machine"]), "",
             md_table(["model", "backend", "threads", "batch", "load ms", "p50 us", "p90 us", "p99 us", "images/s",
                       "peak RSS MB", "KB", "vs fastest"], rows)]
    if bench.get("verdict"):
        lines += ["", verdict_line(bench["verdict"])]
    if bench.get("warning"):
        lines += ["", f"**{bench['warning']}**"]
    return lines


def format_rows(evaluation: dict[str, Any], bench: dict[str, Any]) -> list[dict[str, Any]]:
    """Per evaluated model: name, accuracy (0-1), file size in KB and its fastest batch-1 p50 (or None)."""
    rows = []
    for model in evaluation["models"]:
        timing = [r["p50_us"] for r in bench["rows"] if r["model"] == model["model"] and r["batch"] == 1]
        path = Path(model["model"])
        rows.append({"name": path.name, "accuracy": model["accuracy"], "kb": path.stat().st_size / 1024,
                     "p50_us": min(timing) if timing else None})
    return rows


def next_steps(out: Path) -> list[str]:
    """Commands that work from a pip install (no repository checkout): edgecnn's own commands, here and on a Pi."""
    model = f"{out}/{ARTIFACT_FILES['int8']}"
    return [
        "```sh",
        f"edgecnn classify --model {model} photo.jpg",
        f"edgecnn camera --model {model} --source 0",
        f"edgecnn bench --model {model} --model {out}/{ARTIFACT_FILES['float32']}   # which format is fastest on this machine",
        "# On a Raspberry Pi (64-bit OS): the runtime alone (no TensorFlow), then the model file",
        "# (its class names and preprocessing are inside it):",
        f"#   pi$ python3 -m venv --system-site-packages ~/edgecnn-venv && ~/edgecnn-venv/bin/pip install \"edgecnn[pi]=={__version__}\"",
        "#       (or install the same wheel or source you installed edgecnn from here, with its [pi] extra)",
        f"scp {model} pi@raspberrypi.local:",
        f"#   pi$ ~/edgecnn-venv/bin/edgecnn classify --model {ARTIFACT_FILES['int8']} photo.jpg",
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
        f"{train_report['seconds_per_epoch']:.1f} s per epoch; test accuracy {_pct(train_report['test_accuracy'])}.", "",
        "![training curves](plots/training_curves.png)", "",
        "## Conversion", "", *conversion_section(out), "",
        "## Evaluation", "", *evaluation_section(evaluation, out), "",
        "## Speed (batch of one ready 28x28 image)", "", *bench_section(bench), "",
        "![formats](plots/formats.png)", "",
        "## Next", "", *next_steps(out), "",
    ]
    return write_text_atomic(out / "report.md", "\n".join(lines))
