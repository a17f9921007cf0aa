"""`edgecnn evaluate`."""

from __future__ import annotations

import argparse
import json

from ..errors import ExitStatus
from .common import add_dataset_args, add_list_argument, add_subcommand

EXAMPLES = """  edgecnn evaluate --model artifacts/model.keras --model artifacts/model_int8.tflite
  edgecnn evaluate --model artifacts/model_int8.tflite,artifacts/model_float32.tflite
  edgecnn evaluate --model artifacts/model.onnx --dataset synthetic --plots artifacts/plots --json
  edgecnn evaluate --model artifacts/model_int8.tflite --views auto     # as classify answers, views included

Every model (and matplotlib, with --plots) is checked before the test split is loaded.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_subcommand(sub, "evaluate", "accuracy, per-class precision/recall, agreement and confusion matrix of models", EXAMPLES)
    add_list_argument(p, "--model", required=True, keep_files=True, metavar="MODEL",
                      help="a .keras, .tflite or .onnx model; several are compared side by side")
    add_dataset_args(p, recorded=True)
    p.add_argument("--plots", metavar="DIR", help="write one confusion-matrix PNG per model here (needs matplotlib)")
    from ..runtime.views import CHOICES

    p.add_argument("--views", choices=CHOICES, default="none",
                   help="test-time views for .tflite/.onnx models, as classify's --views (default none: the model "
                        "itself, comparable with Keras and train.json; auto: what edgecnn classify answers); "
                        "a .keras model runs once per image")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluate.evaluate import EvaluateConfig, check_config, evaluate, format_report

    config = EvaluateConfig(args.model, args.dataset, args.data_dir, args.seed, args.limit, args.plots, args.views)
    check_config(config)
    result = evaluate(config)  # progress through edgecnn.log: stdout, or stderr with --json
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return ExitStatus.SUCCESS
