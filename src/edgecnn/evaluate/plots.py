"""PNG charts for reports. matplotlib is optional ([plots] extra) and never used by the runtime."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import EdgecnnError
from ..fsutil import atomic_path


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise EdgecnnError("plots need matplotlib: pip install 'edgecnn[plots]'") from None
    return plt


def _save(fig: Any, dest: str | os.PathLike[str]) -> Path:
    plt = _pyplot()
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
    return Path(dest)


def plot_confusion(matrix: np.ndarray, class_names: Sequence[str], title: str, dest: str | os.PathLike[str]) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 6))
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(class_names)), class_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(class_names)), class_names, fontsize=8)
    for (i, j), value in np.ndenumerate(matrix):
        if value:
            ax.text(j, i, str(int(value)), ha="center", va="center", fontsize=7,
                    color="white" if normalised[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    return _save(fig, dest)


def plot_training_curves(history: list[dict[str, float]], title: str, dest: str | os.PathLike[str]) -> Path:
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    epochs = [row["epoch"] for row in history]
    for key, ax in (("loss", ax_loss), ("accuracy", ax_acc)):
        for prefix, style in (("", "-o"), ("val_", "--s")):
            if history and f"{prefix}{key}" in history[0]:
                ax.plot(epochs, [row[f"{prefix}{key}"] for row in history], style, label=f"{prefix or 'train '}{key}".replace("_", " "))
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title, fontsize=10)
    return _save(fig, dest)


def plot_formats(rows: list[dict[str, Any]], title: str, dest: str | os.PathLike[str]) -> Path:
    """One bar chart per measure (accuracy, size, latency) across model formats."""
    plt = _pyplot()
    measures = [(key, label) for key, label in (("accuracy", "accuracy"), ("kb", "size (KB)"), ("p50_us", "latency p50 (us)"))
                if any(row.get(key) is not None for row in rows)]
    fig, axes = plt.subplots(1, len(measures), figsize=(4 * len(measures), 3.6), squeeze=False)
    names = [row["name"] for row in rows]
    for ax, (key, label) in zip(axes[0], measures):
        values = [row.get(key) for row in rows]
        ax.bar(range(len(rows)), [v or 0 for v in values], color="#4a7ab5")
        ax.set_xticks(range(len(rows)), names, rotation=30, ha="right", fontsize=8)
        ax.set_title(label)
        for i, v in enumerate(values):  # a measure not taken is labelled so, never drawn as 0
            ax.text(i, v or 0, "not measured" if v is None else f"{v:.3g}", ha="center", va="bottom", fontsize=7)
    fig.suptitle(title, fontsize=10)
    return _save(fig, dest)
