"""Argument helpers shared by several sub-commands."""

from __future__ import annotations

import argparse

from ..datasets import DATASET_CHOICES


def add_dataset_args(parser: argparse.ArgumentParser, default: str | None = "fashion-mnist") -> None:
    parser.add_argument("--dataset", default=default, help=f"dataset: {DATASET_CHOICES}")
    parser.add_argument("--data-dir", help="folder holding the Fashion-MNIST IDX files (else $EDGECNN_DATA, else the Keras cache)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (data split, synthetic set, weights)")
    parser.add_argument("--limit", type=int, help="use at most N training images (and N/6 test images)")


def add_subcommand(sub: argparse._SubParsersAction, name: str, help_text: str, examples: str) -> argparse.ArgumentParser:
    from ..cli import HelpFormatter

    return sub.add_parser(
        name, help=help_text, description=help_text, epilog="examples:\n" + examples, formatter_class=HelpFormatter
    )
