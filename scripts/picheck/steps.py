"""The checks run with one install in one root, and their desktop counterparts.

1. classify: `pi_classify.py --json` on the sample pictures, then on_device.py (latency, pixels);
2. camera: `pi_classify.py --camera --source sample.avi --json` through apt's OpenCV;
3. doctor: `edgecnn doctor --json`, and each module it reports imported in a fresh process
   of that venv, so what doctor says can be compared with what is really importable;
4. runtime tests: edgecnn's own `pytest tests/runtime` inside the root (pytest added to the venv).

Each returns plain data; report.py judges it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from .rootfs import in_root, safe_rmtree
from .shell import REPO, Fail, run, say
from .targets import PI_HOME, Board, Target

APP_DIR = f"{PI_HOME}/edgecnn"
TESTS_DIR = f"{PI_HOME}/edgecnn-tests"
ON_DEVICE = "/opt/edgecnn-pi-check/on_device.py"
#: doctor's check name -> the module it must import for that check to be "ok".
DOCTOR_MODULES = {"ai-edge-litert": "ai_edge_litert.interpreter", "tflite-runtime": "tflite_runtime.interpreter",
                  "tensorflow": "tensorflow.lite", "onnxruntime": "onnxruntime", "opencv": "cv2",
                  "picamera2": "picamera2"}
TEST_TIMEOUT_S = 1800


def parse_json_lines(text: str, where: str) -> list[dict]:
    """The JSON objects among `text`'s lines (others ignored). Raises Fail on a line that starts like JSON but is not."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except ValueError:
                raise Fail(f"{where}: not JSON: {line[:200]}") from None
    return rows


def copy_to_pi(path: Path, stage: dict) -> None:
    """What the user copies to the Pi into /home/pi/edgecnn; on_device.py into /opt."""
    app = path / APP_DIR.lstrip("/")
    safe_rmtree(app)
    app.mkdir(parents=True)
    for name in ("pi_classify.py", "model_int8.tflite", stage["video"]):
        shutil.copyfile(stage["dir"] / name, app / name)
    shutil.copytree(stage["dir"] / "images", app / "images")
    probe = path / ON_DEVICE.lstrip("/")
    probe.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(stage["dir"] / "on_device.py", probe)


