"""The Fashion-MNIST loader on IDX files the test writes (the real files are never needed)."""

import gzip

import numpy as np
import pytest

from edgecnn.datasets import load_dataset
from edgecnn.datasets.fashion_mnist import FILES_MD5, load_fashion_mnist
from edgecnn.datasets.idx import encode_idx
from edgecnn.errors import DatasetError


def write_fake_fashion(folder, compress=False):
    """Four raw IDX files of Fashion-MNIST's exact shapes (raw: no published MD5 to match)."""
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(60000) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (10000, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(10000) % 10).astype(np.uint8),
    }
    for name, arr in arrays.items():
        data = encode_idx(arr)
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data, compresslevel=1))
        else:
            (folder / name).write_bytes(data)
    return arrays


@pytest.fixture(scope="module")
def fake_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fmnist")
    return folder, write_fake_fashion(folder)


def test_loads_raw_files_from_data_dir(fake_dir):
    folder, arrays = fake_dir
    ds = load_fashion_mnist(folder, log=lambda m: None)
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    np.testing.assert_array_equal(ds.x_test, arrays["t10k-images-idx3-ubyte"])
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    assert not ds.synthetic and ds.source == str(folder)


def test_env_var_is_searched(fake_dir, monkeypatch):
    monkeypatch.setenv("EDGECNN_DATA", str(fake_dir[0]))
    ds = load_dataset("fashion-mnist", limit=600, log=lambda m: None)
    assert len(ds.y_train) == 600 and len(ds.y_test) == 100


def test_gzip_with_wrong_md5_is_rejected(tmp_path):
    write_fake_fashion(tmp_path, compress=True)
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte.gz: MD5 .* does not match the published"):
        load_fashion_mnist(tmp_path, log=lambda m: None)


def test_missing_files_offline_says_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGECNN_OFFLINE", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("EDGECNN_DATA", raising=False)
    with pytest.raises(DatasetError) as info:
        load_fashion_mnist(tmp_path / "nowhere", log=lambda m: None)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(tmp_path / "nowhere") in msg and all(name in msg for name in FILES_MD5)


def test_wrong_image_count_rejected(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(encode_idx(np.zeros((10, 28, 28), np.uint8)))
    for name, n in [("train-labels-idx1-ubyte", 10), ("t10k-labels-idx1-ubyte", 10)]:
        (tmp_path / name).write_bytes(encode_idx(np.zeros(n, np.uint8)))
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(encode_idx(np.zeros((10, 28, 28), np.uint8)))
    with pytest.raises(DatasetError, match="expected 60000x28x28 images, got 10x28x28"):
        load_fashion_mnist(tmp_path, log=lambda m: None)
