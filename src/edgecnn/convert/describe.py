"""The description embedded in every artifact, so a model file copied alone still knows itself.

The runtime reads it back with `edgecnn.modelmeta.read_metadata`; the keys here are the
contract between the two (see modelmeta's docstring).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..datasets import Dataset
from ..formats import BY_NAME
from ..datasets.recorded import read_train_json
from ..modelmeta import PREPROCESSING
from ..runtime.views import for_augment


def tensor_description(name: str, shape: Any, dtype: Any, scale: float | None = None,
                       zero_point: int | None = None) -> dict[str, Any]:
    """One input or output: name, shape (-1 for a dynamic batch), dtype and quantization.

    Scale and zero point are null for float tensors, so a reader can tell "not quantized"
    from "quantized with zero point 0".
    """
    quantized = scale is not None and scale != 0.0
    return {
        "name": str(name),
        "shape": [-1 if d is None or int(d) < 0 else int(d) for d in shape],
        "dtype": np.dtype(dtype).name,
        "scale": float(scale) if quantized else None,
        "zero_point": int(zero_point) if quantized and zero_point is not None else None,
    }


def artifact_metadata(fmt: str, dataset: Dataset, inp: dict, out: dict, views: str = "none") -> dict[str, Any]:
    """The JSON object embedded under the key "edgecnn" in a .tflite or .onnx file.

    `views`: the test-time views the model was trained for (`trained_views`), the
    runtime's default (runtime/views.py); written only when there are some, so a model
    without them has the same bytes as before views existed (the runtime reads a
    missing "views" as "none").
    """
    meta = {
        "format": BY_NAME[fmt].metadata_format,
        "edgecnn_version": __version__,
        "class_names": list(dataset.class_names),
        "input": dict(inp),
        "output": dict(out),
        "preprocessing": copy.deepcopy(PREPROCESSING),
        "dataset": {"name": dataset.name, "synthetic": bool(dataset.synthetic)},
    }
    if views != "none":
        meta["views"] = views
    return meta


def trained_views(model_path: Path) -> str:
    """The views a Keras model may be shown, from the augmentation its train.json records.

    A model trained on mirrored and shifted items ("flip-shift") answers a mirror image
    or a one-pixel shift of a picture as it answers the picture, so averaging over them
    is sound; without a train.json (a model from elsewhere) nothing is assumed: "none".
    Raises UsageError for a train.json that edgecnn.documents rejects.
    """
    report = read_train_json(model_path) or {}
    recipe = report.get("recipe") if isinstance(report.get("recipe"), dict) else {}
    return for_augment(recipe.get("augment"))
