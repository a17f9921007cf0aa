"""Issue 13, runtime side: shared Classifiers, bounded inputs, quiet losses, spoofed output, API misuse.

Every case runs the real interpreters on the session's converted models. Cases that
could hang or eat memory if the protection they check were missing (a FIFO or
/dev/zero as a model) run in a child process with a memory limit and a timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import tracemalloc
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from PIL import Image

from edgecnn.cli import main
from edgecnn.errors import EdgecnnError, ImageError, NoItem, UsageError
from edgecnn.runtime import Classifier
from edgecnn.runtime.files import MAX_MODEL_BYTES, expand_paths
from edgecnn.runtime.preprocess import fit_in_square, pad_to_square, prepare, resize_area
from edgecnn.runtime.report import print_results

from .conftest import copy_model, save_png

# --------------------------------------------------------------------------- item 2: threads


def test_shared_classifier_from_four_threads_gives_the_single_threaded_labels(int8_model, test_images):
    """4 threads share one Classifier over 300 images (one by one and in batches of 1-7): same labels, no errors."""
    images = test_images[0][:300]
    clf = Classifier(int8_model, num_threads=1)
    expected = [clf.classify(image)[0].index for image in images]
    assert [p[0].index for p in clf.classify_batch(images, top_k=1)] == expected
    mismatches: list[str] = []
    errors: list[str] = []
    start = threading.Barrier(4)

    def work(worker: int) -> None:
        start.wait()
        try:
            for i, image in enumerate(images):
                if (i + worker) % 5:
                    got = [clf.classify(image)[0].index]
                    want = expected[i:i + 1]
                else:
                    size = 1 + (i + worker) % 7  # varying sizes make the batch interpreter resize
                    got = [p[0].index for p in clf.classify_batch(images[i:i + size], top_k=1)]
                    want = expected[i:i + size]
                if got != want:
                    mismatches.append(f"thread {worker} image {i}: {got} != {want}")
        except Exception as exc:  # noqa: BLE001 - any exception is the failure this test looks for
            errors.append(f"thread {worker}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and not mismatches, (errors + mismatches)[:5]


# --------------------------------------------------------------------------- item 4: bounded inputs


def test_a_1x30000_strip_is_prepared_in_memory_proportional_to_its_pixels(tmp_path):
    """The pad-to-square step never allocates side x side (a 1x30000 PNG cost 930 MB)."""
    blank = tmp_path / "blank.png"
    Image.new("L", (30000, 1), 255).save(blank)
    strip = np.zeros((1, 30000), np.uint8)
    strip[0, 14000:16000] = 255
    tracemalloc.start()
    try:
        with pytest.raises(NoItem):  # a blank picture has no item (and is still read in bounded memory)
            prepare(blank)
        line = prepare(strip)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000, f"peak {peak / 1e6:.1f} MB"  # 30,000 pixels; side x side would be 900 MB
    assert line.shape == (28, 28) and np.flatnonzero(line.any(axis=1)).tolist() in ([13], [14])  # a centred line


def test_bounded_pad_and_resize_equals_pillow_on_the_padded_square():
    """fit_in_square gives exactly Pillow's pixels on the square it no longer builds."""
    rng = np.random.default_rng(0)
    shapes = [(1, 2), (2, 1), (1, 300), (300, 1), (5, 3), (27, 28), (100, 37), (37, 100), (480, 641)]
    shapes += [tuple(int(v) for v in rng.integers(1, 300, 2)) for _ in range(60)]
    for size in ((28, 28), (32, 20)):
        for shape in shapes:
            gray = rng.integers(0, 256, shape, dtype=np.uint8)
            expected = resize_area(pad_to_square(gray), size)
            assert np.array_equal(fit_in_square(gray, size), expected), (shape, size)


CHECK_MODELS = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # a model read without limit fails fast, not the host
from edgecnn.errors import EdgecnnError
from edgecnn.runtime import Classifier
for path in sys.argv[1:]:
    try:
        Classifier(path)
        print("loaded")
    except EdgecnnError as exc:
        print(f"{exc.exit_code} {exc}")
    except BaseException as exc:
        print(f"CRASH {type(exc).__name__}")
