"""Classify many image files in worker processes: decoding, preprocessing and the model.

Why processes, not threads: on 2 cores, 2 threads made `prepare` only 1.1-1.4x faster
(Pillow's decode releases the GIL, but the crop, polarity and resize steps are many
small numpy calls that hold it), while 2 processes made it 1.6-2.2x faster
(benchmarks/classify_throughput.py).

Why the model runs in the workers too: each worker loads its own interpreter (one
thread each) and sends back one score per class and image, which this process only ranks and
prints. With the model here instead, every interpreter call queued behind this one
process: with a Fashion-MNIST model's ten test-time views (about 230 us per image on a
2-core AMD EPYC) 2 workers ran at 0.30x the serial floor on small PNGs, against 0.42x
now. Each chunk is still one interpreter call (a batch is cheaper per image than single
calls). The price is a worker's start: about 15 ms of CPU here (the fork's copied pages,
loading and checking the model, the batch interpreter, the exit), a fixed cost that
comes to about 30 us per file when 2 workers share 1,000 small files.

How: each worker is one process with its own pipe. Chunks of file paths are dealt to
the workers in turn and each worker answers its chunks in the order it got them, so
reading the answers back in the order the chunks were dealt keeps the input order.
No threads in this process and no shared queue: a chunk costs one pickle each way
(concurrent.futures' pool spent about 10 us per image here on its feeder and manager
threads, a tenth of the time a small PNG takes).

Start-up: on Linux the workers are forked from this process, which has numpy, Pillow,
the interpreter's module and edgecnn imported already, so they are ready in
milliseconds; a fork server or spawned workers import them again first (0.2-0.4 s
here, as long as classifying 1,000 small PNGs takes). Forking is safe here because a
worker only uses what it makes itself (its own interpreter, `preprocess.prepare`) and
never touches what other threads of this process own: this process's interpreter and
its thread pool, the progress bar. Elsewhere (macOS, Windows) workers are spawned, as
Python does by default there. A worker loads the model from the same path, with the
same backend, polarity and views as this process's Classifier (`WorkerModel`).

Order and memory: the input is read lazily, CHUNK items at a time, and at most
`window` chunks (default 2 per worker) are with the workers at once. So a folder of a
million files holds about window x CHUNK images in memory, never the folder.

Errors: a worker turns each file's exception into its answer (an error, or no item)
with the same `report.score_chunk` as the serial path, so every line is the same as
with one worker; a model that fails to load or run in a worker is a ModelError here.
Workers ignore SIGINT: a Ctrl-C reaches this process, which stops the workers (they
hold nothing but images being read) and exits.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import multiprocessing
import os
import signal
import sys
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Iterable, Iterator

import numpy as np

from ..errors import EdgecnnError, ImageError, ModelError
from .classifier import Classifier
from .files import Item
from .report import CHUNK, Result, classify_chunks, finish_chunk, score_chunk

#: Chunks in flight per worker: one being prepared, one waiting, so no worker idles.
CHUNKS_PER_WORKER = 2

#: How long an idle worker may take to exit after its pipe closes before it is ended.
JOIN_TIMEOUT_S = 10.0


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def classify_parallel(clf: Classifier, items: Iterable[Item], top_k: int = 1, workers: int | None = None,
                      window: int | None = None, chunk: int = CHUNK) -> Iterator[Result]:
    """`report.classify_items`, with images prepared in `workers` processes: same Results, same order.

    Closing it (or stopping early) stops the workers at once.
    """
    chunks = parallel_chunks(clf, items, top_k, workers, window, chunk)
    try:
        for results in chunks:
            yield from results
    finally:
        chunks.close()


def parallel_chunks(clf: Classifier, items: Iterable[Item], top_k: int = 1, workers: int | None = None,
                    window: int | None = None, chunk: int = CHUNK) -> Iterator[list[Result]]:
    """`report.classify_chunks`, with images prepared in `workers` processes: same Results, same order.

    `window`: chunks of `chunk` items handed out ahead of the one being classified
    (default CHUNKS_PER_WORKER x workers); it bounds how far `items` is read ahead.
    Input of at most two chunks, or workers <= 1, takes the serial path (starting
    processes would cost more than it saves). Raises ModelError if the model fails to
    load or run in a worker, ImageError if a worker process dies (a decoder crash or the
    OOM killer).
    """
    workers = default_workers() if workers is None else workers
    window = max(1, window if window is not None else CHUNKS_PER_WORKER * max(workers, 1))
    source = iter(items)
    head = list(itertools.islice(source, 2 * chunk))
    if workers <= 1 or len(head) < 2 * chunk:
        yield from classify_chunks(clf, itertools.chain(head, source), top_k, chunk)
        return
    chunks = _chunks(itertools.chain(head, source), chunk)
    pool = Workers(min(workers, window), WorkerModel.of(clf))
    pending: deque[tuple[list[Item], int]] = deque()
    finished = False
    try:
        for number, batch in enumerate(itertools.islice(chunks, window)):
            pending.append((batch, pool.send(number % pool.count, batch)))
        while pending:
            batch, worker = pending.popleft()
            done, scores = pool.receive(worker, batch)
            following = next(chunks, None)  # to the worker just freed, before classifying: it never idles
            if following is not None:
                pending.append((following, pool.send(worker, following)))
            else:
                pool.finish()
            yield finish_chunk(clf, batch, done, scores, top_k)
        finished = True
    finally:
        pool.close(stop=not finished)  # early exit (Ctrl-C, an error, a consumer that stops): stop them now


@dataclass(frozen=True)
class WorkerModel:
    """What a worker needs to build a Classifier that answers as this process's one does."""

    path: str
    backend: str
    invert: bool | None
    views: str

    @classmethod
    def of(cls, clf: Classifier) -> "WorkerModel":
        return cls(str(clf.path), clf.backend.name, clf.invert, clf.views)

    def load(self) -> Classifier:
        """The worker's Classifier: one interpreter thread (each worker is one core's work).

        Its warnings (a manifest digest that differs) were already shown by this process's
        Classifier, so they are not repeated per worker. Raises what Classifier raises.
        """
        with contextlib.redirect_stderr(io.StringIO()):
            return Classifier(self.path, num_threads=1, backend=self.backend, invert=self.invert, views=self.views)


