"""edgecnn.modelmeta: reading the embedded description with the stdlib only, robust to bad files."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from edgecnn.errors import ModelError
from edgecnn.modelmeta import onnx_metadata_props, read_metadata, tflite_metadata_entries


def test_imports_nothing_heavy() -> None:
    """The runtime reads metadata on a Pi: no tensorflow, onnx, flatbuffers or even numpy."""
    code = ("import sys, edgecnn.modelmeta; "
            "heavy = [m for m in ('tensorflow', 'onnx', 'onnxruntime', 'flatbuffers', 'numpy', 'keras') "
            "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_missing_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such model file"):
        read_metadata(tmp_path / "nope.tflite")
    with pytest.raises(ModelError, match="unknown model format"):
        read_metadata(tmp_path / "model.keras")


def test_garbage_and_empty(tmp_path: Path) -> None:
    for name in ("x.tflite", "x.onnx"):
        (tmp_path / name).write_bytes(b"")
        assert_none_or_model_error(tmp_path / name)
        (tmp_path / name).write_bytes(bytes(range(256)) * 3)
        assert_none_or_model_error(tmp_path / name)
    (tmp_path / "text.tflite").write_text("hello, not a flatbuffer")
    with pytest.raises(ModelError, match="text.tflite: not a valid TFLITE model"):
        read_metadata(tmp_path / "text.tflite")


def assert_none_or_model_error(path: Path) -> None:
    try:
        meta = read_metadata(path)
    except ModelError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return
    assert meta is None or isinstance(meta, dict)


@pytest.mark.parametrize("name", ["model_int8.tflite", "model.onnx"])
def test_truncated_files(converted_dir: Path, tmp_path: Path, name: str) -> None:
    data = (converted_dir / name).read_bytes()
    target = tmp_path / name
    for cut in (4, 8, 16, 100, len(data) // 3, len(data) // 2, len(data) - 200, len(data) - 1):
        target.write_bytes(data[:cut])
        assert_none_or_model_error(target)


@pytest.mark.parametrize("name", ["model_int8.tflite", "model.onnx"])
def test_corrupted_bytes_never_crash(converted_dir: Path, tmp_path: Path, name: str) -> None:
    """Random byte damage gives metadata, None or a ModelError; never another exception."""
    data = (converted_dir / name).read_bytes()
    rng = random.Random(0)
    target = tmp_path / name
    for _ in range(150):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        if rng.random() < 0.3:  # hit the tail, where flatbuffer vtables and ONNX metadata live
            damaged[-rng.randint(1, 3000)] = rng.randrange(256)
        target.write_bytes(bytes(damaged))
        assert_none_or_model_error(target)


def test_model_without_edgecnn_entry(tmp_path: Path) -> None:
    """A converter-only .tflite (no edgecnn entry) and a bare ONNX graph read as None."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    proto = helper.make_model(graph)
    proto.metadata_props.add(key="other", value="thing")
    onnx.save(proto, tmp_path / "bare.onnx")
    assert read_metadata(tmp_path / "bare.onnx") is None
    assert onnx_metadata_props((tmp_path / "bare.onnx").read_bytes()) == {"other": "thing"}


def test_tflite_entries_without_edgecnn(converted_dir: Path) -> None:
    entries = tflite_metadata_entries((converted_dir / "model_float32.tflite").read_bytes())
    assert {"min_runtime_version", "edgecnn"} <= set(entries)


def test_bad_json_in_entry(tmp_path: Path) -> None:
    import onnx
    from onnx import helper

    proto = helper.make_model(helper.make_graph([], "g", [], []))
    proto.metadata_props.add(key="edgecnn", value="{not json")
    onnx.save(proto, tmp_path / "m.onnx")
    with pytest.raises(ModelError, match="not valid JSON"):
        read_metadata(tmp_path / "m.onnx")


def test_embedding_again_replaces_the_entry(converted_dir: Path) -> None:
    """Re-embedding keeps one "edgecnn" entry (the new one) and the converter's own entries."""
    from edgecnn.convert.tflite import embed_tflite_metadata

    data = (converted_dir / "model_int8.tflite").read_bytes()
    again = embed_tflite_metadata(data, {"format": "tflite-int8", "note": "second"})
    entries = tflite_metadata_entries(again)
    assert "min_runtime_version" in entries
    import json

    assert json.loads(entries["edgecnn"]) == {"format": "tflite-int8", "note": "second"}
