"""`edgecnn pipeline`."""

from __future__ import annotations

import argparse

from ..errors import ExitStatus
from .common import add_dataset_args, add_subcommand

EXAMPLES = """  edgecnn pipeline --out artifacts                      # the full edgecnn recipe on Fashion-MNIST
  edgecnn pipeline --epochs 5 --out artifacts/quick
  edgecnn pipeline --dataset synthetic --epochs 3 --limit 6000 --out artifacts/demo
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_subcommand(sub, "pipeline", "train, convert to every format, evaluate, bench, and write report.md", EXAMPLES)
    add_dataset_args(p)
    from ..train.recipes import DEFAULT_RECIPE, RECIPES

    p.add_argument("--recipe", choices=list(RECIPES), default=DEFAULT_RECIPE, help="training recipe (see train --help)")
    p.add_argument("--epochs", type=int, help="training epochs (default: the recipe's)")
    p.add_argument("--photos", type=float, metavar="SHARE",
                   help="share (0-1) of training images also shown as photo-like pictures (see train --help; "
                        "default: the recipe's choice for the dataset)")
    p.add_argument("--calibration-samples", type=int, default=500,
                   help="training images the int8 conversions calibrate on")
    p.add_argument("--bench-runs", type=int, default=200, help="timed inferences per model and thread count")
    p.add_argument("--out", default="artifacts", help="output folder: every artifact, plots/ and report.md")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..pipeline import PipelineConfig, run_pipeline

    config = PipelineConfig(dataset=args.dataset, data_dir=args.data_dir, recipe=args.recipe, epochs=args.epochs,
                            photos=args.photos, limit=args.limit,
                            seed=args.seed, out=args.out, calibration_samples=args.calibration_samples,
                            bench_runs=args.bench_runs)
    result = run_pipeline(config)  # progress through edgecnn.log (stdout; -q: warnings only)
    return ExitStatus.VERIFICATION_FAILED if result.verification_failure else ExitStatus.SUCCESS
