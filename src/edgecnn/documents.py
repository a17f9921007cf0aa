"""Every document edgecnn reads from outside, checked in one place against a schema.

A model file can come from anyone, and so can the files beside it. Each document
edgecnn reads - the "edgecnn" metadata embedded in a .tflite/.onnx, manifest.json,
train.json, labels.txt, TF_CONFIG and the hello two training workers exchange - is
read here with the same limits, then checked against its schema below:

- size: at most `Document.max_bytes` (1 MiB for files, 64 KiB for TF_CONFIG);
- depth: at most MAX_DEPTH nested arrays/objects, checked *before* `json.loads`,
  which otherwise ends in RecursionError on a few thousand "[";
- text: strict UTF-8 (a BOM is allowed), JSON without NaN/Infinity, numbers that
  overflow to inf, or an object with the same key twice (two readers could each
  pick a different one);
- shape: each key edgecnn uses has the type and range it needs (a class count,
  a value range of two finite numbers, low < high, a file name without a folder);
  keys edgecnn does not use are allowed, so newer files still read.

Every failure is the document's `error` class (an EdgecnnError, exit 2) with one line
that names the file and the key, e.g. `.../train.json: seed must be an integer >= 0
(got "abc")`. Standard library only: the runtime reads metadata on a Raspberry Pi.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from . import filenames
from .errors import EdgecnnError, ModelError, UsageError, one_line
from .runtime.views import VIEW_SETS

#: Nesting of arrays and objects; edgecnn's own documents use at most 5.
MAX_DEPTH = 16
#: manifest.json, train.json, labels.txt and embedded metadata: edgecnn writes a few KB.
MAX_FILE_BYTES = 1 << 20
#: TF_CONFIG, an environment variable listing a cluster.
MAX_TF_CONFIG_BYTES = 64 << 10
#: One hello line between training workers.
MAX_HELLO_BYTES = 1024
#: Classes a model may name, and characters in one class name.
MAX_CLASSES = 10_000
MAX_NAME_CHARS = 256
#: Any other string value (paths, versions, notes).
MAX_STRING_CHARS = 4096
#: Items in any other list (artifacts, history, cluster addresses).
MAX_LIST_ITEMS = 10_000


class SchemaViolation(Exception):
    """Internal: where in the document (a dotted path) and what is wrong."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)


def _show(value: Any) -> str:
    """A value as JSON spells it, cut short: messages stay one short line."""
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" from {low:g} to {high:g}" if isinstance(low, float) else f" from {low} to {high}"
    if low is not None:
        return f" >= {low:g}"
    return f" <= {high:g}" if high is not None else ""


# --------------------------------------------------------------------------- schemas


class Schema:
    """A check of one JSON value; `check` raises SchemaViolation naming `path`."""

    def check(self, value: Any, path: str) -> None:
        raise NotImplementedError


class AnyValue(Schema):
    """Any JSON value (the parser's limits still apply)."""

    def check(self, value: Any, path: str) -> None:
        return None


@dataclass(frozen=True)
class Str(Schema):
    max_chars: int = MAX_STRING_CHARS
    min_chars: int = 0
    pattern: str | None = None  # re.fullmatch
    meaning: str = ""  # for the message: "a hex SHA-256"

    def check(self, value: Any, path: str) -> None:
        what = self.meaning or "a string"
        if not isinstance(value, str):
            raise SchemaViolation(path, f"must be {what} (got {_show(value)})")
        if not self.min_chars <= len(value) <= self.max_chars:
            raise SchemaViolation(path, f"must be {what} of {self.min_chars}-{self.max_chars} characters "
                                        f"(got {len(value)})")
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise SchemaViolation(path, f"must be {what} (got {_show(value)})")


@dataclass(frozen=True)
class Int(Schema):
    """An integer; true/false are not 1/0, and 1.0 is not an integer."""

    min: int | None = None
    max: int | None = None

    def check(self, value: Any, path: str) -> None:
        if (not isinstance(value, int) or isinstance(value, bool)
                or (self.min is not None and value < self.min) or (self.max is not None and value > self.max)):
            raise SchemaViolation(path, f"must be an integer{_bounds(self.min, self.max)} (got {_show(value)})")


