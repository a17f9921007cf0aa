"""The `edgecnn` command: argument parsing only; the work is in library functions.

Each sub-command lives in edgecnn/commands/<name>.py with `register(subparsers)`,
which adds its parser and sets `func(args) -> int`. Nothing heavy is imported until
a command runs, so `edgecnn --help` and the runtime commands start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading
import traceback
from types import FrameType
from typing import Iterator, Sequence

from . import __version__, log, progress
from .errors import EdgecnnError, ExitStatus

COMMANDS = ("train", "convert", "classify", "camera", "serve", "doctor", "evaluate", "bench", "pipeline")
#: Commands whose product is one committed output set: once it is on disk the run is over,
#: and a late Ctrl-C/SIGTERM must not turn it into exit 130 (pipeline goes on after train's).
ONE_COMMIT_COMMANDS = ("train", "convert")

EPILOG = """examples:
  edgecnn train --dataset synthetic --epochs 3 --out artifacts
  edgecnn convert artifacts/model.keras --int8
  edgecnn classify --model artifacts/model_int8.tflite photo.jpg
"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks; shows a default only where it says something (a list as a,b)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "default" not in text
            and not any(action.default is skip for skip in (None, False, argparse.SUPPRESS))
            and action.option_strings
        ):
            if isinstance(action.default, list):
                text += " (default: " + ",".join(map(str, action.default)).replace("%", "%%") + ")"
            else:
                text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgecnn", description="Train, quantize, export and run a small image classifier.",
        epilog=EPILOG, formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"edgecnn {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback on errors (debugging)")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=1, default=0,
                          help="also show debugging messages (before the command: edgecnn -v train ...)")
    loudness.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=-1,
                          help="show only warnings and errors, not progress messages (edgecnn -q convert ...)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f".commands.{name}", __package__).register(sub)
    return parser


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM: unwinds like Ctrl-C (temporary files removed) and exits 128 + the signal number."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.exit_code = ExitStatus.for_signal(signum)


@contextlib.contextmanager
def signal_handling(command: str) -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted, except once a one-commit command's output is on disk.

    The previous handlers come back at the end (main() also runs inside tests and other programs).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from .fsutil import commits_done

    before = commits_done()

    def handler(signum: int, frame: FrameType | None) -> None:
        if command in ONE_COMMIT_COMMANDS and commits_done() > before:
            return  # the run has finished; what is left is printing and exiting
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old if old is not None else signal.SIG_DFL)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status, an errors.ExitStatus (0 ok, 2 bad input, 3 verification failed...).

    Called as the console script (argv None), a finished run also ignores SIGINT/SIGTERM during the
    interpreter's teardown (a second with TensorFlow loaded), so a late signal cannot change the exit code.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return ExitStatus.ERROR
    code = _run(args)
    if argv is None and threading.current_thread() is threading.main_thread():
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_IGN)
    return code


def _run(args: argparse.Namespace) -> int:
    as_json = bool(getattr(args, "json", False))
    try:
        # Messages go to stdout, except in a --json run (stdout is for JSON then); with --json no
        # progress bar anywhere (edgecnn.progress).
        with signal_handling(args.command), progress.suppressed(as_json), \
                log.configure(args.verbosity, sys.stderr if as_json else sys.stdout):
            return int(args.func(args) or ExitStatus.SUCCESS)
    except KeyboardInterrupt as exc:
        print("edgecnn: interrupted", file=sys.stderr)
        return getattr(exc, "exit_code", ExitStatus.INTERRUPTED)
    except EdgecnnError as exc:
        if args.traceback:
            traceback.print_exc()
        print(f"edgecnn: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return ExitStatus.SUCCESS


if __name__ == "__main__":
    sys.exit(main())
