"""Classify many image files with decoding and preprocessing in worker processes.

Why processes, not threads: on 2 cores, 2 threads made `prepare` only 1.1-1.4x faster
(Pillow's decode releases the GIL, but the crop, polarity and resize steps are many
small numpy calls that hold it), while 2 processes made it 1.6-2.2x faster
(benchmarks/classify_throughput.py). The interpreter stays in this process: workers
only read files and return uint8 (N, H, W) pixels, so a model is never loaded twice.

Order and memory: the input is read lazily, CHUNK items at a time, and at most
`window` chunks (default 2 per worker) are with the workers at once; results come
back in input order because chunks are finished first-in, first-out. So a folder of a
million files holds about window x CHUNK images in memory, never the folder.

Errors: a worker turns each file's exception into its error text with the same
`report.prepare_item` as the serial path, so every line, error or not, is the same
as with one worker. Workers ignore SIGINT: a Ctrl-C reaches this process, which stops
handing out work and tells the workers to exit after their current chunk.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Iterable, Iterator

import numpy as np

from ..errors import ImageError
from .classifier import Classifier
from .files import Item
from .report import CHUNK, Result, classify_items, finish_chunk, prepare_item

#: Chunks in flight per worker: one being prepared, one waiting, so no worker idles.
CHUNKS_PER_WORKER = 2


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def classify_parallel(clf: Classifier, items: Iterable[Item], top_k: int = 1, workers: int | None = None,
                      window: int | None = None, chunk: int = CHUNK) -> Iterator[Result]:
    """`report.classify_items`, with images prepared in `workers` processes: same Results, same order.

    `window`: chunks of `chunk` items handed out ahead of the one being classified
    (default CHUNKS_PER_WORKER x workers); it bounds how far `items` is read ahead.
    Input of at most two chunks, or workers <= 1, takes the serial path (starting
    processes would cost more than it saves). Raises ModelError if the model fails to
    run, ImageError if a worker process dies (a decoder crash or the OOM killer).
    """
    workers = default_workers() if workers is None else workers
    window = max(1, window if window is not None else CHUNKS_PER_WORKER * max(workers, 1))
    source = iter(items)
    head = list(itertools.islice(source, 2 * chunk))
    if workers <= 1 or len(head) < 2 * chunk:
        yield from classify_items(clf, itertools.chain(head, source), top_k)
        return
    chunks = _chunks(itertools.chain(head, source), chunk)
    pool = start_pool(workers)
    pending: deque[tuple[list[Item], Future]] = deque()
    finished = False
    try:
        for batch in itertools.islice(chunks, window):
            pending.append((batch, pool.submit(prepare_chunk, batch, clf.input_size, clf.invert)))
        while pending:
            batch, future = pending.popleft()
            following = next(chunks, None)  # hand out the next chunk before waiting: workers never idle
            if following is not None:
                pending.append((following, pool.submit(prepare_chunk, following, clf.input_size, clf.invert)))
            try:
                errors, pixels = future.result()
            except BrokenProcessPool:
                raise ImageError(f"{batch[0].path}: a worker process died while reading this image or one of the "
                                 f"{len(batch) - 1} after it (a decoder crash or out of memory?); "
                                 "--workers 1 reads them in one process") from None
            yield from finish_chunk(clf, batch, errors, pixels, top_k)
        finished = True
    finally:
        # Early exit (Ctrl-C, an error, a consumer that stops): drop queued chunks and let the
        # workers exit after their current one, without waiting for them here.
        pool.shutdown(wait=finished, cancel_futures=not finished)


def start_pool(workers: int) -> ProcessPoolExecutor:
    """`workers` processes that ignore SIGINT, started by a fork server where there is one.

    Why a fork server: forking this process would copy the interpreter's threads and
    locks (unsafe); spawning re-imports everything per worker. The server starts clean
    with numpy and Pillow preloaded, and forks workers from that.
    """
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        context.set_forkserver_preload([__name__])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_ignore_sigint)


def prepare_chunk(chunk: list[Item], size: tuple[int, int], invert: bool | None) -> tuple[list[str | None], np.ndarray]:
    """In a worker: (error or None per item, uint8 (good items, H, W) pixels); never raises for a bad file.

    The same as Classifier.prepare on a path (preprocess.prepare with the model's size
    and polarity), so the pixels are those the serial path would classify.
    """
    from .preprocess import prepare

    prepared = [prepare_item(lambda path: prepare(path, size, invert), item) for item in chunk]
    good = [pixels for pixels, error in prepared if error is None]
    stacked = np.stack(good) if good else np.zeros((0,) + tuple(size), np.uint8)
    return [error for _, error in prepared], stacked


def _chunks(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    while batch := list(itertools.islice(items, size)):
        yield batch


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C goes to the whole process group; only the parent acts on it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
