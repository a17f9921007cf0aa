"""A real browser on `edgecnn serve`'s page: Debian's headless Chromium, driven over DevTools.

Checks what a person would see: the stream element shows a camera frame that is not blank,
the label element names a class, the 28x28 inset is drawn, and a picture picked with the
file input, then one dropped on the page, is classified (the answer shown is the in-process
Classifier's). The screenshot is kept as a test artifact
(artifacts/test/serve_page.png, or $EDGECNN_TEST_ARTIFACTS). Without Chromium the test is
skipped with the command that installs it, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgecnn.datasets.synthetic import frame, render_item
from edgecnn.runtime import Classifier

from .test_serve_support import INSTALL, Browser, find_chromium, start_server

from .test_camera import video  # noqa: F401  (the fixture: a real MJPG video file, written by OpenCV)

pytest.importorskip("starlette", reason="edgecnn serve needs the [serve] extra: pip install 'edgecnn[serve]'")

ARTIFACTS = Path(os.environ.get("EDGECNN_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts" / "test"))

#: Draws the stream's current frame into a canvas: its size and the spread of its pixel values.
FRAME_STATS = """(() => {
  const img = document.getElementById("stream");
  if (!img || !img.naturalWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0, sq = 0, n = 0;
  for (let i = 0; i < px.length; i += 16) { const v = px[i]; sum += v; sq += v * v; n++; }
  const mean = sum / n;
  return {width: canvas.width, height: canvas.height, std: Math.sqrt(sq / n - mean * mean)};
})()"""

#: Drops a PNG (base64 in %s) on the drop zone, as dragging a file from the desktop does.
DROP = """(() => {
  const bytes = Uint8Array.from(atob("%s"), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], "dropped.png", {type: "image/png"}));
  document.getElementById("drop").dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true}));
  return true;
})()"""


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = find_chromium()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is not installed, and CI needs the browser test: {INSTALL}")
        pytest.skip(f"Chromium is not installed: {INSTALL}")
    return binary


def wait_for(browser: Browser, expression: str, timeout: float = 30) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = browser.evaluate(expression)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"the page never showed: {expression[:120]}")


@pytest.mark.slow
def test_page_in_a_real_browser(chromium, int8_model, video, tmp_path):  # noqa: F811
    names = Classifier(int8_model).class_names
    server = start_server(int8_model, "--source", str(video[0]), token="browser-token")
    browser = Browser(chromium, tmp_path / "profile")
    try:
        browser.goto(server.url + "?token=browser-token")
        stats = wait_for(browser, f"(() => {{ const s = {FRAME_STATS}; return s && s.std > 5 ? s : null; }})()")
        assert stats["width"] == 320 and stats["height"] == 240, stats
        label = wait_for(browser, f"(() => {{ const e = document.getElementById('label'); const t = e && e.textContent; "
                                  f"return {names!r}.includes(t) ? t : null; }})()")
        assert label in names
        assert wait_for(browser, "document.getElementById('inset')?.naturalWidth") == 28
        assert "FPS" in browser.evaluate("document.getElementById('fps').textContent")
        picture = tmp_path / "upload.png"
        Image.fromarray(frame(render_item(7, np.random.default_rng(4)))).save(picture)
        expected = Classifier(int8_model).classify(picture, top_k=1)[0].label
        browser.choose_file("#file", picture)
        shown = wait_for(browser, "document.getElementById('upload-label').textContent.match(/ [0-9.]+$/) && "
                                  "document.getElementById('upload-label').textContent")
        assert shown.startswith(expected + " "), shown
        dropped = tmp_path / "dropped.png"
        Image.fromarray(frame(render_item(1, np.random.default_rng(6)))).save(dropped)
        picked, expected = expected, Classifier(int8_model).classify(dropped, top_k=1)[0].label
        assert expected != picked, "pick two items of different classes, or the check below cannot fail"
        browser.evaluate(DROP % base64.b64encode(dropped.read_bytes()).decode())
        shown = wait_for(browser, f"(() => {{ const t = document.getElementById('upload-label').textContent; "
                                  f"return t.startsWith({(expected + ' ')!r}) && t; }})()")
        assert shown.startswith(expected + " "), shown
        shot = browser.screenshot(ARTIFACTS / "serve_page.png")
        print(f"\nscreenshot: {shot}")
    finally:
        browser.close()
        server.stop()
    assert shot.stat().st_size > 10_000
