"""The Keras model being converted and the dataset it was trained on.

Everything that can be wrong with the user's input (missing file, not a Keras model,
no 28x28 image input, class count that does not match the dataset) is found here,
before a single artifact is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..datasets import Dataset, load_dataset
from ..datasets.recorded import DatasetChoice
from ..datasets.recorded import choose_dataset as recorded_choice
from ..errors import ModelError
from .config import ConvertConfig

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


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


def choose_dataset(config: ConvertConfig, model_path: Path) -> DatasetChoice:
    """--dataset if given, else the one train.json records, else Fashion-MNIST (train's default)."""
    return recorded_choice(config.dataset, config.data_dir, config.seed, config.limit, model_path)


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
