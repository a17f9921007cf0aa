"""Bad input to `edgecnn train`: one line on stderr, exit 2, no traceback, no model file."""

import subprocess
import sys

import numpy as np
import pytest

from edgecnn.cli import main
from edgecnn.datasets.idx import encode_idx


def run_main(args, capsys):
    code = main(args)
    err = capsys.readouterr().err.strip()
    return code, err


def assert_one_line_error(code, err, needle):
    assert code == 2
    assert err.startswith("edgecnn: error:") and "\n" not in err and "Traceback" not in err
    assert needle in err


def test_unknown_dataset(tmp_path, capsys):
    code, err = run_main(["train", "--dataset", "imagenet", "--out", str(tmp_path)], capsys)
    assert_one_line_error(code, err, "unknown dataset 'imagenet'")


def test_empty_folder_dataset(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    code, err = run_main(["train", "--dataset", f"folder:{tmp_path / 'data'}", "--out", str(tmp_path / "o")], capsys)
    assert_one_line_error(code, err, "no class sub-folders")
    assert not (tmp_path / "o" / "model.keras").exists()


def test_one_class_folder(tmp_path, capsys):
    from PIL import Image

    (tmp_path / "data" / "cats").mkdir(parents=True)
    Image.new("L", (30, 30), 200).save(tmp_path / "data" / "cats" / "a.png")
    code, err = run_main(["train", "--dataset", f"folder:{tmp_path / 'data'}", "--out", str(tmp_path / "o")], capsys)
    assert_one_line_error(code, err, "only one class")


@pytest.mark.parametrize(
    "damage, needle",
    [
        (lambda data: data[: len(data) // 2], "truncated"),
        (lambda data: b"\x00\x00\x09\x03" + data[4:], "not unsigned byte"),
        (lambda data: b"GIF8" + data[4:], "wrong magic number"),
    ],
)
def test_corrupt_idx(tmp_path, capsys, damage, needle):
    """Structural damage is named as such, before the payload digest is compared."""
    files = {
        "train-images-idx3-ubyte": np.zeros((60000, 28, 28), np.uint8),
        "train-labels-idx1-ubyte": np.zeros(60000, np.uint8),
        "t10k-images-idx3-ubyte": np.zeros((10000, 28, 28), np.uint8),
        "t10k-labels-idx1-ubyte": np.zeros(10000, np.uint8),
    }
    for name, arr in files.items():
        data = encode_idx(arr)
        (tmp_path / name).write_bytes(damage(data) if name == "train-images-idx3-ubyte" else data)
    code, err = run_main(["train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")], capsys)
    assert_one_line_error(code, err, "train-images-idx3-ubyte")
    assert needle in err


def test_wrong_md5(tmp_path, capsys):
    import gzip

    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(encode_idx(np.zeros((60000, 28, 28), np.uint8))))
    for name, n in [("train-labels-idx1-ubyte", 60000), ("t10k-images-idx3-ubyte", 0), ("t10k-labels-idx1-ubyte", 10000)]:
        arr = np.zeros((10000, 28, 28), np.uint8) if n == 0 else np.zeros(n, np.uint8)
        (tmp_path / name).write_bytes(encode_idx(arr))
    code, err = run_main(["train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")], capsys)
    assert_one_line_error(code, err, "train-images-idx3-ubyte.gz: IDX payload MD5")
    assert "is not Fashion-MNIST's" in err


def test_missing_fashion_mnist_offline(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "k"))
    monkeypatch.setenv("EDGECNN_SYSTEM_DATA", str(tmp_path / "no-system-copy"))  # hide apt's copy
    monkeypatch.delenv("EDGECNN_DATA", raising=False)
    code, err = run_main(["train", "--data-dir", str(tmp_path / "fm"), "--out", str(tmp_path / "o")], capsys)
    assert_one_line_error(code, err, f"in {tmp_path / 'fm'}")


def test_zero_epochs(tmp_path, capsys):
    code, err = run_main(["train", "--dataset", "synthetic", "--epochs", "0", "--out", str(tmp_path)], capsys)
    assert_one_line_error(code, err, "--epochs must be at least 1")


def test_output_path_is_a_file(tmp_path, capsys):
    target = tmp_path / "artifacts"
    target.write_text("I am a file")
    code, err = run_main(["train", "--dataset", "synthetic", "--limit", "100", "--out", str(target)], capsys)
    assert_one_line_error(code, err, "exists and is not a folder")
    assert target.read_text() == "I am a file"


def test_traceback_flag_shows_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "edgecnn", "--traceback", "train", "--dataset", "nope", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2 and "Traceback" in proc.stderr and "unknown dataset 'nope'" in proc.stderr


def test_interrupted_save_leaves_no_model(tmp_path, monkeypatch):
    """Ctrl-C while the model is being written: exit 130 and no model.keras, not even partial."""
    import edgecnn.train.trainer as trainer

    def interrupted_save(self, path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"partial")
        raise KeyboardInterrupt

    import keras

    monkeypatch.setattr(keras.Model, "save", interrupted_save)
    code = main(["train", "--dataset", "synthetic", "--epochs", "1", "--limit", "200", "--out", str(tmp_path)])
    assert code == 130
    assert not (tmp_path / trainer.MODEL_FILE).exists()
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".keras"]


def test_traceback_shows_the_cause_that_normal_output_hides(tmp_path, capsys):
    """A corrupt .gz: one line normally; with --traceback, zlib's/gzip's own exception as the cause."""
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"not deflate data")
    for name, n in [("train-labels-idx1-ubyte", 60000), ("t10k-images-idx3-ubyte", 0), ("t10k-labels-idx1-ubyte", 10000)]:
        (tmp_path / name).write_bytes(encode_idx(np.zeros((10000, 28, 28) if n == 0 else n, np.uint8)))
    args = ["train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")]
    code, err = run_main(args, capsys)
    assert_one_line_error(code, err, "corrupt or truncated gzip file")
    code, err = run_main(["--traceback", *args], capsys)
    assert code == 2
    assert "The above exception was the direct cause of the following exception" in err
    assert "zlib.error" in err or "BadGzipFile" in err
