"""`edgecnn doctor` imports each interpreter and camera module in a child and never says "all good" over a failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from edgecnn.runtime.doctor import FAIL, OK, check_cameras, check_interpreters, format_checks
from edgecnn.runtime.imports import ImportStatus

from .test_imports_probe import CV2_UNDER_NUMPY2, fake_site

ALL_OK = {m: ImportStatus(m, "ok", "1.0") for m in ("ai_edge_litert.interpreter", "tflite_runtime.interpreter",
                                                     "tensorflow.lite", "onnxruntime", "cv2", "picamera2")}


def by_name(checks):
    return {c.name: c for c in checks}


def test_a_camera_module_that_fails_to_import_is_a_failure_with_its_reason():
    broken = ImportStatus("cv2", "broken", "built against another numpy: ...", "pip install 'numpy<2' in this venv")
    checks = check_cameras(dict(ALL_OK, cv2=broken))
    opencv = by_name(checks)["opencv"]
    assert opencv.status == FAIL
    assert "installed but fails to import: built against another numpy" in opencv.detail
    assert opencv.fix == "pip install 'numpy<2' in this venv"
    text = format_checks(checks)
    assert "all good" not in text and text.splitlines()[-1].startswith("1 problem(s)")


def test_an_interpreter_that_fails_to_import_is_a_failure_and_another_one_is_used():
    found = dict(ALL_OK, **{"ai_edge_litert.interpreter": ImportStatus("ai_edge_litert.interpreter", "broken",
                                                                       "importing it crashed Python (SIGSEGV)")})
    checks = by_name(check_interpreters(found))
    assert checks["ai-edge-litert"].status == FAIL and "crashed Python (SIGSEGV)" in checks["ai-edge-litert"].detail
    assert checks["tflite models"].status == OK and checks["tflite models"].detail == "will run with tflite-runtime"


def test_no_interpreter_importable_is_a_failure():
    found = dict(ALL_OK, **{m: ImportStatus(m, "missing") for m in
                            ("ai_edge_litert.interpreter", "tflite_runtime.interpreter", "tensorflow.lite")})
    assert by_name(check_interpreters(found))["tflite models"].status == FAIL


def test_doctor_cli_reports_broken_and_crashing_camera_modules(tmp_path):
    """The real command, with a cv2 that fails as apt's does under numpy 2 and a picamera2 that segfaults."""
    site = fake_site(tmp_path, "cv2", CV2_UNDER_NUMPY2, "1.24.2")
    (site / "picamera2").mkdir()
    (site / "picamera2" / "__init__.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    env = dict(os.environ, PYTHONPATH=str(site))
    proc = subprocess.run([sys.executable, "-m", "edgecnn", "doctor", "--json"], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr
    checks = {c["name"]: c for c in json.loads(proc.stdout)}  # --json stays machine-readable
    assert checks["opencv"]["status"] == FAIL
    assert "cv2 was built for numpy 1.24.2" in checks["opencv"]["detail"]
    assert checks["picamera2"]["status"] == FAIL
    assert "installed but fails to import: importing it crashed Python (SIGSEGV)" in checks["picamera2"]["detail"]


def test_a_keras_model_in_any_spelling_is_told_to_convert(tmp_path):
    """doctor --model on a Keras file uses the one suffix rule (formats.model_kind): .hdf5 and .H5 too."""
    from edgecnn.runtime.doctor import FAIL, check_model

    for name in ("model.keras", "model.hdf5", "MODEL.H5"):
        path = tmp_path / name
        path.write_bytes(b"not really a model")
        [check] = check_model(str(path))
        assert check.status == FAIL and check.fix.startswith(f"edgecnn convert {path}"), (name, check)
