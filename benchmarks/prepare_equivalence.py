"""Does today's `preprocess.prepare` answer exactly as a base commit's, and what does each cost?

    .venv/bin/python benchmarks/prepare_equivalence.py --base af77fef

Speed work on runtime/preprocess.py must not change what the model sees. This builds a
fixed corpus deterministically, runs today's `prepare` and the base commit's
(`git show BASE:src/edgecnn/runtime/preprocess.py`, imported beside today's as
benchmarks/photos.py does), one picture at a time, the two calls interleaved (their
order alternating) so both see the same machine, and prints per set: pictures with
identical answers (byte-identical pixels, or the same NoItem / ImageError message),
differing ones, the largest level difference, and CPU microseconds (process_time) per
picture of both versions.

The corpus:
- photo: the photo-like variants benchmarks/photos.py makes at seed 0 from the real
  Fashion-MNIST test split (RGB arrays, 240x320 to 1280x960, both orientations);
- photo png: the first 200 of them saved as RGB PNG files (the file path: open_image, grayscale);
- jpeg 320x240, png 28x28: the two folders benchmarks/classify_throughput.py writes;
- tile 28x28: the test tiles themselves (arrays);
- frame 640x480, frame 480x640: camera-like RGB frames (variants resized);
- no item: pictures with nothing in them (benchmarks/photos.py's), NaN included.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from classify_throughput import cpu_name, photo_like, small_pngs  # noqa: E402
from photos import load_tiles, no_item_pictures, preprocess_at  # noqa: E402

from edgecnn.datasets.photos import variant  # noqa: E402
from edgecnn.errors import EdgecnnError  # noqa: E402
from edgecnn.runtime import preprocess  # noqa: E402


ROOT = Path(__file__).resolve().parent.parent


def outcome(module: ModuleType, source: object) -> tuple[float, object]:
    """(CPU seconds, pixels or (exception type name, message)) of module.prepare(source)."""
    start = time.process_time()
    try:
        result: object = module.prepare(source, (28, 28))
    except EdgecnnError as exc:
        result = (type(exc).__name__, str(exc))
    return time.process_time() - start, result


def compare(name: str, sources: list[object], today: ModuleType, base: ModuleType) -> dict[str, float]:
    """Run both versions on every source, interleaved; print and return the set's figures."""
    same = differ = 0
    worst = 0
    cpu = {"today": 0.0, "base": 0.0}
    for i, source in enumerate(sources):
        order = ((today, "today"), (base, "base")) if i % 2 else ((base, "base"), (today, "today"))
        answers = {}
        for module, label in order:
            seconds, answers[label] = outcome(module, source)
            cpu[label] += seconds
        a, b = answers["today"], answers["base"]
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            equal = a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
            if not equal and a.shape == b.shape:
                worst = max(worst, int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max()))
            elif not equal:
                worst = 255
        else:
            equal = type(a) is type(b) and not isinstance(a, np.ndarray) and a == b
            worst = worst if equal else 255
        same += equal
        differ += not equal
    n = max(len(sources), 1)
    print(f"{name:16s} {len(sources):6d} {same:9d} {differ:9d} {worst:9d} "
          f"{1e6 * cpu['base'] / n:10.0f} {1e6 * cpu['today'] / n:10.0f} {cpu['base'] / max(cpu['today'], 1e-9):7.2f}x")
    return {"n": len(sources), "same": same, "differ": differ, "worst": worst, **cpu}


def corpus(tmp: Path, count: int, seed: int, data_dir: str | None) -> dict[str, list[object]]:
    """The named sets described in the module docstring, built deterministically."""
    tiles, _, _, tag = load_tiles(count, data_dir)
    photos = [variant(tile, i, seed).pixels for i, tile in enumerate(tiles)]
    png_dir, jpg_dir, small_dir = tmp / "photo_png", tmp / "jpg", tmp / "png"
    for folder in (png_dir, jpg_dir, small_dir):
        folder.mkdir()
    for i, pixels in enumerate(photos[:200]):
        Image.fromarray(pixels).save(png_dir / f"photo_{i:04d}.png")
    photo_like(jpg_dir, count, 16)  # classify_throughput.py's sets, its default seed
    small_pngs(small_dir, count, 16)
    frames = [Image.fromarray(p) for p in photos[:200]]
    return {
        f"photo{tag}": photos,
        "photo png": sorted(str(p) for p in png_dir.iterdir()),
        "jpeg 320x240": sorted(str(p) for p in jpg_dir.iterdir()),
        "png 28x28": sorted(str(p) for p in small_dir.iterdir()),
        "tile 28x28": list(tiles),
        "frame 640x480": [np.asarray(f.resize((640, 480), Image.Resampling.BILINEAR)) for f in frames[::2]],
        "frame 480x640": [np.asarray(f.resize((480, 640), Image.Resampling.BILINEAR)) for f in frames[1::2]],
        "no item": list(no_item_pictures(np.random.default_rng(seed)).values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="commit whose preprocess.py is the reference")
    parser.add_argument("--count", type=int, default=1000, help="photo variants, tiles and files per set")
    parser.add_argument("--seed", type=int, default=0, help="the photo variants' seed")
    parser.add_argument("--data-dir", help="folder of the four Fashion-MNIST IDX files (default: Debian's)")
    parser.add_argument("--only", help="run only the sets whose name contains this")
    args = parser.parse_args(argv)
    base = preprocess_at(args.base)
    if base is None:
        return 1
    print(f"machine: {cpu_name()}; today's preprocess vs {args.base}'s, CPU us per picture (process_time)")
    with tempfile.TemporaryDirectory(prefix="edgecnn-equivalence-") as tmp:
        sets = corpus(Path(tmp), args.count, args.seed, args.data_dir)
        print(f"\n{'set':16s} {'n':>6s} {'identical':>9s} {'differing':>9s} {'max diff':>9s} "
              f"{'base us':>10s} {'today us':>10s} {'speed-up':>8s}")
        totals = [compare(name, sources, preprocess, base) for name, sources in sets.items()
                  if not args.only or args.only in name]
    differing = sum(t["differ"] for t in totals)
    print(f"\nall sets: {sum(t['same'] for t in totals)} identical, {differing} differing, "
          f"max level difference {max(t['worst'] for t in totals)}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
