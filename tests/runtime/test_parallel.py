"""`edgecnn classify --workers N`: the same lines in the same order as one process, bounded read-ahead, Ctrl-C.

No timings here (shared machines are noisy): speed is benchmarks/classify_throughput.py's job.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from edgecnn.cli import main
from edgecnn.runtime import Classifier
from edgecnn.runtime.files import Item
from edgecnn.errors import ImageError, ModelError
from edgecnn.runtime.parallel import classify_parallel, default_workers, parallel_chunks
from edgecnn.runtime.report import CHUNK, classify_items, format_json, print_results

from .conftest import MODEL_FILES, copy_model, huge_png_header, save_png


@pytest.fixture()
def mixed_folder(tmp_path, test_images) -> Path:
    """More than two chunks of images, with bad files of every kind spread among them."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for i in range(3 * CHUNK):
        save_png(folder / f"img_{i:03d}.png", test_images[0][i])
    (folder / "img_010_empty.png").write_bytes(b"")
    (folder / "img_040_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 20)
    huge_png_header(folder / "img_070_huge.png")
    (folder / "img_095_text.png").write_text("hello")
    Image.new("L", (320, 240), 200).save(folder / "img_050_blank.png")  # no item, once preprocess detects it
    return folder


@pytest.mark.parametrize("form", [[], ["--json"]])
def test_workers_give_the_serial_lines_in_the_serial_order(int8_model, mixed_folder, capsys, form):
    """stdout byte for byte, and the error lines on stderr, as one process gives them (text and JSON)."""
    outputs = []
    for workers in ("1", "2"):
        rc = main(["classify", "--model", str(int8_model), *form, "--top-k", "2", "--min-score", "0.5",
                   "--workers", workers, str(mixed_folder)])
        out, err = capsys.readouterr()
        outputs.append((rc, out, err.splitlines()[:-1]))  # the last line is the summary, with its timing
    (rc1, serial, serial_err), (rc2, parallel, parallel_err) = outputs
    assert rc1 == rc2 == 1
    lines = serial.splitlines() + serial_err
    assert len(lines) == 3 * CHUNK + 5
    assert sum(": error: " in line or '"error"' in line for line in lines) == 4
    assert parallel == serial and parallel_err == serial_err


def test_library_small_chunks_keep_order_and_errors(int8_model, mixed_folder):
    """Many chunks of 5 through 2 workers: every Result equals the serial one, errors included."""
    clf = Classifier(int8_model)
    items = [Item(str(p)) for p in sorted(mixed_folder.iterdir())] + [Item("nowhere", "no such file")]
    serial = [format_json(r) for r in classify_items(clf, items, 2)]
    parallel = [format_json(r) for r in classify_parallel(clf, items, 2, workers=2, chunk=5)]
    assert parallel == serial


def test_input_is_read_only_a_window_ahead(int8_model, mixed_folder):
    """A generator of 100,000 items is consumed at most (window + 1) chunks ahead of the first result."""
    clf = Classifier(int8_model)
    good = str(next(mixed_folder.glob("img_000.png")))
    consumed = 0

    def endless():
        nonlocal consumed
        for _ in range(100_000):
            consumed += 1
            yield Item(good)

    chunk, window = 4, 3
    results = classify_parallel(clf, endless(), 1, workers=2, window=window, chunk=chunk)
    first = next(results)
    assert first.error is None
    assert consumed <= (window + 1) * chunk
    for _ in range(10 * chunk):
        next(results)
    assert consumed <= 11 * chunk + (window + 1) * chunk
    results.close()  # stops the workers without reading the rest


def test_ctrl_c_stops_the_command_and_its_workers(int8_model, mixed_folder, tmp_path):
    """SIGINT to the process group (as a terminal's Ctrl-C): exit 130, and no worker left behind."""
    big = tmp_path / "big"
    big.mkdir()
    for i in range(4000):  # far more than can be done before the signal
        os.link(mixed_folder / "img_001.png", big / f"{i:05d}.png")
    proc = subprocess.Popen([sys.executable, "-m", "edgecnn", "classify", "--model", str(int8_model),
                             "--workers", "2", str(big)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline()  # classifying has begun, so the workers are running
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    deadline = time.monotonic() + 30  # a liveness bound, not a timing figure
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)  # the session's group: the command, its fork server and its workers
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail("worker processes still running after Ctrl-C")


@pytest.mark.parametrize("model_file", MODEL_FILES)
def test_workers_answer_as_this_classifier_does(models, mixed_folder, model_file):
    """The workers run the model themselves: same backend, polarity and views, so the same scores.

    Forced inversion and flip-shift views change every score, so a worker that loaded the
    model with its own defaults would differ here; each format's backend is forked after
    this process has loaded the same model (LiteRT, or ONNX Runtime's session).
    """
    clf = Classifier(models / model_file, invert=True, views="flip-shift")
    items = [Item(str(p)) for p in sorted(mixed_folder.iterdir())]
    serial = [format_json(r) for r in classify_items(clf, items, 3)]
    parallel = [format_json(r) for r in classify_parallel(clf, items, 3, workers=2, chunk=8)]
    assert parallel == serial
    assert serial != [format_json(r) for r in classify_items(Classifier(models / model_file), items, 3)]


def test_a_model_that_fails_in_a_worker_is_one_model_error(int8_model, mixed_folder, tmp_path):
    """The model file replaced by garbage after this process loaded it: a ModelError naming it, no hang."""
    model = copy_model(int8_model, tmp_path / "changing")
    clf = Classifier(model)
    model.write_bytes(b"not a model any more" * 100)
    items = [Item(str(p)) for p in sorted(mixed_folder.iterdir())]
    with pytest.raises(ModelError, match=f"^{model}: "):
        list(classify_parallel(clf, items, 1, workers=2, chunk=8))
    assert not multiprocessing.active_children()


@pytest.mark.skipif(default_workers() < 2, reason="one core: the default is the serial path")
def test_default_is_one_worker_per_core(int8_model, mixed_folder):
    """workers=None (the CLI's default) prepares in worker processes: they are running while input is read."""
    clf = Classifier(int8_model)
    seen = []

    def items():
        for i, path in enumerate(sorted(mixed_folder.iterdir())):
            if i == 3 * CHUNK:  # read while the workers have the first chunks
                seen.extend(multiprocessing.active_children())
            yield Item(str(path))

    summary = print_results(clf, items(), 1, True, io.StringIO(), io.StringIO(), None)
    assert summary.images == 3 * CHUNK + 5
    assert len(seen) == default_workers()
    assert not multiprocessing.active_children()  # and none left afterwards


def test_a_worker_that_dies_is_one_error_not_a_hang(int8_model, mixed_folder):
    """A worker killed mid-run (as by the OOM killer): an ImageError naming a file, and no process left."""
    clf = Classifier(int8_model)
    items = [Item(str(p)) for p in sorted(mixed_folder.iterdir())] * 3
    chunks = parallel_chunks(clf, items, 1, workers=2, window=2, chunk=8)
    next(chunks)
    workers = multiprocessing.active_children()
    assert len(workers) == 2
    for worker in workers:
        os.kill(worker.pid, signal.SIGKILL)
    with pytest.raises(ImageError, match=r"^.+img_.*: a worker process died while reading this image"):
        for _ in chunks:
            pass
    assert not multiprocessing.active_children()


def test_bad_workers_value(int8_model, mixed_folder, capsys):
    assert main(["classify", "--model", str(int8_model), "--workers", "0", str(mixed_folder)]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
