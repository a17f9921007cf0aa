"""Bad input to `edgecnn convert`: one line naming the file and the problem, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgecnn.cli import main


def run_convert(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    rc = main(["convert", *args])
    err = capsys.readouterr().err.strip()
    return rc, err


def assert_one_line_error(rc: int, err: str, *needles: str) -> None:
    assert rc == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("edgecnn: error: ")
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


def assert_nothing_written(out: Path) -> None:
    """Not even the output folder: a run that fails on bad input leaves no trace."""
    assert not out.exists(), list(out.iterdir())


def save_keras(path: Path, build) -> Path:
    from edgecnn.tfenv import import_tensorflow

    import_tensorflow()
    import keras

    build(keras).save(path)
    return path


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc, err = run_convert(capsys, str(tmp_path / "nope.keras"), "--out", str(tmp_path / "out"))
    assert_one_line_error(rc, err, "nope.keras", "no such file")
    assert_nothing_written(tmp_path / "out")


def test_not_a_keras_model(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "model.keras"
    bad.write_bytes(b"this is not a zip archive, let alone a Keras model\n" * 20)
    out = tmp_path / "out"
    rc, err = run_convert(capsys, str(bad), "--out", str(out))
    assert_one_line_error(rc, err, str(bad), "not a readable Keras model")
    assert_nothing_written(out)


def test_wrong_suffix_and_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    rc, err = run_convert(capsys, str(text), "--out", str(tmp_path / "out"))
    assert_one_line_error(rc, err, "notes.txt", "not a Keras model file")
    empty = tmp_path / "empty.keras"
    empty.touch()
    rc, err = run_convert(capsys, str(empty), "--out", str(tmp_path / "out"))
    assert_one_line_error(rc, err, "empty.keras", "empty file")
    assert_nothing_written(tmp_path / "out")


def test_model_without_image_input(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = save_keras(tmp_path / "tabular.keras", lambda keras: keras.Sequential(
        [keras.Input((10,)), keras.layers.Dense(3, activation="softmax")]))
    out = tmp_path / "out"
    rc, err = run_convert(capsys, str(path), "--dataset", "synthetic", "--out", str(out))
    assert_one_line_error(rc, err, "tabular.keras", "(None, 10) is not an image input (None, 28, 28, 1)")
    assert_nothing_written(out)


def test_model_classes_do_not_match_dataset(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = save_keras(tmp_path / "three.keras", lambda keras: keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")]))
    out = tmp_path / "out"
    rc, err = run_convert(capsys, str(path), "--dataset", "synthetic", "--limit", "100", "--out", str(out))
    assert_one_line_error(rc, err, "three.keras", "3 outputs", "10 classes")
    assert_nothing_written(out)


def test_output_folder_not_creatable(trained_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    rc, err = run_convert(capsys, str(trained_dir / "model.keras"), "--out", str(blocker / "out"))
    assert_one_line_error(rc, err, str(blocker / "out"), "cannot create output folder")
    rc, err = run_convert(capsys, str(trained_dir / "model.keras"), "--out", str(blocker))
    assert_one_line_error(rc, err, str(blocker), "not a folder")


def test_output_folder_read_only(trained_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("running as root: file permissions do not stop root from writing")
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    try:
        rc, err = run_convert(capsys, str(trained_dir / "model.keras"), "--out", str(out))
    finally:
        out.chmod(0o700)
    assert_one_line_error(rc, err, str(out), "not writable")
    assert list(out.iterdir()) == []


def test_calibration_set_too_small(trained_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    rc, err = run_convert(capsys, str(trained_dir / "model.keras"), "--calibration-samples", "5", "--out", str(out))
    assert_one_line_error(rc, err, "--calibration-samples 5", "one image per class (10)")
    assert_nothing_written(out)


@pytest.mark.parametrize("args, needle", [
    (["--calibration-samples", "0"], "--calibration-samples must be at least 1"),
    (["--opset", "7"], "--opset must be between"),
    (["--max-int8-drop", "-1"], "--max-int8-drop must be 0 or more"),
])
def test_bad_flags(trained_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture, args: list, needle: str) -> None:
    rc, err = run_convert(capsys, str(trained_dir / "model.keras"), *args, "--out", str(tmp_path / "out"))
    assert_one_line_error(rc, err, needle)
    assert_nothing_written(tmp_path / "out")


def test_unknown_dataset(trained_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc, err = run_convert(capsys, str(trained_dir / "model.keras"), "--dataset", "mnist-ish", "--out", str(tmp_path / "o"))
    assert_one_line_error(rc, err, "unknown dataset 'mnist-ish'")
    assert_nothing_written(tmp_path / "o")


def test_balanced_calibration_draw() -> None:
    """Equal share per class; a class short of its share is topped up from the others."""
    import numpy as np

    from edgecnn.convert.calibration import balanced_indices
    from edgecnn.errors import DatasetError

    labels = np.repeat(np.arange(10), 100)
    idx = balanced_indices(labels, 10, 500, seed=0)
    assert len(idx) == len(set(idx)) == 500
    assert np.bincount(labels[idx]).tolist() == [50] * 10
    skewed = np.concatenate([np.zeros(3, int), np.repeat(np.arange(1, 10), 100)])
    idx = balanced_indices(skewed, 10, 100, seed=0)
    assert len(idx) == len(set(idx)) == 100 and np.sum(skewed[idx] == 0) == 3
    with pytest.raises(DatasetError, match="no images of class"):
        balanced_indices(np.repeat(np.arange(9), 10), 10, 50, seed=0)