"""


def test_model_paths_that_are_not_regular_files_or_too_large_are_refused(int8_model, tmp_path):
    """A link to /dev/zero, a FIFO, a folder, a 257 MiB file, a link loop: one line each, never read."""
    zero, fifo, loop, big = tmp_path / "zero.tflite", tmp_path / "fifo.tflite", tmp_path / "loop.tflite", tmp_path / "big.tflite"
    zero.symlink_to("/dev/zero")
    os.mkfifo(fifo)
    loop.symlink_to(loop.name)
    with open(big, "wb") as f:  # sparse: no disk used
        f.truncate(MAX_MODEL_BYTES + 2**20)
    folder = tmp_path / "folder.tflite"
    folder.mkdir()
    cases = {zero: "is a device", fifo: "is a FIFO", folder: "is a folder", big: "model size limit of 256 MiB",
             loop: "symbolic link loop", int8_model: "loaded"}
    proc = subprocess.run([sys.executable, "-c", CHECK_MODELS, *map(str, cases)], capture_output=True, text=True,
                          timeout=60)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0 and len(lines) == len(cases), proc.stdout + proc.stderr[-2000:]
    for (path, needle), line in zip(cases.items(), lines):
        assert needle in line and (needle == "loaded" or line.startswith(f"2 {path}: ")), line


def test_cli_model_linked_to_dev_zero_is_exit_2_one_line(tmp_path, test_images):
    image = save_png(tmp_path / "item.png", test_images[0][0])
    zero = tmp_path / "model.tflite"
    zero.symlink_to("/dev/zero")
    proc = subprocess.run(  # in a child with a memory limit: without the check, /dev/zero is read until it fails
        [sys.executable, "-c", "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, "
                           "(3 << 30, 3 << 30)); from edgecnn.cli import main; sys.exit(main(sys.argv[1:]))",
                           "classify", "--model", str(zero), str(image)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == "", (proc.returncode, proc.stderr[-2000:])
    assert proc.stderr.strip() == f"edgecnn: error: {zero}: is a device, not a regular model file"


# --------------------------------------------------------------------------- item 8: quiet losses


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """Run the block as user nobody when we are root (root ignores permission bits); restored after."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture()
def open_folder() -> Iterator[Path]:
    """A folder user nobody can reach (pytest's tmp_path sits under a root-only folder)."""
    folder = Path(tempfile.mkdtemp(prefix="edgecnn-perm-"))
    folder.chmod(0o755)
    yield folder
    for path in folder.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(folder)


def test_unreadable_sub_folder_is_an_error_line_and_a_locked_folder_says_permission_denied(
        int8_model, open_folder, test_images, capsys):
    photos = open_folder / "photos"
    (photos / "locked").mkdir(parents=True)
    save_png(photos / "a.png", test_images[0][0])
    save_png(photos / "locked" / "b.png", test_images[0][1])
    save_png(photos / "z.png", test_images[0][2])
    for path in (photos, open_folder):
        path.chmod(0o755)
    (photos / "locked").chmod(0)
    with unprivileged():
        try:
            os.listdir(photos / "locked")
            enforced = False
        except PermissionError:
            enforced = True
        items = expand_paths([photos, photos / "locked"]) if enforced else []
    if not enforced:
        pytest.skip("permission bits are not enforced here")
    assert [(Path(i.path).name, i.error) for i in items] == [
        ("a.png", None), ("z.png", None), ("locked", "permission denied"), ("locked", "permission denied")]
    summary = print_results(Classifier(int8_model), items, 1, False, sys.stdout, sys.stderr)
    out, err = capsys.readouterr()
    assert summary.failed == 2 and len(out.splitlines()) == 2
    assert f"{photos / 'locked'}: error: permission denied" in err.splitlines()


def test_symlink_loops_say_so_named_or_inside_a_folder(int8_model, tmp_path, test_images, capsys):
    """Enforced for root too: a link loop is a link loop, not 'no such file', and exits 1."""
    folder = tmp_path / "photos"
    folder.mkdir()
    save_png(folder / "a.png", test_images[0][0])
    (folder / "loop.png").symlink_to("loop.png")
    (tmp_path / "dangling.png").symlink_to(tmp_path / "gone.png")
    named = tmp_path / "named.png"
    named.symlink_to(named.name)
    rc = main(["classify", "--model", str(int8_model), str(folder), str(named), str(tmp_path / "dangling.png")])
    out, err = capsys.readouterr()
    assert rc == 1 and len(out.splitlines()) == 1 and out.startswith(f"{folder / 'a.png'}: ")
    errors = err.splitlines()
    assert f"{folder / 'loop.png'}: error: symbolic link loop" in errors
    assert f"{named}: error: symbolic link loop" in errors
    assert f"{tmp_path / 'dangling.png'}: error: broken symbolic link (its target does not exist)" in errors


# --------------------------------------------------------------------------- item 9: spoofed or polluted output


