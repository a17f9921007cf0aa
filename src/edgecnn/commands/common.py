"""Argument helpers shared by several sub-commands."""

from __future__ import annotations

import argparse
import os
from typing import Any, Callable, Sequence

from ..datasets import DATASET_CHOICES


#: One text for every command's --data-dir: where Fashion-MNIST is looked for, in order.
DATA_DIR_HELP = ("folder holding the four Fashion-MNIST IDX files (else $EDGECNN_DATA, the Keras cache, "
                 "then /usr/share/datasets/fashion-mnist from apt's dataset-fashion-mnist; convert and "
                 "evaluate first try the folder recorded in the train.json beside the model)")


def add_dataset_args(parser: argparse.ArgumentParser, recorded: bool = False) -> None:
    """--dataset, --data-dir, --seed and --limit: the one definition for train, convert, evaluate and pipeline.

    `recorded`: a command working on a trained model (convert, evaluate), whose defaults are
    the values train.json beside the model recorded (so these flags default to None here).
    """
    beside = "; default: the one in train.json beside the model" if recorded else ""
    parser.add_argument("--dataset", default=None if recorded else "fashion-mnist",
                        help=f"dataset: {DATASET_CHOICES}{beside}")
    parser.add_argument("--data-dir", help=DATA_DIR_HELP)
    parser.add_argument("--seed", type=int, default=None if recorded else 0,
                        help=f"random seed (data split, synthetic set, weights, calibration draw){beside}")
    parser.add_argument("--limit", type=int, help=f"use at most N training images (and N/6 test images){beside}")


def add_subcommand(sub: argparse._SubParsersAction, name: str, help_text: str, examples: str) -> argparse.ArgumentParser:
    from ..cli import HelpFormatter

    return sub.add_parser(
        name, help=help_text, description=help_text, epilog="examples:\n" + examples, formatter_class=HelpFormatter
    )


class ListAction(argparse.Action):
    """A list flag: `--x a,b` and `--x a --x b` both give [a, b]; each item typed and checked against choices.

    A value that names an existing file as a whole is one item even if it contains a comma (model paths).
    An item outside `choices`, or one `item_type` rejects, is a usage error (exit 2) while parsing,
    so nothing has run yet.
    """

    def __init__(self, option_strings: Sequence[str], dest: str, item_type: Callable[[str], Any] = str,
                 item_choices: Sequence[Any] | None = None, keep_files: bool = False, **kwargs: Any) -> None:
        self.item_type = item_type
        self.item_choices = list(item_choices) if item_choices is not None else None
        self.keep_files = keep_files
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        text = str(values)
        parts = [text] if self.keep_files and os.path.isfile(text) else [p.strip() for p in text.split(",")]
        if not any(parts):
            parser.error(f"{option_string}: give at least one value")
        items = []
        for part in filter(None, parts):
            try:
                item = self.item_type(part)
            except (TypeError, ValueError):
                parser.error(f"{option_string}: invalid value '{part}'")
            if self.item_choices is not None and item not in self.item_choices:
                parser.error(f"{option_string}: invalid choice '{part}' "
                             f"(choose from {', '.join(map(str, self.item_choices))})")
            items.append(item)
        # A default list is replaced by the first flag given, then extended by repeats.
        current = getattr(namespace, self.dest, None)
        if not isinstance(current, list) or current is self.default:
            current = []
        current.extend(items)
        setattr(namespace, self.dest, current)


def positive_int(text: str) -> int:
    """A whole number of at least 1 (thread counts, batch sizes)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def add_list_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup, flag: str, *, help: str,
                      item_type: Callable[[str], Any] = str, choices: Sequence[Any] | None = None,
                      default: list[Any] | None = None, required: bool = False, keep_files: bool = False,
                      metavar: str | None = None) -> argparse.Action:
    """Add a list flag in edgecnn's one list style: comma-separated, and repeating the flag also adds.

    `choices` are checked per item while parsing (argparse's own `choices=` would check the
    whole comma-separated string). The help says both forms are accepted.
    """
    if metavar is None:
        metavar = "{" + ",".join(map(str, choices)) + "}[,...]" if choices is not None else "X[,X...]"
    return parser.add_argument(
        flag, action=ListAction, item_type=item_type, item_choices=choices, keep_files=keep_files,
        default=list(default) if default is not None else None, required=required, metavar=metavar,
        help=f"{help} (comma-separated, or repeat the flag)",
    )
