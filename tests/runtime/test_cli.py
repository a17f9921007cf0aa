"""`edgecnn classify`, `edgecnn doctor` and examples/pi_classify.py, as a user runs them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from edgecnn import FASHION_MNIST_CLASSES
from edgecnn.cli import main

from .conftest import HAVE_ONNXRUNTIME, huge_png_header, save_png

REPO = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(?P<path>.+): (?P<label>[^()]+) \((?P<score>[01]\.\d{3})\)$")


@pytest.fixture()
def image_folder(tmp_path, test_images):
    """Three good images in a folder tree, and every kind of bad file beside them."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    good = [save_png(folder / "a.png", test_images[0][0]), save_png(folder / "sub" / "b.png", test_images[0][1]),
            save_png(folder / "c.png", test_images[0][2])]
    (folder / "empty.png").write_bytes(b"")
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 20)
    huge_png_header(folder / "huge.png")
    bad = {"empty.png": "empty file (0 bytes)", "corrupt.jpg": "corrupt or truncated image (", "huge.png": "image too large"}
    return folder, good, bad


def test_classify_reports_each_bad_file_and_still_classifies_the_rest(int8_model, image_folder, capsys):
    folder, good, bad = image_folder
    rc = main(["classify", "--model", str(int8_model), str(folder), str(folder / "missing.png")])
    out, err = capsys.readouterr()
    assert rc == 1
    lines = out.splitlines()
    assert sorted(LINE.match(line)["path"] for line in lines) == sorted(map(str, good))
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == len(bad) + 1
    for name, needle in bad.items():
        assert any(line.startswith(f"{folder / name}: error: ") and needle in line for line in errors), errors
    assert any(line.startswith(f"{folder / 'missing.png'}: error: no such file") for line in errors)
    summary = err.strip().splitlines()[-1]
    assert re.search(r"classified 3 of 7 images in [\d.]+ s \([\d.]+ images/s\), 4 failed", summary), summary


def test_classify_answers_match_the_library(int8_model, image_folder, capsys, test_images):
    from edgecnn.runtime import Classifier

    folder, good, _ = image_folder
    assert main(["classify", "--model", str(int8_model), "--top-k", "3", "--json", *map(str, good)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    clf = Classifier(int8_model)
    for record, image in zip(records, test_images[0][:3]):
        expected = clf.classify(image, top_k=3)
        assert [e["index"] for e in record["top_k"]] == [p.index for p in expected]
        assert record["label"] == expected[0].label and abs(record["score"] - expected[0].score) < 1e-5


def test_classify_json_error_records(int8_model, image_folder, capsys):
    folder, _, _ = image_folder
    assert main(["classify", "--model", str(int8_model), "--json", str(folder / "empty.png")]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out) == {"path": str(folder / "empty.png"), "error": "empty file (0 bytes)"}
    assert "0 of 1 images" in err


def test_classify_every_format_gives_the_same_labels(models, image_folder, capsys):
    folder, good, _ = image_folder
    answers = {}
    names = ("model_int8.tflite", "model_float32.tflite") + (("model.onnx",) if HAVE_ONNXRUNTIME else ())
    for name in names:
        rc = main(["classify", "--model", str(models / name), "--json", *map(str, good)])
        out, err = capsys.readouterr()
        assert rc == 0, (name, err)
        records = [json.loads(line) for line in out.splitlines()]
        assert [r["path"] for r in records] == list(map(str, good)), (name, records)  # one answer per image
        assert all(r["label"] in FASHION_MNIST_CLASSES for r in records), (name, records)
        answers[name] = [r["label"] for r in records]
    assert len(answers) == len(names) and all(labels == answers[names[0]] for labels in answers.values()), answers


def test_bad_top_k_and_threads(int8_model, image_folder, capsys):
    _, good, _ = image_folder
    for flags, needle in ((["--top-k", "0"], "--top-k must be at least 1"), (["--threads", "0"], "--threads must be")):
        assert main(["classify", "--model", str(int8_model), *flags, str(good[0])]) == 2
        assert needle in capsys.readouterr().err


def test_doctor(capsys, int8_model, tmp_path):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for needle in ("architecture", "python", "ai-edge-litert", "tflite models", "opencv", "picamera2", "cpu"):
        assert needle in out, out
    assert main(["doctor", "--json", "--model", str(int8_model)]) == 0
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert checks["model"]["status"] == "ok" and "10 classes" in checks["model"]["detail"]
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(int8_model.read_bytes()[:1000])
    assert main(["doctor", "--model", str(broken)]) == 1
    assert "FAIL  model" in capsys.readouterr().out


def test_doctor_model_without_an_interpreter_says_install_one(tmp_path, monkeypatch, capsys):
    """No interpreter: the fix installs one (not "convert again"), and doctor does not send you to doctor."""
    import importlib.util

    import edgecnn.runtime.classifier as classifier
    from edgecnn.errors import ModelError

    model = tmp_path / "model_int8.tflite"
    model.write_bytes(b"x")
    real = importlib.util.find_spec
    hidden = ("ai_edge_litert", "tflite_runtime", "tensorflow")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in hidden else real(name, *a))

    def no_interpreter(*args, **kwargs):
        raise ModelError("no TFLite interpreter installed: pip install ai-edge-litert "
                         "(or tflite-runtime 'numpy<2' on 32-bit Raspberry Pi OS); run edgecnn doctor")

    monkeypatch.setattr(classifier, "Classifier", no_interpreter)
    main(["doctor", "--json", "--model", str(model)])
    check = {c["name"]: c for c in json.loads(capsys.readouterr().out)}["model"]
    assert check["status"] == "FAIL" and "pip install ai-edge-litert" in check["fix"]
    assert "convert" not in check["fix"] and "edgecnn doctor" not in check["detail"] + check["fix"]


def test_doctor_model_fixes_name_real_commands(tmp_path, capsys):
    """A broken file: copy it again or convert it with a real command line; a missing one: check the path."""
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"TFL3 not a model")
    main(["doctor", "--json", "--model", str(broken)])
    check = {c["name"]: c for c in json.loads(capsys.readouterr().out)}["model"]
    assert "copy the model file again" in check["fix"] and "edgecnn convert MODEL.keras" in check["fix"]
    assert "Keras model again" not in check["fix"]
    main(["doctor", "--json", "--model", str(tmp_path / "gone.tflite")])
    check = {c["name"]: c for c in json.loads(capsys.readouterr().out)}["model"]
    assert check["fix"] == "check the path"


