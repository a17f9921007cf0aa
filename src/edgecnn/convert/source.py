"""The Keras model being converted and the dataset it was trained on.

Everything that can be wrong with the user's input (missing file, not a Keras model,
no 28x28 image input, class count that does not match the dataset) is found here,
before a single artifact is built.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .. import INPUT_SHAPE
from ..datasets import Dataset, load_dataset
from ..errors import ModelError
from .config import ConvertConfig

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
TRAIN_JSON = "train.json"


@dataclass
class DatasetChoice:
    """Which dataset to load, and whether it came from the model's train.json."""

    spec: str
    data_dir: str | None
    seed: int
    limit: int | None
    from_train_json: bool


def check_model_file(path: str) -> Path:
    """The model path, if it names a readable Keras file; else a one-line ModelError."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelError(f"{p}: no such file")
    if p.is_dir():
        raise ModelError(f"{p}: is a folder, not a Keras model file")
    if p.suffix.lower() not in KERAS_SUFFIXES:
        raise ModelError(f"{p}: not a Keras model file (expected {', '.join(KERAS_SUFFIXES)})")
    if p.stat().st_size == 0:
        raise ModelError(f"{p}: empty file (0 bytes)")
    return p


def load_keras_model(path: Path) -> Any:
    """Load without compiling (conversion needs no optimizer); any failure is a ModelError."""
    from ..tfenv import import_tensorflow, quiet_stderr

    import_tensorflow()
    import keras

    try:
        with quiet_stderr():
            model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises ValueError, OSError, zipfile errors, KeyError...
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: not a readable Keras model ({reason[:200]})") from None
    check_image_model(path, model)
    return model


def check_image_model(path: Path, model: Any) -> None:
    """One 28x28x1 image input and one (batch, classes) output, or a ModelError saying what it has."""
    inputs, outputs = list(getattr(model, "inputs", None) or []), list(getattr(model, "outputs", None) or [])
    if len(inputs) != 1:
        raise ModelError(f"{path}: model has {len(inputs)} inputs; expected one image input {_shape((None, *INPUT_SHAPE))}")
    shape = tuple(inputs[0].shape)
    if shape[1:] != INPUT_SHAPE:
        raise ModelError(f"{path}: model input {_shape(shape)} is not an image input {_shape((None, *INPUT_SHAPE))}")
    if len(outputs) != 1 or len(tuple(outputs[0].shape)) != 2:
        got = ", ".join(_shape(tuple(o.shape)) for o in outputs) or "none"
        raise ModelError(f"{path}: model output {got} is not one (batch, classes) vector")


def _shape(shape: tuple) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def read_train_json(model_path: Path) -> dict | None:
    """train.json beside the model, if there is a readable one (it is a hint, not a requirement)."""
    path = model_path.parent / TRAIN_JSON
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def choose_dataset(config: ConvertConfig, model_path: Path) -> DatasetChoice:
    """--dataset if given, else the one train.json records, else Fashion-MNIST (train's default)."""
    report = read_train_json(model_path) if config.dataset is None else None
    recorded = (report or {}).get("dataset") or {}
    if config.dataset is None and isinstance(recorded, dict) and recorded.get("name"):
        seed = config.seed if config.seed is not None else int(report.get("seed") or 0)
        limit = config.limit if config.limit is not None else report.get("limit")
        return DatasetChoice(_recorded_spec(recorded), config.data_dir, seed, limit, True)
    return DatasetChoice(config.dataset or "fashion-mnist", config.data_dir, config.seed or 0, config.limit, False)


def _recorded_spec(recorded: dict) -> str:
    """train.json's dataset as a --dataset value; a folder by its absolute path, so any cwd works."""
    name, source = str(recorded["name"]), str(recorded.get("source") or "")
    if name.startswith("folder:") and Path(source).is_absolute():
        return f"folder:{source}"
    return name


def load_source_dataset(choice: DatasetChoice, num_outputs: int, model_path: Path,
                        log: Callable[[str], None]) -> Dataset:
    """Load the dataset and check that its classes match the model's outputs."""
    dataset = load_dataset(choice.spec, choice.data_dir, choice.seed, choice.limit, log)
    if dataset.num_classes != num_outputs:
        raise ModelError(
            f"{model_path}: model has {num_outputs} outputs but dataset {dataset.name} has "
            f"{dataset.num_classes} classes; pass the dataset it was trained on with --dataset"
        )
    return dataset
