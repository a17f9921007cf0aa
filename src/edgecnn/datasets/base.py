"""What every dataset loader returns, whatever the source."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Dataset:
    """Images as uint8 (N, 28, 28), light item on black; labels as int64 class indices.

    `synthetic` is carried into every report so a number from generated data is never
    mistaken for a Fashion-MNIST result.
    """

    name: str
    source: str
    class_names: list[str]
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    synthetic: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "synthetic": self.synthetic,
            "classes": list(self.class_names),
            "train_size": int(len(self.y_train)),
            "test_size": int(len(self.y_test)),
        }

    def limited(self, limit: int | None, seed: int = 0) -> "Dataset":
        """At most `limit` training and ceil(limit/6) test images (Fashion-MNIST's ratio)."""
        if not limit or limit >= len(self.y_train):
            return self
        rng = np.random.default_rng(seed)
        train_idx = np.sort(rng.permutation(len(self.y_train))[:limit])
        test_n = min(len(self.y_test), max(1, -(-limit // 6)))
        test_idx = np.sort(rng.permutation(len(self.y_test))[:test_n])
        return Dataset(
            self.name, self.source, self.class_names,
            self.x_train[train_idx], self.y_train[train_idx],
            self.x_test[test_idx], self.y_test[test_idx],
            self.synthetic, list(self.warnings),
        )
