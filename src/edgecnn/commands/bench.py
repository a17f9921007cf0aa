"""`edgecnn bench`."""

from __future__ import annotations

import argparse
import json

from .common import add_subcommand

EXAMPLES = """  edgecnn bench --model artifacts/model_int8.tflite --model artifacts/model_float32.tflite
  edgecnn bench --model artifacts/model_int8.tflite --model artifacts/model.onnx --threads 1,2,4 --batch 1,32 --json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_subcommand(sub, "bench", "load time, latency percentiles, throughput and peak memory per model/backend/threads", EXAMPLES)
    p.add_argument("--model", action="append", required=True, help="a .tflite, .onnx or .keras model (repeat for several)")
    p.add_argument("--threads", default="1", help="comma-separated interpreter thread counts")
    p.add_argument("--batch", default="1", help="comma-separated batch sizes")
    p.add_argument("--runs", type=int, default=200, help="timed runs per configuration")
    p.add_argument("--warmup", type=int, default=20, help="untimed runs first")
    p.add_argument("--backend", action="append", help="only these backends (litert, tflite_runtime, tensorflow, onnxruntime, keras)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..bench.runner import BenchConfig, format_result, parse_int_list, run_bench

    config = BenchConfig(
        models=args.model, threads=parse_int_list(args.threads, "--threads"), batches=parse_int_list(args.batch, "--batch"),
        runs=args.runs, warmup=args.warmup, backends=args.backend,
    )
    result = run_bench(config, log=(lambda m: None) if args.json else (lambda m: print(m, flush=True)))
    print(json.dumps(result, indent=2) if args.json else format_result(result))
    return 0
