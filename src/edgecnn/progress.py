"""Progress bars for long work: a tqdm bar on a terminal, nothing anywhere else.

One place decides whether a bar is shown, for training, convert (calibration and
verification), evaluate and classify:

- only when the bar's stream is a terminal (piped or redirected output keeps its plain lines);
- never while `--json` is in force (`suppressed()`, entered by the CLI for a --json run), so a
  bar can never end up in machine-read output;
- only when tqdm is installed: it is optional (the [train] and [pi] extras bring it), and
  this module imports without it and without TensorFlow.

A bar vanishes when done (leave=False): the lines a command prints are the same with or
without one. Lines printed while a bar is shown go through `write_line`, which lifts the bar
off the terminal first so that a line never lands in the middle of it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, Iterator, TypeVar

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")

#: Images per model call in in_chunks: a multiple of the 256-image batch Keras predicts with,
#: so a Keras model sees the same batches as in one call.
CHUNK_IMAGES = 512

_suppressed = 0  # >0 inside suppressed(True): no bars at all (a --json run)


@contextlib.contextmanager
def suppressed(active: bool = True) -> Iterator[None]:
    """No progress bars inside this block when `active` (a --json run); nests, and restores on exit."""
    global _suppressed
    _suppressed += int(active)
    try:
        yield
    finally:
        _suppressed -= int(active)


def bars_wanted(stream: IO[str]) -> bool:
    """Whether a bar may be drawn on `stream`: a terminal, outside suppressed(), with tqdm importable."""
    if _suppressed or not _is_terminal(stream):
        return False
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def terminal_size(stream: IO[str]) -> tuple[int, int]:
    """(columns, lines) of the terminal behind `stream`, else shutil's answer (which falls back to 80 x 24).

    The size is asked here and passed to tqdm: after TensorFlow's import tqdm's own query of
    the terminal answers -1 x -1, which hides the bar.
    """
    try:
        size = os.get_terminal_size(stream.fileno())
        if size.columns > 0 and size.lines > 0:
            return size.columns, size.lines
    except (AttributeError, OSError, ValueError):
        pass
    columns, lines = shutil.get_terminal_size()
    return columns, lines


def progress_bar(total: int | None, desc: str, unit: str = "batch", stream: IO[str] | None = None) -> Any | None:
    """A tqdm bar on `stream` (default stdout) that vanishes when done, or None where no bar is wanted.

    The caller calls `.update(n)` and `.close()` on it; None means: print nothing extra.
    """
    stream = sys.stdout if stream is None else stream
    if not bars_wanted(stream):
        return None
    from tqdm import tqdm

    columns, lines = terminal_size(stream)
    return tqdm(total=total, desc=desc, leave=False, unit=unit, file=stream, ncols=columns, nrows=lines,
                dynamic_ncols=False)


def track(items: Iterable[T], total: int | None, desc: str, unit: str = "item",
          stream: IO[str] | None = None) -> Iterator[T]:
    """`items`, one by one, with a bar counting them where one is wanted (see progress_bar)."""
    bar = progress_bar(total, desc, unit, stream)
    if bar is None:
        yield from items
        return
    try:
        for item in items:
            yield item
            bar.update(1)
    finally:
        bar.close()


def write_line(line: str, stream: IO[str], bar: Any | None = None) -> None:
    """print `line` to `stream`; with a bar shown on the same terminal, the bar is cleared first and redrawn after.

    Raises UnicodeEncodeError as print does (the caller decides how to escape).
    """
    if bar is None or not _is_terminal(stream):  # a line to a file or pipe cannot land in the bar
        print(line, file=stream, flush=True)
        return
    with bar.external_write_mode(file=stream):
        print(line, file=stream, flush=True)


def in_chunks(probabilities: Callable[[np.ndarray], np.ndarray], images: np.ndarray, desc: str,
              chunk: int = CHUNK_IMAGES, stream: IO[str] | None = None) -> np.ndarray:
    """probabilities(images), computed `chunk` images at a time, with a bar counting images where one is wanted.

    Always chunked, bar or not, so the numbers never depend on whether a terminal is attached.
    Used by convert's verification and by evaluate.
    """
    import numpy as np

    bar = progress_bar(len(images), desc, unit="image", stream=stream)
    parts = []
    try:
        for start in range(0, max(len(images), 1), chunk):  # an empty set is still one call: (0, classes)
            parts.append(probabilities(images[start:start + chunk]))
            if bar is not None:
                bar.update(len(parts[-1]))
    finally:
        if bar is not None:
            bar.close()
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
