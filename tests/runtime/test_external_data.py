"""ONNX external data is read from the model's folder, never the cwd, never outside it (issue 13, item 6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgecnn.errors import ModelError
from edgecnn.runtime.backends import external_data_locations, load_backend

onnx = pytest.importorskip("onnx")


def external_copy(converted_dir: Path, folder: Path, location: str = "weights.bin") -> Path:
    """The session's model.onnx with every initializer in LOCATION beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    model = onnx.load(converted_dir / "model.onnx")
    path = folder / "model.onnx"
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True, location=location,
                    size_threshold=256)  # the kernels (the golden CNN has three); biases and shapes stay inline
    return path


def with_location(path: Path, location: str) -> Path:
    """PATH's model rewritten to name LOCATION for its external data (the data itself not moved)."""
    model = onnx.load(path, load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    dest = path.with_name("moved.onnx")
    onnx.save_model(model, dest)
    return dest


def outputs(path: Path) -> np.ndarray:
    images = np.random.default_rng(0).random((4, 28, 28, 1), np.float32)
    return load_backend(path).run(images)


def test_resolved_against_the_model_folder_not_the_cwd(converted_dir: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = external_copy(converted_dir, tmp_path / "model")
    external = [t for t in onnx.load(path, load_external_data=False).graph.initializer if t.data_location == 1]
    assert len(external) >= 3 and external_data_locations(path.read_bytes()) == ["weights.bin"] * len(external)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    expected = outputs(converted_dir / "model.onnx")
    np.testing.assert_allclose(outputs(path), expected, rtol=1e-6, atol=1e-7)
    # a file of the same name in the cwd is not read, and does not change the answer
    (cwd / "weights.bin").write_bytes(np.ones(len((path.parent / "weights.bin").read_bytes()) // 4, np.float32).tobytes())
    np.testing.assert_allclose(outputs(path), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["parent", "absolute", "link"])
def test_locations_outside_the_folder_are_refused(converted_dir: Path, tmp_path: Path, kind: str) -> None:
    path = external_copy(converted_dir, tmp_path / "model")
    secret = tmp_path / "secret.bin"
    (path.parent / "weights.bin").rename(secret)
    if kind == "parent":
        path = with_location(path, "../secret.bin")
    elif kind == "absolute":
        path = with_location(path, str(secret))
    else:
        (path.parent / "weights.bin").symlink_to(secret)
    with pytest.raises(ModelError) as caught:
        load_backend(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and "outside the model's folder" in message and "\n" not in message