def test_doctor_architecture_advice():
    """What a 32-bit Pi user is told (asked of the pure check, as this machine is x86_64)."""
    from edgecnn.runtime.doctor import check_architecture

    for machine, bits in (("armv7l", 32), ("aarch64", 32)):
        (check,) = check_architecture(machine, bits)
        assert check.status == "warn" and "ai-edge-litert has no wheels" in check.detail
        assert "64-bit" in check.fix and "tflite-runtime" in check.fix
    assert check_architecture("aarch64", 64)[0].status == "ok"
    assert check_architecture("armv6l", 32)[0].status == "FAIL"


def test_pi_classify_script(int8_model, image_folder):
    """The embedded script: the same answers as `edgecnn classify`, in its stable format."""
    folder, good, _ = image_folder
    script = REPO / "examples" / "pi_classify.py"
    proc = subprocess.run([sys.executable, str(script), "--model", str(int8_model), *map(str, good),
                           str(folder / "empty.png")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert [LINE.match(line)["path"] for line in lines] == list(map(str, good))
    assert f"{folder / 'empty.png'}: error: empty file (0 bytes)" in proc.stderr
    cli = subprocess.run([sys.executable, "-m", "edgecnn", "classify", "--model", str(int8_model), *map(str, good)],
                         capture_output=True, text=True, timeout=120)
    assert cli.stdout.splitlines() == lines
    js = subprocess.run([sys.executable, str(script), "--model", str(int8_model), "--json", str(good[0])],
                        capture_output=True, text=True, timeout=120)
    assert js.returncode == 0 and json.loads(js.stdout)["label"] == LINE.match(lines[0])["label"]


def test_pi_classify_imports_only_the_runtime():
    """It must not copy runtime code: it may only import from edgecnn.runtime and edgecnn.errors."""
    source = (REPO / "examples" / "pi_classify.py").read_text()
    imports = re.findall(r"^\s*(?:from|import) (\S+)", source, re.M)
    assert {i for i in imports if i.startswith("edgecnn")} <= {"edgecnn.errors", "edgecnn.runtime",
                                                              "edgecnn.runtime.files", "edgecnn.runtime.report",
                                                              "edgecnn.runtime.camera", "edgecnn.runtime.views"}
    assert not {i for i in imports if i.split(".")[0] in ("tensorflow", "cv2", "onnxruntime", "PIL", "numpy")}
    assert len(source.splitlines()) < 100
