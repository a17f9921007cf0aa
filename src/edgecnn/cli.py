"""The `edgecnn` command: argument parsing only; the work is in library functions.

Each sub-command lives in edgecnn/commands/<name>.py with `register(subparsers)`,
which adds its parser and sets `func(args) -> int`. Nothing heavy is imported until
a command runs, so `edgecnn --help` and the runtime commands start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from typing import Sequence

from . import __version__
from .errors import EdgecnnError

COMMANDS = ("train", "convert", "classify", "camera", "doctor", "evaluate", "bench", "pipeline")

EPILOG = """examples:
  edgecnn train --dataset synthetic --epochs 3 --out artifacts
  edgecnn convert artifacts/model.keras --int8
  edgecnn classify --model artifacts/model_int8.tflite photo.jpg
"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks; shows a default only where it says something."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "default" not in text
            and not any(action.default is skip for skip in (None, False, argparse.SUPPRESS))
            and action.option_strings
        ):
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgecnn", description="Train, quantize, export and run a small image classifier.",
        epilog=EPILOG, formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"edgecnn {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show the full traceback on errors (debugging)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f".commands.{name}", __package__).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("edgecnn: interrupted", file=sys.stderr)
        return 130
    except EdgecnnError as exc:
        if args.traceback:
            traceback.print_exc()
        print(f"edgecnn: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
