import numpy as np

from edgecnn.evaluate.metrics import (accuracy, agreement, confusion_matrix, f1_scores, format_confusion,
                                     precision_recall, support)


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
    assert text.splitlines()[2].split()[2:] == ["5", "1"]
    assert text.splitlines()[3].split()[2:] == ["0", "7"]


def test_confusion_text_keeps_whole_names_and_labels_rows_and_columns():
    names = ["T-shirt/top", "Pullover", "Ankle boot"]
    text = format_confusion(np.array([[5, 1, 0], [0, 7, 0], [1, 0, 1000]]), names)
    lines = text.splitlines()
    assert "rows: true class" in lines[0] and "columns: predicted class" in lines[0]
    assert lines[1].split()[-3:] == ["0", "1", "2"]  # predicted columns, numbered as the rows
    for i, name in enumerate(names):
        assert lines[2 + i].startswith(f"{i} {name} ")  # whole names ("Pullove", "Ankle b" before)
    assert len({line.rfind(" ") + len(line.split()[-1]) for line in lines[1:]}) == 1  # right edges aligned


def test_f1_and_support_by_hand():
    matrix = np.array([[2, 1, 0], [0, 2, 0], [1, 1, 3]])
    precision, recall = precision_recall(matrix)
    f1 = f1_scores(precision, recall)
    np.testing.assert_allclose(f1, [2 / 3, 2 * 0.5 * 1 / 1.5, 2 * 1 * 0.6 / 1.6])
    assert support(matrix).tolist() == [3, 2, 5]
    never = f1_scores(np.array([np.nan, 0.0]), np.array([0.0, 0.0]))
    assert np.isnan(never[0]) and never[1] == 0.0
