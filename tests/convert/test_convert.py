"""`edgecnn convert` on the small synthetic fixture model: the artifacts, their embedded
description, manifest.json, and independent re-runs in LiteRT and ONNX Runtime.

All accuracies here are on the SYNTHETIC set (conftest's fixture model), not Fashion-MNIST.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgecnn import FASHION_MNIST_CLASSES, __version__
from edgecnn.modelmeta import METADATA_KEY, PREPROCESSING, read_metadata

ARTIFACTS = {"int8": "model_int8.tflite", "float32": "model_float32.tflite",
             "float16": "model_float16.tflite", "onnx": "model.onnx"}
METADATA_FORMATS = {"int8": "tflite-int8", "float32": "tflite-float32", "float16": "tflite-float16", "onnx": "onnx"}


@pytest.fixture(scope="module")
def manifest(converted_dir: Path) -> dict:
    return json.loads((converted_dir / "manifest.json").read_text())


@pytest.fixture(scope="module")
def entries(manifest: dict) -> dict:
    return {e["format"]: e for e in manifest["artifacts"]}


@pytest.fixture(scope="module")
def test_split() -> tuple[np.ndarray, np.ndarray]:
    """The fixture model's own test split (conftest trains with seed 0, limit 3000)."""
    from edgecnn.datasets import load_dataset

    ds = load_dataset("synthetic", seed=0, limit=3000, log=lambda m: None)
    return ds.x_test, ds.y_test


@pytest.fixture(scope="module")
def keras_probs(trained_dir: Path, test_split: tuple) -> np.ndarray:
    from edgecnn.tfenv import import_tensorflow
    from edgecnn.runtime.modelinput import to_model_input

    import_tensorflow()
    import keras

    model = keras.models.load_model(trained_dir / "model.keras", compile=False)
    return model.predict(to_model_input(test_split[0]), verbose=0)


def litert(path: Path):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    return interpreter


# ------------------------------------------------------------------------- int8 model


def test_int8_input_output_are_int8_with_pixel_minus_128(converted_dir: Path) -> None:
    interpreter = litert(converted_dir / "model_int8.tflite")
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    assert inp["dtype"] == np.int8 and out["dtype"] == np.int8
    scale, zero_point = inp["quantization"]
    assert scale == pytest.approx(1 / 255, rel=1e-5) and zero_point == -128  # int8 = pixel - 128
    assert list(inp["shape_signature"]) == [-1, 28, 28, 1]
    assert out["quantization"][0] == pytest.approx(1 / 256) and out["quantization"][1] == -128


def test_int8_every_tensor_is_int8_except_int32_biases_and_shapes(converted_dir: Path) -> None:
    """Full-integer: no float tensor anywhere; int32 only for biases (quantized) and shape arithmetic."""
    details = litert(converted_dir / "model_int8.tflite").get_tensor_details()
    dtypes = {np.dtype(t["dtype"]).name for t in details}
    assert dtypes <= {"int8", "int32"}, dtypes
    biases = [t for t in details if t["dtype"] == np.int32 and len(t["quantization_parameters"]["scales"])]
    assert sorted(int(t["shape"][0]) for t in biases) == [10, 64, 64, 128]  # conv1, conv2, dense, output
    shapes = [t for t in details if t["dtype"] == np.int32 and not len(t["quantization_parameters"]["scales"])]
    assert all(np.prod(t["shape"]) <= 4 for t in shapes)  # Flatten's dynamic-batch shape computation


def test_int8_weights_are_per_channel(converted_dir: Path) -> None:
    details = litert(converted_dir / "model_int8.tflite").get_tensor_details()
    weights = [t for t in details if t["dtype"] == np.int8 and len(t["shape"]) in (2, 4)
               and len(t["quantization_parameters"]["scales"]) > 1]
    assert len(weights) == 4  # 2 conv kernels + 2 dense matrices
    for t in weights:
        assert len(t["quantization_parameters"]["scales"]) == t["shape"][0]


def test_int8_file_at_most_30_percent_of_float32(converted_dir: Path) -> None:
    int8 = (converted_dir / "model_int8.tflite").stat().st_size
    f32 = (converted_dir / "model_float32.tflite").stat().st_size
    assert int8 <= 0.30 * f32, (int8, f32)
    assert f32 > 4 * 243_786  # float32 weights of the seed CNN


