"""Progress bars (edgecnn.progress): on a terminal only, never piped, never with --json.

The command tests run edgecnn in a child process whose stdout or stderr is a
pseudo-terminal (pty.openpty, sized with TIOCSWINSZ as a real terminal is), the other
stream going to a file, and look for tqdm's "image/s" rate and the bar's title.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgecnn import progress

from .terminal import run_on_terminal, run_piped

BAR_RATE = "image/s"  # tqdm's rate unit for every image-counting bar


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


# ------------------------------------------------------------------ the helper itself


def test_a_bar_only_on_a_terminal_outside_json_and_with_tqdm(monkeypatch):
    terminal = FakeTerminal()
    bar = progress.progress_bar(10, "work", unit="image", stream=terminal)
    assert bar is not None
    bar.update(10)
    bar.close()
    assert "work" in terminal.getvalue()
    assert progress.progress_bar(10, "work", stream=io.StringIO()) is None  # piped
    with progress.suppressed():  # --json
        assert progress.progress_bar(10, "work", stream=FakeTerminal()) is None
        with progress.suppressed(False):  # nesting keeps the outer suppression
            assert progress.progress_bar(10, "work", stream=FakeTerminal()) is None
    assert progress.progress_bar(10, "work", stream=FakeTerminal()) is not None
    monkeypatch.setitem(sys.modules, "tqdm", None)  # tqdm not installed: no bar, no error
    assert progress.progress_bar(10, "work", stream=FakeTerminal()) is None


def test_importable_without_tensorflow_or_tqdm():
    code = ("import sys; sys.modules['tqdm'] = None; import edgecnn.progress as p, io; "
            "assert list(p.track([1, 2], 2, 'x')) == [1, 2]; "
            "assert 'tensorflow' not in sys.modules; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_in_chunks_gives_the_one_call_answer_with_or_without_a_bar():
    images = np.arange(7 * 4, dtype=np.float64).reshape(7, 4)
    calls: list[int] = []

    def probabilities(batch: np.ndarray) -> np.ndarray:
        calls.append(len(batch))
        return batch * 2

    terminal = FakeTerminal()
    np.testing.assert_array_equal(progress.in_chunks(probabilities, images, "scoring", chunk=3, stream=terminal),
                                  images * 2)
    assert calls == [3, 3, 1] and BAR_RATE in terminal.getvalue()
    calls.clear()
    piped = io.StringIO()
    np.testing.assert_array_equal(progress.in_chunks(probabilities, images, "scoring", chunk=3, stream=piped),
                                  images * 2)
    assert calls == [3, 3, 1] and piped.getvalue() == ""
    assert progress.in_chunks(probabilities, images[:0], "scoring", stream=piped).shape == (0, 4)


def test_write_line_lifts_the_bar_off_the_terminal():
    terminal = FakeTerminal()
    bar = progress.progress_bar(3, "classifying", unit="image", stream=terminal)
    before = len(terminal.getvalue())
    progress.write_line("a.png: Shirt (0.900)", terminal, bar)
    after = terminal.getvalue()[before:]
    bar.close()
    # the bar's line is cleared ("\r" + spaces or an erase) before the answer, and redrawn after it
    assert after.index("a.png: Shirt") > 0 and "classifying" in after.split("a.png: Shirt (0.900)\n", 1)[1]


# ------------------------------------------------------------------ the commands


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 255, (28, 28), dtype=np.uint8)).save(folder / f"img{i}.png")
    return folder


@pytest.mark.slow
def test_classify_bar_on_stderr_only_on_a_terminal(converted_dir, image_folder, tmp_path):
    args = ["classify", "--model", str(converted_dir / "model_int8.tflite"), "--workers", "1", str(image_folder)]
    code, on_tty, stdout = run_on_terminal(args, "stderr", tmp_path)
    assert code == 0 and "classifying" in on_tty and BAR_RATE in on_tty, on_tty
    assert stdout.count("\n") == 5 and BAR_RATE not in stdout  # the answers alone on stdout
    piped = run_piped(args)
    assert piped.returncode == 0 and BAR_RATE not in piped.stderr and "classified 5 of 5" in piped.stderr
    code, on_tty, stdout = run_on_terminal(args[:1] + ["--json"] + args[1:], "stderr", tmp_path)
    assert code == 0 and BAR_RATE not in on_tty and "classified 5 of 5" in on_tty, on_tty
    assert stdout.count('"path"') == 5


@pytest.mark.slow
def test_evaluate_bar_only_on_a_terminal_and_never_with_json(converted_dir, tmp_path):
    args = ["evaluate", "--model", str(converted_dir / "model_int8.tflite"), "--dataset", "synthetic",
            "--limit", "600"]
    code, on_tty, _ = run_on_terminal(args, "stdout", tmp_path)
    assert code == 0 and "evaluating model_int8.tflite" in on_tty and BAR_RATE in on_tty, on_tty
    piped = run_piped(args)
    assert piped.returncode == 0 and "accuracy" in piped.stdout and BAR_RATE not in piped.stdout + piped.stderr
    code, on_tty, _ = run_on_terminal(args + ["--json"], "stdout", tmp_path)
    assert code == 0 and BAR_RATE not in on_tty and '"agreement"' in on_tty, on_tty


@pytest.mark.slow
def test_convert_bars_for_calibration_and_verification_only_on_a_terminal(trained_dir, tmp_path):
    args = ["convert", str(trained_dir / "model.keras"), "--format", "int8", "--calibration-samples", "20",
            "--limit", "600"]
    code, on_tty, _ = run_on_terminal(args + ["--out", str(tmp_path / "tty")], "stdout", tmp_path)
    assert code == 0, on_tty
    assert "calibrating int8" in on_tty and "verifying model_int8.tflite" in on_tty and BAR_RATE in on_tty, on_tty
    code, on_tty, _ = run_on_terminal(args + ["--json", "--out", str(tmp_path / "json")], "stdout", tmp_path)
    assert code == 0 and BAR_RATE not in on_tty and '"artifacts"' in on_tty, on_tty
    piped = run_piped(args + ["--out", str(tmp_path / "pipe")])
    assert piped.returncode == 0 and "verifying int8" in piped.stdout
    assert BAR_RATE not in piped.stdout + piped.stderr
