"""manifest.json and the results table: what each artifact is and how well it verified.

The runtime reads manifest.json when it sits beside a model; the same facts are also
embedded in each model file, so the manifest is a convenience, never a requirement.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__, documents
from ..datasets import Dataset
from ..errors import EdgecnnError
from ..filenames import MANIFEST_FILE
from ..fsutil import sha256_file
from ..modelmeta import PREPROCESSING



@dataclass
class Artifact:
    """One converted model, in memory until every format is built and verified."""

    format: str
    file: str
    data: bytes
    input: dict
    output: dict
    engine: str  # "tflite" or "onnx": which interpreter runs it
    verification: dict | None = None

    def entry(self) -> dict[str, Any]:
        """This artifact's manifest.json entry (size and hash of the bytes actually written)."""
        return {
            "format": self.format,
            "engine": self.engine,
            "file": self.file,
            "bytes": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "input": _io(self.input),
            "output": _io(self.output),
            **(self.verification or {}),
        }


def _io(desc: dict) -> dict:
    return {k: desc[k] for k in ("name", "shape", "dtype", "scale", "zero_point")}


def build_manifest(model_path: Path, dataset: Dataset, keras_accuracy: float,
                   artifacts: list[Artifact], earlier: list[dict], settings: dict) -> dict[str, Any]:
    """The manifest for this run; `earlier` entries (other formats, still on disk) are kept.

    `settings` records how this run converted and judged (calibration size, thresholds).
    """
    built = {a.format for a in artifacts}
    entries = [e for e in earlier if e.get("format") not in built] + [a.entry() for a in artifacts]
    return {
        "edgecnn_version": __version__,
        "source_model": {"path": str(model_path.resolve()), "sha256": sha256_file(model_path)},
        "dataset": {"name": dataset.name, "synthetic": bool(dataset.synthetic),
                    "test_size": int(len(dataset.y_test))},
        "class_names": list(dataset.class_names),
        "preprocessing": dict(PREPROCESSING),
        "keras_accuracy": round(float(keras_accuracy), 6),
        "conversion": settings,
        "artifacts": entries,
        "verified": all(e.get("verified", False) for e in entries),
    }


def earlier_entries(out: Path, source_sha256: str, dataset: Dataset) -> list[dict]:
    """Entries of an existing manifest.json for the same source model and test split whose files
    are unchanged.

    So `convert --int8` then `convert --onnx` into one folder gives a manifest listing both;
    entries measured on another dataset are dropped rather than mixed in. An old manifest
    that fails edgecnn.documents' checks (or is missing) contributes nothing: this run's
    manifest replaces it, so it is never merged, and no entry can name a file outside OUT.
    """
    path = out / MANIFEST_FILE
    if not path.exists():
        return []
    try:
        old = documents.read_json(documents.MANIFEST, path)
    except EdgecnnError:
        return []
    if not isinstance(old, dict) or (old.get("source_model") or {}).get("sha256") != source_sha256:
        return []
    same_split = {"name": dataset.name, "synthetic": bool(dataset.synthetic), "test_size": int(len(dataset.y_test))}
    if old.get("dataset") != same_split:
        return []
    kept = []
    for entry in old.get("artifacts") or []:
        path = out / str(entry.get("file", ""))
        if isinstance(entry, dict) and path.is_file() and sha256_file(path) == entry.get("sha256"):
            kept.append(entry)
    return kept


def change_vs_keras(drop_pp: float | None) -> str:
    """An artifact's accuracy against Keras's in words whose sign reads right.

    `drop_pp` is the manifest's accuracy_drop_pp (Keras minus artifact, in percentage points):
    -0.25 gives "+0.25 pp better", 0.10 gives "0.10 pp lower", anything under 0.005 "same".
    """
    if drop_pp is None:
        return "-"
    change = -float(drop_pp)
    if abs(change) < 0.005:
        return "same"
    return f"+{change:.2f} pp better" if change > 0 else f"{-change:.2f} pp lower"


def results_table(manifest: dict) -> str:
    """format | KB | accuracy | change vs Keras | agreement, one row per artifact, Keras first."""
    tag = " (SYNTHETIC data)" if manifest["dataset"]["synthetic"] else ""
    rows = [("format", "KB", "accuracy", "change vs Keras", "agreement", "max |dp|", "status"),
            ("keras", "", f"{manifest['keras_accuracy']:.2%}", "", "", "", "reference")]
    for e in manifest["artifacts"]:
        rows.append((
            e["format"], f"{e['bytes'] / 1024:.1f}", f"{e['accuracy']:.2%}", change_vs_keras(e['accuracy_drop_pp']),
            f"{e['agreement']:.2%}", f"{e['max_abs_diff']:.2g}", "ok" if e["verified"] else f"FAIL: {e['failure']}",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + " | " + r[-1] for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    name = manifest["dataset"]["name"]
    return f"test split of {name}{tag}: {manifest['dataset']['test_size']} images\n" + "\n".join(lines)
