"""Datasets by name: `fashion-mnist`, `synthetic`, or `folder:DIR`.

numpy and Pillow only, so convert, evaluate and the runtime's tools can load test
images without TensorFlow.
"""

from __future__ import annotations

import os

from ..errors import DatasetError
from ..log import Log, get_logger
from .base import Dataset

DATASET_CHOICES = "fashion-mnist, synthetic, or folder:DIR"

logger = get_logger(__name__)


def load_dataset(
    spec: str,
    data_dir: str | os.PathLike[str] | None = None,
    seed: int = 0,
    limit: int | None = None,
    log: Log = logger.info,
) -> Dataset:
    """Load a dataset by its name on the command line; `limit` caps the training split."""
    spec = (spec or "").strip()
    if spec == "fashion-mnist":
        from .fashion_mnist import load_fashion_mnist

        dataset = load_fashion_mnist(data_dir, log)
    elif spec == "synthetic":
        from .synthetic import DEFAULT_TEST, DEFAULT_TRAIN, load_synthetic

        train_n = min(limit, DEFAULT_TRAIN) if limit else DEFAULT_TRAIN
        test_n = min(DEFAULT_TEST, max(100, -(-train_n // 6)))
        return load_synthetic(seed, train_n, test_n)
    elif spec.startswith("folder:") and len(spec) > len("folder:"):
        from .folder import load_folder

        dataset = load_folder(spec[len("folder:"):], seed=seed, log=log)
    else:
        raise DatasetError(f"unknown dataset '{spec}': use {DATASET_CHOICES}")
    return dataset.limited(limit, seed)


__all__ = ["Dataset", "DATASET_CHOICES", "load_dataset"]
