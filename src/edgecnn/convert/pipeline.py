"""`convert`: one Keras model in, verified TFLite/ONNX artifacts plus manifest.json out.

Order matters for the "no half-written artifact" promise: every input check runs
first, every artifact is built and verified in memory, and only then is anything
written: the whole set is staged beside OUT's files and moved in together, manifest.json
last (fsutil.OutputSet). A full disk or any other failure leaves the previous set as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets import Dataset
from ..errors import VerificationError
from ..filenames import ARTIFACT_FILES, LABELS_FILE, MANIFEST_FILE
from ..formats import BY_NAME, TFLITE
from ..fsutil import OutputSet, labels_text, output_folder, sha256_file
from ..log import Log, get_logger
from ..runtime.modelinput import to_model_input
from .config import ConvertConfig
from .describe import artifact_metadata, trained_views
from .manifest import Artifact, build_manifest, earlier_entries, results_table

logger = get_logger(__name__)



@dataclass
class ConvertResult:
    """What a run wrote: the manifest (as written) and each format's file."""

    out_dir: Path
    manifest: dict[str, Any]
    artifacts: dict[str, Path] = field(default_factory=dict)
    manifest_path: Path | None = None

    @property
    def failures(self) -> list[str]:
        """"format: reason" for each artifact in the manifest that failed verification."""
        return [f"{e['format']}: {e['failure']}" for e in self.manifest["artifacts"] if e.get("failure")]


def convert(config: ConvertConfig, log: Log = logger.info) -> ConvertResult:
    """Build, verify and write every format in `config`; raise VerificationError (exit 3) after
    writing the manifest if an artifact misses its threshold, WriteError (exit 2, previous files
    unchanged) if the set cannot be written. A failed run removes the output folder it created."""
    from .source import check_model_file

    config.validate()
    model_path = check_model_file(config.model_path)
    with output_folder(Path(config.out) if config.out else model_path.parent) as out:
        return _run(config, model_path, out, log)


def _run(config: ConvertConfig, model_path: Path, out: Path, log: Log) -> ConvertResult:
    from ..train.model import load_keras_model
    from .source import choose_dataset, load_source_dataset

    formats = config.ordered_formats()
    choice = choose_dataset(config, model_path)
    log(f"loading {model_path}")
    model = load_keras_model(model_path)
    dataset = load_source_dataset(choice, int(model.outputs[0].shape[-1]), model_path, log)
    _log_dataset(dataset, choice.from_train_json, log)
    calibration = _calibration(config, dataset, formats, choice.seed, log)

    reference = model.predict(to_model_input(dataset.x_test), batch_size=256, verbose=0).astype(np.float64)
    keras_accuracy = float(np.mean(reference.argmax(1) == dataset.y_test))
    views = trained_views(model_path)
    artifacts = [_build(fmt, model, dataset, calibration, config, views, log) for fmt in formats]
    for artifact in artifacts:
        _verify(artifact, dataset.x_test, reference, dataset.y_test, config.max_int8_drop, log)
    settings = _settings(config, choice.seed, calibration)
    return _write(out, model_path, dataset, keras_accuracy, artifacts, settings, log)


def _settings(config: ConvertConfig, seed: int, calibration: np.ndarray | None) -> dict[str, Any]:
    from ..formats import MAX_ABS_DIFF, MIN_AGREEMENT

    return {
        "calibration_samples": None if calibration is None else int(len(calibration)),
        "calibration_source": "training split, class-balanced",
        "seed": seed,
        "uint8_io": config.uint8_io,
        "opset": config.opset,
        "thresholds": {"max_int8_drop_pp": config.max_int8_drop, "min_float_agreement": MIN_AGREEMENT,
                       "max_float_abs_diff": MAX_ABS_DIFF},
    }


