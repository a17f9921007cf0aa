"""Classify many image files and print one line each: shared by `edgecnn classify` and pi_classify.py.

One bad file must not cost the others their answers, so every file is read and
prepared on its own (its error becomes that file's line) and the good ones go to the
interpreter in batches. Output formats are stable, other tools parse them:

    text   PATH: LABEL (SCORE)[, LABEL (SCORE)...]
           PATH: no item                                 (errors.NoItem: nothing to classify)
           PATH: uncertain (best LABEL SCORE)            (best score under --min-score)
           PATH: error: PROBLEM                          (on the error stream)
    json   {"path", "label", "index", "score", "top_k": [{"label", "index", "score"}, ...],
            "no_item": false, "uncertain": false}
           no item: label, index and score null, top_k empty, "no_item": true
           errors: {"path", "error"}

"No item" and "uncertain" are answers, not failures: only errors make the exit status 1.
The JSON answer fields (`answer_fields`) and the words are the ones the camera prints.

In text, file names, labels and messages go through `printable`: a newline or an ANSI
escape in a label or a file name is shown as \\n or \\x1b, never written raw (a raw
one could forge a result line or clear the screen). JSON escapes them itself.

Lines are written a chunk at a time (one write and flush per stream per chunk): the
answers of a chunk are ready together, so a reader sees them no later, and a pipe
gets one system call per chunk instead of one per line.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterable, Iterator, Sequence, Sized

import numpy as np

from ..errors import EdgecnnError, NoItem, UsageError
from ..progress import progress_bar, write_line
from .classifier import Classifier, Prediction
from .files import Item
from . import views as test_views

CHUNK = 32  # files prepared, then classified together

#: The words for the two answers that are not a class (the camera shows the same).
NO_ITEM = "no item"
UNCERTAIN = "uncertain"

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


def check_min_score(min_score: float) -> float:
    """--min-score as given if it is in 0..1; UsageError (exit 2) otherwise, before any work."""
    if not 0.0 <= min_score <= 1.0:  # NaN fails both comparisons
        raise UsageError(f"--min-score must be between 0 and 1 (got {min_score})")
    return min_score


def is_uncertain(predictions: Sequence[Prediction], min_score: float) -> bool:
    """True when there is a best class and its score is below `min_score` (0 never is)."""
    return bool(predictions) and predictions[0].score < min_score


@dataclass
class Result:
    """One file's answer (`predictions`), or no item in it (`no_item`), or its problem (`error`, without the path)."""

    path: str
    predictions: list[Prediction] = field(default_factory=list)
    error: str | None = None
    no_item: bool = False


@dataclass
class Summary:
    """Counts for the closing line: every image is classified, no item, or failed; uncertain ones are classified."""

    images: int = 0
    failed: int = 0
    no_item: int = 0
    uncertain: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return (self.images - self.failed) / self.seconds if self.seconds > 0 else 0.0

    def count(self, result: Result, min_score: float) -> None:
        self.images += 1
        self.failed += result.error is not None
        self.no_item += result.no_item
        self.uncertain += is_uncertain(result.predictions, min_score)

    def line(self, clf: Classifier) -> str:
        extras = "".join(f", {n} {what}" for n, what in ((self.uncertain, UNCERTAIN), (self.no_item, NO_ITEM),
                                                         (self.failed, "failed")) if n)
        classified = self.images - self.failed - self.no_item
        return (f"classified {classified} of {self.images} images in {self.seconds:.3f} s "
                f"({self.per_second:.1f} images/s){extras}; {printable(clf.path.name)} via {clf.backend.name} "
                f"{clf.backend.version}" + test_views.suffix(clf.views))


def classify_items(clf: Classifier, items: Iterable[Item], top_k: int = 1) -> Iterator[Result]:
    """Results in the order of `items`; unreadable files give error Results, never exceptions."""
    for results in classify_chunks(clf, items, top_k):
        yield from results


def classify_chunks(clf: Classifier, items: Iterable[Item], top_k: int = 1, chunk: int = CHUNK) -> Iterator[list[Result]]:
    """`classify_items`, a list of Results per `chunk` items (the unit the interpreter runs on)."""
    source = iter(items)
    while batch := list(itertools.islice(source, chunk)):
        done, scores = score_chunk(clf, batch)
        yield finish_chunk(clf, batch, done, scores, top_k)


def prepare_item(prepare: Callable[[str], np.ndarray], item: Item) -> np.ndarray | Result:
    """The item's pixels, or its finished Result (an error, or no item); never raises for a bad file.

    The one place a file's exception becomes its answer, so the serial path and the
    worker processes of parallel.py word every error alike.
    """
    if item.error:
        return Result(item.path, error=item.error)
    try:
        return prepare(item.path)
    except NoItem:
        return Result(item.path, no_item=True)
    except EdgecnnError as exc:
        return Result(item.path, error=_without_path(str(exc), item.path))
    except MemoryError:
        return Result(item.path, error="not enough memory to decode this image")
    except Exception as exc:  # a decoder bug on one odd file must not stop the batch
        return Result(item.path, error=f"cannot process this image ({type(exc).__name__}: {exc})")


def prepare_chunk(prepare: Callable[[str], np.ndarray], chunk: Sequence[Item],
                  size: tuple[int, int]) -> tuple[list[Result | None], np.ndarray]:
    """(finished Result or None per item, uint8 (N, H, W) pixels of the None ones, in order).

    What a worker process sends back: small, and never an exception for a bad file.
    """
    prepared = [prepare_item(prepare, item) for item in chunk]
    done = [p if isinstance(p, Result) else None for p in prepared]
    good = [p for p in prepared if not isinstance(p, Result)]
    return done, np.stack(good) if good else np.zeros((0,) + tuple(size), np.uint8)


