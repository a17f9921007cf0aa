"""Photos of real items: does a photo-like picture of a Fashion-MNIST test item get its tile's class?

Turns the first N images of the real Fashion-MNIST test split into photo-like pictures
(edgecnn.datasets.photos: the distortion cycles through plain, gradient + soft shadow,
textured/coloured surface, rotation, perspective tilt, sensor noise, blur, JPEG and all
at once; frames 240x320 to 1280x960, both orientations) and prints, with the int8 model:
accuracy on the original tiles, accuracy on the variants, and agreement (the variant's
class is the tile's class), per class and per distortion, for today's preprocessing and
for the preprocessing at a baseline commit (`git show COMMIT:src/edgecnn/runtime/preprocess.py`).

It also measures, in the same run, what `prepare` costs on a 640x480 RGB frame now and
at the baseline (the speed budget: at most 2x), and what it answers for pictures with no
item (blank, uniform grey, pure noise, a lit background alone, NaN pixels).

    .venv/bin/python benchmarks/photos.py                      # 1,000 images, artifacts/real/model_int8.tflite
    .venv/bin/python benchmarks/photos.py --count 200 --baseline f910bc5

Without the real files (`sudo apt-get install dataset-fashion-mnist`) it uses the synthetic
set and says so on every line that reports a figure from it.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np

from edgecnn.bench.machine import facts_line, machine_facts
from edgecnn.datasets.photos import DISTORTIONS, variant
from edgecnn.errors import EdgecnnError, NoItem
from edgecnn.runtime import Classifier, preprocess, views

ROOT = Path(__file__).resolve().parent.parent
#: The commit whose preprocessing is "today's" in issue 12 (before photo-aware preprocessing).
BASELINE_COMMIT = "f910bc5"


def load_tiles(count: int, data_dir: str | None) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """The first `count` test tiles and labels, class names, and a tag: '' for real data, else ' (SYNTHETIC)'."""
    from edgecnn.datasets.fashion_mnist import DEBIAN_DIR, FILE_NAMES

    folder = Path(data_dir) if data_dir else DEBIAN_DIR
    if all((folder / name).is_file() for name in FILE_NAMES):
        from edgecnn.datasets.fashion_mnist import load_fashion_mnist

        data = load_fashion_mnist(str(folder), lambda message: None)
        tag = ""
    else:
        from edgecnn.datasets.synthetic import load_synthetic

        print(f"real Fashion-MNIST not in {folder}: using the SYNTHETIC set (figures are not real-data figures)")
        data = load_synthetic(0, 100, max(count, 100))
        tag = " (SYNTHETIC)"
    return data.x_test[:count], data.y_test[:count], list(data.class_names), tag


def preprocess_at(commit: str) -> ModuleType | None:
    """runtime/preprocess.py as it was at `commit`, imported beside today's; None when git cannot show it.

    Registered in sys.modules under its own name first: its dataclass (Item) looks its module up there.
    """
    try:
        source = subprocess.run(["git", "show", f"{commit}:src/edgecnn/runtime/preprocess.py"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"baseline {commit}: not available ({exc}); no before/after comparison")
        return None
    name = f"edgecnn.runtime._preprocess_{commit}"
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None))
    module.__package__ = "edgecnn.runtime"  # its relative imports (errors, files) resolve to today's package
    sys.modules[name] = module
    exec(compile(source, f"{commit}:preprocess.py", "exec"), module.__dict__)
    return module


def prepared(prepare, pictures: list[np.ndarray], size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The model pixels of every picture, and a mask of those `prepare` called "no item" (left black)."""
    out = np.zeros((len(pictures), *size), np.uint8)
    no_item = np.zeros(len(pictures), bool)
    for i, picture in enumerate(pictures):
        try:
            out[i] = prepare(picture, size)
        except NoItem:
            no_item[i] = True
    return out, no_item


def table(title: str, names: list[str], groups: np.ndarray, columns: dict[str, np.ndarray]) -> None:
    """One row per group (class or distortion) and a total: the mean of each boolean column, in %."""
    print(f"\n{title:16s} {'n':>5s} " + " ".join(f"{c:>14s}" for c in columns))
    for g, name in enumerate(names):
        rows = groups == g
        if not rows.any():
            continue  # a small --count can miss a class
        print(f"{name:16s} {rows.sum():5d} " + " ".join(f"{100 * v[rows].mean():13.1f}%" for v in columns.values()))
    print(f"{'all':16s} {len(groups):5d} " + " ".join(f"{100 * v.mean():13.2f}%" for v in columns.values()))


def time_prepare(modules: dict[str, ModuleType], frame: np.ndarray, rounds: int) -> dict[str, float]:
    """Median ms per `prepare(frame)` for each module, the calls interleaved so both see the same machine."""
    times: dict[str, list[float]] = {name: [] for name in modules}
    for _ in range(rounds):
        for name, module in modules.items():
            started = time.perf_counter()
            module.prepare(frame, (28, 28))
            times[name].append(time.perf_counter() - started)
    return {name: 1000 * float(np.median(t)) for name, t in times.items()}


