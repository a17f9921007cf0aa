"""The exit statuses: one enum, and README's table says the same numbers."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from edgecnn.errors import EdgecnnError, ExitStatus, ImageError, NoItem, VerificationError

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_exit_codes() -> set[int]:
    """The numbers in the first column of README's `| exit | meaning |` table."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| exit | meaning |"):].split("\n\n", 1)[0]
    codes: set[int] = set()
    for row in table.splitlines()[2:]:
        codes.update(int(n) for n in re.findall(r"\d+", row.split("|")[1]))
    return codes


def test_readme_table_lists_every_exit_status() -> None:
    assert readme_exit_codes() == {int(s) for s in ExitStatus}


def test_signals_map_to_their_statuses() -> None:
    assert ExitStatus.for_signal(signal.SIGINT) == ExitStatus.INTERRUPTED == 130
    assert ExitStatus.for_signal(signal.SIGTERM) == ExitStatus.TERMINATED == 143


def test_error_classes_carry_their_status() -> None:
    assert EdgecnnError("x").exit_code == ExitStatus.ERROR == 2
    assert VerificationError("x").exit_code == ExitStatus.VERIFICATION_FAILED == 3
    assert issubclass(NoItem, ImageError)  # a caller unaware of "no item" still refuses to invent a class
