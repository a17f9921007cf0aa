import numpy as np

from edgecnn import FASHION_MNIST_CLASSES
from edgecnn.datasets import load_dataset
from edgecnn.datasets.synthetic import synthetic_images


def test_deterministic_from_seed():
    a, la = synthetic_images(200, seed=5)
    b, lb = synthetic_images(200, seed=5)
    c, _ = synthetic_images(200, seed=6)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(a, c)


def test_balanced_fashion_classes_light_on_dark():
    ds = load_dataset("synthetic", seed=0, limit=1000)
    assert ds.synthetic and ds.class_names == list(FASHION_MNIST_CLASSES)
    assert ds.x_train.shape == (1000, 28, 28) and ds.x_train.dtype == np.uint8
    assert np.bincount(ds.y_train, minlength=10).tolist() == [100] * 10
    border = np.concatenate([ds.x_train[:, 0], ds.x_train[:, -1]], axis=1)
    assert border.mean() < 40 < ds.x_train[:, 10:18, 10:18].mean()


def test_items_of_one_class_vary():
    x, y = synthetic_images(300, seed=0)
    tops = x[y == 0].astype(float)
    assert tops.std(axis=0).mean() > 20  # not one stamp repeated
