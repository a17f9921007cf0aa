"""`edgecnn camera` on a real video file written by OpenCV, and its one-line failures.

Hostile sources are real too (issue 13, item 7): a FIFO with no writer, a TCP peer that
accepts and says nothing, a text file FFmpeg would happily render as frames.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from edgecnn.cli import main
from edgecnn.datasets.synthetic import frame, render_item
from edgecnn.runtime import Classifier

cv2 = pytest.importorskip("cv2")

FRAMES_PER_ITEM = 4


def scene(item: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 320x240 BGR frame: the item dark on a light, slightly tinted background, off-centre."""
    bgr = np.empty((240, 320, 3), np.float32)
    bgr[:] = (215, 225, 230) + rng.normal(0, 2, (240, 320, 3))
    big = cv2.resize(item, (150, 150), interpolation=cv2.INTER_AREA).astype(np.float32)[..., None] / 255.0
    bgr[40:190, 120:270] = bgr[40:190, 120:270] * (1 - big) + np.array((40, 30, 25), np.float32) * big
    return np.clip(bgr, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def video(tmp_path_factory, int8_model):
    """An MJPG .avi of items the model is sure about, and the class of each frame."""
    clf = Classifier(int8_model)
    rng = np.random.default_rng(11)
    frames, labels = [], []
    for cls in range(10):
        item = render_item(cls, rng)
        picture = scene(item, rng)
        best = clf.classify(picture, color_order="BGR", top_k=1)[0]
        if best.score < 0.9 or best.index != clf.classify(frame(item), top_k=1)[0].index:
            continue
        frames += [picture] * FRAMES_PER_ITEM
        labels += [best.label] * FRAMES_PER_ITEM
    assert len(set(labels)) >= 4, "too few confident items for a meaningful video"
    path = tmp_path_factory.mktemp("video") / "items.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    assert writer.isOpened()
    for picture in frames:
        writer.write(picture)
    writer.release()
    return path, labels


def test_camera_classifies_a_video_file(int8_model, video, capsys):
    path, labels = video
    rc = main(["camera", "--model", str(int8_model), "--source", str(path), "--headless", "--json",
               "--max-frames", str(len(labels))])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["frame"] for r in records] == list(range(1, len(labels) + 1))
    assert [r["label"] for r in records] == labels
    assert all(r["fps"] > 0 and 0 <= r["score"] <= 1 for r in records)
    assert f"{len(labels)} frames from {path}" in captured.err


