"""`edgecnn bench`: every model x backend x threads x batch, each in a fresh process."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import ModelError, UsageError
from ..runtime.backends import ONNX_BACKEND, TFLITE_BACKENDS
from .machine import facts_line, machine_facts

#: Backends per model suffix as (name, top-level module), in the runtime's own order; only importable ones run.
BACKENDS = {
    ".tflite": tuple((name, module.split(".")[0]) for name, module, _ in TFLITE_BACKENDS),
    ".onnx": ((ONNX_BACKEND, "onnxruntime"),),
    ".keras": (("keras", "keras"),),
}
WORKER_TIMEOUT_S = 600


@dataclass
class BenchConfig:
    models: list[str]
    threads: list[int] = field(default_factory=lambda: [1])
    batches: list[int] = field(default_factory=lambda: [1])
    runs: int = 200
    warmup: int = 20
    backends: list[str] | None = None  # None: every importable backend for each format

    def validate(self) -> None:
        if not self.models:
            raise UsageError("give at least one --model")
        for name, values in (("--threads", self.threads), ("--batch", self.batches)):
            if not values or any(v < 1 for v in values):
                raise UsageError(f"{name} values must be whole numbers of at least 1 (got {values})")
        if self.runs < 1 or self.warmup < 0:
            raise UsageError("--runs must be at least 1 and --warmup at least 0")
        for model in self.models:
            path = Path(model)
            if not path.is_file():
                raise ModelError(f"{model}: no such model file")
            if path.suffix not in BACKENDS:
                raise ModelError(f"{model}: unknown model format '{path.suffix}' (use .tflite, .onnx or .keras)")


def parse_int_list(text: str, flag: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"{flag} takes comma-separated whole numbers, e.g. 1,2,4 (got '{text}')") from None


def available_backends(model: str, wanted: list[str] | None) -> list[str]:
    names = [name for name, module in BACKENDS[Path(model).suffix] if importlib.util.find_spec(module) is not None]
    if wanted:
        names = [name for name in names if name in wanted]
    if not names:
        raise ModelError(f"{model}: no installed backend can run it (have you installed edgecnn[pi] or [onnx]?)")
    # tensorflow.lite is a fallback for machines without LiteRT; benchmark it only when asked.
    if not wanted and len(names) > 1 and "tensorflow" in names:
        names.remove("tensorflow")
    return names


def run_worker(config: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": str(config["threads"])}
    proc = subprocess.run(
        [sys.executable, "-m", "edgecnn.bench.worker", json.dumps(config)],
        capture_output=True, text=True, timeout=WORKER_TIMEOUT_S, env=env,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else {"error": proc.stderr.strip().splitlines()[-1:] or "no output"}
    if "error" in result:
        raise ModelError(f"{config['model']}: cannot be benchmarked with {config['backend']}: {result['error']}")
    return result


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """Each row's p50 latency relative to the fastest row with the same batch size."""
    for batch in {row["batch"] for row in rows}:
        same = [row for row in rows if row["batch"] == batch]
        fastest = min(row["p50_us"] for row in same)
        for row in same:
            row["ratio_to_fastest"] = round(row["p50_us"] / fastest, 2)


def int8_warning(rows: list[dict[str, Any]]) -> str | None:
    """Users meet this on ARM: int8 kernels are not faster everywhere; say so when measured."""
    def best(tag: str) -> float | None:
        times = [r["p50_us"] for r in rows if r["batch"] == 1 and tag in Path(r["model"]).name and r["model"].endswith(".tflite")]
        return min(times) if times else None

    int8, float32 = best("int8"), best("float32")
    if int8 is not None and float32 is not None and int8 >= float32:
        return (f"warning: int8 ({int8:.1f} us) is not faster than float32 ({float32:.1f} us) on this machine; "
                "int8 still gives a 4x smaller file")
    return None


def run_bench(config: BenchConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    config.validate()
    facts = machine_facts()
    log(facts_line(facts))
    rows = []
    for model in config.models:
        for backend in available_backends(model, config.backends):
            for threads in config.threads:
                for batch in config.batches:
                    job = {"model": model, "backend": backend, "threads": threads, "batch": batch,
                           "runs": config.runs, "warmup": config.warmup}
                    row = run_worker(job)
                    row["file_kb"] = round(Path(model).stat().st_size / 1024, 1)
                    log(f"  {Path(model).name} {backend} threads={threads} batch={batch}: p50 {row['p50_us']} us")
                    rows.append(row)
    add_ratios(rows)
    warning = int8_warning(rows)
    if warning:
        log(warning)
    return {"machine": facts, "rows": rows, "warning": warning}


def format_table(rows: list[dict[str, Any]]) -> str:
    header = f"{'model':<24} {'backend':<15} {'thr':>3} {'batch':>5} {'load ms':>8} {'p50 us':>9} {'p90 us':>9} {'p99 us':>9} {'img/s':>9} {'RSS MB':>7} {'KB':>7} {'ratio':>6}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{Path(r['model']).name[:24]:<24} {r['backend']:<15} {r['threads']:>3} {r['batch']:>5} {r['load_ms']:>8.1f} "
            f"{r['p50_us']:>9.1f} {r['p90_us']:>9.1f} {r['p99_us']:>9.1f} {r['images_per_s']:>9.0f} "
            f"{r['peak_rss_mb']:>7.0f} {r['file_kb']:>7.1f} {r['ratio_to_fastest']:>5.2f}x"
        )
    return "\n".join(lines)
