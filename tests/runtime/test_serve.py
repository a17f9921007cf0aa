"""`edgecnn serve` as a real process on a free loopback port, with a real video file as its camera.

The answers are checked against the same Classifier in this process; the stream's frames are
decoded with Pillow; bad uploads, a missing token and an oversized body get their status.
"""

from __future__ import annotations

import hashlib
import io
import os
import statistics
import threading

import numpy as np
import pytest
from PIL import Image

from edgecnn.cli import main
from edgecnn.datasets.synthetic import frame, render_item
from edgecnn.runtime import Classifier

from .conftest import huge_png_header
from .test_serve_support import mjpeg_frames, post_load, start_server
from .test_camera import scene, video  # noqa: F401  (video is a fixture: the same MJPG file as test_camera)

pytest.importorskip("starlette", reason="edgecnn serve needs the [serve] extra: pip install 'edgecnn[serve]'")
cv2 = pytest.importorskip("cv2")

TOKEN = "test-token-15"
MAX_UPLOAD = 200_000


@pytest.fixture(scope="module")
def server(int8_model, video):  # noqa: F811
    server = start_server(int8_model, "--source", str(video[0]), "--max-upload", str(MAX_UPLOAD), token=TOKEN)
    yield server
    assert server.stop() == 130, server.stderr


@pytest.fixture(scope="module")
def clf(int8_model):
    return Classifier(int8_model)