def test_camera_stops_at_max_frames_and_at_the_end(int8_model, video, capsys):
    path, labels = video
    assert main(["camera", "--model", str(int8_model), "--source", str(path), "--headless", "--max-frames", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].startswith(f"frame 1: {labels[0]} (") and lines[0].endswith("FPS")
    assert main(["camera", "--model", str(int8_model), "--source", str(path), "--headless", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(labels)


def test_bgr_frame_equals_rgb_frame(int8_model, video):
    clf = Classifier(int8_model)
    picture = scene(render_item(1, np.random.default_rng(2)), np.random.default_rng(3))
    assert clf.classify(picture, color_order="BGR") == clf.classify(picture[..., ::-1].copy(), color_order="RGB")


@pytest.mark.parametrize("source, needle", [
    ("missing.avi", "no such camera device or video file"),
    ("not_a_video.avi", "not_a_video.avi: cannot be opened"),
    ("7", "camera 7: cannot be opened"),
])
def test_sources_that_cannot_be_opened(int8_model, tmp_path, capsys, monkeypatch, source, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not_a_video.avi").write_bytes(b"RIFF\0\0\0\0AVI \xff\xfe garbage" * 10)
    rc = main(["camera", "--model", str(int8_model), "--source", source, "--headless"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and needle in err, err


@pytest.mark.skipif(importlib.util.find_spec("picamera2") is not None, reason="picamera2 is installed here")
def test_picamera2_missing_is_one_line_with_the_fix(int8_model, capsys):
    rc = main(["camera", "--model", str(int8_model), "--source", "picamera2", "--headless"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert "picamera2 is not installed" in err and "apt install python3-picamera2" in err


@pytest.mark.parametrize("name, content", [("notes.txt", b"hello, world\n" * 50),
                                           ("art.nfo", b"\xb0\xb1\xb2 CP437 ANSI art \xdb\n" * 50)])
def test_text_file_is_not_a_video(int8_model, tmp_path, capsys, name, content):
    """FFmpeg's tty demuxer draws a .txt file as 640x400 "frames"; it must not be classified.

    UTF-8 text is refused before FFmpeg sees it; CP437 art (not UTF-8) by the codec FFmpeg reports.
    """
    notes = tmp_path / name
    notes.write_bytes(content)
    rc = main(["camera", "--model", str(int8_model), "--source", str(notes), "--headless"])
    captured = capsys.readouterr()
    assert rc == 2 and captured.out == "", captured.out[:200]
    assert captured.err.strip() == f"edgecnn: error: {notes}: is text, not a video"


@pytest.fixture
def fifo(tmp_path):
    """A FIFO nobody writes to; afterwards a writer comes and goes, so a reader still blocked in open(2) ends."""
    path = tmp_path / "camera.fifo"
    os.mkfifo(path)
    yield path
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def test_fifo_without_writer_times_out(int8_model, fifo, capsys):
    started = time.monotonic()
    rc = main(["camera", "--model", str(int8_model), "--source", str(fifo), "--headless", "--open-timeout", "0.5"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and f"{fifo}: no answer within 0.5 s opening it" in err, err
    assert time.monotonic() - started < 10


def test_silent_tcp_peer_times_out(int8_model, capsys):
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    url = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    try:
        started = time.monotonic()
        rc = main(["camera", "--model", str(int8_model), "--source", url, "--headless", "--open-timeout", "1"])
        err = capsys.readouterr().err.strip()
    finally:
        server.close()
    assert rc == 2 and len(err.splitlines()) == 1 and f"{url}: no answer within 1 s opening it" in err, err
    assert accepted and time.monotonic() - started < 10  # it did connect, and then waited for data


def camera_on_fifo(int8_model, fifo, *extra: str) -> subprocess.Popen:
    """`edgecnn camera` in its own process, reading the FIFO, waiting up to 60 s for each frame."""
    return subprocess.Popen([sys.executable, "-m", "edgecnn", "camera", "--model", str(int8_model), "--source", str(fifo),
                             "--headless", "--open-timeout", "60", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def ctrl_c(proc: subprocess.Popen, doing: str) -> str:
    """SIGINT, then the process's stderr once it has ended (a test failure if it does not within 15 s)."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=15)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"Ctrl-C did not stop `edgecnn camera` {doing}")


def test_ctrl_c_while_a_fifo_blocks(int8_model, fifo):
    """The open is stuck in open(2) inside FFmpeg; Ctrl-C still ends the command at once with 130."""
    proc = camera_on_fifo(int8_model, fifo)
    time.sleep(3)  # start-up and into the blocking open
    err = ctrl_c(proc, "on a FIFO")
    assert proc.returncode == 130 and err.strip() == "edgecnn: interrupted", err


# --------------------------------------------------------------------------- issue 15: the camera CLI


def run_json(int8_model, path, capsys, *extra: str) -> tuple[list[dict], str]:
    rc = main(["camera", "--model", str(int8_model), "--source", str(path), "--headless", "--json", *extra])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    return [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_every_n_and_on_change(int8_model, video, capsys):
    path, labels = video
    records, _ = run_json(int8_model, path, capsys, "--every", "3")
    assert [r["frame"] for r in records] == list(range(1, len(labels) + 1, 3))
    assert [r["label"] for r in records] == labels[::3]
    records, _ = run_json(int8_model, path, capsys, "--on-change")
    changes = [i + 1 for i, label in enumerate(labels) if i == 0 or label != labels[i - 1]]
    assert [r["frame"] for r in records] == changes
    assert main(["camera", "--model", str(int8_model), "--source", str(path), "--every", "0", "--headless"]) == 2


def test_speed_line_names_each_stage(int8_model, video, capsys):
    path, labels = video
    _, err = run_json(int8_model, path, capsys)
    speed = [line for line in err.splitlines() if line.startswith("Speed:")]
    assert len(speed) == 1, err
    numbers = re.fullmatch(r"Speed: ([\d.]+) ms capture, ([\d.]+) ms prepare, ([\d.]+) ms infer per frame "
                           rf"\(mean of {len(labels)}\); 0 stale frames dropped", speed[0])
    assert numbers, speed[0]
    capture, prepare, infer = (float(n) for n in numbers.groups())
    assert capture > 0 and prepare > 0 and infer >= 0, speed[0]  # the golden model's inference is ~0.05 ms


def test_min_score_marks_uncertain_answers(int8_model, video, capsys):
    path, labels = video
    plain, _ = run_json(int8_model, path, capsys)
    scores = sorted({r["score"] for r in plain})
    assert len(scores) >= 2, "every frame has the same score: nothing to cut between"
    middle = len(scores) // 2
    cut = (scores[middle - 1] + scores[middle]) / 2  # between two scores: some frames fall under it, some not
    records, _ = run_json(int8_model, path, capsys, "--min-score", str(cut))
    assert [r["uncertain"] for r in records] == [r["score"] < cut for r in plain]
    assert any(r["uncertain"] for r in records) and not all(r["uncertain"] for r in records)
    assert [r["label"] for r in records] == labels  # the best guess is kept
    rc = main(["camera", "--model", str(int8_model), "--source", str(path), "--headless", "--min-score", "1.5"])
    assert rc == 2 and "--min-score must be between 0 and 1" in capsys.readouterr().err


def test_save_writes_the_annotated_video_at_frame_size(int8_model, video, tmp_path, capsys):
    path, labels = video
    out = tmp_path / "annotated.mp4"
    run_json(int8_model, path, capsys, "--save", str(out), "--frame-size", "160x120")
    capture = cv2.VideoCapture(str(out))
    written = []
    while True:
        ok, picture = capture.read()
        if not ok:
            break
        written.append(picture)
    capture.release()
    assert len(written) == len(labels) and written[0].shape == (120, 160, 3)
    original = cv2.resize(cv2.VideoCapture(str(path)).read()[1], (160, 120), interpolation=cv2.INTER_AREA)
    changed = np.abs(written[0].astype(int) - original.astype(int)).max(axis=2) > 60
    assert changed[:30, -40:].mean() > 0.1 and changed[:30, :80].mean() > 0.05  # the inset and the label text
    assert not list(tmp_path.glob(".*tmp*")), "the temporary video was left behind"


def test_bad_frame_size_is_a_usage_error(int8_model, video, capsys):
    rc = main(["camera", "--model", str(int8_model), "--source", str(video[0]), "--frame-size", "640by480"])
    assert rc == 2 and "--frame-size must be WIDTHxHEIGHT" in capsys.readouterr().err


def test_live_source_gives_the_newest_frame_and_drops_stale_ones(fifo):
    """A FIFO is live: a slow classifier gets ever newer frames, the skipped ones are counted, none queued.

    Each frame carries its number in its pixels; the writer sends 80 MJPEG frames, faster than
    this reader takes them.
    """
    from edgecnn.runtime.camera import open_source

    total = 80
    pictures = []
    for i in range(total):
        picture = np.full((120, 160, 3), 200, np.uint8)
        picture[:40, :40] = i * 3
        pictures.append(cv2.imencode(".jpg", picture)[1].tobytes())

    def write() -> None:
        with open(fifo, "wb") as fh:
            for data in pictures:
                fh.write(data)
                fh.flush()
                time.sleep(0.01)

    threading.Thread(target=write, daemon=True).start()
    source = open_source(str(fifo), 10)
    taken = []
    try:
        while (picture := source.read()) is not None:
            taken.append(round(float(picture[5:35, 5:35].mean()) / 3))
            time.sleep(0.05)  # a slow classifier
    finally:
        source.close()
    assert source.live and taken == sorted(set(taken)), taken
    assert taken[-1] == total - 1 and len(taken) < total
    assert source.dropped() == total - len(taken)


def test_close_releases_the_video_file(int8_model, video):
    from edgecnn.runtime.camera import open_source

    path = os.path.realpath(video[0])

    def open_files() -> list[str]:
        return [os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
                if os.path.exists(f"/proc/self/fd/{fd}")]

    source = open_source(str(path), 5, loop=True)
    assert source.read() is not None and path in open_files()
    source.close()
    assert path not in open_files()


def test_ctrl_c_during_the_loop_exits_130_with_the_summary(int8_model, video, fifo, tmp_path):
    """Frames came, then the stream goes quiet; Ctrl-C ends the run with 130 after the summary and Speed: lines,
    and the --save video is complete."""
    data = video[0].read_bytes()
    saved = tmp_path / "saved.mp4"
    proc = camera_on_fifo(int8_model, fifo, "--save", str(saved))
    with open(fifo, "wb") as writer:  # held open and silent after the video: a live stream with nothing new
        writer.write(data)
        writer.flush()
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline and not proc.stdout.readline().startswith("frame "):
            pass
        time.sleep(1)
        err = ctrl_c(proc, "while it waited for a frame")
    lines = err.strip().splitlines()
    assert proc.returncode == 130 and lines[-1] == "edgecnn: interrupted", err
    frames = int(re.match(rf"(\d+) frames from {fifo} in ", lines[-4])[1])
    assert lines[-3].startswith("Speed: ") and lines[-2] == f"annotated video: {saved}", err
    capture = cv2.VideoCapture(str(saved))
    assert frames > 0 and int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == frames
    capture.release()


NUMPY_ABI_IMPORT_ERROR = (
    "raise ImportError('numpy.core.multiarray failed to import "
    "(A module that was compiled using NumPy 1.x cannot be run in NumPy 2.0.0)')\n"
)


@pytest.mark.parametrize("module, source", [("cv2", "0"), ("picamera2", "picamera2")])
def test_installed_but_broken_is_told_apart_from_missing(int8_model, tmp_path, module, source):
    """A camera module that is installed but fails to import (apt's cv2 under pip's numpy 2) says so, with the reason."""
    (tmp_path / f"{module}.py").write_text(NUMPY_ABI_IMPORT_ERROR)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "edgecnn", "camera", "--model", str(int8_model), "--source", source,
                           "--headless", "--max-frames", "1"], capture_output=True, text=True, env=env, timeout=120)
    err = proc.stderr.strip()
    assert proc.returncode == 2 and len(err.splitlines()) == 1, err
    assert f"{module} is installed but fails to import" in err and "compiled using NumPy 1.x" in err
    assert "not installed" not in err