def score_chunk(clf: Classifier, chunk: Sequence[Item],
                prepare: Callable[[str], np.ndarray] | None = None) -> tuple[list[Result | None], np.ndarray]:
    """(finished Result or None per item, (N, classes) float32 scores of the None ones, in order).

    `prepare_chunk` (with `clf.prepare` unless given), then the good items' pixels through
    the model in one call, test-time views included. What a worker process of parallel.py
    computes and sends back (small: one score per class and image), and the serial path's first step.
    Raises ModelError if the model fails to run; never an exception for a bad file.
    """
    done, pixels = prepare_chunk(prepare or clf.prepare, chunk, clf.input_size)
    scores = clf.probabilities_prepared(pixels) if len(pixels) else np.zeros((0, clf.num_classes), np.float32)
    return done, scores


def finish_chunk(clf: Classifier, chunk: Sequence[Item], done: Sequence[Result | None], scores: np.ndarray,
                 top_k: int) -> list[Result]:
    """Results for `chunk`: `done[i]` where set, else a Result ranking the next row of `scores` (`score_chunk`'s)."""
    answers = iter(clf.rank(scores, top_k) if len(scores) else ())
    return [Result(item.path, next(answers)) if result is None else result for item, result in zip(chunk, done)]


def _without_path(message: str, path: str) -> str:
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def format_text(result: Result, min_score: float = 0.0) -> str:
    """One text line, every name escaped by `printable`."""
    path = printable(result.path)
    if result.error is not None:
        return f"{path}: error: {printable(result.error)}"
    if result.no_item:
        return f"{path}: {NO_ITEM}"
    predictions = result.predictions
    if is_uncertain(predictions, min_score):
        best, others = predictions[0], predictions[1:]
        then = ", then " + ", ".join(f"{printable(p.label)} {p.score:.3f}" for p in others) if others else ""
        return f"{path}: {UNCERTAIN} (best {printable(best.label)} {best.score:.3f}{then})"
    return f"{path}: " + ", ".join(f"{printable(p.label)} ({p.score:.3f})" for p in predictions)


def format_json(result: Result, min_score: float = 0.0) -> str:
    """One JSON line: {"path", "error"}, or {"path", **answer_fields}."""
    if result.error is not None:
        return json.dumps({"path": result.path, "error": result.error})
    return json.dumps({"path": result.path,
                       **answer_fields(result.predictions, is_uncertain(result.predictions, min_score))})


def prediction_fields(predictions: Sequence[Prediction], **extra: Any) -> dict[str, Any]:
    """The JSON fields of one classification: the best class's, then `extra`, then "top_k" (best first)."""
    best = predictions[0]
    return {"label": best.label, "index": best.index, "score": round(best.score, 6), **extra,
            "top_k": [{"label": p.label, "index": p.index, "score": round(p.score, 6)} for p in predictions]}


def answer_fields(predictions: Sequence[Prediction], uncertain: bool = False, **extra: Any) -> dict[str, Any]:
    """JSON fields of one answer: `prediction_fields`, then "no_item" and "uncertain".

    No item (no predictions): label, index and score are null and top_k is empty.
    Uncertain (best score under --min-score): the best guess stays in label/score/top_k.
    """
    if not predictions:
        return {"label": None, "index": None, "score": None, **extra, "top_k": [], "no_item": True, "uncertain": False}
    return {**prediction_fields(predictions, **extra), "no_item": False, "uncertain": uncertain}


def print_results(clf: Classifier, items: Iterable[Item], top_k: int, as_json: bool, out: IO[str], err: IO[str],
                  workers: int | None = 1, *, min_score: float = 0.0) -> Summary:
    """Classify `items`, print a line per image as its chunk is done (errors to `err` in text mode).

    `workers` > 1 decodes, prepares and classifies images in that many processes, each
    with its own interpreter, while this one prints (parallel.parallel_chunks); None: as
    many as this process has cores.
    The lines, their order and the errors are the same as with 1. `min_score`: a best
    score below it is printed as uncertain. Raises ModelError if the model fails to run,
    UsageError for workers < 1 or a min_score outside 0..1.
    """
    check_min_score(min_score)
    if workers is None:
        from .parallel import default_workers

        workers = default_workers()
    if workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {workers})")
    summary = Summary()
    started = time.perf_counter()
    # On a terminal, a bar counting images on `err` (stdout carries the answers); none with --json.
    bar = None if as_json else progress_bar(len(items) if isinstance(items, Sized) else None, "classifying",
                                            unit="image", stream=err)
    if workers > 1:
        from .parallel import parallel_chunks

        chunks = parallel_chunks(clf, items, top_k, workers)
    else:
        chunks = classify_chunks(clf, items, top_k)
    fmt = format_json if as_json else format_text
    try:
        for results in chunks:
            lines: list[tuple[IO[str], str]] = []
            for result in results:
                summary.count(result, min_score)
                lines.append((err if (result.error is not None and not as_json) else out, fmt(result, min_score)))
            for stream, run in itertools.groupby(lines, key=lambda pair: pair[0]):
                _print_line("\n".join(line for _, line in run), stream, bar)
            if bar is not None:
                bar.update(len(results))
    finally:
        if bar is not None:
            bar.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _print_line(text: str, stream: IO[str], bar: Any = None) -> None:
    """print (lifting `bar` off the terminal first), with characters the stream cannot encode written as escapes."""
    try:
        write_line(text, stream, bar)
    except UnicodeEncodeError:
        write_line(text.encode("ascii", "backslashreplace").decode("ascii"), stream, bar)