@dataclass(frozen=True)
class Num(Schema):
    """A finite number (int or float, not a bool)."""

    min: float | None = None
    max: float | None = None
    above: float | None = None  # exclusive minimum

    def check(self, value: Any, path: str) -> None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        ok = ok and (self.min is None or value >= self.min) and (self.max is None or value <= self.max)
        ok = ok and (self.above is None or value > self.above)
        if not ok:
            bounds = f" > {self.above:g}" if self.above is not None else _bounds(self.min, self.max)
            raise SchemaViolation(path, f"must be a finite number{bounds} (got {_show(value)})")


class Bool(Schema):
    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            raise SchemaViolation(path, f"must be true or false (got {_show(value)})")


@dataclass(frozen=True)
class OneOf(Schema):
    """One of a few exact values."""

    values: tuple[Any, ...]

    def check(self, value: Any, path: str) -> None:
        if isinstance(value, bool) or value not in self.values:
            raise SchemaViolation(path, f"must be one of {', '.join(_show(v) for v in self.values)} "
                                        f"(got {_show(value)})")


@dataclass(frozen=True)
class Nullable(Schema):
    inner: Schema

    def check(self, value: Any, path: str) -> None:
        if value is not None:
            self.inner.check(value, path)


@dataclass(frozen=True)
class List(Schema):
    item: Schema
    min_items: int = 0
    max_items: int = MAX_LIST_ITEMS

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise SchemaViolation(path, f"must be a list (got {_show(value)})")
        if not self.min_items <= len(value) <= self.max_items:
            count = f"{self.min_items}" if self.min_items == self.max_items else f"{self.min_items}-{self.max_items}"
            raise SchemaViolation(path, f"must have {count} items (got {len(value)})")
        for i, item in enumerate(value):
            self.item.check(item, f"{path}[{i}]")


@dataclass(frozen=True)
class Obj(Schema):
    """An object; `fields` are checked when present, `required` must be present, others pass."""

    fields: Mapping[str, Schema]
    required: tuple[str, ...] = ()

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise SchemaViolation(path, f"must be an object (got {_show(value)})")
        for key in self.required:
            if key not in value:
                raise SchemaViolation(path, f'needs "{key}"')
        for key, schema in self.fields.items():
            if key in value:
                schema.check(value[key], f"{path}.{key}" if path else key)


@dataclass(frozen=True)
class Where(Schema):
    """`inner`, then a condition on the whole value (e.g. low < high)."""

    inner: Schema
    test: Callable[[Any], bool]
    problem: str

    def check(self, value: Any, path: str) -> None:
        self.inner.check(value, path)
        if not self.test(value):
            raise SchemaViolation(path, f"{self.problem} (got {_show(value)})")


# --------------------------------------------------------------------------- edgecnn's documents

NAME = Str(MAX_NAME_CHARS)
CLASS_NAMES = List(NAME, 1, MAX_CLASSES)
SHA256 = Str(64, 64, r"[0-9a-f]{64}", "a hex SHA-256")
#: A file beside the manifest: a plain name, so an entry cannot point outside its folder.
FILE_NAME = Str(255, 1, r"(?!\.\.?$)[^/\\\x00]+", "a file name without a folder")

TENSOR = Obj({
    "name": Str(),
    "shape": List(Int(min=-1, max=1 << 31), 0, 8),
    "dtype": Str(32),
    "scale": Nullable(Num(above=0.0)),
    "zero_point": Nullable(Int(-(1 << 31), (1 << 31) - 1)),
})

#: Two finite numbers, low < high: the float range one 0-255 pixel maps onto.
VALUE_RANGE = Where(List(Num(), 2, 2), lambda v: v[0] < v[1], "must be [low, high] with low < high")

#: pixel_range, resize and layout are no longer written (nothing read them); still accepted, and
#: still checked, in models converted before they were dropped.
PREPROCESSING = Obj({
    "value_range": VALUE_RANGE,
    "pixel_range": Where(List(Int(0, 65535), 2, 2), lambda v: v[0] < v[1], "must be [low, high] with low < high"),
    "polarity": OneOf(("light-on-dark", "dark-on-light")),
    "color": Str(32),
    "resize": Str(),
    "layout": Str(16),
})

EMBEDDED_METADATA_SCHEMA = Obj({
    "format": Str(64),
    "edgecnn_version": Str(64),
    "class_names": CLASS_NAMES,
    "input": TENSOR,
    "output": TENSOR,
    "preprocessing": PREPROCESSING,
    "dataset": Obj({"name": Str(), "synthetic": Bool()}),
    "views": OneOf(tuple(VIEW_SETS)),
})

