"""The runtime's two timed targets, measured in one run on this machine.

    .venv/bin/python benchmarks/runtime_overhead.py --model artifacts/model_int8.tflite

1. Overhead: `Classifier.classify(image)` on a ready 28x28 uint8 image against the bare
   interpreter on the same model given the same image already quantized (set_tensor,
   invoke, get_tensor: what a hand-written script does). One interpreter thread each.
   The two alternate in short rounds so machine noise hits both alike; the ratio of
   their medians is the figure (target: at most 1.1). Classifier.classify takes a lock
   around the interpreter call (a shared Classifier is thread-safe): that cost is in
   the figure.
   With --baseline OLD.py (another version of src/edgecnn/runtime/classifier.py, e.g.
   `git show <commit>:src/edgecnn/runtime/classifier.py > /tmp/old.py`) that version's
   Classifier runs in the same rounds too, so before and after are measured alike.
2. Start-up: wall time of `edgecnn classify --model MODEL one.png` in a fresh process,
   imports and model loading included (target: under 1 s); median of several runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np


def per_call_us(fn: Callable[[Any], Any], items: list, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        for item in items:
            fn(item)
    return (time.perf_counter() - start) * 1e6 / (repeat * len(items))


def load_classifier_class(source: str | None) -> Any:
    """This checkout's Classifier, or the one defined in another version of classifier.py."""
    if source is None:
        from edgecnn.runtime import Classifier

        return Classifier
    spec = importlib.util.spec_from_file_location("edgecnn.runtime._baseline_classifier", source)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{source}: cannot load as a Python module")
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "edgecnn.runtime"  # its relative imports resolve against this checkout
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.Classifier


def overhead(model: str, backend: str, top_k: int, rounds: int,
             baseline: str | None = None) -> tuple[float, float, float | None, str]:
    """(bare us, classify us, baseline classify us or None, interpreter) per image, medians over alternating rounds."""
    from edgecnn.datasets.synthetic import synthetic_images
    from edgecnn.runtime.backends import tflite_interpreter_class

    images = list(synthetic_images(64, seed=7)[0])
    clf = load_classifier_class(None)(model, num_threads=1, backend=backend)
    old = load_classifier_class(baseline)(model, num_threads=1, backend=backend) if baseline else None
    _, _, interpreter_class = tflite_interpreter_class(clf.backend.name)
    interp = interpreter_class(model_path=model, num_threads=1)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    quantized = [clf.quantize(image).reshape(inp["shape"]) for image in images]  # the bare side's input, ready

    def bare(x: np.ndarray) -> np.ndarray:
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        return interp.get_tensor(out["index"])

    def classify(image: np.ndarray) -> list:
        return clf.classify(image, top_k=top_k)

    def classify_old(image: np.ndarray) -> list:
        return old.classify(image, top_k=top_k)

    for x, image in zip(quantized, images):  # same answers, warm caches
        assert int(np.argmax(bare(x))) == classify(image)[0].index
        assert old is None or classify_old(image) == classify(image)
    bare_us, clf_us, old_us = [], [], []
    for _ in range(rounds):
        bare_us.append(per_call_us(bare, quantized, 10))
        clf_us.append(per_call_us(classify, images, 10))
        if old is not None:
            old_us.append(per_call_us(classify_old, images, 10))
    return (statistics.median(bare_us), statistics.median(clf_us), statistics.median(old_us) if old_us else None,
            f"{clf.backend.name} {clf.backend.version}")


def cli_wall_s(model: str, runs: int) -> float:
    """Median wall time of `edgecnn classify --model MODEL one.png` in a fresh process."""
    from PIL import Image

    from edgecnn.datasets.synthetic import synthetic_images

    folder = Path(tempfile.mkdtemp(prefix="edgecnn-bench-"))
    try:
        image = folder / "one.png"
        Image.fromarray(synthetic_images(1, seed=3)[0][0]).save(image)
        command = [sys.executable, "-m", "edgecnn", "classify", "--model", model, str(image)]
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            proc = subprocess.run(command, capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise SystemExit(f"edgecnn classify failed: {proc.stderr.strip()}")
        return statistics.median(times)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Classifier overhead over the bare interpreter, and CLI start-up.")
    parser.add_argument("--model", default="artifacts/model_int8.tflite", help="an int8 .tflite model")
    parser.add_argument("--backend", default="auto", help="TFLite interpreter: auto, litert, tflite_runtime")
    parser.add_argument("--rounds", type=int, default=30, help="alternating rounds of 640 calls each side")
    parser.add_argument("--cli-runs", type=int, default=5)
    parser.add_argument("--baseline", metavar="OLD.py", help="another classifier.py to time in the same rounds")
    args = parser.parse_args(argv)
    if not Path(args.model).is_file():
        raise SystemExit(f"{args.model}: no such model; make one with `edgecnn train` then `edgecnn convert`, or pass --model")

    from edgecnn.bench.machine import cpu_model

    print(f"model {args.model}, 1 interpreter thread, 64 ready 28x28 synthetic images, CPU {cpu_model()}")
    for top_k in (1, 3):
        bare, clf, old, interpreter = overhead(args.model, args.backend, top_k, args.rounds, args.baseline)
        print(f"  {interpreter}: bare set_tensor/invoke/get_tensor {bare:.1f} us, "
              f"Classifier.classify(top_k={top_k}) {clf:.1f} us: ratio {clf / bare:.3f} (target <= 1.1)")
        if old is not None:
            print(f"    baseline {args.baseline}: {old:.1f} us: ratio {old / bare:.3f}")
    wall = cli_wall_s(args.model, args.cli_runs)
    print(f"  edgecnn classify --model {Path(args.model).name} one.png: {wall:.3f} s wall, median of "
          f"{args.cli_runs} fresh processes (target < 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
