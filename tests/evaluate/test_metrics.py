import numpy as np

from edgecnn.evaluate.metrics import accuracy, agreement, confusion_matrix, format_confusion, precision_recall


def test_confusion_precision_recall_by_hand():
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
    y_pred = np.array([0, 0, 1, 1, 1, 2, 2, 2, 0, 1])
    matrix = confusion_matrix(y_true, y_pred, 4)
    assert matrix.tolist() == [[2, 1, 0, 0], [0, 2, 0, 0], [1, 1, 3, 0], [0, 0, 0, 0]]
    precision, recall = precision_recall(matrix)
    # class 0: predicted 3 times, right twice; class 1: predicted 4 times, right twice; class 2: 3 of 3
    np.testing.assert_allclose(precision[:3], [2 / 3, 2 / 4, 3 / 3])
    np.testing.assert_allclose(recall[:3], [2 / 3, 2 / 2, 3 / 5])
    assert np.isnan(precision[3]) and np.isnan(recall[3])  # never seen, never predicted: undefined, not 0
    assert accuracy(y_true, y_pred) == 0.7
    assert agreement(y_pred, y_pred) == 1.0 and agreement(y_pred, y_true) == 0.7


def test_confusion_text_has_every_count():
    matrix = np.array([[5, 1], [0, 7]])
    text = format_confusion(matrix, ["Trouser", "Bag"])
    assert text.splitlines()[2].split()[1:] == ["5", "1"]
    assert text.splitlines()[3].split()[1:] == ["0", "7"]
