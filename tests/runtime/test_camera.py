"""`edgecnn camera` on a real video file written by OpenCV, and its one-line failures.

Hostile sources are real too (issue 13, item 7): a FIFO with no writer, a TCP peer that
accepts and says nothing, a text file FFmpeg would happily render as frames.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
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


def test_ctrl_c_while_a_fifo_blocks(int8_model, fifo):
    """The open is stuck in open(2) inside FFmpeg; Ctrl-C still ends the command at once with 130."""
    proc = subprocess.Popen([sys.executable, "-m", "edgecnn", "camera", "--model", str(int8_model), "--source", str(fifo),
                             "--headless", "--open-timeout", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(3)  # start-up and into the blocking open
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("Ctrl-C did not stop `edgecnn camera` on a FIFO")
    assert proc.returncode == 130 and err.strip() == "edgecnn: interrupted", err