ARTIFACT = Obj({
    "format": Str(64),
    "engine": Str(64),
    "file": FILE_NAME,
    "bytes": Int(min=0),
    "sha256": SHA256,
    "input": TENSOR,
    "output": TENSOR,
    "class_names": CLASS_NAMES,
    "preprocessing": PREPROCESSING,
    "accuracy": Num(0, 1),
    "accuracy_drop_pp": Num(),
    "agreement": Num(0, 1),
    "max_abs_diff": Num(min=0),
    "verified": Bool(),
    "failure": Nullable(Str()),
})

MANIFEST_SCHEMA = Obj({
    "edgecnn_version": Str(64),
    "source_model": Obj({"path": Str(), "sha256": SHA256}),
    "dataset": Obj({"name": Str(), "synthetic": Bool(), "test_size": Int(min=0)}),
    "class_names": CLASS_NAMES,
    "preprocessing": PREPROCESSING,
    "keras_accuracy": Num(0, 1),
    "conversion": Obj({}),
    "artifacts": List(ARTIFACT, 0, 64),
    "verified": Bool(),
})

TRAIN_JSON_SCHEMA = Obj({
    "dataset": Obj({"name": Str(min_chars=1), "source": Nullable(Str()), "synthetic": Bool(),
                    "classes": CLASS_NAMES, "train_size": Int(min=0), "test_size": Int(min=0)}),
    "seed": Int(0, (1 << 32) - 1),
    "limit": Nullable(Int(min=1)),
    "validation_split": Num(above=0.0, max=1.0),
    "epochs_run": Int(min=0),
    "batch_size": Int(min=1),
    "test_accuracy": Num(0, 1),
})

TF_CONFIG_SCHEMA = Obj({
    "cluster": Obj({job: List(Str(512), 0, 1024) for job in ("chief", "worker", "ps", "evaluator")}),
    "task": Obj({"type": Str(64), "index": Int(0, 1023)}),
}, required=("cluster", "task"))

HELLO_SCHEMA = Obj({
    "run": Str(64, 1),
    "index": Int(0, 1023),
    "nonce": Str(64, 1),
}, required=("run", "index", "nonce"))


@dataclass(frozen=True)
class Document:
    """One kind of document: its schema, its size limit and the error it fails with."""

    kind: str  # for messages: "manifest.json", "TF_CONFIG", ...
    schema: Schema
    error: type[EdgecnnError]
    max_bytes: int = MAX_FILE_BYTES


EMBEDDED_METADATA = Document("embedded 'edgecnn' metadata", EMBEDDED_METADATA_SCHEMA, ModelError)
MANIFEST = Document(filenames.MANIFEST_FILE, MANIFEST_SCHEMA, ModelError)
TRAIN_JSON = Document(filenames.TRAIN_JSON, TRAIN_JSON_SCHEMA, UsageError)
TF_CONFIG = Document("TF_CONFIG", TF_CONFIG_SCHEMA, UsageError, MAX_TF_CONFIG_BYTES)
HELLO = Document("worker hello", HELLO_SCHEMA, UsageError, MAX_HELLO_BYTES)

# --------------------------------------------------------------------------- parsing

_SIGNIFICANT = re.compile(r'[\[\]{}"\\]')


def json_depth(text: str) -> int:
    """Deepest nesting of arrays/objects in JSON text, found without parsing it (no recursion).

    One pass over the brackets, quotes and backslashes only, so brackets inside strings
    do not count and the time stays linear whatever the text. Unbalanced text gives
    some number; json.loads reports it as invalid afterwards.
    """
    depth = deepest = 0
    in_string, skip_to = False, -1
    for match in _SIGNIFICANT.finditer(text):
        pos, char = match.start(), match.group()
        if pos < skip_to:  # the character after a backslash
            continue
        if in_string:
            if char == "\\":
                skip_to = pos + 2
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is too large")
    return value


def _unique_keys(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f'key "{key[:40]}" appears twice in one object')
        obj[key] = value
    return obj


def _subject(doc: Document, where: str) -> str:
    """'FILE: kind' for messages, or just FILE when it is named as its kind (TF_CONFIG, .../train.json)."""
    return where if doc.kind in (where, Path(where).name) else f"{where}: {doc.kind}"


