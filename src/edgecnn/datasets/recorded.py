"""The dataset a model was trained on, as the train.json beside it records.

convert and evaluate default to it, so calibration, verification and evaluation use
the model's own training and test split (same dataset, seed and limit) unless told
otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import documents
from ..filenames import TRAIN_JSON



@dataclass
class DatasetChoice:
    """Which dataset to load, and whether it came from the model's train.json."""

    spec: str
    data_dir: str | None
    seed: int
    limit: int | None
    from_train_json: bool


def read_train_json(model_path: Path) -> dict | None:
    """train.json beside the model, or None when there is none (it is a hint, not a requirement).

    One that is there is checked by edgecnn.documents: a `"seed": "abc"` or `"limit": -5`
    raises UsageError naming the file (exit 2) rather than a traceback or a guess;
    `--dataset` skips it.
    """
    path = Path(model_path).parent / TRAIN_JSON
    if not path.exists() and not path.is_symlink():
        return None
    report = documents.read_json(documents.TRAIN_JSON, path)
    if not isinstance(report, dict):
        raise documents.TRAIN_JSON.error(f"{path}: {TRAIN_JSON} is not a JSON object; fix it or pass --dataset")
    return report


def choose_dataset(spec: str | None, data_dir: str | None, seed: int | None, limit: int | None,
                   model_path: Path) -> DatasetChoice:
    """`spec` if given, else the dataset train.json records (with its seed and limit), else Fashion-MNIST."""
    report = read_train_json(model_path) if spec is None else None
    recorded = (report or {}).get("dataset") or {}
    if spec is None and isinstance(recorded, dict) and recorded.get("name"):
        seed = seed if seed is not None else int(report.get("seed") or 0)
        limit = limit if limit is not None else report.get("limit")
        return DatasetChoice(_recorded_spec(recorded), data_dir or _recorded_data_dir(recorded), seed, limit, True)
    return DatasetChoice(spec or "fashion-mnist", data_dir, seed or 0, limit, False)


def _recorded_data_dir(recorded: dict) -> str | None:
    """The folder Fashion-MNIST was read from at training time, when it is still there."""
    source = str(recorded.get("source") or "")
    if recorded.get("name") == "fashion-mnist" and source and Path(source).is_dir():
        return source
    return None


def _recorded_spec(recorded: dict) -> str:
    """train.json's dataset as a --dataset value; a folder by its absolute path, so any cwd works."""
    name, source = str(recorded["name"]), str(recorded.get("source") or "")
    if name.startswith("folder:") and Path(source).is_absolute():
        return f"folder:{source}"
    return name
