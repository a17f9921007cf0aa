"""PNG charts for reports. matplotlib is optional ([plots] extra) and never used by the runtime."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import EdgecnnError, UsageError
from ..fsutil import atomic_path


MISSING_MATPLOTLIB = "plots need matplotlib: pip install 'edgecnn[plots]'"


def require_matplotlib(what: str = "plots") -> None:
    """Raise the one-line UsageError now (before any long work) if matplotlib is not installed."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(f"{what} need matplotlib, which is not installed: pip install 'edgecnn[plots]' "
                         "(or pip install matplotlib)")


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise EdgecnnError(MISSING_MATPLOTLIB) from None
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


#: The format plot's panels: row key, panel title, y-axis unit, and how a bar's value is written.
FORMAT_MEASURES = (
    ("accuracy", "accuracy", "%", lambda v: f"{v:.2f}%"),
    ("kb", "file size", "KB", lambda v: f"{v:.0f}" if v >= 10 else f"{v:.1f}"),
    ("p50_us", "latency p50, batch 1", "us", lambda v: f"{v:.1f}"),
)


def accuracy_limits(percentages: Sequence[float]) -> tuple[float, float]:
    """y-axis limits (in %) that make accuracies 0.3 pp apart visibly different.

    The axis is zoomed to the data with a margin of half the spread (at least 0.5 pp),
    kept within 0-100; the caller notes on the plot when it does not start at 0.
    """
    low, high = min(percentages), max(percentages)
    margin = max((high - low) * 0.5, 0.5)
    return max(0.0, low - margin), min(100.0, high + margin * 1.5)


def formats_figure(rows: list[dict[str, Any]], title: str) -> Any:
    """The format comparison as a matplotlib figure: one bar chart per measure taken.

    Accuracy (a 0-1 fraction in `rows`) is drawn in % on an axis zoomed to the data, with a
    visible note where that axis does not start at 0; size is in KB and latency in us, each
    axis labelled with its unit and every number written plainly (never "2.89e+03").
    """
    plt = _pyplot()
    from matplotlib.ticker import ScalarFormatter

    measures = [m for m in FORMAT_MEASURES if any(row.get(m[0]) is not None for row in rows)]
    fig, axes = plt.subplots(1, len(measures), figsize=(4.2 * len(measures), 3.8), squeeze=False)
    names = [row["name"] for row in rows]
    for ax, (key, label, unit, text) in zip(axes[0], measures):
        values = [row.get(key) for row in rows]
        if key == "accuracy":
            values = [None if v is None else v * 100.0 for v in values]
        measured = [v for v in values if v is not None]
        ax.bar(range(len(rows)), [0 if v is None else v for v in values], color="#4a7ab5")
        ax.set_xticks(range(len(rows)), names, rotation=30, ha="right", fontsize=8)
        ax.set_title(label)
        ax.set_ylabel(unit)
        formatter = ScalarFormatter(useOffset=False)
        formatter.set_scientific(False)
        ax.yaxis.set_major_formatter(formatter)
        bottom = 0.0
        if key == "accuracy" and measured:
            bottom, top = accuracy_limits(measured)
            ax.set_ylim(bottom, top)
            if bottom > 0:
                ax.text(0.02, 0.97, f"axis starts at {bottom:.1f}%, not 0", transform=ax.transAxes, ha="left",
                        va="top", fontsize=8, color="#b03030", style="italic")
        for i, v in enumerate(values):  # a measure not taken is labelled so, never drawn as 0
            ax.text(i, bottom if v is None else v, "not measured" if v is None else text(v),
                    ha="center", va="bottom", fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_formats(rows: list[dict[str, Any]], title: str, dest: str | os.PathLike[str]) -> Path:
    """formats_figure saved as a PNG at `dest`."""
    return _save(formats_figure(rows, title), dest)
