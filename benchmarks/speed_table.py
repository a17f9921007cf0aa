"""README's speed table in one go: several `edgecnn bench` passes, each format's p50 latency as a measured range.

    .venv/bin/python benchmarks/speed_table.py --model artifacts/real/model_int8.tflite \\
        --model artifacts/real/model_float32.tflite --model artifacts/real/model_float16.tflite \\
        --model artifacts/real/model.onnx --model artifacts/real/model_int8.onnx

Every pass runs every model in a fresh worker process (as `edgecnn bench` does), one thread, batch 1;
the table gives min-max of the passes' p50s, the machine line (CPU and its relevant flags) above it
and bench's "fastest here" verdict, judged on the median p50 of each configuration, below it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from edgecnn.bench.machine import facts_line
from edgecnn.bench.runner import BenchConfig, fastest_verdict, run_bench, verdict_line


def measure(models: list[str], repeats: int, runs: int, warmup: int, threads: int) -> dict[str, Any]:
    """`repeats` bench passes; one row per configuration with every pass's p50 in `p50s`."""
    merged: dict[tuple, dict[str, Any]] = {}
    machine: dict[str, Any] = {}
    for i in range(repeats):
        print(f"pass {i + 1}/{repeats}", file=sys.stderr, flush=True)
        result = run_bench(BenchConfig(models=models, threads=[threads], batches=[1], runs=runs, warmup=warmup),
                           log=lambda message: None)
        machine = result["machine"]
        for row in result["rows"]:
            key = (row["model"], row["backend"], row["threads"], row["batch"])
            merged.setdefault(key, {**row, "p50s": []})["p50s"].append(row["p50_us"])
    rows = list(merged.values())
    for row in rows:
        row["p50_us"] = statistics.median(row["p50s"])
    return {"machine": machine, "rows": rows, "verdict": fastest_verdict(rows, machine.get("cpu_flags", []))}


def markdown(result: dict[str, Any], repeats: int, runs: int) -> str:
    """The measured ranges as a markdown table between the machine line and the verdict."""
    rows = result["rows"]
    fastest = min(row["p50_us"] for row in rows)
    lines = [facts_line(result["machine"]), "",
             f"| format | file | backend | KB | p50 latency, us (min-max of {repeats} runs x {runs}) | vs fastest (medians) |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        low, high = min(row["p50s"]), max(row["p50s"])
        lines.append(f"| {row['format']} | {Path(row['model']).name} | {row['backend']} | {row['file_kb']:.0f} | "
                     f"{low:.1f}-{high:.1f} | {row['p50_us'] / fastest:.2f}x |")
    lines += ["", verdict_line(result["verdict"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the passes, print the markdown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, help="a .tflite or .onnx model (repeat for several)")
    parser.add_argument("--repeats", type=int, default=5, help="bench passes; the table gives min-max over them")
    parser.add_argument("--runs", type=int, default=300, help="timed runs per model per pass")
    parser.add_argument("--warmup", type=int, default=30, help="untimed runs first, per model per pass")
    parser.add_argument("--threads", type=int, default=1, help="interpreter threads")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    print(markdown(measure(args.model, args.repeats, args.runs, args.warmup, args.threads), args.repeats, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
