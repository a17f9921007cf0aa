"""edgecnn.log: silent as a library, plain lines under the CLI, -q keeps warnings only."""

from __future__ import annotations

import io
import logging

from edgecnn import log
from edgecnn.cli import build_parser
from edgecnn.datasets import fashion_mnist


def test_a_library_call_prints_nothing(tmp_path, capsys, monkeypatch) -> None:
    """locate_files warns about a partial folder; imported as a library that reaches no stream."""
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"x")
    monkeypatch.setenv("EDGECNN_DATA", str(tmp_path))
    monkeypatch.setenv("EDGECNN_SYSTEM_DATA", str(tmp_path / "none"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "k"))
    monkeypatch.setenv("EDGECNN_OFFLINE", "1")
    try:
        fashion_mnist.locate_files(None)
    except Exception:
        pass  # no complete folder: an error is expected; printing is not
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_configure_shows_info_and_warnings_then_removes_itself() -> None:
    stream = io.StringIO()
    child = log.get_logger("edgecnn.datasets.test")
    with log.configure(0, stream):
        child.info("epoch 1/2")
        child.warning("only 3 of the 4 files")
        child.debug("hidden at the default verbosity")
    child.info("after configure: silent")
    assert stream.getvalue().splitlines() == ["epoch 1/2", "warning: only 3 of the 4 files"]
    assert not any(isinstance(h, log.LineHandler) for h in log.logger.handlers)


def test_quiet_keeps_warnings_and_verbose_adds_debug() -> None:
    quiet, verbose = io.StringIO(), io.StringIO()
    child = log.get_logger("x")
    assert child.name == "edgecnn.x"
    with log.configure(-1, quiet):
        child.info("progress")
        child.warning("careful")
    with log.configure(1, verbose):
        child.debug("details")
    assert quiet.getvalue() == "warning: careful\n"
    assert verbose.getvalue() == "details\n"


def test_cli_flags_set_the_verbosity() -> None:
    parser = build_parser()
    assert parser.parse_args(["-q", "doctor"]).verbosity == -1
    assert parser.parse_args(["-v", "doctor"]).verbosity == 1
    assert parser.parse_args(["doctor"]).verbosity == 0
    assert log.level_for(-1) == logging.WARNING and log.level_for(5) == logging.DEBUG