def classify(path: Path, target: Target, board: Board, stage: dict) -> dict:
    """pi_classify.py as the user runs it, then the latency probe."""
    paths = [p for p, _ in stage["images"]]
    python = f"{target.venv}/bin/python"
    tag = f"{target.key}@{board.name}"
    proc = in_root(path, [python, "pi_classify.py", "--model", "model_int8.tflite", "--json", *paths], board,
                   cwd=APP_DIR, check=False)
    if proc.returncode != 0:
        raise Fail(f"[{tag}] pi_classify.py failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
    rows = parse_json_lines(proc.stdout, f"[{tag}] pi_classify.py --json")
    latency = json.loads(in_root(path, [python, ON_DEVICE, "model_int8.tflite", *paths], board,
                                 cwd=APP_DIR).stdout.strip().splitlines()[-1])
    say(f"[{tag}] pi_classify.py: {len(rows)} answers ({board.title}, qemu -cpu {board.qemu_cpu})")
    return {"rows": rows, "latency": latency}


def camera_argv(python: str, video: str) -> list[str]:
    return [python, "pi_classify.py", "--model", "model_int8.tflite", "--camera", "--source", video, "--json"]


def camera(path: Path, target: Target, board: Board, stage: dict) -> dict:
    """The camera path through the root's OpenCV (apt's) on the sample video: its JSON frame lines."""
    proc = in_root(path, camera_argv(f"{target.venv}/bin/python", stage["video"]), board, cwd=APP_DIR, check=False)
    frames = parse_json_lines(proc.stdout, f"[{target.key}] pi_classify.py --camera --json")
    say(f"[{target.key}] pi_classify.py --camera --source {stage['video']}: exit {proc.returncode}, "
        f"{len(frames)} frames")
    return {"code": proc.returncode, "frames": frames, "stderr": proc.stderr.strip()[-600:]}


IMPORT_ONE = "import importlib, sys; importlib.import_module(sys.argv[1])"


def doctor(path: Path, target: Target, board: Board) -> dict:
    """`edgecnn doctor --json` in the venv, and the truth: each module imported in a fresh process of it."""
    proc = in_root(path, [f"{target.venv}/bin/edgecnn", "doctor", "--json"], board, cwd=PI_HOME, check=False)
    try:
        checks = {c["name"]: c for c in json.loads(proc.stdout)}
    except (ValueError, TypeError, KeyError):
        checks = {}
    truth = {}
    for name, module in DOCTOR_MODULES.items():
        imp = in_root(path, [f"{target.venv}/bin/python", "-c", IMPORT_ONE, module], board, check=False)
        lines = (imp.stderr.strip().splitlines() or [""])
        truth[name] = {"imports": imp.returncode == 0, "error": "" if imp.returncode == 0 else lines[-1][:300]}
    say(f"[{target.key}] edgecnn doctor --json: exit {proc.returncode}; really importable: "
        f"{', '.join(n for n, t in truth.items() if t['imports']) or 'nothing'}")
    return {"code": proc.returncode, "checks": checks, "truth": truth, "stdout": proc.stdout[-1500:],
            "stderr": proc.stderr[-1500:]}


def runtime_tests(path: Path, target: Target, board: Board, log: Path) -> dict:
    """edgecnn's runtime tests (tests/runtime, the committed golden models) inside the root, with pytest added."""
    dest = path / TESTS_DIR.lstrip("/")
    safe_rmtree(dest)
    (dest / "tests").mkdir(parents=True)
    shutil.copyfile(REPO / "pyproject.toml", dest / "pyproject.toml")
    for name in ("__init__.py", "conftest.py"):
        shutil.copyfile(REPO / "tests" / name, dest / "tests" / name)
    for helper in (REPO / "tests").glob("*.py"):  # helpers the runtime tests import (terminal.py, mounts.py...)
        if not helper.name.startswith("test_"):
            shutil.copyfile(helper, dest / "tests" / helper.name)
    shutil.copytree(REPO / "tests" / "runtime", dest / "tests" / "runtime",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "examples").mkdir()
    shutil.copyfile(REPO / "examples" / "pi_classify.py", dest / "examples" / "pi_classify.py")  # tests run it
    python = f"{target.venv}/bin/python"
    if in_root(path, [python, "-c", "import pytest"], board, check=False).returncode != 0:
        in_root(path, [f"{target.venv}/bin/pip", "install", "pytest"], board, log=log)
    argv = [python, "-m", "pytest", "tests/runtime", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-rfE"]
    say(f"[{target.key}] pytest tests/runtime inside the root (emulated: minutes)")
    try:
        proc = in_root(path, argv, board, cwd=TESTS_DIR, check=False, timeout=TEST_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"code": None, "summary": f"did not finish within {TEST_TIMEOUT_S} s", "failures": []}
    lines = proc.stdout.strip().splitlines()
    summary = next((ln.strip("= ") for ln in reversed(lines) if " in " in ln and ("passed" in ln or "failed" in ln
                                                                                 or "error" in ln)), "")
    failures = [ln for ln in lines if ln.startswith(("FAILED", "ERROR"))]
    with log.open("a") as fh:
        fh.write(f"\n$ (in {target.key}) {' '.join(argv)}\n{proc.stdout}\n{proc.stderr}\n")
    say(f"[{target.key}] pytest tests/runtime: {summary or 'no summary (exit ' + str(proc.returncode) + ')'}")
    return {"code": proc.returncode, "summary": summary or proc.stderr.strip()[-300:], "failures": failures[:20]}


def desktop_classify(stage: dict) -> dict:
    """The desktop runtime (this host's .venv): `edgecnn classify --json` and on_device.py on the same files."""
    paths = [p for p, _ in stage["images"]]
    edgecnn = str(Path(sys.executable).with_name("edgecnn"))
    proc = run([edgecnn, "classify", "--model", "model_int8.tflite", "--json", *paths], cwd=stage["dir"], check=False)
    if proc.returncode != 0:
        raise Fail(f"desktop edgecnn classify failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}")
    lat = subprocess.run([sys.executable, "on_device.py", "model_int8.tflite", *paths], cwd=stage["dir"],
                         capture_output=True, text=True)
    if lat.returncode != 0:
        raise Fail(f"desktop latency probe failed:\n{(lat.stdout + lat.stderr)[-3000:]}")
    return {"rows": parse_json_lines(proc.stdout, "edgecnn classify --json"),
            "latency": json.loads(lat.stdout.strip().splitlines()[-1])}


def desktop_camera(stage: dict) -> dict:
    """The same camera command with the desktop's OpenCV (the .venv's opencv-python-headless)."""
    proc = subprocess.run(camera_argv(sys.executable, stage["video"]), cwd=stage["dir"], capture_output=True,
                          text=True)
    return {"code": proc.returncode, "frames": parse_json_lines(proc.stdout, "desktop pi_classify.py --camera"),
            "stderr": proc.stderr.strip()[-600:]}
