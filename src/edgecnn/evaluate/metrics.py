"""Classification metrics in plain numpy, so they can be checked by hand in tests."""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes; entry = count of images."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return matrix


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")


def precision_recall(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class precision (of the images predicted as c) and recall (of the images of c).

    A class never predicted has undefined precision, reported as NaN rather than 0 so
    that a report does not claim a precision nobody measured.
    """
    diag = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0).astype(np.float64)
    actual = matrix.sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, diag / predicted, np.nan)
        recall = np.where(actual > 0, diag / actual, np.nan)
    return precision, recall


def agreement(pred_a: np.ndarray, pred_b: np.ndarray) -> float:
    """Fraction of images on which two models give the same top-1 class."""
    return accuracy(pred_a, pred_b)


def format_confusion(matrix: np.ndarray, class_names: list[str]) -> str:
    """The confusion matrix as a fixed-width text table (rows: true, columns: predicted)."""
    short = [name[:7] for name in class_names]
    width = max(7, len(str(int(matrix.max(initial=0)))))
    header = " " * 13 + " ".join(f"{s:>{width}}" for s in short)
    rows = [f"{name[:12]:<12} " + " ".join(f"{int(v):>{width}}" for v in row) for name, row in zip(class_names, matrix)]
    return "\n".join(["true \\ predicted", header, *rows])
