"""`edgecnn pipeline`: train -> convert (every format) -> evaluate -> bench -> report.md.

One command for the whole journey, so the report's numbers all come from one run on
one machine. A conversion that fails verification does not stop the report (the
user needs to see why), but the pipeline still exits 3 at the end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from .errors import UsageError, VerificationError
from .filenames import MODEL_FILE
from .formats import FORMAT_NAMES, FORMATS
from .fsutil import output_folder
from .log import Log, get_logger

#: What every step of the pipeline imports, as (module, pip package): checked before training starts.
REQUIRED_MODULES = (
    ("tensorflow", "tensorflow"),  # train, convert
    ("tf2onnx", "tf2onnx"),  # convert: model.onnx
    ("onnx", "onnx"),  # convert: model_int8.onnx
    ("onnxruntime", "onnxruntime"),  # convert (verification), evaluate and bench of the .onnx models
    ("ai_edge_litert", "ai-edge-litert"),  # evaluate and bench of the .tflite models
    ("matplotlib", "matplotlib"),  # report.md's plots
)

logger = get_logger(__name__)


@dataclass
class PipelineConfig:
    dataset: str = "fashion-mnist"
    data_dir: str | None = None
    recipe: str = "edgecnn"
    epochs: int | None = None  # None: the recipe's
    photos: float | None = None  # None: the recipe's share for the dataset (train --photos)
    limit: int | None = None
    seed: int = 0
    out: str = "artifacts"
    calibration_samples: int = 500
    bench_runs: int = 200


@dataclass
class PipelineResult:
    out_dir: Path
    report_path: Path
    verification_failure: str | None


def step(log: Log, title: str) -> None:
    log(f"\n=== {title} ===")


def missing_requirements() -> list[str]:
    """The pip packages the pipeline needs that are not installed (an empty list when all are)."""
    import importlib.util

    return [package for module, package in REQUIRED_MODULES if importlib.util.find_spec(module) is None]


def check_requirements() -> None:
    """A UsageError naming every missing package and the install command, before any long work."""
    missing = missing_requirements()
    if missing:
        raise UsageError(f"pipeline needs {', '.join(missing)}, not installed (nothing was run): "
                         "pip install 'edgecnn[train,plots]'")


def run_pipeline(config: PipelineConfig, log: Log = logger.info) -> PipelineResult:
    """train -> convert -> evaluate -> bench -> report.md in config.out; exceptions as each step raises them.

    Every package a step needs is checked first, so a missing one (matplotlib for the report's
    plots, say) stops the run before training, not after an hour of it.
    """
    check_requirements()
    with output_folder(config.out) as out:  # a run that fails before writing anything leaves no folder
        return _run_pipeline(config, out, log)


def _run_pipeline(config: PipelineConfig, out: Path, log: Log) -> PipelineResult:
    from .bench.runner import BenchConfig, run_bench
    from .convert import ConvertConfig, convert
    from .evaluate.evaluate import EvaluateConfig, evaluate
    from .train.trainer import TrainConfig, train

    started = time.perf_counter()
    step(log, "1/4 train")
    trained = train(TrainConfig(dataset=config.dataset, data_dir=config.data_dir, recipe=config.recipe,
                                epochs=config.epochs, photos=config.photos, limit=config.limit, seed=config.seed, out=str(out)), log)
    # Every later step reads the data from where training found it (the folder train.json records).
    data_dir = config.data_dir or (trained.report["dataset"]["source"] if config.dataset == "fashion-mnist" else None)
    step(log, "2/4 convert")
    failure = None
    try:
        convert(ConvertConfig(model_path=str(trained.model_path), formats=list(FORMAT_NAMES), out=str(out),
                              dataset=config.dataset, data_dir=data_dir, calibration_samples=config.calibration_samples,
                              seed=config.seed, limit=config.limit), log)
    except VerificationError as exc:
        failure = str(exc)
        log(f"conversion verification FAILED: {failure} (the report still follows)")
    candidates = [out / MODEL_FILE] + [out / f.file for f in FORMATS]
    models = [str(p) for p in candidates if p.is_file()]
    step(log, "3/4 evaluate")
    evaluation = evaluate(EvaluateConfig(models, config.dataset, data_dir, config.seed, config.limit,
                                         plots=str(out / "plots")), log)
    step(log, "4/4 bench")
    bench = run_bench(BenchConfig(models=[m for m in models if not m.endswith(".keras")],  # one thread: the default
                                  runs=config.bench_runs, warmup=min(20, config.bench_runs)), log)
    from .report import write_report

    report_path = write_report(out, trained.report, evaluation, bench, failure, time.perf_counter() - started)
    log(f"\nreport: {report_path}")
    return PipelineResult(out, report_path, failure)
