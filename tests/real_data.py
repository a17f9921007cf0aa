"""Where the real Fashion-MNIST is, for the tests that need it.

CI installs Debian's `dataset-fashion-mnist` (.ci/run), so there a missing file is a
failure; on a developer's machine the tests skip with the command that enables them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgecnn.datasets.fashion_mnist import DEBIAN_DIR, FILE_NAMES

ENABLE = "sudo apt-get install dataset-fashion-mnist"


def real_fashion_dir() -> Path:
    """The folder of the real files: $EDGECNN_REAL_DATA, else Debian's; fail in CI, skip elsewhere."""
    folder = Path(os.environ.get("EDGECNN_REAL_DATA", DEBIAN_DIR))
    if all((folder / name).is_file() for name in FILE_NAMES):
        return folder
    message = f"real Fashion-MNIST not in {folder}: {ENABLE}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)
