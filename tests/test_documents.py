"""edgecnn.documents: every external document checked in one place, one line and exit 2 on failure.

Unit checks of the limits and schemas, then each document as its reader meets it in a
real file: the metadata embedded in a small ONNX model run through `edgecnn classify`,
manifest.json and labels.txt beside it, train.json before `edgecnn convert`.
No TensorFlow: the model is built with the onnx package and run by ONNX Runtime.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from edgecnn import documents
from edgecnn.cli import main
from edgecnn.datasets.recorded import choose_dataset
from edgecnn.errors import EdgecnnError, ModelError, UsageError
from edgecnn.modelmeta import PREPROCESSING, read_metadata
from edgecnn.runtime.labels import model_info

CLASSES = [f"class {i}" for i in range(10)]


# ---- limits, before any schema ----------------------------------------------------

def test_deep_nesting_is_refused_before_json_loads_recurses() -> None:
    """100,000 '[' is a RecursionError in json.loads; here it is one line, quickly."""
    text = "[" * 100_000 + "]" * 100_000
    started = time.monotonic()
    with pytest.raises(ModelError, match=r"^m\.onnx: embedded 'edgecnn' metadata is nested 100000 levels deep, "
                                         r"more than the 16 allowed$"):
        documents.parse_json(documents.EMBEDDED_METADATA, text, "m.onnx")
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("text, depth", [
    ('{"a": [1, {"b": [2]}]}', 4), ('"[[[[[["', 0), ('["[\\"[[[", {"k": "]]]"}]', 2), ('"\\\\"', 0), ("[]", 1),
])
def test_json_depth_ignores_brackets_inside_strings(text: str, depth: int) -> None:
    assert documents.json_depth(text) == depth
    json.loads(text)


def test_json_depth_is_linear_on_hostile_text() -> None:
    """A regular expression over strings went quadratic on '"\\"' * n; this pass must not."""
    started = time.monotonic()
    for text in ('"\\"' * 300_000, '"' + "a" * 1_000_000, "[" * 1_000_000):
        documents.json_depth(text)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("text, message", [
    ('{"seed": NaN}', "NaN is not a JSON number"),
    ('{"seed": -Infinity}', "-Infinity is not a JSON number"),
    ('{"test_accuracy": 1e999}', "number 1e999 is too large"),
    ('{"seed": 1, "seed": 2}', 'key "seed" appears twice'),
    ('{"seed": 1', "not valid JSON"),
])
def test_json_that_python_would_accept_or_crash_on(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        documents.parse_json(documents.TRAIN_JSON, text, "out/train.json")
    assert str(info.value).startswith("out/train.json is not valid JSON (") and "\n" not in str(info.value)


def test_size_and_encoding_limits(tmp_path: Path) -> None:
    big = tmp_path / "manifest.json"
    big.write_bytes(b'{"x": "' + b"a" * documents.MAX_FILE_BYTES + b'"}')
    with pytest.raises(ModelError, match=r"manifest\.json is \d+ bytes, more than the 1048576 allowed"):
        documents.read_json(documents.MANIFEST, big)
    with pytest.raises(ModelError, match=r"not UTF-8 text \(byte 0xff at offset 12\)"):
        documents.parse_json(documents.MANIFEST, b'{"verified":\xff}', "manifest.json")
    assert documents.parse_json(documents.MANIFEST, b'\xef\xbb\xbf{"verified": true}', "m") == {"verified": True}


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    """A FIFO would block the read forever; /dev/zero would never end."""
    fifo = tmp_path / "labels.txt"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(ModelError, match="labels.txt: labels file is not a regular file"):
        documents.read_labels(fifo)
    link = tmp_path / "train.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(UsageError, match="train.json: train.json is not a regular file"):
        documents.read_json(documents.TRAIN_JSON, link)
    assert time.monotonic() - started < 2


# ---- schemas ------------------------------------------------------------------------

@pytest.mark.parametrize("value_range, message", [
    ('"0,1"', r"preprocessing\.value_range: must be a list \(got \"0,1\"\)"),
    ("[0, 1, 2]", r"preprocessing\.value_range: must have 2 items \(got 3\)"),
    ("[null, 1]", r"preprocessing\.value_range\[0\]: must be a finite number \(got null\)"),
    ("[0, NaN]", r"NaN is not a JSON number"),
    ("[1, 0]", r"must be \[low, high\] with low < high \(got \[1, 0\]\)"),
    ("[true, 1]", r"value_range\[0\]: must be a finite number \(got true\)"),
])
def test_value_range_must_be_two_finite_increasing_numbers(value_range: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        documents.parse_json(documents.EMBEDDED_METADATA, f'{{"preprocessing": {{"value_range": {value_range}}}}}', "m")


@pytest.mark.parametrize("doc, text, message", [
    (documents.EMBEDDED_METADATA, '{"input": {"scale": "0.0039"}}', r"input\.scale: must be a finite number > 0"),
    (documents.EMBEDDED_METADATA, '{"input": {"scale": -1}}', r"input\.scale: must be a finite number > 0"),
    (documents.EMBEDDED_METADATA, '{"input": {"zero_point": 1.5}}', r"input\.zero_point: must be an integer"),
    (documents.EMBEDDED_METADATA, '{"class_names": []}', r"class_names: must have 1-10000 items \(got 0\)"),
    (documents.EMBEDDED_METADATA, '{"class_names": ["a", 2]}', r"class_names\[1\]: must be a string"),
    (documents.EMBEDDED_METADATA, '{"preprocessing": {"polarity": "upside-down"}}', "polarity: must be one of"),
    (documents.EMBEDDED_METADATA, '["not", "an", "object"]', "must be an object"),
    (documents.MANIFEST, '{"artifacts": [{"file": "../../etc/passwd"}]}', "must be a file name without a folder"),
    (documents.MANIFEST, '{"artifacts": [{"sha256": "abc"}]}', "must be a hex SHA-256"),
    (documents.MANIFEST, '{"artifacts": {"file": "a"}}', r"artifacts: must be a list"),
    (documents.TRAIN_JSON, '{"seed": "abc"}', r'seed: must be an integer from 0 to 4294967295 \(got "abc"\)'),
    (documents.TRAIN_JSON, '{"limit": -5}', r"limit: must be an integer >= 1 \(got -5\)"),
    (documents.TRAIN_JSON, '{"dataset": {"name": 7}}', r"dataset\.name: must be a string"),
    (documents.TF_CONFIG, '{"cluster": {}, "task": {"type": "worker", "index": true}}',
     r"^TF_CONFIG: task\.index: must be an integer from 0 to 1023 \(got true\)$"),
])
def test_schema_violations_name_the_key(doc: documents.Document, text: str, message: str) -> None:
    with pytest.raises(doc.error, match=message) as info:
        documents.parse_json(doc, text, "TF_CONFIG" if doc is documents.TF_CONFIG else "dir/file")
    assert "\n" not in str(info.value)


def test_what_edgecnn_writes_passes_and_unknown_keys_are_allowed() -> None:
    meta = {"format": "onnx", "class_names": CLASSES, "preprocessing": PREPROCESSING, "future_key": {"x": [1]},
            "input": {"name": "x", "shape": [-1, 28, 28, 1], "dtype": "int8", "scale": 1 / 255, "zero_point": -128}}
    assert documents.parse_json(documents.EMBEDDED_METADATA, json.dumps(meta), "m") == meta


def test_labels_file_checks(tmp_path: Path) -> None:
    assert documents.parse_labels(b"\xef\xbb\xbf a \n\n b\r\nc", "labels.txt") == ["a", "b", "c"]
    with pytest.raises(ModelError, match=r"^labels\.txt: labels file is not UTF-8 text \(byte 0xff at offset 2\)$"):
        documents.parse_labels(b"a\n\xff\n", "labels.txt")
    with pytest.raises(ModelError, match="line 2 is a class name of 300 characters"):
        documents.parse_labels(b"a\n" + b"x" * 300, "labels.txt")
    with pytest.raises(ModelError, match="10001 class names, more than the 10000 allowed"):
        documents.parse_labels(b"x\n" * 10_001, "labels.txt")


# ---- each reader meets its document in a real file ------------------------------------

def tiny_onnx(path: Path, metadata: bytes | None) -> Path:
    """A real 28x28 -> 10-class ONNX model (flatten, matmul, softmax), its 'edgecnn' entry set to raw bytes.

    The entry is patched into the serialized bytes so that it can be invalid UTF-8, which
    the onnx package itself refuses to write.
    """
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.random.default_rng(0).normal(size=(784, 10)).astype(np.float32), "w")
    shape = numpy_helper.from_array(np.array([-1, 784], np.int64), "shape")
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["flat"]), helper.make_node("MatMul", ["flat", "w"], ["z"]),
             helper.make_node("Softmax", ["z"], ["y"], axis=1)]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 28, 28, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 10])],
                              initializer=[weights, shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    placeholder = "P" * len(metadata or b"")
    if metadata is not None:
        model.metadata_props.add(key="edgecnn", value=placeholder)
    data = model.SerializeToString()
    if metadata is not None:
        data = data.replace(placeholder.encode(), metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def meta_bytes(**preprocessing: object) -> bytes:
    pre = dict(PREPROCESSING, **preprocessing)
    return json.dumps({"format": "onnx", "class_names": CLASSES, "preprocessing": pre}).encode()


@pytest.fixture
def image(tmp_path: Path) -> Path:
    from PIL import Image

    pixels = np.zeros((28, 28), np.uint8)
    pixels[8:20, 10:18] = 255
    path = tmp_path / "item.png"
    Image.fromarray(pixels).save(path)
    return path


def classify(model: Path, image: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["classify", "--model", str(model), str(image)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.strip()


def test_a_good_tiny_model_classifies(tmp_path: Path, image: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = classify(tiny_onnx(tmp_path / "m" / "model.onnx", meta_bytes()), image, capsys)
    assert code == 0 and "class " in out, err


@pytest.mark.parametrize("raw, message", [
    (meta_bytes(value_range=[0, float("nan")]), "NaN is not a JSON number"),  # was: score "nan", exit 0
    (meta_bytes(value_range="0,1"), r"value_range: must be a list"),
    (meta_bytes(value_range=[0, 1, 2]), r"value_range: must have 2 items"),
    (meta_bytes(value_range=[None, None]), r"value_range\[0\]: must be a finite number \(got null\)"),
    (json.dumps({"class_names": CLASSES, "input": {"scale": "0.5"}}).encode(), r"input\.scale: must be a finite"),
    (b'{"class_names": ["T-shirt\xff"]}', "is not UTF-8 text"),
    (b"[" * 50_000 + b"]" * 50_000, "nested 50000 levels deep"),
])
def test_bad_embedded_metadata_is_one_line_exit_2(
    raw: bytes, message: str, tmp_path: Path, image: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tiny_onnx(tmp_path / "m" / "model.onnx", raw)
    with pytest.raises(ModelError, match=message):
        read_metadata(model)
    with pytest.raises(ModelError, match=message):  # the runtime's reader, without ONNX Runtime's decoded map
        model_info(model, 10)
    code, out, err = classify(model, image, capsys)
    assert code == 2 and out == "", err
    assert err.startswith(f"edgecnn: error: {model}: embedded 'edgecnn' metadata") and "\n" not in err


@pytest.mark.parametrize("name, content, message", [
    ("manifest.json", b"[" * 100_000, r"manifest\.json: unreadable manifest beside the model \(is nested 100000 "),
    ("manifest.json", json.dumps({"class_names": CLASSES, "preprocessing": {"value_range": "0,1"}}).encode(),
     r"manifest\.json: unreadable manifest beside the model \(preprocessing\.value_range: must be a list"),
    ("labels.txt", b"a\nb\n\xff\xfe\n", r"labels\.txt: labels file is not UTF-8 text"),
])
def test_bad_files_beside_a_model_without_metadata_are_one_line_exit_2(
    name: str, content: bytes, message: str, tmp_path: Path, image: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tiny_onnx(tmp_path / "m" / "model.onnx", None)
    (model.parent / name).write_bytes(content)
    with pytest.raises(ModelError, match=message):
        model_info(model, 10)
    code, out, err = classify(model, image, capsys)
    assert code == 2 and "\n" not in err and str(model.parent / name) in err, err


def test_a_bad_manifest_beside_a_self_describing_model_is_not_used(tmp_path: Path) -> None:
    """Its value range must not leak in: the model's own metadata is all that is used."""
    model = tiny_onnx(tmp_path / "m" / "model.onnx", meta_bytes())
    (model.parent / "manifest.json").write_text(json.dumps({"preprocessing": {"value_range": [0, 2]},
                                                            "artifacts": [{"file": "../x"}]}))
    info = model_info(model, 10)
    assert info.labels_source == "metadata" and info.preprocessing["value_range"] == [0.0, 1.0]