def decode_text(doc: Document, data: bytes | str, where: str) -> str:
    """`data` as text within `doc`'s size limit: strict UTF-8, a leading BOM dropped."""
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > doc.max_bytes:
        raise doc.error(f"{_subject(doc, where)} is {size} bytes, more than the {doc.max_bytes} allowed")
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise doc.error(f"{_subject(doc, where)} is not UTF-8 text (byte 0x{data[exc.start]:02x} "
                        f"at offset {exc.start})") from exc


def parse_json(doc: Document, data: bytes | str, where: str) -> Any:
    """The JSON value in `data`, checked against `doc`'s limits and schema; `doc.error` otherwise."""
    text = decode_text(doc, data, where)
    depth = json_depth(text)
    if depth > MAX_DEPTH:
        raise doc.error(f"{_subject(doc, where)} is nested {depth} levels deep, more than the {MAX_DEPTH} allowed")
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float,
                           object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as exc:  # RecursionError: only if MAX_DEPTH were set too high
        raise doc.error(f"{_subject(doc, where)} is not valid JSON ({one_line(exc)})") from exc
    try:
        doc.schema.check(value, "")
    except SchemaViolation as exc:
        raise doc.error(f"{_subject(doc, where)}: {exc}") from exc
    return value


def read_bytes(doc: Document, path: str | os.PathLike[str]) -> bytes:
    """A regular file's bytes, at most `doc.max_bytes` of them; `doc.error` naming the file otherwise.

    A FIFO or device (a link to /dev/zero) is refused before it is opened for reading.
    """
    p = Path(path)
    try:
        info = p.stat()
        if not stat.S_ISREG(info.st_mode):
            raise doc.error(f"{p}: {doc.kind} is not a regular file")
        if info.st_size > doc.max_bytes:
            raise doc.error(f"{p}: {doc.kind} is {info.st_size} bytes, more than the {doc.max_bytes} allowed")
        with open(p, "rb") as fh:
            data = fh.read(doc.max_bytes + 1)
    except FileNotFoundError:
        raise doc.error(f"{p}: no such file") from None
    except OSError as exc:
        raise doc.error(f"{p}: cannot read {doc.kind} ({exc.strerror or exc})") from exc
    if len(data) > doc.max_bytes:  # grew since stat
        raise doc.error(f"{p}: {doc.kind} is more than the {doc.max_bytes} bytes allowed")
    return data


def read_json(doc: Document, path: str | os.PathLike[str]) -> Any:
    """The JSON document at `path`, checked as `parse_json` does; `doc.error` naming the file otherwise."""
    return parse_json(doc, read_bytes(doc, path), str(path))


LABELS = Document("labels file", AnyValue(), ModelError)


def parse_labels(data: bytes, where: str, error: type[EdgecnnError] = ModelError) -> list[str]:
    """labels.txt: one class name per line in index order; blank lines and surrounding spaces dropped.

    Strict UTF-8 within MAX_FILE_BYTES, at most MAX_CLASSES names of MAX_NAME_CHARS; `error` otherwise.
    """
    doc = replace(LABELS, error=error)
    names = [line.strip() for line in decode_text(doc, data, where).splitlines()]
    names = [n for n in names if n]
    if len(names) > MAX_CLASSES:
        raise error(f"{where}: {len(names)} class names, more than the {MAX_CLASSES} allowed")
    for i, name in enumerate(names):
        if len(name) > MAX_NAME_CHARS:
            raise error(f"{where}: line {i + 1} is a class name of {len(name)} characters, "
                        f"more than the {MAX_NAME_CHARS} allowed")
    return names


def read_labels(path: str | os.PathLike[str], error: type[EdgecnnError] = ModelError) -> list[str]:
    """labels.txt at `path`, checked as `parse_labels` does."""
    return parse_labels(read_bytes(replace(LABELS, error=error), path), str(path), error)


__all__ = [
    "Document", "EMBEDDED_METADATA", "MANIFEST", "TRAIN_JSON", "TF_CONFIG", "HELLO", "MAX_DEPTH",
    "MAX_FILE_BYTES", "MAX_CLASSES", "MAX_NAME_CHARS", "parse_json", "read_json", "read_bytes",
    "parse_labels", "read_labels", "json_depth",
]
