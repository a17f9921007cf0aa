"""Bad models and bad pictures: a one-line error naming the file, never a crash or a traceback.

tflite-runtime 2.14 segfaults on a truncated flatbuffer, so the model cases run in a
fresh Python process: a crash there shows up as a negative exit status, not as a
dead test session.
"""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edgecnn.cli import main
from edgecnn.errors import ImageError, ModelError
from edgecnn.runtime import Classifier
from edgecnn.modelmeta import check_tflite_bytes

from .conftest import LOAD_MODEL, huge_png_header, run_python, save_png


def flatbuffer_part(data: bytes) -> bytes:
    """A .tflite without the zip of associated files (labels.txt) that convert appends after the flatbuffer.

    Cutting into that zip leaves the model itself whole (it loads and runs), so truncation
    tests cut the flatbuffer. ONNX files are returned as they are.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as packed:
            return data[: min(info.header_offset for info in packed.infolist())]
    except zipfile.BadZipFile:
        return data


def corrupt_models(src: Path, folder: Path) -> dict[str, Path]:
    """Every way a model file goes bad on its way to a device."""
    data = flatbuffer_part(src.read_bytes())
    rng = random.Random(0)
    flipped = bytearray(data)
    for pos in rng.sample(range(8, 2000), 12):  # the flatbuffer's tables and offsets live near the start
        flipped[pos] ^= 0xFF
    variants = {
        "empty": b"",
        "truncated-half": data[: len(data) // 2],
        "truncated-tail": data[:-100],
        "header-only": data[:64],
        "random": bytes(rng.getrandbits(8) for _ in range(4096)),
        "random-with-identifier": b"\x1c\x00\x00\x00TFL3" + bytes(rng.getrandbits(8) for _ in range(4096)),
        "flipped-bytes": bytes(flipped),
        "text": b"this is not a model\n" * 50,
    }
    paths = {}
    for name, content in variants.items():
        path = folder / f"{name}{src.suffix}"
        path.write_bytes(content)
        paths[name] = path
    return paths


@pytest.mark.parametrize("fmt", ["model_int8.tflite", "model.onnx"])
def test_corrupt_models_give_one_line_errors_in_a_fresh_process(models, fmt, tmp_path):
    for name, path in corrupt_models(models / fmt, tmp_path).items():
        proc = run_python(LOAD_MODEL, str(path))
        assert proc.returncode == 2, f"{name}: exit {proc.returncode} (negative = killed by a signal)\n{proc.stderr}"
        message = proc.stdout.strip()
        assert len(message.splitlines()) == 1 and str(path) in message, f"{name}: {message!r}"
        assert "Traceback" not in proc.stderr, proc.stderr


def test_every_truncation_of_the_tflite_model_is_rejected_before_loading(int8_model):
    """The structural check alone, at 200 cut points: cheap, so it runs in-process."""
    whole = int8_model.read_bytes()
    check_tflite_bytes(whole, "whole")  # the intact model passes, appended labels zip and all
    data = flatbuffer_part(whole)
    assert len(data) < len(whole)  # convert appends labels.txt in a zip (tflite_metadata.py)
    check_tflite_bytes(data, "flatbuffer")
    for cut in np.linspace(1, len(data) - 1, 200).astype(int):
        with pytest.raises(ModelError):
            check_tflite_bytes(data[:cut], f"cut at {cut}")


def _edited_model(path, edit) -> bytes:
    """The model at `path` with `edit(ModelT)` applied, rebuilt with the official TFLite schema
    (ai-edge-litert's generated code, not edgecnn's parser), so each index can be set alone."""
    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    flatbuffers = pytest.importorskip("flatbuffers")
    data = path.read_bytes()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    edit(model)
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _grow_a_weight(model) -> None:
    """The first tensor with weights claims 100 times more of them than its buffer holds."""
    tensor = next(t for t in model.subgraphs[0].tensors if model.buffers[t.buffer].data is not None
                  and len(model.buffers[t.buffer].data))
    tensor.shape = [tensor.shape[0] * 100, *tensor.shape[1:]]


@pytest.mark.parametrize("problem, edit", [
    ("operator code index 99 out of range", lambda m: setattr(m.subgraphs[0].operators[0], "opcodeIndex", 99)),
    ("operator tensor index 9999 out of range", lambda m: setattr(m.subgraphs[0].operators[0], "inputs",
                                                                  [9999, *m.subgraphs[0].operators[0].inputs[1:]])),
    ("tensor buffer index 9999 out of range", lambda m: setattr(m.subgraphs[0].tensors[0], "buffer", 9999)),
    ("subgraph output tensor index 9999 out of range", lambda m: setattr(m.subgraphs[0], "outputs", [9999])),
    ("metadata buffer index 9999 out of range", lambda m: setattr(m.metadata[0], "buffer", 9999)),
    (r"needs \d+ bytes, its buffer \d+ has \d+", _grow_a_weight),
])
def test_each_out_of_range_index_is_refused(int8_model, problem, edit):
    """An index or a weight shape the interpreter would follow blindly (tflite-runtime 2.14 reads past
    its arrays and crashes) is a ModelError saying which; the same model rebuilt unchanged passes."""
    check_tflite_bytes(_edited_model(int8_model, lambda m: None), "rebuilt")
    with pytest.raises(ModelError, match=problem):
        check_tflite_bytes(_edited_model(int8_model, edit), "edited")


def test_cli_bad_model_is_exit_2_one_line(models, tmp_path, capsys, test_images):
    image = save_png(tmp_path / "item.png", test_images[0][0])
    bad = corrupt_models(models / "model_int8.tflite", tmp_path)["truncated-half"]
    keras = tmp_path / "model.keras"
    keras.write_bytes(b"PK\x03\x04")
    for model, needle in ((bad, "corrupt or truncated TFLite model"), (tmp_path / "missing.tflite", "no such model file"),
                          (keras, "convert it for the runtime first"), (tmp_path, "is a folder")):
        rc = main(["classify", "--model", str(model), str(image)])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and len(err.splitlines()) == 1 and needle in err, err


# --------------------------------------------------------------------------- images


def test_bad_images_are_one_line_image_errors(int8_model, tmp_path, test_images):
    clf = Classifier(int8_model)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00garbage" * 40)
    truncated = tmp_path / "truncated.png"
    good = save_png(tmp_path / "good.png", np.kron(test_images[0][0], np.ones((8, 8), np.uint8)))
    truncated.write_bytes(good.read_bytes()[:300])
    cases = {
        empty: "empty file (0 bytes)",
        corrupt: "not an image file Pillow can read",  # a JPEG marker, then nothing Pillow recognises
        truncated: "corrupt or truncated image (",
        huge_png_header(tmp_path / "huge.png"): "image too large",
        tmp_path / "missing.png": "no such file",
        tmp_path: "is a folder",
    }
    for path, needle in cases.items():
        with pytest.raises(ImageError) as info:
            clf.classify(path)
        message = str(info.value)
        assert str(path) in message and needle in message and "\n" not in message, message


def test_bad_arrays(int8_model):
    clf = Classifier(int8_model)
    for array in (np.zeros(5, np.uint8), np.zeros((0, 0), np.uint8), np.zeros((4, 4, 7), np.uint8)):
        with pytest.raises(ImageError, match="expected HxW"):
            clf.classify(array)
    with pytest.raises(ImageError, match="cannot read an image from a dict"):
        clf.classify({"not": "an image"})


def test_rgb_model_and_wrong_input_shape_are_model_errors(tmp_path):
    """A 3-channel model, or one whose input is not an image, is refused with one line at load."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    def save(name: str, shape: list) -> Path:
        node = helper.make_node("ReduceMean", ["x"], ["y"], axes=[1, 2], keepdims=0) if len(shape) == 4 else \
            helper.make_node("Identity", ["x"], ["y"])
        out_shape = [None, shape[-1]]
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        path = tmp_path / name
        onnx.save(model, path)
        return path

    with pytest.raises(ModelError, match="3-channel \\(RGB\\)") as info:
        Classifier(save("rgb.onnx", [None, 28, 28, 3]))
    assert "\n" not in str(info.value) and "rgb.onnx" in str(info.value)
    with pytest.raises(ModelError, match="is not a one-channel image"):
        Classifier(save("vector.onnx", [None, 10]))


def test_unknown_model_suffix(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"\x80\x02")
    with pytest.raises(ModelError, match="unknown model format '.pt'"):
        Classifier(path)
