"""Importing TensorFlow quietly and reproducibly, in one place.

TensorFlow prints pages of C++ log lines at import; users of a CLI need none of them.
Only train/ and convert/ call this: the runtime never imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, Iterator


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence C++ log lines written straight to file descriptor 2 (absl ignores TF_CPP_MIN_LOG_LEVEL)."""
    if os.environ.get("EDGECNN_TF_LOGS"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow() -> Any:
    """Import TensorFlow without its start-up log noise (set EDGECNN_TF_LOGS=1 to see it)."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        with quiet_stderr():
            import tensorflow as tf

            tf.config.list_physical_devices()  # device probing logs (cuInit) happen here
    except ImportError as exc:
        from .errors import EdgecnnError

        raise EdgecnnError(f"tensorflow is not installed ({exc}); install edgecnn[train]") from exc
    tf.get_logger().setLevel("ERROR")
    return tf


def set_determinism(seed: int) -> None:
    """Same seed, same data, same accuracy on CPU: seeds everywhere plus deterministic ops."""
    tf = import_tensorflow()
    import keras

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
