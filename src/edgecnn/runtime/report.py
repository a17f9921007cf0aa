"""Classify many image files and print one line each: shared by `edgecnn classify` and pi_classify.py.

One bad file must not cost the others their answers, so every file is read and
prepared on its own (its error becomes that file's line) and the good ones go to the
interpreter in batches. Output formats are stable, other tools parse them:

    text   PATH: LABEL (SCORE)[, LABEL (SCORE)...]      errors: PATH: error: PROBLEM
    json   {"path", "label", "index", "score", "top_k": [{"label", "index", "score"}, ...]}
           errors: {"path", "error"}

In text, file names, labels and messages go through `printable`: a newline or an ANSI
escape in a label or a file name is shown as \\n or \\x1b, never written raw (a raw
one could forge a result line or clear the screen). JSON escapes them itself.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterable, Iterator, Sequence, Sized

import numpy as np

from ..errors import EdgecnnError
from ..progress import progress_bar, write_line
from .classifier import Classifier, Prediction
from .files import Item

CHUNK = 32  # files prepared, then classified together

#: Control characters (C0, DEL, C1), line/paragraph separators, bidi overrides, lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """text with every character that could move the cursor, forge a line or reorder text escaped.

    A byte of a non-UTF-8 file name (a surrogate from os.fsdecode) shows as \\xNN.
    """
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


@dataclass
class Result:
    """One file's answer (`predictions`) or its problem (`error`, without the path)."""

    path: str
    predictions: list[Prediction] = field(default_factory=list)
    error: str | None = None


@dataclass
class Summary:
    images: int = 0
    failed: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return (self.images - self.failed) / self.seconds if self.seconds > 0 else 0.0

    def line(self, clf: Classifier) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        return (f"classified {self.images - self.failed} of {self.images} images in {self.seconds:.3f} s "
                f"({self.per_second:.1f} images/s){failed}; {printable(clf.path.name)} via {clf.backend.name} "
                f"{clf.backend.version}")


def classify_items(clf: Classifier, items: Iterable[Item], top_k: int = 1) -> Iterator[Result]:
    """Results in the order of `items`; unreadable files give error Results, never exceptions."""
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == CHUNK:
            yield from _classify_chunk(clf, chunk, top_k)
            chunk = []
    if chunk:
        yield from _classify_chunk(clf, chunk, top_k)


def _classify_chunk(clf: Classifier, chunk: list[Item], top_k: int) -> list[Result]:
    prepared = [prepare_item(clf.prepare, item) for item in chunk]
    return finish_chunk(clf, chunk, [error for _, error in prepared],
                        [pixels for pixels, error in prepared if error is None], top_k)


def prepare_item(prepare: Callable[[str], np.ndarray], item: Item) -> tuple[np.ndarray | None, str | None]:
    """(pixels, None) for a readable image, (None, PROBLEM) otherwise; never raises for a bad file.

    The one place a file's exception becomes its error text, so the serial path and the
    worker processes of parallel.py word every error alike.
    """
    if item.error:
        return None, item.error
    try:
        return prepare(item.path), None
    except EdgecnnError as exc:
        return None, _without_path(str(exc), item.path)
    except MemoryError:
        return None, "not enough memory to decode this image"
    except Exception as exc:  # a decoder bug on one odd file must not stop the batch
        return None, f"cannot process this image ({type(exc).__name__}: {exc})"


def finish_chunk(clf: Classifier, chunk: Sequence[Item], errors: Sequence[str | None],
                 pixels: Sequence[np.ndarray] | np.ndarray, top_k: int) -> list[Result]:
    """Results for `chunk`: `errors[i]` for a failed item, else the next of `pixels` classified.

    The good items' pixels go to the interpreter in one call. Raises ModelError if the
    model fails to run.
    """
    results = [Result(item.path, error=error) for item, error in zip(chunk, errors)]
    if len(pixels):
        answers = iter(clf.classify_prepared(np.stack(pixels) if not isinstance(pixels, np.ndarray) else pixels,
                                             top_k))
        for result in results:
            if result.error is None:
                result.predictions = next(answers)
    return results


def _without_path(message: str, path: str) -> str:
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def format_text(result: Result) -> str:
    """One text line, every name escaped by `printable`."""
    if result.error is not None:
        return f"{printable(result.path)}: error: {printable(result.error)}"
    return f"{printable(result.path)}: " + ", ".join(f"{printable(p.label)} ({p.score:.3f})"
                                                      for p in result.predictions)


def format_json(result: Result) -> str:
    if result.error is not None:
        return json.dumps({"path": result.path, "error": result.error})
    return json.dumps({"path": result.path, **prediction_fields(result.predictions)})


def prediction_fields(predictions: Sequence[Prediction], **extra: Any) -> dict[str, Any]:
    """The JSON fields of one classification: the best class's, then `extra`, then "top_k" (best first)."""
    best = predictions[0]
    return {"label": best.label, "index": best.index, "score": round(best.score, 6), **extra,
            "top_k": [{"label": p.label, "index": p.index, "score": round(p.score, 6)} for p in predictions]}


def print_results(clf: Classifier, items: Iterable[Item], top_k: int, as_json: bool, out: IO[str], err: IO[str],
                  workers: int = 1) -> Summary:
    """Classify `items`, print a line per image as it is done (errors to `err` in text mode).

    `workers` > 1 decodes and prepares images in that many processes while this one runs
    the interpreter (parallel.classify_parallel); the lines, their order and the errors
    are the same as with 1. Raises ModelError if the model fails to run.
    """
    summary = Summary()
    started = time.perf_counter()
    # On a terminal, a bar counting images on `err` (stdout carries the answers); none with --json.
    bar = None if as_json else progress_bar(len(items) if isinstance(items, Sized) else None, "classifying",
                                            unit="image", stream=err)
    if workers > 1:
        from .parallel import classify_parallel

        results = classify_parallel(clf, items, top_k, workers)
    else:
        results = classify_items(clf, items, top_k)
    try:
        for result in results:
            summary.images += 1
            if result.error is not None:
                summary.failed += 1
            line = format_json(result) if as_json else format_text(result)
            _print_line(line, err if (result.error is not None and not as_json) else out, bar)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _print_line(line: str, stream: IO[str], bar: Any = None) -> None:
    """print (lifting `bar` off the terminal first), with characters the stream cannot encode written as escapes."""
    try:
        write_line(line, stream, bar)
    except UnicodeEncodeError:
        write_line(line.encode("ascii", "backslashreplace").decode("ascii"), stream, bar)
