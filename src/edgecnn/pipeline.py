"""`edgecnn pipeline`: train -> convert (every format) -> evaluate -> bench -> report.md.

One command for the whole journey, so the report's numbers all come from one run on
one machine. A conversion that fails verification does not stop the report (the
user needs to see why), but the pipeline still exits 3 at the end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .errors import VerificationError
from .fsutil import ensure_output_dir

FORMATS = ["int8", "float32", "float16", "onnx"]


@dataclass
class PipelineConfig:
    dataset: str = "fashion-mnist"
    data_dir: str | None = None
    epochs: int = 5
    limit: int | None = None
    seed: int = 0
    out: str = "artifacts"
    calibration_samples: int = 500
    bench_runs: int = 200
    threads: tuple[int, ...] = (1,)


@dataclass
class PipelineResult:
    out_dir: Path
    report_path: Path
    verification_failure: str | None


def step(log: Callable[[str], None], title: str) -> None:
    log(f"\n=== {title} ===")


def run_pipeline(config: PipelineConfig, log: Callable[[str], None] = print) -> PipelineResult:
    from .bench.runner import BenchConfig, run_bench
    from .convert import ConvertConfig, convert
    from .evaluate.evaluate import EvaluateConfig, evaluate
    from .train.trainer import TrainConfig, train

    out = ensure_output_dir(config.out)
    started = time.perf_counter()
    step(log, "1/4 train")
    trained = train(TrainConfig(dataset=config.dataset, data_dir=config.data_dir, epochs=config.epochs,
                                limit=config.limit, seed=config.seed, out=str(out)), log)
    step(log, "2/4 convert")
    failure = None
    try:
        convert(ConvertConfig(model_path=str(trained.model_path), formats=FORMATS, out=str(out), dataset=config.dataset,
                              data_dir=config.data_dir, calibration_samples=config.calibration_samples,
                              seed=config.seed, limit=config.limit), log)
    except VerificationError as exc:
        failure = str(exc)
        log(f"conversion verification FAILED: {failure} (the report still follows)")
    models = [str(p) for p in (out / "model.keras", out / "model_int8.tflite", out / "model_float32.tflite",
                               out / "model_float16.tflite", out / "model.onnx") if p.is_file()]
    step(log, "3/4 evaluate")
    evaluation = evaluate(EvaluateConfig(models, config.dataset, config.data_dir, config.seed, config.limit,
                                         plots=str(out / "plots")), log)
    step(log, "4/4 bench")
    bench = run_bench(BenchConfig(models=[m for m in models if not m.endswith(".keras")], threads=list(config.threads),
                                  runs=config.bench_runs, warmup=min(20, config.bench_runs)), log)
    from .report import write_report

    report_path = write_report(out, trained.report, evaluation, bench, failure, time.perf_counter() - started)
    log(f"\nreport: {report_path}")
    return PipelineResult(out, report_path, failure)