def _log_dataset(dataset: Dataset, from_train_json: bool, log: Log) -> None:
    tag = " (SYNTHETIC data)" if dataset.synthetic else ""
    source = " (from train.json)" if from_train_json else ""
    log(f"dataset {dataset.name}{tag}{source}: {len(dataset.y_train)} train / {len(dataset.y_test)} test images")


def _calibration(config: ConvertConfig, dataset: Dataset, formats: list[str], seed: int, log: Log) -> np.ndarray | None:
    if not any(BY_NAME[f].int8 for f in formats):
        return None
    from .calibration import calibration_images

    images = calibration_images(dataset, config.calibration_samples, seed)
    log(f"calibration: {len(images)} training images, class-balanced")
    return images


def _build(fmt: str, model: Any, dataset: Dataset, calibration: np.ndarray | None,
           config: ConvertConfig, views: str, log: Log) -> Artifact:
    """One format's bytes with its description embedded (`views`: describe.trained_views)."""
    started = time.perf_counter()
    log(f"converting to {fmt} ...")
    if BY_NAME[fmt].engine == TFLITE:
        from .tflite import convert_tflite, finish_tflite, tflite_io

        raw = convert_tflite(model, fmt, calibration, config.uint8_io)
        inp, outp = tflite_io(raw)
        data = finish_tflite(raw, artifact_metadata(fmt, dataset, inp, outp, views))
    else:
        from .onnx_export import export_onnx, finish_onnx, onnx_io, quantize_onnx_int8

        proto = export_onnx(model, config.opset)
        if BY_NAME[fmt].int8:
            proto = quantize_onnx_int8(proto, calibration)
        inp, outp = onnx_io(proto)
        data = finish_onnx(proto, artifact_metadata(fmt, dataset, inp, outp, views))
    log(f"  {ARTIFACT_FILES[fmt]}: {len(data) / 1024:.1f} KB, input {inp['dtype']} {inp['shape']}"
        f"{_quant(inp)}, output {outp['dtype']}{_quant(outp)} ({time.perf_counter() - started:.1f} s)")
    return Artifact(fmt, ARTIFACT_FILES[fmt], data, inp, outp, BY_NAME[fmt].engine)


def _quant(desc: dict) -> str:
    return "" if desc["scale"] is None else f" (scale {desc['scale']:.6g}, zero point {desc['zero_point']})"


def _verify(artifact: Artifact, images: np.ndarray, reference: np.ndarray, labels: np.ndarray,
            max_int8_drop: float, log: Log) -> None:
    from .verify import compare, predict

    log(f"verifying {artifact.format} on {len(labels)} test images (edgecnn runtime, {artifact.engine} interpreter) ...")
    probs = predict(artifact.file, artifact.data, images)
    artifact.verification = compare(artifact.format, probs, reference, labels, max_int8_drop).as_dict()


def _write(out: Path, model_path: Path, dataset: Dataset, keras_accuracy: float,
           artifacts: list[Artifact], settings: dict, log: Log) -> ConvertResult:
    earlier = earlier_entries(out, sha256_file(model_path), dataset)
    manifest = build_manifest(model_path, dataset, keras_accuracy, artifacts, earlier, settings)
    with OutputSet(out) as files:
        for a in artifacts:
            files.write_bytes(a.file, a.data)
        files.write_bytes(LABELS_FILE, labels_text(dataset.class_names))
        files.write_json(MANIFEST_FILE, manifest)
        written = files.commit(last=MANIFEST_FILE)
    paths = {a.format: written[a.file] for a in artifacts}
    manifest_path = written[MANIFEST_FILE]
    log(results_table(manifest))
    log(f"wrote {', '.join(a.file for a in artifacts)}, {LABELS_FILE}, {MANIFEST_FILE} in {out}")
    result = ConvertResult(out, manifest, paths, manifest_path)
    failed = [f for f in result.failures if f.split(":")[0] in paths]
    if failed:
        raise VerificationError(f"verification failed ({'; '.join(failed)}); see {manifest_path}", result)
    return result
