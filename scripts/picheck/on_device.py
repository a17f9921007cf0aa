"""Runs inside the emulated Pi (and on the host, for reference): per-image latency and input digests.

    python on_device.py MODEL IMAGE...

Prints one JSON object: the backend, the model's load time, the median interpreter call,
and for each image the median wall time of Classifier.classify(path) (read, prepare,
interpreter) over REPEATS runs after a warm-up, its top label and score, and the SHA-256
of the 28x28 input `prepare` made (so the Pi and the desktop can be compared pixel for
pixel). Only edgecnn.runtime is used: no TensorFlow, nothing of pi-check's.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import time

REPEATS = 5


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main(argv: list[str]) -> dict:
    t = time.perf_counter()
    from edgecnn.runtime import Classifier

    clf = Classifier(argv[0])
    load_ms = (time.perf_counter() - t) * 1e3
    rows = []
    for path in argv[1:]:
        best = clf.classify(path, top_k=1)[0]  # warm-up, and the answer
        rows.append({"path": path, "ms": median_ms(lambda p=path: clf.classify(p, top_k=1), REPEATS),
                     "label": best.label, "score": best.score,
                     "pixels": hashlib.sha256(clf.prepare(path).tobytes()).hexdigest()})
    pixels = clf.prepare(argv[1])
    model_ms = median_ms(lambda: clf.classify(pixels, top_k=1), 20)
    return {"backend": f"{clf.backend.name} {clf.backend.version}", "load_ms": load_ms, "model_ms": model_ms,
            "images": rows}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
