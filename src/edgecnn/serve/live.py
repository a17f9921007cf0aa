"""The camera loop of `edgecnn serve`: one thread classifies the newest frame; clients read its latest answer.

Every client (the page's MJPEG stream, its /state polling) shares one loop, so more
viewers never mean more inference. A frame is JPEG-encoded once, on the first request
for it, never for frames nobody watches.
"""

from __future__ import annotations

import base64
import io
import sys
import threading
from typing import Any

import numpy as np
from PIL import Image

from ..errors import EdgecnnError, one_line
from ..runtime.camera import FrameResult, FrameSource, classify_frames
from ..runtime.classifier import Classifier
from ..runtime.report import answer_fields

JPEG_QUALITY = 80


def encode_jpeg(frame: np.ndarray, color_order: str, quality: int = JPEG_QUALITY) -> bytes:
    """A frame (BGR or RGB, or grayscale) as JPEG bytes: OpenCV when it is loaded (it is, for its sources), else Pillow."""
    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        bgr = frame if color_order == "BGR" or frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            return data.tobytes()
    rgb = frame[..., ::-1] if color_order == "BGR" and frame.ndim == 3 else frame
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb[..., :3] if rgb.ndim == 3 else rgb)).save(out, "JPEG", quality=quality)
    return out.getvalue()


def png_data_url(pixels: np.ndarray) -> str:
    """The model's 28x28 view as a data: URL (about 1 KB), for the page's inset."""
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


class LiveView:
    """Runs classify_frames over `source` on a daemon thread until `close()` or the source ends.

    Raises nothing to clients: a source that stops answering ends the loop and its one-line
    reason is shown in /state and /health ("error").
    """

    def __init__(self, clf: Classifier, source: FrameSource, top_k: int = 3, min_score: float = 0.0) -> None:
        self.clf, self.source, self.top_k, self.min_score = clf, source, top_k, min_score
        self._cond = threading.Condition()
        self._result: FrameResult | None = None
        self._jpeg: tuple[int, bytes] = (0, b"")
        self._jpeg_lock = threading.Lock()
        self._stop = threading.Event()
        self.running = True
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="edgecnn-live", daemon=True)

    def start(self) -> LiveView:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            for result in classify_frames(self.clf, self.source, top_k=self.top_k, min_score=self.min_score):
                with self._cond:
                    self._result = result
                    self._cond.notify_all()
                if self._stop.is_set():
                    break
        except EdgecnnError as exc:
            self.error = str(exc)
        except Exception as exc:  # a bug on one odd frame: said on the page, the API keeps answering
            self.error = f"the live loop stopped: {one_line(exc, typed=True)}"
        finally:
            self.source.close()
            with self._cond:
                self.running = False
                self._cond.notify_all()

    def latest(self) -> FrameResult | None:
        return self._result

    def wait_newer(self, number: int, timeout: float) -> FrameResult | None:
        """The newest result after frame `number`, waiting up to `timeout` s; None if none came (or it ended)."""
        with self._cond:
            self._cond.wait_for(lambda: not self.running or self._stop.is_set() or
                                (self._result is not None and self._result.number > number), timeout)
            result = self._result
        return result if result is not None and result.number > number else None

    def jpeg(self, result: FrameResult) -> bytes:
        """`result`'s frame as JPEG, encoded once however many clients ask."""
        with self._jpeg_lock:
            if self._jpeg[0] != result.number:
                self._jpeg = (result.number, encode_jpeg(result.frame, result.color_order))
            return self._jpeg[1]

    def state(self) -> dict[str, Any]:
        """The page's view of the loop: the answer, FPS, ms per stage, the 28x28 inset, errors."""
        result = self._result
        info: dict[str, Any] = {"source": self.source.name, "running": self.running, "error": self.error,
                                "dropped": self.source.dropped()}
        if result is None:
            return {**info, "frame": 0}
        return {**info, "frame": result.number, "fps": round(result.fps, 2),
                **answer_fields(result.predictions, result.uncertain),
                "ms": {"capture": round(self.source.capture_ms(), 3), "prepare": round(result.prepare_ms, 3),
                       "infer": round(result.infer_ms, 3)},
                "inset": png_data_url(result.pixels) if result.pixels is not None else None}

    @property
    def stopping(self) -> bool:
        return self._stop.is_set() or not self.running

    def close(self, wait: float = 3.0) -> None:
        """Stop the loop and release the camera (waited for up to `wait` seconds)."""
        self._stop.set()
        self.source.close()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(wait)
