"""`make demo`: the whole pipeline (train, convert, evaluate, bench, report), offline if it has to be.

Uses Fashion-MNIST when its files are present or downloadable; otherwise says so in
one loud line and uses the synthetic set instead.
"""

from __future__ import annotations

import argparse
import sys

from edgecnn.cli import main as edgecnn
from edgecnn.datasets import load_dataset
from edgecnn.errors import DatasetError

SYNTHETIC_LIMIT = 12000  # keeps the offline demo to a couple of minutes on two cores


def pick_dataset(data_dir: str | None) -> str:
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
    code = edgecnn(args)
    if code in (0, 3):
        note = " -- trained on SYNTHETIC data" if dataset == "synthetic" else ""
        print(f"\ndemo done: artifacts and report in {out}/ (open {out}/report.md){note}")
    return code


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="artifacts/demo")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--data-dir")
    sys.exit(run_demo(**vars(parser.parse_args())))
