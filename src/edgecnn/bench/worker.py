"""One benchmark configuration, run in its own process so its peak memory is its own.

Invoked by bench.runner as `python -m edgecnn.bench.worker JSON`; prints one JSON line.
Only the backend under test is imported, so the RSS of a LiteRT run is not inflated
by TensorFlow or ONNX Runtime.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any, Callable

import numpy as np


def peak_rss_mb() -> float:
    """This process's own peak RSS.

    Linux's ru_maxrss survives exec, so a worker started by a parent holding TensorFlow
    would report the parent's peak; VmHWM in /proc/self/status belongs to this program.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024.0 if sys.platform != "darwin" else rss / (1024.0 * 1024.0)


def sample_images(n: int) -> np.ndarray:
    """Ready model-sized images (synthetic items), the input the runtime's fast path takes."""
    from ..datasets.synthetic import synthetic_images

    return synthetic_images(n, seed=123)[0]


def keras_runner(model_path: str, threads: int) -> Callable[[np.ndarray], Any]:
    from ..tfenv import import_tensorflow

    tf = import_tensorflow()
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from ..train.model import load_keras_model
    from ..runtime.modelinput import to_model_input

    model = load_keras_model(model_path)
    return lambda images: model(to_model_input(images), training=False)


def runtime_runner(model_path: str, backend: str, threads: int, batch: int) -> Callable[[np.ndarray], Any]:
    from ..runtime import Classifier

    clf = Classifier(model_path, num_threads=threads, backend=backend, views="none")  # one run per picture
    if batch == 1:
        return lambda images: clf.classify(images[0], top_k=1)
    return lambda images: clf.classify_batch(images, top_k=1)


def measure(config: dict[str, Any]) -> dict[str, Any]:
    batch, runs, warmup = config["batch"], config["runs"], config["warmup"]
    started = time.perf_counter()
    if config["backend"] == "keras":
        run = keras_runner(config["model"], config["threads"])
    else:
        run = runtime_runner(config["model"], config["backend"], config["threads"], batch)
    load_s = time.perf_counter() - started
    images = sample_images(batch)
    for _ in range(warmup):
        run(images)
    per_image_us = np.empty(runs)
    for i in range(runs):
        t0 = time.perf_counter()
        run(images)
        per_image_us[i] = (time.perf_counter() - t0) * 1e6 / batch
    p50, p90, p99 = np.percentile(per_image_us, [50, 90, 99])
    return {
        **config,
        "load_ms": round(load_s * 1e3, 2),
        "p50_us": round(float(p50), 2),
        "p90_us": round(float(p90), 2),
        "p99_us": round(float(p99), 2),
        "images_per_s": round(1e6 / float(np.mean(per_image_us)), 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


if __name__ == "__main__":
    try:
        print(json.dumps(measure(json.loads(sys.argv[1]))))
    except Exception as exc:  # reported to the parent as one line, never a traceback
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        sys.exit(1)
