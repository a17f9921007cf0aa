"""`edgecnn evaluate`: several models side by side on one test split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets import load_dataset
from ..datasets.recorded import choose_dataset
from ..errors import DatasetError, UsageError
from ..fsutil import ensure_output_dir
from ..log import Log, get_logger
from ..progress import in_chunks
from .metrics import (accuracy, agreement, confusion_matrix, f1_scores, format_confusion, precision_recall, support,
                      text_table)
from .predict import LoadedModel, check_model_path, load_model

logger = get_logger(__name__)


@dataclass
class EvaluateConfig:
    models: list[str]
    dataset: str | None = None  # None: the dataset in train.json beside the first model, else fashion-mnist
    data_dir: str | None = None
    seed: int | None = None  # None: train.json's, as for the dataset
    limit: int | None = None
    plots: str | None = None
    views: str = "none"  # test-time views for .tflite/.onnx models (runtime/views.py); "none": the model itself


def check_config(config: EvaluateConfig) -> None:
    """What can be checked without loading anything: every model file, and matplotlib for --plots.

    Run before any model or the dataset is loaded, so a bad second model or a missing
    matplotlib stops the command before its long work, not after it.
    """
    if not config.models:
        raise UsageError("give at least one --model")
    from ..runtime.views import check as check_views

    check_views(config.views)
    for model in config.models:
        check_model_path(model)
    if config.plots:
        from .plots import require_matplotlib

        require_matplotlib("--plots")


def _number(value: float | None) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


def check_labels(models: list[LoadedModel], class_names: list[str]) -> None:
    for model in models:
        labels = model.class_names
        if labels is not None and labels != list(class_names):
            raise DatasetError(
                f"{model.path}: its classes ({', '.join(labels[:4])}...) do not match the dataset's "
                f"({', '.join(class_names[:4])}...)"
            )


def model_report(name: str, probs: np.ndarray, y: np.ndarray, class_names: list[str]) -> dict[str, Any]:
    pred = probs.argmax(axis=1)
    matrix = confusion_matrix(y, pred, len(class_names))
    precision, recall = precision_recall(matrix)
    f1, counts = f1_scores(precision, recall), support(matrix)
    return {
        "model": name,
        "accuracy": accuracy(y, pred),
        "per_class": [
            {"class": c, "precision": _number(p), "recall": _number(r), "f1": _number(f), "support": int(n)}
            for c, p, r, f, n in zip(class_names, precision, recall, f1, counts)
        ],
        "confusion_matrix": matrix.tolist(),
        "predictions": pred,
    }


def evaluate(config: EvaluateConfig, log: Log = logger.info) -> dict[str, Any]:
    """Every model on the test split: accuracy, per-class metrics, confusion and agreement (and PNGs with plots)."""
    check_config(config)
    choice = choose_dataset(config.dataset, config.data_dir, config.seed, config.limit, Path(config.models[0]))
    models = [load_model(model, config.views) for model in config.models]
    dataset = load_dataset(choice.spec, choice.data_dir, choice.seed, choice.limit, log)
    check_labels(models, dataset.class_names)
    tag = " (SYNTHETIC data)" if dataset.synthetic else ""
    log(f"evaluating {len(config.models)} model(s) on {dataset.name}{tag}: {len(dataset.y_test)} test images")
    reports = []
    for model in models:
        probs = in_chunks(model.probabilities, dataset.x_test, f"evaluating {Path(model.path).name}")
        report = model_report(model.path, probs, dataset.y_test, dataset.class_names)
        report["views"] = model.views
        log(f"  {model.path}: accuracy {report['accuracy']:.4f}" + _with_views(model.views))
        reports.append(report)
    agreements = [[agreement(a["predictions"], b["predictions"]) for b in reports] for a in reports]
    result: dict[str, Any] = {"dataset": dataset.describe(), "models": reports, "agreement": agreements}
    if config.plots:
        written = write_plots(reports, dataset.class_names, config.plots, dataset.name + tag)
        result["plots_dir"] = str(Path(config.plots))
        log(f"confusion-matrix plots written to {config.plots}: {', '.join(p.name for p in written)}")
    for report in reports:
        report.pop("predictions")
    return result


def write_plots(reports: list[dict[str, Any]], class_names: list[str], folder: str, title: str) -> list[Path]:
    from .plots import plot_confusion

    out = ensure_output_dir(folder)
    written = []
    for report in reports:
        stem = Path(report["model"]).name.replace(".", "_")
        written.append(plot_confusion(np.array(report["confusion_matrix"]), class_names,
                                      f"{Path(report['model']).name} on {title}", out / f"confusion_{stem}.png"))
        report["confusion_png"] = str(written[-1])
    return written


def display_names(paths: list[str]) -> list[str]:
    """Each model's file name, or its whole path where two models share a file name."""
    names = [Path(p).name for p in paths]
    return [name if names.count(name) == 1 else path for name, path in zip(names, paths)]


def _with_views(views: str) -> str:
    return "" if views == "none" else f" (test-time views {views})"


def _fixed(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_report(result: dict[str, Any]) -> str:
    """The evaluation as aligned text: names are never cut, matrices have named rows and columns."""
    class_names = result["dataset"]["classes"]
    tag = " (SYNTHETIC)" if result["dataset"]["synthetic"] else ""
    lines = [f"dataset: {result['dataset']['name']}{tag}, {result['dataset']['test_size']} test images", ""]
    names = display_names([m["model"] for m in result["models"]])
    for report, name in zip(result["models"], names):
        lines.append(f"== {name}: accuracy {report['accuracy']:.4f}" + _with_views(report.get("views", "none")))
        rows = [[row["class"], _fixed(row["precision"]), _fixed(row["recall"]), _fixed(row.get("f1")),
                 str(row.get("support", "-"))] for row in report["per_class"]]
        lines.extend(text_table(["class", "precision", "recall", "F1", "support"], rows))
        lines.append("")
        lines.append(format_confusion(np.array(report["confusion_matrix"]), class_names))
        lines.append("")
    if len(names) > 1:
        lines.append("top-1 agreement (% of test images on which the row's model and the column's model "
                     "give the same class)")
        numbered = [f"{i} {name}" for i, name in enumerate(names, 1)]
        header = ["model \\ model", *(str(i) for i in range(1, len(names) + 1))]
        rows = [[label, *(f"{v * 100:.2f}%" for v in row)] for label, row in zip(numbered, result["agreement"])]
        lines.extend(text_table(header, rows))
        lines.append("")
    if result.get("plots_dir"):
        pngs = [m["confusion_png"] for m in result["models"] if m.get("confusion_png")]
        lines.append(f"plots written to {result['plots_dir']}:")
        lines.extend(f"  {png}" for png in pngs)
    return "\n".join(lines).rstrip()
