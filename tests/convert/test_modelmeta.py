"""edgecnn.modelmeta: reading the embedded description with the stdlib only, robust to bad files."""

from __future__ import annotations

import io
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from edgecnn.errors import ModelError
from edgecnn.modelmeta import (METADATA_KEY, embedded_entry, onnx_metadata_props, read_metadata,
                               tflite_metadata_entries)


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
    (tmp_path / "model.keras").write_bytes(b"PK\x03\x04")
    with pytest.raises(ModelError, match="a Keras model; convert it for the runtime first"):
        read_metadata(tmp_path / "model.keras")
    (tmp_path / "model.pt").write_bytes(b"x")
    with pytest.raises(ModelError, match="unknown model format '.pt'"):
        read_metadata(tmp_path / "model.pt")


def test_garbage_and_empty(tmp_path: Path) -> None:
    garbage = bytes(range(256)) * 3
    for data, name, reason in ((b"", "x.tflite", "empty file (0 bytes), not a TFLite model"),
                               (garbage, "x.tflite", "not a TFLite model (no 'TFL3' flatbuffer identifier)"),
                               (garbage, "x.onnx", "corrupt or truncated ONNX model ("),
                               (b"", "y.onnx", "empty file (0 bytes), not an ONNX model")):
        (tmp_path / name).write_bytes(data)
        assert_model_error(tmp_path / name, reason)
    (tmp_path / "text.tflite").write_text("hello, not a flatbuffer")
    with pytest.raises(ModelError, match="text.tflite: not a TFLite model"):
        read_metadata(tmp_path / "text.tflite")


def assert_model_error(path: Path, reason: str | tuple[str, ...]) -> str:
    """read_metadata(path) raises a one-line ModelError "<path>: <reason>..."; its message."""
    with pytest.raises(ModelError) as info:
        read_metadata(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    reasons = (reason,) if isinstance(reason, str) else reason
    assert message[len(f"{path}: "):].startswith(reasons), message
    return message


@pytest.mark.parametrize("name", ["model_int8.tflite", "model.onnx"])
def test_truncated_files(converted_dir: Path, tmp_path: Path, name: str) -> None:
    """A cut into the model itself is a ModelError; a cut only into the labels zip that convert
    appends after a TFLite flatbuffer leaves the model whole, with the same metadata.

    The ONNX entry is the file's last field, so every cut loses it. The TFLite check walks
    the whole flatbuffer before the metadata is read, so every cut into it fails."""
    data = (converted_dir / name).read_bytes()
    original = read_metadata(converted_dir / name)
    assert isinstance(original, dict) and original["format"]
    reason = "corrupt or truncated ONNX model (" if name.endswith(".onnx") else ("corrupt or truncated TFLite model (",
                                                                              "not a TFLite model (")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as packed:  # the appended labels.txt zip (TFLite only)
            model_end = min(info.header_offset for info in packed.infolist())
    except zipfile.BadZipFile:
        model_end = len(data)
    assert name.endswith(".onnx") or model_end < len(data) - 1
    target = tmp_path / name
    for cut in (4, 8, 16, 100, model_end // 3, model_end // 2, model_end - 1, (model_end + len(data)) // 2, len(data) - 1):
        target.write_bytes(data[:cut])
        if cut < model_end:
            assert_model_error(target, reason)
        else:
            assert read_metadata(target) == original, cut


def spans_of(data: bytes, needle: bytes) -> list[range]:
    """Every place `needle` is in `data`, with the few bytes before it (a length prefix)."""
    spans, start = [], data.find(needle)
    while start != -1:
        spans.append(range(max(0, start - 8), start + len(needle)))
        start = data.find(needle, start + 1)
    return spans


@pytest.mark.parametrize("name", ["model_int8.tflite", "model.onnx"])
def test_corrupted_bytes(converted_dir: Path, tmp_path: Path, name: str) -> None:
    """Random byte damage gives the same metadata or a ModelError naming the file. Only damage
    to the entry's JSON may give a different dict (it may still be valid), and only damage to
    an "edgecnn" name may give None (the entry is no longer found). Never another exception."""
    data = (converted_dir / name).read_bytes()
    original = read_metadata(converted_dir / name)
    entry = embedded_entry(converted_dir / name)
    assert isinstance(original, dict) and entry
    json_spans, name_spans = spans_of(data, entry), spans_of(data, METADATA_KEY.encode())
    assert json_spans and name_spans
    fmt = "ONNX" if name.endswith(".onnx") else "TFLite"
    reasons = (f"corrupt or truncated {fmt} model (", f"not a {fmt} model (", f"embedded '{METADATA_KEY}' metadata ")
    rng = random.Random(0)
    target = tmp_path / name
    outcomes = {"same": 0, "error": 0, "entry damaged": 0}
    for _ in range(150):
        damaged = bytearray(data)
        hits = [rng.randrange(len(damaged)) for _ in range(rng.randint(1, 20))]
        for pos in hits:
            damaged[pos] = rng.randrange(256)
        if rng.random() < 0.3:  # hit the tail, where flatbuffer vtables and ONNX metadata live
            hits.append(len(damaged) - rng.randint(1, 3000))
            damaged[hits[-1]] = rng.randrange(256)
        target.write_bytes(bytes(damaged))
        changed = [pos for pos in hits if damaged[pos] != data[pos]]
        json_hit = any(pos in span for pos in changed for span in json_spans)
        name_hit = any(pos in span for pos in changed for span in name_spans)
        try:
            meta = read_metadata(target)
        except ModelError:
            assert_model_error(target, reasons)
            outcomes["error"] += 1
            continue
        if meta == original:
            outcomes["same"] += 1
        else:
            assert (name_hit if meta is None else json_hit), (changed, meta)
            outcomes["entry damaged"] += 1
    assert outcomes["same"] >= 100 and outcomes["error"] >= 1, outcomes


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


def test_tflite_entries_without_edgecnn(tmp_path: Path) -> None:
    """The converter's own .tflite (before edgecnn embeds its entry): its entries are listed, and
    read_metadata says None (no edgecnn description), not an error."""
    from edgecnn.convert.tflite import convert_tflite
    from edgecnn.tfenv import import_tensorflow

    keras = import_tensorflow().keras
    data = convert_tflite(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), "float32")
    entries = tflite_metadata_entries(data)
    assert "min_runtime_version" in entries and METADATA_KEY not in entries, sorted(entries)
    (tmp_path / "bare.tflite").write_bytes(data)
    assert read_metadata(tmp_path / "bare.tflite") is None


def test_tflite_entries_with_edgecnn(converted_dir: Path) -> None:
    """What `edgecnn convert` writes: the converter's entries and edgecnn's, which read_metadata decodes."""
    entries = tflite_metadata_entries((converted_dir / "model_float32.tflite").read_bytes())
    assert {"min_runtime_version", METADATA_KEY} <= set(entries)
    assert read_metadata(converted_dir / "model_float32.tflite")["format"] == "tflite-float32"


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