def test_float16_is_float_in_float_out(converted_dir: Path) -> None:
    interpreter = litert(converted_dir / "model_float16.tflite")
    assert interpreter.get_input_details()[0]["dtype"] == np.float32
    assert any(t["dtype"] == np.float16 for t in interpreter.get_tensor_details())
    assert (converted_dir / "model_float16.tflite").stat().st_size < 0.6 * (converted_dir / "model_float32.tflite").stat().st_size


# ------------------------------------------------------------------------- ONNX


def test_onnx_checker_input_name_and_dynamic_batch(converted_dir: Path) -> None:
    import onnx
    import onnxruntime as ort

    proto = onnx.load(converted_dir / "model.onnx")
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == ["input"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    session = ort.InferenceSession(str(converted_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    for n in (1, 5):
        probs = session.run(None, {"input": np.zeros((n, 28, 28, 1), np.float32)})[0]
        assert probs.shape == (n, 10)
        np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)


# ------------------------------------------------------------------------- independent re-runs


def test_onnx_matches_keras_independently(converted_dir: Path, test_split: tuple, keras_probs: np.ndarray) -> None:
    """Re-run here, not taken from the manifest: 100% top-1 agreement, probabilities within 1e-4."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(converted_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    probs = session.run(None, {"input": test_split[0].astype(np.float32)[..., None] / 255.0})[0]
    assert (probs.argmax(1) == keras_probs.argmax(1)).all()
    assert np.abs(probs - keras_probs).max() <= 1e-4


def test_int8_from_raw_pixels_matches_keras_independently(converted_dir: Path, test_split: tuple,
                                                         keras_probs: np.ndarray) -> None:
    """Feeding `pixel - 128` (no float math) loses at most 1 pp of accuracy against Keras."""
    x, y = test_split
    interpreter = litert(converted_dir / "model_int8.tflite")
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(inp["index"], (len(x), 28, 28, 1))
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], (x.astype(np.int16) - 128).astype(np.int8)[..., None])
    interpreter.invoke()
    top1 = interpreter.get_tensor(out["index"]).argmax(1)
    keras_acc, int8_acc = np.mean(keras_probs.argmax(1) == y), np.mean(top1 == y)
    assert (keras_acc - int8_acc) * 100 <= 1.0
    assert np.mean(top1 == keras_probs.argmax(1)) >= 0.97


# ------------------------------------------------------------------------- embedded metadata


@pytest.mark.parametrize("fmt", list(ARTIFACTS))
def test_embedded_metadata_read_back(converted_dir: Path, entries: dict, fmt: str) -> None:
    meta = read_metadata(converted_dir / ARTIFACTS[fmt])
    assert meta is not None
    assert meta["format"] == METADATA_FORMATS[fmt]
    assert meta["edgecnn_version"] == __version__
    assert meta["class_names"] == list(FASHION_MNIST_CLASSES)
    assert meta["preprocessing"] == PREPROCESSING
    assert meta["preprocessing"]["polarity"] == "light-on-dark" and meta["preprocessing"]["value_range"] == [0.0, 1.0]
    assert meta["dataset"] == {"name": "synthetic", "synthetic": True}
    assert meta["input"] == entries[fmt]["input"]
    assert meta["output"] == entries[fmt]["output"]
    assert meta["input"]["shape"] == [-1, 28, 28, 1]


def test_int8_metadata_states_its_quantization(converted_dir: Path) -> None:
    meta = read_metadata(converted_dir / "model_int8.tflite")
    assert meta["input"]["dtype"] == "int8" and meta["input"]["zero_point"] == -128
    assert meta["input"]["scale"] == pytest.approx(1 / 255, rel=1e-5)
    assert meta["output"]["dtype"] == "int8" and meta["output"]["scale"] == pytest.approx(1 / 256)
    f32 = read_metadata(converted_dir / "model_float32.tflite")
    assert f32["input"]["dtype"] == "float32" and f32["input"]["scale"] is None and f32["input"]["zero_point"] is None


def test_onnx_metadata_same_through_onnx_package(converted_dir: Path) -> None:
    """The stdlib protobuf walker and the onnx package agree on metadata_props."""
    import onnx

    props = {p.key: p.value for p in onnx.load(converted_dir / "model.onnx").metadata_props}
    assert json.loads(props[METADATA_KEY]) == read_metadata(converted_dir / "model.onnx")


def test_tflite_metadata_same_through_tensorflow_schema(converted_dir: Path) -> None:
    """The hand-written flatbuffer reader and TensorFlow's generated schema agree."""
    from edgecnn.tfenv import import_tensorflow

    import_tensorflow()
    from tensorflow.lite.python import schema_py_generated as schema

    data = (converted_dir / "model_int8.tflite").read_bytes()
    model = schema.Model.GetRootAsModel(data, 0)
    names = {model.Metadata(i).Name().decode(): model.Metadata(i).Buffer() for i in range(model.MetadataLength())}
    assert "min_runtime_version" in names  # the converter's own entries are kept
    raw = model.Buffers(names[METADATA_KEY]).DataAsNumpy().tobytes()
    assert json.loads(raw) == read_metadata(converted_dir / "model_int8.tflite")


# ------------------------------------------------------------------------- manifest.json


def test_manifest_top_level(converted_dir: Path, trained_dir: Path, manifest: dict) -> None:
    train_report = json.loads((trained_dir / "train.json").read_text())
    model = trained_dir / "model.keras"
    assert manifest["edgecnn_version"] == __version__
    assert manifest["source_model"]["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert Path(manifest["source_model"]["path"]) == model.resolve()
    assert manifest["dataset"] == {"name": "synthetic", "synthetic": True, "test_size": 500}
    assert manifest["class_names"] == list(FASHION_MNIST_CLASSES)
    assert manifest["preprocessing"] == PREPROCESSING
    assert manifest["keras_accuracy"] == pytest.approx(train_report["test_accuracy"], abs=1e-4)  # same test split
    assert manifest["conversion"]["calibration_samples"] == 200
    assert manifest["verified"] is True
    labels = (converted_dir / "labels.txt").read_text().splitlines()
    assert labels == list(FASHION_MNIST_CLASSES)


def test_manifest_artifact_entries(converted_dir: Path, entries: dict) -> None:
    assert set(entries) == set(ARTIFACTS)
    for fmt, entry in entries.items():
        data = (converted_dir / entry["file"]).read_bytes()
        assert entry["file"] == ARTIFACTS[fmt]
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["verified"] is True and entry["failure"] is None
        assert 0.0 <= entry["accuracy"] <= 1.0
        for key in ("shape", "dtype", "scale", "zero_point"):
            assert key in entry["input"] and key in entry["output"]
    assert entries["int8"]["input"]["dtype"] == "int8"


def test_manifest_thresholds_hold(entries: dict) -> None:
    assert entries["onnx"]["agreement"] == 1.0
    assert entries["onnx"]["max_abs_diff"] <= 1e-4
    assert entries["float32"]["agreement"] == 1.0
    assert entries["int8"]["accuracy_drop_pp"] <= 1.0
    assert entries["int8"]["agreement"] >= 0.97
    assert entries["int8"]["max_abs_diff"] > 0  # int8 really is quantized


def test_no_temporary_files_left(converted_dir: Path) -> None:
    names = sorted(p.name for p in converted_dir.iterdir())
    assert names == sorted([*ARTIFACTS.values(), "labels.txt", "manifest.json"])


# ------------------------------------------------------------------------- CLI


def test_cli_quiet_prints_nothing_but_keeps_warnings(trained_dir: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    """`edgecnn -q convert` writes the model and prints no progress; -v and the default print it."""
    from edgecnn.cli import main

    args = ["convert", str(trained_dir / "model.keras"), "--int8", "--calibration-samples", "50"]
    assert main(["-q", *args, "--out", str(tmp_path / "quiet")]) == 0
    quiet = capsys.readouterr()
    assert (tmp_path / "quiet" / "model_int8.tflite").is_file()
    assert quiet.out == "" and "converting to int8" not in quiet.err
    assert main([*args, "--out", str(tmp_path / "default")]) == 0
    assert "converting to int8" in capsys.readouterr().out


def test_cli_uint8_io_json_and_manifest_merge(converted_dir: Path, trained_dir: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    """--uint8-io gives uint8 in/out; converting one format into a folder keeps the others' entries."""
    from edgecnn.cli import main

    out = tmp_path / "out"
    shutil.copytree(converted_dir, out)
    rc = main(["convert", str(trained_dir / "model.keras"), "--uint8-io", "--calibration-samples", "100",
               "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    printed = json.loads(captured.out)
    assert printed == json.loads((out / "manifest.json").read_text())
    fmts = {e["format"]: e for e in printed["artifacts"]}
    assert set(fmts) == set(ARTIFACTS)
    assert fmts["int8"]["input"]["dtype"] == "uint8" and fmts["int8"]["input"]["zero_point"] == 0
    assert fmts["int8"]["output"]["dtype"] == "uint8"
    assert fmts["onnx"]["sha256"] == hashlib.sha256((out / "model.onnx").read_bytes()).hexdigest()
    assert read_metadata(out / "model_int8.tflite")["input"]["dtype"] == "uint8"
    assert "SYNTHETIC" in captured.err and "format" in captured.err  # progress and table on stderr
    assert "converting to int8" in captured.err and "converting to onnx" not in captured.err  # no flag: int8


def test_cli_exit_3_marks_failure_in_manifest(trained_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """An ONNX model outside tolerance: artifacts and manifest are written, the failure marked, exit 3.

    Real ONNX Runtime output; only the tolerance is tightened below what float math can meet.
    """
    from edgecnn.cli import main
    from edgecnn import formats

    monkeypatch.setattr(formats, "MAX_ABS_DIFF", 1e-15)
    rc = main(["convert", str(trained_dir / "model.keras"), "--onnx", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 3
    assert "verification failed" in err and "onnx" in err
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    entry = manifest["artifacts"][0]
    assert entry["verified"] is False and "exceeds" in entry["failure"]
    assert manifest["verified"] is False
    assert (tmp_path / "model.onnx").is_file()


def test_cli_help_has_examples(capsys: pytest.CaptureFixture) -> None:
    from edgecnn.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["convert", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "--max-int8-drop" in text and "--uint8-io" in text


def test_onnx_int8_static_qdq(trained_dir: Path, tmp_path: Path) -> None:
    """Optional format: QDQ int8 ONNX from the same calibration draw, verified like the int8 TFLite."""
    import onnx

    from edgecnn.convert import ConvertConfig, convert

    result = convert(ConvertConfig(model_path=str(trained_dir / "model.keras"), formats=["onnx-int8"],
                                   out=str(tmp_path), calibration_samples=200), log=lambda m: None)
    entry = result.manifest["artifacts"][0]
    assert entry["format"] == "onnx-int8" and entry["verified"] is True
    assert entry["accuracy_drop_pp"] <= 1.0
    proto = onnx.load(result.artifacts["onnx-int8"])
    ops = {n.op_type for n in proto.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert read_metadata(result.artifacts["onnx-int8"])["format"] == "onnx-int8"
    assert entry["bytes"] <= 0.30 * 4 * 243_786


@pytest.mark.parametrize("fmt, drop, agreement, diff, failed", [
    ("int8", 1.5, 0.95, 0.05, True),       # over --max-int8-drop 1.0
    ("int8", 0.9, 0.95, 0.05, False),
    ("onnx-int8", 1.01, 1.0, 0.0, True),
    ("onnx", 0.0, 0.998, 1e-6, True),      # one test image with a different top-1
    ("onnx", 0.0, 1.0, 2e-4, True),        # probabilities off by more than 1e-4
    ("onnx", 0.0, 1.0, 9e-5, False),
    ("float32", 0.0, 1.0, 2e-4, True),
    ("float16", 0.5, 0.99, 3e-3, False),   # float16 has no threshold: reported only
])
def test_thresholds(fmt: str, drop: float, agreement: float, diff: float, failed: bool) -> None:
    from edgecnn.convert.verify import judge

    assert (judge(fmt, drop, agreement, diff, max_int8_drop=1.0) is not None) == failed
