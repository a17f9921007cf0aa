"""`edgecnn bench`."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from ..errors import ExitStatus
from .common import add_list_argument, add_subcommand, positive_int

if TYPE_CHECKING:
    from ..bench.runner import BenchConfig

EXAMPLES = """  edgecnn bench --model artifacts/model_int8.tflite --model artifacts/model_float32.tflite
  edgecnn bench --model artifacts/model_int8.tflite,artifacts/model.onnx --backend litert,onnxruntime
  edgecnn bench --model artifacts/model_int8.tflite --model artifacts/model.onnx --threads 1,2,4 --batch 1,32 --json

Every model, backend, thread count and batch size is checked before the first timing starts.
"""


#: What --backend accepts: every backend bench knows, for any model format.
BACKEND_CHOICES = ("litert", "tflite_runtime", "tensorflow", "onnxruntime", "keras")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_subcommand(sub, "bench", "load time, latency percentiles, throughput and peak memory per model/backend/threads", EXAMPLES)
    add_list_argument(p, "--model", required=True, keep_files=True, metavar="MODEL",
                      help="a .tflite, .onnx or .keras model; several are benchmarked one after another")
    add_list_argument(p, "--threads", item_type=positive_int, default=[1], metavar="N",
                      help="interpreter thread counts")
    add_list_argument(p, "--batch", item_type=positive_int, default=[1], metavar="N", help="batch sizes")
    p.add_argument("--runs", type=int, default=200, help="timed runs per configuration")
    p.add_argument("--warmup", type=int, default=20, help="untimed runs first")
    add_list_argument(p, "--backend", choices=BACKEND_CHOICES,
                      help="only these backends; without it, every installed one that can run each model")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..bench.runner import BenchConfig, format_result, run_bench

    config = BenchConfig(models=args.model, threads=args.threads, batches=args.batch,
                         runs=args.runs, warmup=args.warmup, backends=args.backend)
    check_before_running(config)
    result = run_bench(config)  # progress through edgecnn.log: stdout, or stderr with --json
    print(json.dumps(result, indent=2) if args.json else format_result(result))
    return ExitStatus.SUCCESS


def check_before_running(config: BenchConfig) -> None:
    """Every model exists and has a backend to run it, before the first (long) timing starts.

    Raises the same error run_bench would raise part-way through, naming the model.
    """
    from ..bench.runner import available_backends

    config.validate()
    for model in config.models:
        available_backends(model, config.backends)
