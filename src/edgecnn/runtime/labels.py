"""What a model file says about itself: class names and preprocessing.

A model copied alone to a Pi must still name its classes, so the runtime looks, in
order, at: the "edgecnn" metadata embedded in the model by `edgecnn convert`, then a
manifest.json beside it, then a labels.txt beside it, and only then falls back to the
output indices ("0", "1", ...). The first source that has class names wins; a source
whose count disagrees with the model's outputs is an error naming that file, because
silently shifted labels are worse than none.

Every one of these documents is read through edgecnn.documents (size, depth, UTF-8,
schema), so a bad value range or scale is a ModelError naming the file, not a wrong
score later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import documents
from ..errors import ModelError
from ..filenames import LABELS_FILE, MANIFEST_FILE
from ..fsutil import read_labels_file
from ..modelmeta import PREPROCESSING as DEFAULT_PREPROCESSING  # what edgecnn models expect by default
from ..modelmeta import ModelFile, read_model


@dataclass
class ModelInfo:
    """Class names and preprocessing for one model file, and where they came from."""

    class_names: list[str]
    labels_source: str  # "metadata", "manifest.json", "labels.txt" or "indices"
    preprocessing: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PREPROCESSING))
    metadata: dict[str, Any] | None = None  # the embedded "edgecnn" object, if any


def _manifest(path: Path) -> dict[str, Any] | None:
    manifest = path.parent / MANIFEST_FILE
    if not manifest.is_file():
        return None
    try:
        data = documents.read_json(documents.MANIFEST, manifest)
    except ModelError as exc:
        reason = str(exc).removeprefix(str(manifest)).lstrip(": ")
        raise ModelError(f"{manifest}: unreadable manifest beside the model ({reason})") from exc
    return data if isinstance(data, dict) else None


def _manifest_entry(manifest: dict[str, Any], path: Path) -> dict[str, Any]:
    for artifact in manifest.get("artifacts") or []:
        if isinstance(artifact, dict) and artifact.get("file") == path.name:
            return artifact
    return {}


def model_info(path: Path, num_classes: int, model: ModelFile | None = None) -> ModelInfo:
    """Class names (exactly `num_classes` of them) and preprocessing for the model at `path`.

    `model`: the file as modelmeta.read_model returned it, when the caller has read it
    (the Classifier does, once, for the interpreter too); else it is read here.

    Raises:
        ModelError: naming the file at fault: the model (see read_model), a manifest.json
            that cannot be read while the model has no class names of its own, or class
            names whose count is not `num_classes`.
    """
    meta = (model or read_model(path)).metadata
    try:
        manifest = _manifest(path)
    except ModelError:
        if not (meta or {}).get("class_names"):
            raise
        manifest = None  # the model describes itself; a broken manifest beside it is not used at all
    entry = _manifest_entry(manifest, path) if manifest else {}
    preprocessing = dict(DEFAULT_PREPROCESSING)
    for source in (manifest or {}, entry, meta or {}):  # most specific last
        if isinstance(source.get("preprocessing"), dict):
            preprocessing.update(source["preprocessing"])
    candidates = [
        ("metadata", f"{path} (embedded metadata)", (meta or {}).get("class_names")),
        (MANIFEST_FILE, str(path.parent / MANIFEST_FILE),
         entry.get("class_names") or (manifest or {}).get("class_names")),
    ]
    labels_txt = path.parent / LABELS_FILE
    if labels_txt.is_file():
        candidates.append((LABELS_FILE, str(labels_txt), read_labels_file(labels_txt)))
    for source, where, names in candidates:
        if names:
            return ModelInfo(_checked(names, num_classes, where), source, preprocessing, meta)
    return ModelInfo([str(i) for i in range(num_classes)], "indices", preprocessing, meta)


def _checked(names: Any, num_classes: int, where: str) -> list[str]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ModelError(f"{where}: class_names must be a list of strings")
    if len(names) != num_classes:
        raise ModelError(f"{where}: {len(names)} class names but the model has {num_classes} outputs")
    return list(names)
