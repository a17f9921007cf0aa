"""Command-line paths: files, folders (recursive), globs; nothing named is silently dropped."""

from __future__ import annotations

from edgecnn.runtime.files import expand_paths


def test_expand_files_folders_and_globs(tmp_path):
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / "a" / ".hidden").mkdir()
    for name in ("a/1.png", "a/deep/2.JPG", "a/notes.txt", "a/.secret.png", "a/.hidden/3.png", "b.jpeg", "c.bmp"):
        (tmp_path / name).write_bytes(b"x")
    items = expand_paths([tmp_path / "a", str(tmp_path / "*.jpeg"), tmp_path / "a" / "notes.txt",
                          tmp_path / "a" / "1.png", tmp_path / "missing.png", str(tmp_path / "*.gif")])
    got = [(item.path.replace(str(tmp_path) + "/", ""), item.error) for item in items]
    assert got == [
        ("a/1.png", None), ("a/deep/2.JPG", None),  # folder: images only, sorted, no hidden ones
        ("b.jpeg", None),  # glob
        ("a/notes.txt", None),  # named explicitly: taken whatever its suffix
        ("missing.png", "no such file"),
        ("*.gif", "no files match this pattern"),
    ]  # a/1.png named twice, listed once


def test_recursive_glob_and_empty_folder(tmp_path):
    (tmp_path / "x" / "y").mkdir(parents=True)
    (tmp_path / "x" / "y" / "p.png").write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    items = expand_paths([str(tmp_path / "**" / "*.png"), tmp_path / "empty"])
    assert [i.path for i in items] == [str(tmp_path / "x" / "y" / "p.png"), str(tmp_path / "empty")]
    assert items[1].error == "folder has no image files"


def test_one_suffix_rule_for_every_reader(models, tmp_path):
    """formats.model_kind decides a model's kind for the Classifier, modelmeta, evaluate and bench alike:
    any case, .h5/.hdf5 as Keras, anything else named."""
    import shutil

    import pytest

    from edgecnn.errors import ModelError
    from edgecnn.evaluate.predict import check_model_path
    from edgecnn.formats import KERAS, ONNX, TFLITE, model_kind
    from edgecnn.modelmeta import read_model
    from edgecnn.runtime import Classifier

    assert [model_kind(n) for n in ("a.tflite", "A.TFLite", "b.onnx", "B.ONNX")] == [TFLITE, TFLITE, ONNX, ONNX]
    assert [model_kind(n, keras_ok=True) for n in ("m.keras", "m.H5", "m.hdf5")] == [KERAS] * 3
    upper = shutil.copy(models / "model_int8.tflite", tmp_path / "MODEL.TFLITE")
    assert read_model(upper).kind == TFLITE and Classifier(upper).num_classes == 10
    for name in ("m.h5", "m.KERAS"):
        (tmp_path / name).write_bytes(b"PK\x03\x04")
        for read in (read_model, Classifier):
            with pytest.raises(ModelError, match="a Keras model; convert it for the runtime first"):
                read(tmp_path / name)
        assert check_model_path(str(tmp_path / name)) == KERAS
    (tmp_path / "m.pt").write_bytes(b"x")
    for read in (read_model, Classifier, check_model_path):
        with pytest.raises(ModelError, match="unknown model format '.pt'"):
            read(str(tmp_path / "m.pt"))
