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


def f1_scores(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """Per-class F1, the harmonic mean of precision and recall; NaN where either is undefined, 0 where both are 0."""
    precision, recall = np.asarray(precision, np.float64), np.asarray(recall, np.float64)
    total = precision + recall
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, 2 * precision * recall / total, np.where(np.isnan(total), np.nan, 0.0))


def support(matrix: np.ndarray) -> np.ndarray:
    """Per-class support: how many test images truly belong to each class (the row sums)."""
    return np.asarray(matrix).sum(axis=1).astype(np.int64)


def text_table(header: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    """Rows of strings as aligned text lines; never truncates. The first `left` columns align left, the rest right."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.ljust(w) if i < left else cell.rjust(w)
                         for i, (cell, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(header), *(line(row) for row in rows)]


def agreement(pred_a: np.ndarray, pred_b: np.ndarray) -> float:
    """Fraction of images on which two models give the same top-1 class."""
    return accuracy(pred_a, pred_b)


def format_confusion(matrix: np.ndarray, class_names: list[str]) -> str:
    """The confusion matrix as aligned text: rows are true classes (numbered, full names), columns the
    predicted classes by the same numbers, so ten classes fit an 80-column terminal with nothing cut."""
    numbers = [str(i) for i in range(len(class_names))]
    header = ["true \\ predicted", *numbers]
    rows = [[f"{i} {name}", *(str(int(v)) for v in row)] for i, (name, row) in enumerate(zip(class_names, matrix))]
    return "\n".join(["confusion matrix (rows: true class; columns: predicted class, numbered as the rows)",
                      *text_table(header, rows)])
