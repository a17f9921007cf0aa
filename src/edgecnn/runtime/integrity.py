"""Does a model file still match the manifest.json beside it?

`edgecnn convert` records each artifact's sha256 in manifest.json. A model replaced,
truncated or edited after that runs with the manifest's labels and preprocessing
while being another model; the runtime says so on stderr (and works on: the manifest
is optional, and a user may have replaced the model on purpose).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import IO

from ..documents import MANIFEST, read_json
from ..errors import EdgecnnError
from ..filenames import MANIFEST_FILE



def manifest_digest(model_path: str | os.PathLike[str]) -> str | None:
    """The sha256 that manifest.json beside the model records for it; None if there is no such record.

    Never raises: a missing, unreadable or malformed manifest records nothing (reporting a broken
    manifest is the labels reader's job, see labels.py).
    """
    path = Path(model_path)
    manifest = path.parent / MANIFEST_FILE
    if not manifest.is_file():
        return None
    try:
        data = read_json(MANIFEST, manifest)  # size, depth and schema limits in one place
    except EdgecnnError:
        return None
    entries = data.get("artifacts") if isinstance(data, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("file") == path.name and isinstance(entry.get("sha256"), str):
            return entry["sha256"].lower()
    return None


def check_manifest_digest(model_path: str | os.PathLike[str], data: bytes | None = None,
                          stream: IO[str] | None = None) -> bool | None:
    """Compare the model's sha256 (of DATA, the bytes already read, else the file) with its manifest entry.

    Returns True (matches), False (differs: one warning line on STREAM, default stderr) or None
    (no manifest entry to compare with). Raises nothing; an unreadable model is the loader's error.
    """
    expected = manifest_digest(model_path)
    if expected is None:
        return None
    try:
        actual = hashlib.sha256(data if data is not None else Path(model_path).read_bytes()).hexdigest()
    except OSError:
        return None
    if actual == expected:
        return True
    name = Path(model_path).name
    print(f"edgecnn: warning: {model_path}: sha256 {actual[:12]}... differs from {MANIFEST_FILE} beside it "
          f"({expected[:12]}...): the model changed after convert, so the manifest's labels and "
          f"preprocessing may not fit {name}", file=stream or sys.stderr)
    return False
