"""The fuzz tests' gate and their summary.

Tests marked `fuzz` (the larger corpus, a few minutes) are skipped unless asked for,
the way `pi` tests are: `FUZZ=1 pytest tests/fuzz` or `pytest -m fuzz tests/fuzz`.
The default part of tests/fuzz runs in every `make test`. Every corpus's counts are
printed at the end of the run (and by each test under `pytest -s`).
"""

from __future__ import annotations

import os

import pytest

from .harness import TALLIES


def _fuzz_requested(config: pytest.Config) -> bool:
    expr = config.getoption("markexpr", "") or ""
    return os.environ.get("FUZZ") == "1" or ("fuzz" in expr and "not fuzz" not in expr)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _fuzz_requested(config):
        return
    skip = pytest.mark.skip(reason="the large fuzz corpus runs with FUZZ=1 or -m fuzz (a few minutes)")
    for item in items:
        if item.get_closest_marker("fuzz") is not None:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    if TALLIES:
        terminalreporter.section("edgecnn fuzz counts")
        for tally in TALLIES:
            terminalreporter.write_line(tally.line())
