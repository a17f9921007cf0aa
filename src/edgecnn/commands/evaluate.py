"""`edgecnn evaluate`."""

from __future__ import annotations

import argparse
import json

from .common import add_subcommand

EXAMPLES = """  edgecnn evaluate --model artifacts/model.keras --model artifacts/model_int8.tflite
  edgecnn evaluate --model artifacts/model.onnx --dataset synthetic --plots artifacts/plots --json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_subcommand(sub, "evaluate", "accuracy, per-class precision/recall, agreement and confusion matrix of models", EXAMPLES)
    p.add_argument("--model", action="append", required=True, help="a .keras, .tflite or .onnx model (repeat for several)")
    p.add_argument("--dataset", help="fashion-mnist, synthetic or folder:DIR (default: the one recorded beside the model)")
    p.add_argument("--data-dir", help="folder with the Fashion-MNIST IDX files")
    p.add_argument("--seed", type=int, help="dataset seed (default: the one in train.json beside the model, else 0)")
    p.add_argument("--limit", type=int, help="use at most N training images and N/6 test images (default: train.json's)")
    p.add_argument("--plots", metavar="DIR", help="write confusion-matrix PNGs here")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluate.evaluate import EvaluateConfig, evaluate, format_report

    config = EvaluateConfig(args.model, args.dataset, args.data_dir, args.seed, args.limit, args.plots)
    result = evaluate(config, log=(lambda m: None) if args.json else (lambda m: print(m, flush=True)))
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return 0
