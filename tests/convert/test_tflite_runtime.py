"""The int8 and float32 .tflite files in tflite-runtime 2.14, the last release, which many Pis still run.

tflite-runtime 2.14 needs numpy < 2, so it lives in its own venv (built once, cached in
~/.cache/edgecnn/tflite-runtime-2.14 or $EDGECNN_TFLITE_RUNTIME_VENV) and runs the
models in a subprocess; its outputs are compared with ai-edge-litert's in this process.

The only tests that use the network (marker `network`): building that venv downloads
tflite-runtime 2.14 and numpy < 2 with pip from its configured package registry. They run
in CI; where the registry cannot be reached they are skipped and the skip says so
(`-m "not network"` leaves them out). Once the venv is cached they need no network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

CHILD = Path(__file__).with_name("tflite_runtime_child.py")
REQUIREMENTS = ["tflite-runtime==2.14.0", "numpy<2"]
#: What pip prints when it cannot reach the registry (as opposed to: there is no such wheel).
NETWORK_ERRORS = ("NewConnectionError", "Network is unreachable", "Temporary failure in name resolution",
                  "Name or service not known", "nodename nor servname", "Connection refused", "No route to host",
                  "ConnectTimeout", "timed out", "ProxyError", "connection error", "SSLError")

pytestmark = [pytest.mark.slow, pytest.mark.network]
#: tflite-runtime 2.14 has wheels up to CPython 3.11.
VENV_PYTHONS = ("python3.11", "python3.10", "python3.9")


def venv_dir() -> Path:
    default = Path.home() / ".cache" / "edgecnn" / "tflite-runtime-2.14"
    return Path(os.environ.get("EDGECNN_TFLITE_RUNTIME_VENV", default))


def base_python() -> str | None:
    if sys.version_info[:2] <= (3, 11):
        return sys.executable
    return next((p for p in map(shutil.which, VENV_PYTHONS) if p), None)


def tflite_runtime_python() -> Path:
    """The venv's python with tflite-runtime 2.14 importable, building the venv if needed; else skip."""
    venv = venv_dir()
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import tflite_runtime.interpreter"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    base = base_python()
    if base is None:
        pytest.skip("tflite-runtime 2.14 needs Python <= 3.11 to build its venv; none found")
    shutil.rmtree(venv, ignore_errors=True)
    run([base, "-m", "venv", str(venv)], "create the tflite-runtime venv")
    # The network step, alone: fetch the wheels (skip if the registry cannot be reached) ...
    wheels = venv / "wheels"
    proc = subprocess.run([str(python), "-m", "pip", "download", "-q", "--timeout", "30", "--retries", "1",
                           "--dest", str(wheels), *REQUIREMENTS], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        last = (output.strip().splitlines() or ["no output"])[-1]
        unreachable = [line.strip() for line in output.splitlines()
                       if any(needle.lower() in line.lower() for needle in NETWORK_ERRORS)]
        if unreachable:
            pytest.skip(f"network test: the package registry cannot be reached to download "
                        f"{' '.join(REQUIREMENTS)} ({unreachable[0][:300]})")
        pytest.skip(f"pip finds no {' '.join(REQUIREMENTS)} for this Python/platform ({last})")
    # ... then install them offline: a failure here is a real failure, not a skip.
    run([str(python), "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheels), *REQUIREMENTS],
        "install the downloaded wheels")
    return python


def run(command: list[str], what: str) -> None:
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"cannot {what}: {(proc.stdout + proc.stderr)[-2000:]}"


def run_models(python: str | Path, models: list[Path], pixels: np.ndarray, tmp_path: Path,
               default_delegates: bool = True) -> tuple[dict, list]:
    """Outputs of each model, run by `python` in tflite_runtime_child.py (raw output tensors)."""
    np.save(tmp_path / "pixels.npy", pixels)
    out = tmp_path / "outputs.npz"
    env = dict(os.environ, EDGECNN_NO_DEFAULT_DELEGATES="0" if default_delegates else "1")
    proc = subprocess.run([str(python), str(CHILD), str(tmp_path / "pixels.npy"), str(out), *map(str, models)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    data = np.load(out)
    return info, [data[f"m{i}"] for i in range(len(models))]


@pytest.fixture(scope="module")
def outputs(converted_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The int8 and float32 models' outputs on 64 synthetic test images, in three interpreters."""
    from edgecnn.datasets import load_dataset

    python = tflite_runtime_python()
    tmp = tmp_path_factory.mktemp("tflite_runtime")
    pixels = load_dataset("synthetic", seed=0, limit=3000, log=lambda m: None).x_test[:64]
    models = [converted_dir / "model_int8.tflite", converted_dir / "model_float32.tflite"]
    runs = {
        "tflite-runtime-2.14": run_models(python, models, pixels, tmp),
        "litert": run_models(sys.executable, models, pixels, tmp),
        "litert-reference-kernels": run_models(sys.executable, models, pixels, tmp, default_delegates=False),
    }
    return {name: {"info": info, "int8": out[0], "float32": out[1]} for name, (info, out) in runs.items()}


def test_runs_in_tflite_runtime_2_14_with_numpy_1(outputs: dict) -> None:
    info = outputs["tflite-runtime-2.14"]["info"]
    assert info["engine"] == "tflite_runtime 2.14.0"
    assert info["numpy"].startswith("1.")
    assert outputs["litert"]["info"]["engine"] == "ai_edge_litert"
    assert outputs["tflite-runtime-2.14"]["int8"].dtype == np.int8
    assert outputs["tflite-runtime-2.14"]["int8"].shape == (64, 10)


def test_int8_bit_identical_to_litert_same_kernels(outputs: dict) -> None:
    """tflite-runtime 2.14 and LiteRT's built-in int8 kernels give the same int8 outputs, bit for bit."""
    np.testing.assert_array_equal(outputs["tflite-runtime-2.14"]["int8"], outputs["litert-reference-kernels"]["int8"])


def test_int8_same_top1_as_litert_default_xnnpack(outputs: dict) -> None:
    """LiteRT's default XNNPACK int8 kernels round differently from the built-in ones that
    tflite-runtime 2.14 uses for this model. Measured on the synthetic fixture's 500 test
    images: 52 of 5000 output elements differ, by at most 8 of 256 steps, and 1 image's
    top-1 flips (a near tie). So: close, not identical; bounded loosely here."""
    old = outputs["tflite-runtime-2.14"]["int8"].astype(int)
    new = outputs["litert"]["int8"].astype(int)
    assert np.mean(old.argmax(1) == new.argmax(1)) >= 0.95
    assert np.abs(old - new).max() <= 16  # 1/16 in probability


def test_float32_identical_outputs(outputs: dict) -> None:
    old, new = outputs["tflite-runtime-2.14"]["float32"], outputs["litert"]["float32"]
    assert old.dtype == np.float32
    np.testing.assert_allclose(old, new, rtol=0, atol=1e-6)
    assert (old.argmax(1) == new.argmax(1)).all()
