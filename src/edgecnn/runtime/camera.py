"""Classify frames from a camera, a video file or a stream, with FPS.

Two capture stacks, because a Raspberry Pi has two kinds of camera:

- OpenCV (`cv2.VideoCapture`) for USB webcams (`0`, `/dev/video0`), video files and
  network streams (rtsp://, http://). OpenCV gives BGR frames.
- picamera2 for the Pi camera module: on Raspberry Pi OS Bookworm the camera module
  sits behind libcamera, which OpenCV's V4L2 backend cannot drive. It comes from apt
  (python3-picamera2), not pip, so a venv needs --system-site-packages to see it. We
  ask for its "BGR888" format, whose numpy frames are in R, G, B order.

Neither is imported until a source is opened, and neither is needed to classify files.
A window with an overlay is shown only when asked for, OpenCV has GUI support and there
is a display; otherwise it runs headless and prints one line per frame.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable

import numpy as np

from ..errors import EdgecnnError, one_line
from .classifier import Classifier, Prediction
from .report import prediction_fields

PICAMERA2 = "picamera2"
AUTO = "auto"
PICAMERA2_SIZE = (640, 480)
WINDOW = "edgecnn camera (q or Esc to quit)"
_FPS_WINDOW = 30  # frames the FPS figure is averaged over
DEFAULT_OPEN_TIMEOUT_S = 10.0


class CameraError(EdgecnnError):
    """No camera, or a source that cannot be opened or read: one line, exit 2."""


@dataclass
class FrameSource:
    """An open source of frames: `read()` gives the next frame, or None at the end."""

    name: str
    color_order: str  # "BGR" (OpenCV) or "RGB" (picamera2)
    read: Callable[[], np.ndarray | None]
    close: Callable[[], None]


@dataclass
class CameraStats:
    frames: int = 0
    seconds: float = 0.0
    recent: deque = field(default_factory=lambda: deque(maxlen=_FPS_WINDOW))

    @property
    def fps(self) -> float:
        """Frames per second over the last few frames (all of capture, preprocessing and inference)."""
        if len(self.recent) < 2:
            return 0.0
        span = self.recent[-1] - self.recent[0]
        return (len(self.recent) - 1) / span if span > 0 else 0.0


# --------------------------------------------------------------------------- sources


def open_source(spec: str | int | None = AUTO, open_timeout: float = DEFAULT_OPEN_TIMEOUT_S) -> FrameSource:
    """Open `spec`: auto, picamera2, a camera index (0), a device (/dev/video0), a file or a URL.

    An OpenCV source must give its first frame within `open_timeout` seconds, and each later
    frame within as long. Raises CameraError (exit 2) for anything that does not.
    """
    if not open_timeout > 0:
        raise CameraError(f"--open-timeout must be more than 0 seconds (got {open_timeout})")
    spec = AUTO if spec is None else str(spec).strip()
    if spec == AUTO:
        return _open_picamera2() if _picamera2_has_camera() else _open_opencv("0", open_timeout)
    if spec == PICAMERA2:
        return _open_picamera2()
    return _open_opencv(spec, open_timeout)


def picamera2_importable() -> bool:
    return importlib.util.find_spec("picamera2") is not None


def _picamera2_has_camera() -> bool:
    if not picamera2_importable():
        return False
    try:
        from picamera2 import Picamera2

        return bool(Picamera2.global_camera_info())
    except Exception:
        return False


def _open_picamera2() -> FrameSource:
    try:
        from picamera2 import Picamera2
    except ImportError:
        raise CameraError("picamera2 is not installed: sudo apt install python3-picamera2, and make the venv with "
                          "python3 -m venv --system-site-packages (it is not on pip); run edgecnn doctor") from None
    try:
        camera = Picamera2()
        config = camera.create_video_configuration(main={"size": PICAMERA2_SIZE, "format": "BGR888"})
        camera.configure(config)
        camera.start()
    except Exception as exc:
        raise CameraError(f"picamera2: cannot open the camera module ({one_line(exc)}); "
                          "check the ribbon cable and run: rpicam-hello --list-cameras") from None

    def close() -> None:
        camera.stop()
        camera.close()

    return FrameSource("picamera2", "RGB", lambda: camera.capture_array("main"), close)


def _import_cv2() -> Any:
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    try:
        import cv2
    except ImportError:
        raise CameraError("OpenCV is not installed: pip install 'edgecnn[camera]' (or sudo apt install python3-opencv); "
                          "for the Pi camera module use --source picamera2") from None
    return cv2


def _open_opencv(spec: str, timeout: float) -> FrameSource:
    """Open SPEC with OpenCV and read its first frame, within TIMEOUT seconds.

    FFmpeg gets the timeout for opening and for each read (a silent network peer). Opening
    and every read also run in a helper thread (`_Blocking`): a FIFO without a writer blocks
    in open(2), where neither FFmpeg's timeout nor Ctrl-C reaches; the main thread waits
    a little longer than FFmpeg would, so Ctrl-C and the timeout always work.
    Raises CameraError: no such source, a text file, a timeout, or no decodable frame.
    """
    cv2 = _import_cv2()
    is_url = "://" in spec
    if spec.isdigit():
        target: Any = int(spec)
        kind = f"camera {spec}"
    else:
        target, kind = spec, spec
        if not is_url:
            _check_video_file(Path(spec))
    ms = max(1, int(timeout * 1000))
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    blocking = _Blocking(kind, timeout)

    def open_and_read() -> tuple[Any, tuple[bool, Any]]:
        capture = cv2.VideoCapture(target, cv2.CAP_ANY, params)
        blocking.on_abandon = capture.release
        return capture, (capture.read() if capture.isOpened() else (False, None))

    from ..tfenv import quiet_stderr  # OpenCV/FFmpeg print warnings on fd 2; our error line says it all

    started = time.monotonic()
    with quiet_stderr():  # restored by this (main) thread, whatever the helper thread is doing
        capture, (ok, first) = blocking.call(open_and_read, "opening it")
    blocking.on_abandon = capture.release
    problem = ""
    if not ok and time.monotonic() - started >= timeout:  # FFmpeg gave up waiting
        problem = blocking.timed_out("opening it")
    elif not capture.isOpened():
        problem = "cannot be opened" + (" (a Pi camera module? use --source picamera2)" if spec.isdigit() else "")
    elif _fourcc(capture, cv2) == "ansi":  # FFmpeg's tty demuxer draws text files as "video"
        problem = "is text, not a video"
    elif not ok or not _is_image(first):
        problem = "opened but gave no decodable frame"
    if problem:
        capture.release()
        raise CameraError(f"{kind}: {problem}")
    pending = [first]

    def read() -> np.ndarray | None:
        if pending:
            return pending.pop()
        started = time.monotonic()
        ok, frame = blocking.call(capture.read, "waiting for the next frame")
        if not ok and time.monotonic() - started >= timeout:
            raise CameraError(f"{kind}: {blocking.timed_out('waiting for the next frame')}")
        return frame if ok and _is_image(frame) else None

    return FrameSource(kind, "BGR", read, blocking.close)


class _Blocking:
    """Runs one OpenCV call at a time in a daemon thread; the caller waits at most `timeout` seconds.

    A call that overruns raises CameraError and is abandoned: its thread may stay blocked in
    FFmpeg, so the capture is released only when (if) that call returns, never under it.
    """

    def __init__(self, kind: str, timeout: float) -> None:
        self.kind, self.timeout = kind, timeout
        self.on_abandon: Callable[[], None] | None = None
        self._busy = threading.Lock()
        self._abandoned = False

    def call(self, fn: Callable[[], Any], doing: str) -> Any:
        box: dict[str, Any] = {}

        def work() -> None:
            with self._busy:
                try:
                    box["value"] = fn()
                except BaseException as exc:  # handed to the waiting thread
                    box["error"] = exc
                if self._abandoned and self.on_abandon is not None:
                    self.on_abandon()

        thread = threading.Thread(target=work, name="edgecnn-camera", daemon=True)
        thread.start()
        try:
            # Ctrl-C interrupts this wait. Longer than FFmpeg's own timeout, so that where FFmpeg
            # can give up it does, and no thread is left inside it when the process exits.
            thread.join(self.timeout * 1.5 + 1.0)
        finally:
            if thread.is_alive():
                self._abandoned = True
        if thread.is_alive():
            raise CameraError(f"{self.kind}: {self.timed_out(doing)}")
        if "error" in box:
            raise CameraError(f"{self.kind}: cannot be read ({one_line(box['error'])})")
        return box["value"]

    def timed_out(self, doing: str) -> str:
        return (f"no answer within {self.timeout:g} s {doing} (a FIFO with no writer, a silent network peer, "
                "or an unplugged camera?); see --open-timeout")

    def close(self) -> None:
        """Release the capture now, or when an abandoned call returns."""
        self._abandoned = True
        if self._busy.acquire(blocking=False):
            try:
                if self.on_abandon is not None:
                    self.on_abandon()
            finally:
                self._busy.release()


def _check_video_file(path: Path) -> None:
    """Refuse, before FFmpeg sees it, what cannot be a video: a missing path, a folder, an empty or text file."""
    if not path.exists():
        raise CameraError(f"{path}: no such camera device or video file")
    if path.is_dir():
        raise CameraError(f"{path}: is a folder, not a video file or camera device")
    if not path.is_file():
        return  # a device or a FIFO: only reading it tells
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise CameraError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not head:
        raise CameraError(f"{path}: empty file, not a video")
    if _is_text(head):
        raise CameraError(f"{path}: is text, not a video")


def _is_text(head: bytes) -> bool:
    """UTF-8 without a NUL byte: every video container has binary fields (and NULs) in its first 4 KB."""
    if b"\0" in head:
        return False
    for cut in range(4):  # the 4 KB may end inside a multi-byte character
        try:
            head[:len(head) - cut].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


def _fourcc(capture: Any, cv2: Any) -> str:
    code = int(capture.get(cv2.CAP_PROP_FOURCC))
    return code.to_bytes(4, "little").decode("latin-1").strip("\0 ").lower() if code > 0 else ""


def _is_image(frame: Any) -> bool:
    return isinstance(frame, np.ndarray) and frame.ndim in (2, 3) and frame.size > 0


# --------------------------------------------------------------------------- loop


def format_frame(frame_no: int, predictions: list[Prediction], fps: float, as_json: bool) -> str:
    best = predictions[0]
    if as_json:
        return json.dumps({"frame": frame_no, **prediction_fields(predictions, fps=round(fps, 2))})
    others = "".join(f", {p.label} ({p.score:.3f})" for p in predictions[1:])
    return f"frame {frame_no}: {best.label} ({best.score:.3f}){others}  {fps:.1f} FPS"


def run_camera(clf: Classifier, source: FrameSource, *, window: bool = False, max_frames: int | None = None,
               top_k: int = 1, as_json: bool = False, out: IO[str] | None = None) -> CameraStats:
    """Classify frames until the source ends, max_frames, q/Esc in the window, or Ctrl-C."""
    out = out or sys.stdout
    stats = CameraStats()
    show = _Window() if window else None
    started = time.perf_counter()
    stats.recent.append(started)  # so the first frame has an FPS too
    try:
        while max_frames is None or stats.frames < max_frames:
            frame = source.read()
            if frame is None:
                break
            pixels = clf.prepare(frame, color_order=source.color_order)
            predictions = clf.classify_prepared(pixels[None], top_k)[0]
            stats.frames += 1
            stats.recent.append(time.perf_counter())
            print(format_frame(stats.frames, predictions, stats.fps, as_json), file=out, flush=True)
            if show is not None and not show.update(frame, source.color_order, pixels, predictions[0], stats.fps):
                break
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a live camera is stopped
    finally:
        stats.seconds = time.perf_counter() - started
        source.close()
        if show is not None:
            show.close()
    return stats


def display_available() -> tuple[bool, str]:
    """(True, "") when a window can be shown, else (False, why not)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False, ("no display (DISPLAY/WAYLAND_DISPLAY unset); the lines below are the live output "
                       "(--json for JSON lines), e.g. over ssh on a headless Pi")
    if importlib.util.find_spec("cv2") is None:
        return False, ("OpenCV is not installed; for a window: pip install opencv-python "
                       "(or sudo apt install python3-opencv)")
    cv2 = _import_cv2()
    try:
        cv2.namedWindow(WINDOW)
    except cv2.error:
        return False, ("this OpenCV build has no GUI support (opencv-python-headless, what edgecnn[camera] "
                       "installs); for a window: pip uninstall opencv-python-headless && pip install opencv-python "
                       "(or sudo apt install python3-opencv, in a venv made with --system-site-packages); "
                       "without a window the lines below (or --json) are the live output")
    return True, ""


class _Window:
    """An OpenCV window: the frame, the 28x28 the model sees (enlarged), label, score and FPS."""

    def __init__(self) -> None:
        self.cv2 = _import_cv2()

    def update(self, frame: np.ndarray, color_order: str, pixels: np.ndarray, best: Prediction, fps: float) -> bool:
        cv2 = self.cv2
        image = frame if color_order == "BGR" else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        image = np.ascontiguousarray(image[..., :3]) if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        side = max(28, min(image.shape[:2]) // 4)
        inset = cv2.resize(pixels, (side, side), interpolation=cv2.INTER_NEAREST)
        image[:side, -side:] = inset[..., None]
        text = f"{best.label} {best.score:.2f}  {fps:.1f} FPS"
        cv2.putText(image, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 4, cv2.LINE_AA)
        cv2.putText(image, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 255, 0), 2, cv2.LINE_AA)
        cv2.imshow(WINDOW, image)
        key = cv2.waitKey(1) & 0xFF
        return key not in (ord("q"), 27)

    def close(self) -> None:
        try:
            self.cv2.destroyAllWindows()
        except Exception:
            pass