def no_item_pictures(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Pictures with nothing in them, as a camera or a user could hand them over."""
    yy, xx = np.mgrid[0:480, 0:640].astype(np.float32)
    lit = 200 + 30 * xx / 640 - 25 * yy / 480 + rng.normal(0, 2, (480, 640))
    return {
        "blank white": np.full((480, 640, 3), 255, np.uint8),
        "all black": np.zeros((480, 640, 3), np.uint8),
        "uniform grey": np.full((480, 640, 3), 128, np.uint8),
        "pure noise": rng.integers(0, 256, (480, 640, 3)).astype(np.uint8),
        "lit background only": np.clip(np.repeat(lit[..., None], 3, axis=2), 0, 255).astype(np.uint8),
        "NaN pixels": np.full((480, 640), np.nan, np.float32),
    }


def tile_stability(clf: Classifier, tiles: np.ndarray, original: np.ndarray) -> dict[str, float]:
    """Agreement of the model with itself on its own tiles moved a little: what no preprocessing can beat.

    A photo's item can never be put back pixel for pixel; if a one-pixel shift of the tile
    already changes some answers, the photos' agreement cannot reach 100% either.
    """
    from PIL import Image

    def agree(images: np.ndarray) -> float:
        return float(np.mean(np.array([p[0].index for p in clf.classify_prepared(images, top_k=1)]) == original))

    rotate = lambda degrees: np.stack([np.asarray(Image.fromarray(t).rotate(degrees, Image.Resampling.BILINEAR))
                                       for t in tiles])
    return {"tile shifted 1 px right": agree(np.roll(tiles, 1, axis=2)),
            "tile rotated 3 degrees": agree(rotate(3)),
            "tile + noise sigma 6": agree(np.clip(tiles + np.random.default_rng(0).normal(0, 6, tiles.shape), 0, 255)
                                          .astype(np.uint8))}


def answer(prepare, picture: np.ndarray) -> str:
    try:
        prepare(picture, (28, 28))
    except NoItem:
        return "no item"
    except EdgecnnError as exc:
        return f"error: {exc}"
    return "an item (model input)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "artifacts/real/model_int8.tflite"))
    parser.add_argument("--count", type=int, default=1000, help="test images turned into photos (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="the generator's seed")
    parser.add_argument("--data-dir", help="folder of the four IDX files (default: Debian's)")
    parser.add_argument("--baseline", default=BASELINE_COMMIT, help="commit whose preprocess.py is compared")
    parser.add_argument("--rounds", type=int, default=200, help="timed prepare calls per version")
    parser.add_argument("--views", choices=views.CHOICES, default="auto",
                        help="the Classifier's test-time views (default auto: the model's own); the run also "
                             "prints today's figures with none, for comparison")
    args = parser.parse_args(argv)

    print(facts_line(machine_facts()))
    tiles, labels, classes, tag = load_tiles(args.count, args.data_dir)
    clf = Classifier(args.model, views=args.views)
    print(f"model {clf.path}, test-time views: {clf.views} ({len(views.VIEW_SETS[clf.views])} model runs per picture)")
    size = clf.input_size
    started = time.perf_counter()
    photos = [variant(tile, i, args.seed) for i, tile in enumerate(tiles)]
    print(f"{len(photos)} photo-like variants{tag}, seed {args.seed}, generated in {time.perf_counter() - started:.1f} s")
    kinds = np.array([DISTORTIONS.index(p.distortion) for p in photos])
    original = np.array([p[0].index for p in clf.classify_prepared(tiles, top_k=1)])

    print("\nthe model's own stability on the original tiles (agreement with its answer on the tile):")
    for name, value in tile_stability(clf, tiles, original).items():
        print(f"  {name:26s} {100 * value:6.2f}%{tag}")

    versions = {"today": preprocess}
    baseline = preprocess_at(args.baseline)
    if baseline is not None:
        versions[f"at {args.baseline}"] = baseline
    for name, module in versions.items():
        started = time.perf_counter()
        pixels, no_item = prepared(module.prepare, [p.pixels for p in photos], size)
        seconds = time.perf_counter() - started
        predicted = np.array([p[0].index for p in clf.classify_prepared(pixels, top_k=1)])
        predicted[no_item] = -1
        columns = {"orig acc": original == labels, "photo acc": predicted == labels, "agreement": predicted == original}
        print(f"\n=== preprocessing {name}{tag}: {clf.path.name}, {len(photos)} images, "
              f"{no_item.sum()} answered 'no item' (counted wrong), prepare {1000 * seconds / len(photos):.1f} ms "
              f"per photo on average")
        table("class", classes, labels, columns)
        table("distortion", list(DISTORTIONS), kinds, columns)
        if module is preprocess:
            today = (pixels, no_item)

    if clf.views != "none":  # the same pictures and preprocessing, one model run each
        single = Classifier(args.model, views="none")
        print(f"\ntest-time views, today's preprocessing{tag} (tiles accuracy, photos accuracy, agreement):")
        for name, model in ((clf.views, clf), ("none", single)):
            tile = np.array([p[0].index for p in model.classify_prepared(tiles, top_k=1)])
            photo = np.array([p[0].index for p in model.classify_prepared(today[0], top_k=1)])
            photo[today[1]] = -1
            print(f"  {name:12s} {100 * np.mean(tile == labels):6.2f}%  {100 * np.mean(photo == labels):6.2f}%  "
                  f"{100 * np.mean(photo == tile):6.2f}%")

    frame = variant(tiles[0], 1, args.seed).pixels  # a gradient + shadow photo, resized to 640x480 RGB
    from PIL import Image

    frame = np.asarray(Image.fromarray(frame).resize((640, 480), Image.Resampling.BILINEAR))
    timings = time_prepare(versions, frame, args.rounds)
    print(f"\nprepare on one 640x480 RGB frame (median of {args.rounds}, interleaved):")
    for name, ms in timings.items():
        print(f"  {name:14s} {ms:7.2f} ms")
    if baseline is not None:
        ratio = timings["today"] / timings[f"at {args.baseline}"]
        print(f"  ratio today / at {args.baseline}: {ratio:.2f}x (budget 2x): {'within' if ratio <= 2 else 'OVER'}")

    print("\npictures with no item:")
    for name, picture in no_item_pictures(np.random.default_rng(args.seed)).items():
        print(f"  {name:22s} " + "   ".join(f"{v}: {answer(m.prepare, picture)}" for v, m in versions.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