@pytest.mark.parametrize("train_json, message", [
    ('{"dataset": {"name": "synthetic"}, "seed": "abc"}', r'seed: must be an integer from 0 to 4294967295 \(got "abc"\)'),
    ('{"dataset": {"name": "synthetic"}, "limit": -5}', r"limit: must be an integer >= 1 \(got -5\)"),
    ('{"dataset": {"name": "synthetic"}, "seed": 1e400}', r"number 1e400 is too large"),
    ("[" * 100_000, "nested 100000 levels deep"),
])
def test_bad_train_json_is_one_line_exit_2(
    train_json: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "trained"
    folder.mkdir()
    (folder / "model.keras").write_bytes(b"not read: train.json is checked first")
    (folder / "train.json").write_text(train_json)
    with pytest.raises(UsageError, match=message):
        choose_dataset(None, None, None, None, folder / "model.keras")
    code = main(["convert", str(folder / "model.keras"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.startswith(f"edgecnn: error: {folder / 'train.json'}") and "Traceback" not in err, err
    # an explicit --dataset does not read it at all
    assert choose_dataset("synthetic", None, None, None, folder / "model.keras").from_train_json is False


def test_a_good_train_json_still_chooses_the_dataset(tmp_path: Path) -> None:
    (tmp_path / "train.json").write_text(json.dumps({"dataset": {"name": "synthetic", "source": None},
                                                     "seed": 7, "limit": 300}))
    choice = choose_dataset(None, None, None, None, tmp_path / "model.keras")
    assert (choice.spec, choice.seed, choice.limit, choice.from_train_json) == ("synthetic", 7, 300, True)
    assert choose_dataset(None, None, None, None, tmp_path / "elsewhere" / "model.keras").from_train_json is False


def test_every_failure_is_an_edgecnn_error() -> None:
    for doc in (documents.EMBEDDED_METADATA, documents.MANIFEST, documents.TRAIN_JSON, documents.TF_CONFIG,
                documents.HELLO, documents.LABELS):
        assert issubclass(doc.error, EdgecnnError) and doc.error.exit_code == 2