class Workers:
    """`count` worker processes, each with its own pipe, classifying chunks of files in the order sent.

    Started with SIGINT blocked, so a Ctrl-C during start-up cannot reach a worker before it
    ignores SIGINT. Raises ImageError from `receive` when a worker has died.
    """

    def __init__(self, count: int, model: WorkerModel) -> None:
        fork = sys.platform.startswith("linux")
        context = multiprocessing.get_context("fork" if fork else "spawn")
        self.count = count
        self._finished = False
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        blocked = hasattr(signal, "pthread_sigmask")
        if blocked:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            for _ in range(count):
                mine, theirs = context.Pipe()
                # A forked worker inherits this process's ends of its own pipe and the earlier workers': it
                # closes them, so that it sees its pipe close when this process closes it or exits.
                inherited = [*self._conns, mine] if fork else []
                proc = context.Process(target=_serve, args=(theirs, inherited, model),
                                       daemon=True, name="edgecnn-prepare")
                proc.start()
                theirs.close()
                self._conns.append(mine)
                self._procs.append(proc)
        finally:
            if blocked:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    def send(self, worker: int, batch: list[Item]) -> int:
        """Hand `batch` (readable items only travel as paths) to `worker`; returns `worker`.

        A worker that has died is reported by `receive`, for the batch it died on.
        """
        self._send(worker, [item.path if item.error is None else (item.path, item.error) for item in batch])
        return worker

    def _send(self, worker: int, message: Any) -> None:
        with contextlib.suppress(OSError):  # BrokenPipeError: that worker is gone, see send
            self._conns[worker].send(message)

    def finish(self) -> None:
        """No more chunks: each worker exits after answering the ones it has, while this process still works."""
        if not self._finished:
            self._finished = True
            for worker in range(self.count):
                self._send(worker, None)

    def receive(self, worker: int, batch: list[Item]) -> tuple[list[Result | None], np.ndarray]:
        """`worker`'s answer to the oldest batch it was sent (`report.score_chunk`'s).

        Raises ModelError when the worker could not load or run the model, ImageError
        naming the batch if the worker died.
        """
        try:
            answer = self._conns[worker].recv()
        except (EOFError, OSError):
            raise ImageError(f"{batch[0].path}: a worker process died while reading this image or one of the "
                             f"{len(batch) - 1} after it (a decoder crash or out of memory?); "
                             "--workers 1 reads them in one process") from None
        if isinstance(answer, str):  # _serve: the model's problem, in its own words
            raise ModelError(answer)
        return answer

    def close(self, stop: bool) -> None:
        """Let idle workers exit (their pipe closes), or with `stop`, end them mid-chunk; then reap them."""
        for conn in self._conns:
            conn.close()
        for proc in self._procs:
            if not stop:
                proc.join(timeout=JOIN_TIMEOUT_S)  # an idle worker exits at once; never hang here
            if proc.is_alive():
                proc.terminate()
            proc.join()


def _serve(conn: Connection, inherited: list[Connection], model: WorkerModel) -> None:
    """A worker: answer each chunk of paths with `report.score_chunk` until told to finish or the pipe closes.

    A model that fails to load or run is answered with its message (a str) and the worker exits.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the whole process group; the parent acts
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    for other in inherited:
        other.close()
    try:
        clf: Classifier | str = model.load()
    except EdgecnnError as exc:
        clf = str(exc)
    while True:
        try:
            paths = conn.recv()
        except (EOFError, OSError):
            return
        if paths is None:  # Workers.finish: nothing more to do
            return
        items = [Item(p) if isinstance(p, str) else Item(*p) for p in paths]
        try:
            answer = clf if isinstance(clf, str) else score_chunk(clf, items)
        except EdgecnnError as exc:  # ModelError: the model failed to run on this chunk
            answer = str(exc)
        try:
            conn.send(answer)
        except (BrokenPipeError, OSError):
            return
        if isinstance(answer, str):
            return


def _chunks(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    while batch := list(itertools.islice(items, size)):
        yield batch
