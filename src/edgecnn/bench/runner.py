"""`edgecnn bench`: every model x backend x threads x batch, each in a fresh process."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ModelError, UsageError
from ..formats import KERAS, ONNX, TFLITE, model_kind
from ..log import Log, get_logger
from ..runtime.backends import ONNX_BACKEND, TFLITE_BACKENDS
from .machine import INT8_DOT_FLAGS, facts_line, int8_dot_flags, machine_facts

#: Backends per model kind as (name, top-level module), in the runtime's own order; only importable ones run.
BACKENDS = {
    TFLITE: tuple((name, module.split(".")[0]) for name, module, _ in TFLITE_BACKENDS),
    ONNX: ((ONNX_BACKEND, "onnxruntime"),),
    KERAS: (("keras", "keras"),),
}
WORKER_TIMEOUT_S = 600
#: int8 and float p50 latencies closer than this ratio are reported as a tie, not a win.
TIE_RATIO = 1.05

logger = get_logger(__name__)


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
            model_kind(path, keras_ok=True)  # ModelError for any other suffix


def parse_int_list(text: str, flag: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"{flag} takes comma-separated whole numbers, e.g. 1,2,4 (got '{text}')") from None


def available_backends(model: str, wanted: list[str] | None) -> list[str]:
    names = [name for name, module in BACKENDS[model_kind(model, keras_ok=True)] if importlib.util.find_spec(module) is not None]
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


def model_format(model: str) -> str:
    """The model's format as convert names it ("tflite-int8", "onnx", ...), from its embedded metadata.

    A model without edgecnn metadata is named by its file: "int8"/"float16" in the name, else float32.
    """
    from ..modelmeta import read_metadata

    path = Path(model)
    if model_kind(path, keras_ok=True) == KERAS:
        return KERAS
    try:
        fmt = (read_metadata(path) or {}).get("format")
    except Exception:  # a model bench cannot read metadata from still gets a name
        fmt = None
    if isinstance(fmt, str) and fmt:
        return fmt
    precision = next((p for p in ("int8", "float16") if p in path.name), "float32")
    return f"{model_kind(path)}-{precision}"


def is_int8(fmt: str) -> bool:
    """Whether a format name (model_format's) is an int8-quantized one."""
    return "int8" in fmt


def fastest_verdict(rows: list[dict[str, Any]], cpu_flags: list[str]) -> dict[str, Any] | None:
    """Which format is fastest here and why, from the measured rows and the CPU's flags.

    Rows of the smallest batch size measured are compared (batch 1 in a default run), each
    format at its best thread count. `why` says whether int8 had dot-product instructions
    (VNNI on x86, asimddp/i8mm on ARM) and by how much int8 and the best float format differ.
    """
    if not rows:
        return None
    batch = min(row["batch"] for row in rows)
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        fmt = row.get("format") or model_format(row["model"])
        if row["batch"] == batch and (fmt not in best or row["p50_us"] < best[fmt]["p50_us"]):
            best[fmt] = {**row, "format": fmt}
    winner = min(best.values(), key=lambda r: r["p50_us"])
    ints = [r for f, r in best.items() if is_int8(f)]
    floats = [r for f, r in best.items() if not is_int8(f)]
    dot = int8_dot_flags(cpu_flags)
    dot_names = f"{INT8_DOT_FLAGS[dot[0]]} ({', '.join(dot)})" if dot else ""
    if len(best) == 1:
        why = "the only format measured"
    elif not ints:
        why = "fastest of the float formats measured (no int8 model was benchmarked)"
    elif not floats:
        why = "fastest of the int8 formats measured (no float model was benchmarked)"
    else:
        int8, flt = min(ints, key=lambda r: r["p50_us"]), min(floats, key=lambda r: r["p50_us"])
        ratio = max(int8["p50_us"], flt["p50_us"]) / min(int8["p50_us"], flt["p50_us"])
        if ratio < TIE_RATIO:
            why = (f"int8 ({int8['format']}) and float ({flt['format']}) are within {(TIE_RATIO - 1) * 100:.0f}% "
                   f"of each other here" + (f" (this CPU has {dot_names})" if dot else " (no int8 dot-product instructions here)"))
        elif is_int8(winner["format"]):
            why = (f"int8 uses {dot_names} on this CPU" if dot else
                   "int8 is faster here even without int8 dot-product instructions")
            why += f": {ratio:.1f}x faster than {flt['format']}"
        elif dot:
            why = f"{winner['format']} wins although this CPU has {dot_names}: int8 ({int8['format']}) is {ratio:.1f}x slower here"
        else:
            why = f"no int8 dot-product instructions here: {winner['format']} wins, int8 ({int8['format']}) is {ratio:.1f}x slower"
    return {"format": winner["format"], "model": winner["model"], "backend": winner["backend"],
            "threads": winner["threads"], "batch": batch, "p50_us": winner["p50_us"], "why": why}


def verdict_line(verdict: dict[str, Any] | None) -> str:
    """"fastest here: <format> (<file>, <backend>), <why>"; empty when nothing was measured."""
    if not verdict:
        return ""
    return f"fastest here: {verdict['format']} ({Path(verdict['model']).name}, {verdict['backend']}), {verdict['why']}"


def run_bench(config: BenchConfig, log: Log = logger.info) -> dict[str, Any]:
    """Every model x backend x threads x batch in its own worker process; rows, machine facts and the verdict."""
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
                    row["format"] = model_format(model)
                    log(f"  {Path(model).name} {backend} threads={threads} batch={batch}: p50 {row['p50_us']} us")
                    rows.append(row)
    add_ratios(rows)
    warning = int8_warning(rows)
    if warning:
        logger.warning(warning)
    return {"machine": facts, "rows": rows, "warning": warning, "verdict": fastest_verdict(rows, facts["cpu_flags"])}


def format_result(result: dict[str, Any]) -> str:
    """The table of rows, then the "fastest here" line."""
    return "\n".join(filter(None, [format_table(result["rows"]), verdict_line(result.get("verdict"))]))


def format_table(rows: list[dict[str, Any]]) -> str:
    """The rows as an aligned text table, one line per model/backend/threads/batch."""
    header = f"{'model':<24} {'backend':<15} {'thr':>3} {'batch':>5} {'load ms':>8} {'p50 us':>9} {'p90 us':>9} {'p99 us':>9} {'img/s':>9} {'RSS MB':>7} {'KB':>7} {'ratio':>6}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{Path(r['model']).name[:24]:<24} {r['backend']:<15} {r['threads']:>3} {r['batch']:>5} {r['load_ms']:>8.1f} "
            f"{r['p50_us']:>9.1f} {r['p90_us']:>9.1f} {r['p99_us']:>9.1f} {r['images_per_s']:>9.0f} "
            f"{r['peak_rss_mb']:>7.0f} {r['file_kb']:>7.1f} {r['ratio_to_fastest']:>5.2f}x"
        )
    return "\n".join(lines)
