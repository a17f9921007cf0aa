"""A model that no longer matches the manifest.json beside it: one warning line (issue 13, item 3)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from edgecnn.runtime.integrity import check_manifest_digest, manifest_digest


def copy_set(converted_dir: Path, folder: Path) -> Path:
    folder.mkdir()
    for name in ("model_int8.tflite", "model.onnx", "manifest.json"):
        shutil.copy(converted_dir / name, folder / name)
    return folder


def test_matching_model_says_nothing(converted_dir: Path, tmp_path: Path) -> None:
    folder = copy_set(converted_dir, tmp_path / "m")
    for name in ("model_int8.tflite", "model.onnx"):
        err = io.StringIO()
        assert check_manifest_digest(folder / name, stream=err) is True and err.getvalue() == ""


def test_changed_model_warns_once_on_one_line(converted_dir: Path, tmp_path: Path) -> None:
    folder = copy_set(converted_dir, tmp_path / "m")
    model = folder / "model_int8.tflite"
    data = bytearray(model.read_bytes())
    data[-1] ^= 1
    model.write_bytes(bytes(data))
    err = io.StringIO()
    assert check_manifest_digest(model, stream=err) is False
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"edgecnn: warning: {model}: sha256 ")
    assert "differs from manifest.json" in lines[0]
    err = io.StringIO()  # the bytes the loader already read are what is checked
    assert check_manifest_digest(model, data=(converted_dir / "model_int8.tflite").read_bytes(), stream=err) is True


def test_nothing_to_compare_with(converted_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    model = folder / "model_int8.tflite"
    shutil.copy(converted_dir / "model_int8.tflite", model)
    assert check_manifest_digest(model) is None  # no manifest
    for text in ("{not json", json.dumps({"artifacts": "x"}), "[" * 100_000, json.dumps({"artifacts": [{"file": 3}]})):
        (folder / "manifest.json").write_text(text)
        assert manifest_digest(model) is None


def test_classify_warns_about_a_changed_model_and_still_answers(converted_dir: Path, tmp_path: Path, capsys) -> None:
    """The Classifier itself runs the check: `edgecnn classify` warns once on stderr and classifies."""
    import numpy as np
    from PIL import Image

    from edgecnn.cli import main

    folder = copy_set(converted_dir, tmp_path / "m")
    shutil.copy(converted_dir / "labels.txt", folder / "labels.txt")
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["artifacts"]:
        entry["sha256"] = "0" * 64  # as if the model had been replaced after convert
    (folder / "manifest.json").write_text(json.dumps(manifest))
    picture = tmp_path / "item.png"
    Image.fromarray(np.pad(np.full((20, 20), 200, np.uint8), 4)).save(picture)
    assert main(["classify", "--model", str(folder / "model_int8.tflite"), str(picture)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{picture}: ")
    warnings = [line for line in captured.err.splitlines() if "differs from manifest.json" in line]
    assert len(warnings) == 1
