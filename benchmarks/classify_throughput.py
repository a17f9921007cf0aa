"""`edgecnn classify` over a folder against the serial floor, measured in one run on this machine.

    .venv/bin/python benchmarks/classify_throughput.py --model artifacts/real/model_int8.tflite
    .venv/bin/python benchmarks/classify_throughput.py --base af77fef   # and the library at a base commit

Two seeded image sets are written to a temporary folder: 1,000 photo-like 320x240
JPEGs (a dark item on an unevenly lit light background, with noise) and 1,000 28x28
PNGs (light item on black, as Fashion-MNIST). For each set:

- floor: a plain serial loop, Pillow decode to grayscale and a box resize to the
  model's size, a lookup to the input dtype, then the bare interpreter (set_tensor,
  invoke, get_tensor). What a hand-written script does; it skips edgecnn's polarity
  check, crop and error handling.
- library: `report.print_results` (what `edgecnn classify` runs) with --workers 1 and
  with the default (the cores this process may use), output to a null stream; the
  worker processes' start-up is inside the timing.
- cli: `edgecnn classify --model M FOLDER` in a subprocess, with its own start-up and
  model load (the ratio for it is per whole command, so it is lower on small sets).

Each figure is the best of --repeat runs (the machine is shared: the best is the least
disturbed); the goal in issue 16 is library / floor >= 1.6 on 2 cores.

--base COMMIT: the library runs and the prepare step are also measured with
runtime/preprocess.py as it was at COMMIT (loaded beside today's, as
benchmarks/prepare_equivalence.py does, and put in place of `preprocess.prepare` for
the run, worker processes included), each repeat running both versions one after the
other, so "before" and "after" come from the same run on the same machine. The cli line
is today's only.

Where the time goes (printed per set, so a ratio below the goal comes with its reason):
CPU time per image of each run (this process and its workers together), and of the
steps alone: the floor's decode, edgecnn's `preprocess.prepare`, one interpreter call
for one image and per image in a batch of CHUNK. On N idle cores the parallel run can
be at most N x (floor CPU) / (parallel CPU) times the floor: the "ceiling" line; and
no run can beat N x (floor CPU) / (prepare + batched call), the "bound" line, whatever
the overhead of the workers, since every image needs both steps. The floor is one
thread, so on an idle machine its CPU time is its time; CPU figures are compared with
CPU figures because a loaded machine stretches wall times far more.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Iterator

import numpy as np
from PIL import Image

from edgecnn.runtime import views

sys.path.insert(0, str(Path(__file__).resolve().parent))  # prepare_equivalence, for --base


def cpu_name() -> str:
    """/proc/cpuinfo's "model name", else platform's guess."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def photo_like(folder: Path, n: int, seed: int) -> None:
    """n 320x240 RGB JPEGs: a dark ellipse on a light background lit from one side, with noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:240, 0:320].astype(np.float32)
    for i in range(n):
        light = 150 + 70 * (xx / 320 if i % 2 else 1 - yy / 240) + 15 * np.sin(yy / rng.uniform(30, 80))
        img = light + rng.normal(0, 8, light.shape)
        cx, cy, r = rng.integers(100, 220), rng.integers(80, 160), rng.integers(30, 75)
        item = ((xx - cx) / r) ** 2 + ((yy - cy) / (r * rng.uniform(0.6, 1.5))) ** 2 < 1
        img[item] = rng.uniform(20, 70) + rng.normal(0, 10, int(item.sum()))
        rgb = np.clip(np.stack([img, img * 0.96, img * 0.9], axis=-1), 0, 255).astype(np.uint8)
        Image.fromarray(rgb).save(folder / f"photo_{i:04d}.jpg", quality=90)


def small_pngs(folder: Path, n: int, seed: int) -> None:
    """n 28x28 grayscale PNGs of the synthetic dataset (light item on black)."""
    from edgecnn.datasets.synthetic import synthetic_images

    for i, pixels in enumerate(synthetic_images(n, seed)[0]):
        Image.fromarray(pixels).save(folder / f"item_{i:04d}.png")


def cpu_seconds() -> float:
    """User + system CPU of this process and of its reaped children (the worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Timer:
    """Wall and CPU seconds (this process and the workers it reaped) of the block inside `with`."""

    def __enter__(self) -> "Timer":
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, cpu_seconds() - self.cpu


@contextlib.contextmanager
def using(module: ModuleType | None) -> Iterator[None]:
    """`module.prepare` in place of `edgecnn.runtime.preprocess.prepare` inside the block (None: today's).

    The Classifier and the worker processes (forked inside the block) look it up there.
    """
    from edgecnn.runtime import preprocess

    saved = preprocess.prepare
    if module is not None:
        preprocess.prepare = module.prepare
    try:
        yield
    finally:
        preprocess.prepare = saved


def steps(model: str, files: list[Path], batch: int, versions: dict[str, ModuleType | None],
          views: str) -> dict[str, float]:
    """CPU seconds per image of each step alone: floor decode, edgecnn prepare (per version), one call, batched calls."""
    from edgecnn.runtime import Classifier, preprocess

    clf = Classifier(model, num_threads=1, views=views)
    size = (clf.width, clf.height)
    out: dict[str, float] = {}
    start = time.process_time()
    for path in files:
        with Image.open(path) as img:
            np.asarray(img.convert("L").resize(size, Image.Resampling.BOX))
    out["floor decode (Pillow open, L, box resize)"] = (time.process_time() - start) / len(files)
    seconds = dict.fromkeys(versions, 0.0)
    order = list(versions.items())
    for i, path in enumerate(files):  # the versions interleaved image by image, which goes first alternating
        for name, module in order[::-1] if i % 2 else order:
            start = time.process_time()
            pixels = (module or preprocess).prepare(path, clf.input_size, None)
            seconds[name] += time.process_time() - start
    for name in versions:
        out[f"edgecnn preprocess.prepare{'' if name == 'today' else ' ' + name}"] = seconds[name] / len(files)
    pixels = [preprocess.prepare(path, clf.input_size, None) for path in files[:batch]]
    one = np.stack(pixels[:1])
    start = time.process_time()
    for _ in range(len(files)):
        clf.classify_prepared(one, 1)
    out["interpreter, 1 image per call"] = (time.process_time() - start) / len(files)
    chunk = np.stack(pixels[:batch])
    calls = max(1, len(files) // batch)
    start = time.process_time()
    for _ in range(calls):
        clf.classify_prepared(chunk, 1)
    out[f"interpreter, {batch} images per call"] = (time.process_time() - start) / (calls * batch)
    return out


def floor(model: str, files: list[Path]) -> tuple[float, float]:
    """(wall, CPU) seconds for the plain serial loop (see the module docstring)."""
    from edgecnn.runtime import Classifier
    from edgecnn.runtime.backends import tflite_interpreter_class

    clf = Classifier(model)  # only for its name, input size and the pixel -> input lookup table
    _, _, interpreter_class = tflite_interpreter_class(clf.backend.name)
    interp = interpreter_class(model_path=model)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    size, lut, shape = (clf.width, clf.height), clf._lut, inp["shape"]
    with Timer() as timer:
        for path in files:
            with Image.open(path) as img:
                gray = np.asarray(img.convert("L").resize(size, Image.Resampling.BOX))
            interp.set_tensor(inp["index"], lut[gray].reshape(shape))
            interp.invoke()
            interp.get_tensor(out["index"]).argmax()
    return timer.wall, timer.cpu


def library(model: str, folder: Path, workers: int | None, views: str) -> tuple[float, float]:
    """(wall, CPU) seconds for print_results over the folder (what `edgecnn classify` runs), output discarded."""
    from edgecnn.runtime import Classifier
    from edgecnn.runtime.files import expand_paths
    from edgecnn.runtime.report import print_results

    clf = Classifier(model, views=views)
    sink = io.StringIO()
    with Timer() as timer:
        summary = print_results(clf, expand_paths([folder]), 1, False, sink, sink, workers)
    if summary.failed:
        raise SystemExit(f"{summary.failed} images failed in {folder}")
    return timer.wall, timer.cpu


def cli(model: str, folder: Path, workers: int | None, views: str) -> tuple[float, float]:
    """(wall, CPU) seconds for the whole `edgecnn classify` command in a subprocess."""
    cmd = [sys.executable, "-m", "edgecnn", "classify", "--model", model, "--views", views, str(folder)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    with Timer() as timer:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return timer.wall, timer.cpu


def main(argv: list[str] | None = None) -> int:
    from edgecnn.runtime.parallel import default_workers
    from edgecnn.runtime.report import CHUNK

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="artifacts/real/model_int8.tflite", help="a .tflite model")
    parser.add_argument("--images", type=int, default=1000, help="images per set")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept")
    parser.add_argument("--workers", type=int, default=None, help="parallel workers (default: the core count)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--base", help="also measure the library with preprocess.py at this commit")
    parser.add_argument("--views", default="none", choices=views.CHOICES,
                        help="edgecnn's test-time views (default none: one model run per image, as the floor; "
                             "auto: the model's own, e.g. 10 runs for a Fashion-MNIST model from edgecnn convert)")
    args = parser.parse_args(argv)
    workers = args.workers or default_workers()
    versions: dict[str, ModuleType | None] = {"today": None}
    if args.base:
        from prepare_equivalence import preprocess_at

        base = preprocess_at(args.base)
        if base is None:
            return 1
        versions[f"at {args.base}"] = base
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {cpu_name()}, {default_workers()} cores usable, load average {load:.1f} at the start; "
          f"model {args.model}, test-time views {args.views}; {args.images} images per set; best of {args.repeat}")
    worst = float("inf")
    with tempfile.TemporaryDirectory(prefix="edgecnn-throughput-") as tmp:
        sets = {"photo-like 320x240 JPEG": (Path(tmp) / "jpg", photo_like),
                "28x28 PNG": (Path(tmp) / "png", small_pngs)}
        for name, (folder, make) in sets.items():
            folder.mkdir()
            make(folder, args.images, args.seed)
            files = sorted(folder.iterdir())
            library(args.model, folder, 1, args.views)  # warm the page cache and imports
            runs: dict[str, list[tuple[float, float]]] = {}
            for _ in range(args.repeat):  # every kind of run once per round: all see the same machine
                runs.setdefault("floor", []).append(floor(args.model, files))
                for version, module in versions.items():
                    suffix = "" if version == "today" else f" ({version})"
                    with using(module):
                        runs.setdefault(f"library --workers 1{suffix}", []).append(library(args.model, folder, 1, args.views))
                        runs.setdefault(f"library --workers {workers}{suffix}", []).append(
                            library(args.model, folder, workers, args.views))
                runs.setdefault(f"cli (whole command, --workers {workers})", []).append(
                    cli(args.model, folder, args.workers, args.views))
            best = {label: min(times, key=lambda run: run[0]) for label, times in runs.items()}
            f, f_cpu = best.pop("floor")
            parallel = best[f"library --workers {workers}"]
            n = len(files)
            print(f"\n{name}: floor {n / f:.0f} images/s ({1e6 * f_cpu / n:.0f} us CPU per image)")
            for label, (seconds, cpu) in best.items():
                print(f"  {label:<40} {n / seconds:7.0f} images/s  {f / seconds:5.2f}x the floor  "
                      f"{1e6 * cpu / n:5.0f} us CPU per image")
            print(f"  ceiling with {workers} workers on {workers} idle cores: {workers * f_cpu / parallel[1]:.2f}x "
                  f"(floor CPU x {workers} / parallel CPU)")
            parts = steps(args.model, files, CHUNK, versions, args.views)
            for step, seconds in parts.items():
                print(f"    step: {step:<44} {1e6 * seconds:6.0f} us CPU per image")
            needed = parts["edgecnn preprocess.prepare"] + parts[f"interpreter, {CHUNK} images per call"]
            print(f"  bound from the steps alone, with no overhead at all: {workers * f_cpu / n / needed:.2f}x "
                  f"(floor CPU x {workers} / (prepare + batched call))")
            worst = min(worst, f / parallel[0])
    print(f"\nlowest library ratio with {workers} workers: {worst:.2f}x (goal >= 1.6x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