def png_bytes(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(bgr: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def multipart(data: bytes, name: str = "photo.jpg") -> tuple[bytes, dict[str, str]]:
    boundary = "edgecnn-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def test_classify_png_raw_and_jpeg_multipart(server, clf, tmp_path):
    rng = np.random.default_rng(5)
    png = png_bytes(frame(render_item(7, rng)))
    status, answer = server.json("POST", "/classify", png, headers={"Content-Type": "image/png"})
    (tmp_path / "item.png").write_bytes(png)
    expected = clf.classify(tmp_path / "item.png", top_k=3)
    assert status == 200, answer
    assert [(p["label"], p["index"]) for p in answer["top_k"]] == [(p.label, p.index) for p in expected]
    assert answer["label"] == expected[0].label and answer["score"] == pytest.approx(expected[0].score, abs=1e-6)
    assert answer["no_item"] is False and set(answer["ms"]) == {"decode", "prepare", "infer"}
    assert all(v >= 0 for v in answer["ms"].values())

    jpeg = jpeg_bytes(cv2.resize(scene(render_item(1, rng), rng), (640, 480)))
    body, headers = multipart(jpeg)
    status, answer = server.json("POST", "/classify", body, headers=headers)
    (tmp_path / "scene.jpg").write_bytes(jpeg)
    expected = clf.classify(tmp_path / "scene.jpg", top_k=3)  # what `edgecnn classify` says of the file
    assert status == 200, answer
    assert [(p["label"], p["score"]) for p in answer["top_k"]] == [(p.label, round(p.score, 6)) for p in expected]


def test_a_picture_with_no_item_is_an_answer(server):
    status, answer = server.json("POST", "/classify", png_bytes(np.full((28, 28), 90, np.uint8)))
    assert status == 200, answer
    assert answer["no_item"] is True and answer["label"] is None and answer["top_k"] == []


@pytest.mark.parametrize("name, make, reason", [
    ("corrupt jpeg", lambda tmp: jpeg_bytes(np.full((64, 64, 3), 128, np.uint8))[:200], "corrupt or truncated image"),
    ("text", lambda tmp: b"hello, this is not a picture\n" * 20, "not an image file Pillow can read"),
    ("empty", lambda tmp: b"", "empty upload (0 bytes)"),
    ("decompression bomb", lambda tmp: huge_png_header(tmp / "bomb.png").read_bytes(), "image too large"),
])
def test_non_images_get_400_with_the_reason(server, tmp_path, name, make, reason):
    status, answer = server.json("POST", "/classify", make(tmp_path))
    assert status == 400 and reason in answer["error"] and "\n" not in answer["error"], answer


def test_token_is_required(server):
    assert server.request("GET", "/health", token=None)[0] == 401
    assert server.request("GET", "/health", token="wrong")[0] == 401
    assert server.request("POST", "/classify", b"x", token=None)[0] == 401
    assert server.request("GET", "/stream.mjpg", token=None)[0] == 401
    assert server.request("GET", f"/model?token={TOKEN}", token=None)[0] == 200
    assert server.request("GET", "/health")[0] == 200


def test_upload_over_the_cap_gets_413(server):
    status, answer = server.json("POST", "/classify", os.urandom(MAX_UPLOAD + 1))
    assert status == 413 and f"{MAX_UPLOAD:,} bytes" in answer["error"]
    body, headers = multipart(os.urandom(MAX_UPLOAD))  # the form's own bytes push it over
    assert server.request("POST", "/classify", body, headers=headers)[0] == 413
    # no Content-Length (chunked): the cap is counted as the bytes arrive
    chunks = iter([os.urandom(50_000)] * (MAX_UPLOAD // 50_000 + 1))
    status, reply, _ = server.request("POST", "/classify", chunks, headers={"Transfer-Encoding": "chunked"})
    assert status == 413, reply


def test_model_and_health(server, clf, int8_model):
    status, model = server.json("GET", "/model")
    assert status == 200
    assert model["sha256"] == hashlib.sha256(int8_model.read_bytes()).hexdigest()
    assert model["labels"] == clf.class_names and model["format"] == "tflite"
    assert model["interpreter"]["name"] == clf.backend.name and model["input"]["height"] == 28
    assert model["views"] == clf.views == "none"  # the golden model records no views
    status, health = server.json("GET", "/health")
    assert status == 200 and health["status"] == "ok" and health["camera"]["running"] is True


def test_stream_gives_decodable_jpegs_and_keeps_going(server, clf, video):  # noqa: F811
    first = server.json("GET", "/health")[1]["camera"]["frames"]
    frames = mjpeg_frames(server, 6)
    assert len(frames) == 6
    for data in frames:
        picture = Image.open(io.BytesIO(data))
        assert picture.format == "JPEG" and picture.size == (320, 240)
        assert np.asarray(picture.convert("L")).std() > 5  # a scene, not a blank frame
    assert len(set(frames)) > 1, "the stream repeats one frame"
    assert server.json("GET", "/health")[1]["camera"]["frames"] > first  # the loop goes on (the video loops)


def test_state_has_the_live_answer_and_inset(server, clf):
    state = server.json("GET", "/state")[1]
    assert state["frame"] > 0 and state["fps"] > 0 and state["error"] is None
    assert state["label"] in clf.class_names and set(state["ms"]) == {"capture", "prepare", "infer"}
    header, _, data = state["inset"].partition(",")
    assert header == "data:image/png;base64"
    import base64

    inset = Image.open(io.BytesIO(base64.b64decode(data)))
    assert inset.size == (28, 28) and np.asarray(inset).max() > 100


def test_page_is_self_contained(server):
    status, page, headers = server.request("GET", f"/?token={TOKEN}", token=None)
    text = page.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert 'id="stream"' in text and 'id="label"' in text and 'id="inset"' in text and 'type="file"' in text
    assert "http://" not in text and "https://" not in text  # no external assets: the Pi may be offline


@pytest.mark.slow
def test_load_8_clients_1000_requests(server):
    """8 concurrent clients, 1,000 POST /classify in all, each on a kept-alive connection: all 200."""
    png = png_bytes(frame(render_item(3, np.random.default_rng(9))))
    rss_before = server.rss_kb()
    results, seconds = post_load(server, png, 8, 125)
    statuses = [s for s, _ in results]
    latencies = sorted(t * 1000 for _, t in results)
    growth_mb = (server.rss_kb() - rss_before) / 1024
    p50, p99 = statistics.median(latencies), latencies[int(0.99 * len(latencies)) - 1]
    print(f"\nload: {len(results)} requests, 8 clients, {len(results) / seconds:.0f} req/s, p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms, server RSS growth {growth_mb:+.1f} MB (live loop running)")
    assert len(results) == 1000 and statuses.count(200) == 1000, {s: statuses.count(s) for s in set(statuses)}
    assert growth_mb < 50, f"server memory grew {growth_mb:.1f} MB over 1,000 requests"


def test_source_none_serves_the_api_min_score_and_ctrl_c_exits_130(int8_model, clf):
    server = start_server(int8_model, "--source", "none", "--min-score", "1.0")
    try:
        assert server.request("GET", "/state")[0] == 404
        status, answer = server.json("POST", "/classify", png_bytes(frame(render_item(2, np.random.default_rng(1)))))
        assert status == 200 and answer["label"] in clf.class_names
        assert answer["uncertain"] is (answer["score"] < 1.0)  # --min-score 1.0: all but a perfect score
        assert server.json("GET", "/health")[1]["camera"] is None
    finally:
        rc = server.stop()
    assert rc == 130 and server.stderr[-1] == "edgecnn: interrupted", server.stderr


def test_shutdown_releases_the_camera(int8_model, clf, video):  # noqa: F811
    """LiveView.close() ends the loop and the capture thread, and the video file is closed."""
    from edgecnn.runtime.camera import open_source
    from edgecnn.serve.live import LiveView

    path = os.path.realpath(video[0])
    before = set(threading.enumerate())  # earlier tests' threads are not this view's
    live = LiveView(clf, open_source(path, 5, loop=True)).start()
    assert live.wait_newer(0, 10) is not None
    mine = set(threading.enumerate()) - before
    names = {t.name for t in mine}
    assert "edgecnn-live" in names and any(name.startswith("edgecnn-capture") for name in names)
    live.close()
    assert not [t.name for t in mine if t.is_alive()]
    assert path not in {os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")}


def test_other_addresses_need_a_token(int8_model, capsys):
    rc = main(["serve", "--model", str(int8_model), "--source", "none", "--host", "0.0.0.0"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "give --token" in err and "--no-auth" in err, err
    from edgecnn.serve.server import check_exposure

    assert "WITHOUT a token" in check_exposure("0.0.0.0", None, True)
    assert check_exposure("127.0.0.1", None, False) is None and check_exposure("::1", None, False) is None


def test_accepted_connections_have_nodelay():
    """Without TCP_NODELAY a kept-alive client waited 40 ms for every answer (Nagle + delayed ACK): measured
    by benchmarks/serve.py, 20 req/s from one client before, hundreds after."""
    import socket

    from edgecnn.serve.server import bind

    listener = bind("127.0.0.1", 0)
    try:
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        accepted.close()
        client.close()
    finally:
        listener.close()