def test_newlines_and_ansi_escapes_in_names_and_labels_are_escaped_in_text(int8_model, tmp_path, test_images, capsys):
    model = copy_model(int8_model, tmp_path / "model", strip_metadata=True)
    spoof = "Bag\nfake.png: Trouser (0.999)\x1b[2J\r\u202e"
    # whatever the answer, the label is hostile
    (model.parent / "manifest.json").write_text(json.dumps({"class_names": [spoof] * 10}))
    image = save_png(tmp_path / "evil\n\x1b[31mname.png", test_images[0][0])
    missing = tmp_path / "gone\x1b]0;title\x07.png"
    assert main(["classify", "--model", str(model), str(image), str(missing)]) == 1
    out, err = capsys.readouterr()
    for text in (out, err):
        assert not any(c in text for c in "\x1b\r\x07\u202e"), repr(text)
    assert out.splitlines() == [f"{tmp_path}/evil\\n\\x1b[31mname.png: Bag\\nfake.png: Trouser (0.999)\\x1b[2J\\r\\u202e"
                                f" ({_top_score(model, test_images[0][0]):.3f})"]
    assert f"{tmp_path}/gone\\x1b]0;title\\x07.png: error: no such file" in err.splitlines()
    assert main(["classify", "--json", "--model", str(model), str(image)]) == 0  # JSON: exact, escaped by json
    record = json.loads(capsys.readouterr().out)
    assert record["path"] == str(image) and record["label"] == spoof


def _top_score(model: Path, image: np.ndarray) -> float:
    return Classifier(model).classify(image)[0].score


BATCH_OF_ONE_ONNX = """
import sys, onnx
from onnx import TensorProto, helper
ints = lambda name, values: helper.make_tensor(name, TensorProto.INT64, [len(values)], values)
graph = helper.make_graph(
    [helper.make_node("Reshape", ["x", "shape"], ["flat"]), helper.make_node("Slice", ["flat", "b", "e", "ax"], ["y"])],
    "batch_of_one", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 28, 28, 1])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 10])],
    [ints("shape", [1, 784]), ints("b", [0]), ints("e", [10]), ints("ax", [1])])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
onnx.save(model, sys.argv[1])
"""


def test_an_onnx_model_that_fails_on_batches_still_answers_and_keeps_stdout_json(tmp_path, test_images):
    """ONNX Runtime's error banner and its exception stay off stdout; the files are run one by one."""
    pytest.importorskip("onnx")
    model = tmp_path / "batch_of_one.onnx"
    subprocess.run([sys.executable, "-c", BATCH_OF_ONE_ONNX, str(model)], check=True, timeout=120)
    images = [save_png(tmp_path / f"{i}.png", test_images[0][i]) for i in range(3)]
    proc = subprocess.run([sys.executable, "-m", "edgecnn", "classify", "--json", "--model", str(model),
                           *map(str, images)], capture_output=True, text=True, timeout=120)
    records = [json.loads(line) for line in proc.stdout.splitlines()]  # every stdout line is JSON
    assert proc.returncode == 0 and [r["path"] for r in records] == list(map(str, images)), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- item 10: API misuse


def test_api_misuse_raises_edgecnn_errors_not_type_errors(int8_model, test_images):
    image = test_images[0][0]
    for kwargs in ({"num_threads": "2"}, {"num_threads": 1.5}, {"num_threads": True}, {"num_threads": 0},
                   {"backend": 3}, {"invert": "yes"}):
        with pytest.raises(UsageError):
            Classifier(int8_model, **kwargs)
    with pytest.raises(UsageError):
        Classifier(123)  # type: ignore[arg-type]
    clf = Classifier(int8_model, num_threads=np.int64(1))
    for top_k in (1.5, "3", True, 0, None, 1.0):
        for call in (lambda: clf.classify(image, top_k=top_k), lambda: clf.classify(image.astype(np.float32) / 255, top_k=top_k),
                     lambda: clf.classify_batch(image[None], top_k=top_k)):
            with pytest.raises(UsageError, match="top_k"):
                call()
    assert clf.classify(image, top_k=np.int64(2))[1].index == clf.classify(image, top_k=2)[1].index
    bad_arrays = [np.full((28, 28), 3, object), np.zeros((28, 28), complex), np.full((28, 28), "a"),
                  np.full((30, 30), np.nan), np.full((28, 28), np.inf, np.float32), np.zeros((40, 40, 3), object)]
    for array in bad_arrays:
        with pytest.raises(ImageError):
            clf.classify(array)
        with pytest.raises(ImageError):
            clf.classify_batch([array])
    assert clf.classify(image > 128)[0].index == clf.classify(np.where(image > 128, 255, 0).astype(np.uint8))[0].index
    for call in (lambda: clf.classify(np.zeros((40, 40, 3), np.uint8), color_order="RBG"),
                 lambda: clf.classify_batch(5), lambda: clf.classify_prepared(np.zeros((3, 5), np.uint8)),
                 lambda: clf.classify_prepared(np.zeros((2, 28, 28), np.float32))):
        with pytest.raises(EdgecnnError):
            call()
