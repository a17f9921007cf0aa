"""`make demo`: the whole pipeline (train, convert, evaluate, bench, report) on real Fashion-MNIST.

When the files are missing and apt-get can be used (root, or `sudo -n`), installs
Debian's `dataset-fashion-mnist` first. Otherwise it says so in one loud line and
uses the synthetic set instead. The demo trains fewer epochs than the full recipe
(`edgecnn train`'s 60), and shows a quarter of them as photos (DEMO_PHOTOS; the
recipe's default is every image, whose photo pool alone takes about 7 minutes on two
cores), so it finishes in a few minutes; it prints the accuracy it got and names the
dataset.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from edgecnn.cli import main as edgecnn
from edgecnn.datasets import load_dataset
from edgecnn.errors import DatasetError

SYNTHETIC_LIMIT = 12000  # keeps the offline demo to a couple of minutes on two cores
DEMO_PHOTOS = 0.25  # share of Fashion-MNIST training images shown as photos (train --photos)
INSTALLER = Path(__file__).with_name("install_fashion_mnist.sh")


def pick_dataset(data_dir: str | None) -> str:
    """fashion-mnist when its files are found (installing them with apt when allowed), else synthetic."""
    if not data_dir:
        subprocess.run(["bash", str(INSTALLER)], check=False)
    try:
        load_dataset("fashion-mnist", data_dir, limit=100)
        return "fashion-mnist"
    except DatasetError as exc:
        print(f"\n*** DEMO FALLS BACK TO THE SYNTHETIC DATASET: {exc} ***\n", flush=True)
        return "synthetic"


def run_demo(out: str, epochs: int, data_dir: str | None) -> int:
    dataset = pick_dataset(data_dir)
    args = ["pipeline", "--dataset", dataset, "--epochs", str(epochs), "--out", out]
    if data_dir:
        args += ["--data-dir", data_dir]
    if dataset == "synthetic":
        args += ["--limit", str(SYNTHETIC_LIMIT)]
    else:
        args += ["--photos", str(DEMO_PHOTOS)]
    code = edgecnn(args)
    if code in (0, 3):
        trained = json.loads((Path(out) / "train.json").read_text())
        what = "SYNTHETIC data" if trained["synthetic"] else f"real Fashion-MNIST from {trained['dataset']['source']}"
        print(f"\ndemo done: {trained['epochs_run']} epochs on {what}: test accuracy "
              f"{trained['test_accuracy'] * 100:.2f}% (the full recipe, `edgecnn train`, runs 60 epochs)")
        print(f"artifacts and report in {out}/ (open {out}/report.md)")
    return code


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="artifacts/demo")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--data-dir")
    sys.exit(run_demo(**vars(parser.parse_args())))
