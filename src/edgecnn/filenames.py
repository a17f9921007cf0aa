"""The names of the files edgecnn writes into an output folder, in one place.

`edgecnn train` writes MODEL_FILE, LABELS_FILE and TRAIN_JSON; `edgecnn convert` writes
one ARTIFACT_FILES entry per format, LABELS_FILE and MANIFEST_FILE. The runtime and
`evaluate` look for the same names beside a model. Standard library only: the runtime
reads these on a Raspberry Pi.
"""

from __future__ import annotations

from .formats import FORMATS

MODEL_FILE = "model.keras"
LABELS_FILE = "labels.txt"
TRAIN_JSON = "train.json"
MANIFEST_FILE = "manifest.json"

#: File name of each `convert` format's artifact in the output folder (from formats.FORMATS).
ARTIFACT_FILES: dict[str, str] = {f.name: f.file for f in FORMATS}
