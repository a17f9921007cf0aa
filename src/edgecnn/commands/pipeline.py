"""`edgecnn pipeline`."""

from __future__ import annotations

import argparse

from .common import add_subcommand

EXAMPLES = """  edgecnn pipeline --out artifacts
  edgecnn pipeline --dataset synthetic --epochs 3 --limit 6000 --out artifacts/demo
"""


def register(sub: argparse._SubParsersAction) -> None:
    from ..datasets import DATASET_CHOICES

    p = add_subcommand(sub, "pipeline", "train, convert to every format, evaluate, bench, and write report.md", EXAMPLES)
    p.add_argument("--dataset", default="fashion-mnist", help=f"dataset: {DATASET_CHOICES}")
    p.add_argument("--data-dir", help="folder with the Fashion-MNIST IDX files")
    p.add_argument("--epochs", type=int, default=5, help="maximum training epochs")
    p.add_argument("--limit", type=int, help="use at most N training images (and N/6 test images)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--calibration-samples", type=int, default=500)
    p.add_argument("--bench-runs", type=int, default=200)
    p.add_argument("--out", default="artifacts")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..pipeline import PipelineConfig, run_pipeline

    config = PipelineConfig(dataset=args.dataset, data_dir=args.data_dir, epochs=args.epochs, limit=args.limit,
                            seed=args.seed, out=args.out, calibration_samples=args.calibration_samples,
                            bench_runs=args.bench_runs)
    result = run_pipeline(config, log=lambda m: print(m, flush=True))
    return 3 if result.verification_failure else 0
