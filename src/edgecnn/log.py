"""edgecnn's messages: one package logger; the CLI (not the library) decides where they go.

Library functions report progress ("epoch 3/60 ...", "wrote model_int8.tflite") through
`logger` (or a child, `get_logger(__name__)`), as tf2onnx does. Imported as a library,
edgecnn is silent: the package logger has a NullHandler, so nothing reaches the root
logger's last-resort handler below WARNING. The CLI calls `configure` once per command:
INFO lines go to stdout as plain text (as the commands always printed them), `-q` keeps
warnings and errors only, `-v` adds DEBUG, and a `--json` run keeps stdout for JSON by
sending messages to stderr.

Stdlib only: this module is imported by the runtime on a Raspberry Pi.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import IO, Callable, Iterator

#: The package logger's name; every module's logger is a child of it.
LOGGER_NAME = "edgecnn"

#: What a progress message is passed to: `logger.info`, or any function of one string.
Log = Callable[[str], None]

logger = logging.getLogger(LOGGER_NAME)
logger.addHandler(logging.NullHandler())

#: -q / (default) / -v to the logging level shown.
_LEVELS = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}


def get_logger(name: str) -> logging.Logger:
    """The logger for module `name` (pass `__name__`): a child of the package logger."""
    return logging.getLogger(name if name.startswith(LOGGER_NAME) else f"{LOGGER_NAME}.{name}")


def level_for(verbosity: int) -> int:
    """The logging level for a verbosity: below 0 (-q) WARNING, 0 INFO, above 0 (-v) DEBUG."""
    return _LEVELS[max(-1, min(1, verbosity))]


class LineHandler(logging.StreamHandler):
    """Writes each message as one plain line, lifting any progress bar off the terminal first.

    Warnings and errors keep a "warning:"/"error:" prefix so they read as before in a log.
    """

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(stream)
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            if record.levelno >= logging.WARNING and not line.startswith(("warning:", "error:")):
                line = f"{record.levelname.lower()}: {line}"
            _write(line, self.stream)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


def _write(line: str, stream: IO[str]) -> None:
    """print `line`; when tqdm is loaded and a bar is shown, through its external write mode."""
    tqdm_module = sys.modules.get("tqdm")
    if tqdm_module is not None and getattr(tqdm_module.tqdm, "_instances", None):
        with tqdm_module.tqdm.external_write_mode(file=stream):
            print(line, file=stream, flush=True)
        return
    print(line, file=stream, flush=True)


@contextlib.contextmanager
def configure(verbosity: int = 0, stream: IO[str] | None = None) -> Iterator[logging.Logger]:
    """Show edgecnn's messages at `verbosity` on `stream` (default: stdout at the time of the call).

    A context manager, because main() also runs inside tests and other programs: the
    handler and the previous level are removed again on exit.
    """
    handler = LineHandler(sys.stdout if stream is None else stream)
    previous_level, previous_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(level_for(verbosity))
    logger.propagate = False  # an application's root handlers would print every line twice
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        logger.propagate = previous_propagate
