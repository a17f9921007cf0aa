"""The runtime stays light: no TensorFlow (2.3 s and 570 MB) when LiteRT or tflite-runtime is there."""

from __future__ import annotations

import json

from .conftest import HAVE_LITERT, run_python, save_png

CLASSIFY = """
import json, sys
import edgecnn.runtime
light = sorted(m for m in ("tensorflow", "onnxruntime", "cv2", "keras") if m in sys.modules)
from edgecnn.runtime import Classifier
clf = Classifier(sys.argv[1])
top = clf.classify(sys.argv[2], top_k=1)[0]
heavy = sorted(m for m in ("tensorflow", "onnxruntime", "cv2", "keras") if m in sys.modules)
print(json.dumps({"after_import": light, "after_classify": heavy, "label": top.label, "backend": clf.backend.name}))
"""


def test_classifying_with_tflite_imports_no_tensorflow(int8_model, tmp_path, test_images):
    image = save_png(tmp_path / "item.png", test_images[0][0])
    proc = run_python(CLASSIFY, str(int8_model), str(image))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["backend"] == ("litert" if HAVE_LITERT else "tflite_runtime")
    assert report["after_import"] == [] and report["after_classify"] == [], report


def test_cli_classify_imports_no_tensorflow(int8_model, tmp_path, test_images):
    image = save_png(tmp_path / "item.png", test_images[0][0])
    code = ("import sys; from edgecnn.cli import main; rc = main(['classify', '--model', sys.argv[1], sys.argv[2]]); "
            "print('tensorflow' in sys.modules, 'onnxruntime' in sys.modules, 'cv2' in sys.modules); sys.exit(rc)")
    proc = run_python(code, str(int8_model), str(image))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "False False False"
