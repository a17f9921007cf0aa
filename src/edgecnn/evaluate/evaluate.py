"""`edgecnn evaluate`: several models side by side on one test split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..datasets import load_dataset
from ..datasets.recorded import choose_dataset
from ..errors import DatasetError, UsageError
from ..fsutil import ensure_output_dir
from .metrics import accuracy, agreement, confusion_matrix, format_confusion, precision_recall
from .predict import LoadedModel, load_model


@dataclass
class EvaluateConfig:
    models: list[str]
    dataset: str | None = None  # None: the dataset in train.json beside the first model, else fashion-mnist
    data_dir: str | None = None
    seed: int | None = None  # None: train.json's, as for the dataset
    limit: int | None = None
    plots: str | None = None


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
    return {
        "model": name,
        "accuracy": accuracy(y, pred),
        "per_class": [
            {"class": c, "precision": None if np.isnan(p) else float(p), "recall": None if np.isnan(r) else float(r)}
            for c, p, r in zip(class_names, precision, recall)
        ],
        "confusion_matrix": matrix.tolist(),
        "predictions": pred,
    }


def evaluate(config: EvaluateConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    if not config.models:
        raise UsageError("give at least one --model")
    choice = choose_dataset(config.dataset, config.data_dir, config.seed, config.limit, Path(config.models[0]))
    models = [load_model(model) for model in config.models]
    dataset = load_dataset(choice.spec, choice.data_dir, choice.seed, choice.limit, log)
    check_labels(models, dataset.class_names)
    tag = " (SYNTHETIC data)" if dataset.synthetic else ""
    log(f"evaluating {len(config.models)} model(s) on {dataset.name}{tag}: {len(dataset.y_test)} test images")
    reports = []
    for model in models:
        report = model_report(model.path, model.probabilities(dataset.x_test), dataset.y_test, dataset.class_names)
        log(f"  {model.path}: accuracy {report['accuracy']:.4f}")
        reports.append(report)
    agreements = [[agreement(a["predictions"], b["predictions"]) for b in reports] for a in reports]
    if config.plots:
        write_plots(reports, dataset.class_names, config.plots, dataset.name + tag)
    for report in reports:
        report.pop("predictions")
    return {"dataset": dataset.describe(), "models": reports, "agreement": agreements}


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


def format_report(result: dict[str, Any]) -> str:
    class_names = result["dataset"]["classes"]
    tag = " (SYNTHETIC)" if result["dataset"]["synthetic"] else ""
    lines = [f"dataset: {result['dataset']['name']}{tag}, {result['dataset']['test_size']} test images", ""]
    names = [Path(m["model"]).name for m in result["models"]]
    for report, name in zip(result["models"], names):
        lines.append(f"== {name}: accuracy {report['accuracy']:.4f}")
        lines.append(f"{'class':<14} {'precision':>9} {'recall':>7}")
        for row in report["per_class"]:
            p = "-" if row["precision"] is None else f"{row['precision']:.3f}"
            r = "-" if row["recall"] is None else f"{row['recall']:.3f}"
            lines.append(f"{row['class'][:14]:<14} {p:>9} {r:>7}")
        lines.append(format_confusion(np.array(report["confusion_matrix"]), class_names))
        lines.append("")
    if len(names) > 1:
        lines.append("top-1 agreement between models:")
        lines.append(" " * 26 + " ".join(f"{n[:12]:>12}" for n in names))
        for name, row in zip(names, result["agreement"]):
            lines.append(f"{name[:25]:<25} " + " ".join(f"{v * 100:>11.2f}%" for v in row))
    return "\n".join(lines)
