"""Classify frames from a camera, a video file or a stream, with FPS.

Two capture stacks, because a Raspberry Pi has two kinds of camera:

- OpenCV (`cv2.VideoCapture`) for USB webcams (`0`, `/dev/video0`), video files and
  network streams (rtsp://, http://). OpenCV gives BGR frames.
- picamera2 for the Pi camera module: on Raspberry Pi OS Bookworm the camera module
  sits behind libcamera, which OpenCV's V4L2 backend cannot drive. It comes from apt
  (python3-picamera2), not pip, so a venv needs --system-site-packages to see it. We
  ask for its "BGR888" format, whose numpy frames are in R, G, B order.

Neither is imported until a source is opened, and neither is needed to classify files.

Capture runs on its own thread (`_Capture`, one per source, for its whole life): it opens
the source and reads frames as fast as the source gives them. From a live source (a
camera, a device, a stream) the classifier always takes the newest frame and older ones
are dropped, never queued, so the answer is never behind the scene. A video file is not
live: its frames are handed over one by one, none dropped. The same loop
(`classify_frames`) feeds `edgecnn camera` (lines, a window, a saved video) and
`edgecnn serve` (the browser page).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterator

import numpy as np

from ..errors import CameraError, NoItem, UsageError, WriteError, one_line
from ..log import get_logger
from . import imports
from .classifier import Classifier, Prediction
from .report import NO_ITEM, UNCERTAIN, answer_fields, is_uncertain, printable

PICAMERA2 = "picamera2"
AUTO = "auto"
PICAMERA2_SIZE = (640, 480)
WINDOW = "edgecnn camera (q or Esc to quit)"
_FPS_WINDOW = 30  # frames the FPS figure is averaged over
DEFAULT_OPEN_TIMEOUT_S = 10.0

logger = get_logger(__name__)


@dataclass
class _Device:
    """An opened capture device, used by the capture thread only."""

    read: Callable[[], np.ndarray | None]
    release: Callable[[], None]
    rewind: Callable[[], bool] | None = None  # back to the first frame (files), True when it worked
    pace_fps: float = 0.0  # > 0: read no faster than this (a file played like a camera)


@dataclass
class FrameSource:
    """An open source of frames: `read()` gives the next frame (the newest, from a live one), or None at the end.

    `read` raises CameraError when no frame comes within the timeout. `close()` stops the
    capture thread and releases the camera (at once, or as soon as a read blocked in the
    driver returns).
    """

    name: str
    color_order: str  # "BGR" (OpenCV) or "RGB" (picamera2)
    read: Callable[[], np.ndarray | None]
    close: Callable[[], None]
    live: bool = True  # False for a video file: no frame dropped
    capture_ms: Callable[[], float] = lambda: 0.0  # mean time the device took per frame read
    dropped: Callable[[], int] = lambda: 0  # stale frames dropped so far


@dataclass
class StageTimes:
    """Milliseconds per stage, summed over frames; `line()` is the Ultralytics-style "Speed:" line."""

    frames: int = 0
    prepare: float = 0.0
    infer: float = 0.0

    def add(self, prepare_ms: float, infer_ms: float) -> None:
        self.frames += 1
        self.prepare += prepare_ms
        self.infer += infer_ms

    def line(self, capture_ms: float, dropped: int) -> str:
        n = max(self.frames, 1)
        return (f"Speed: {capture_ms:.2f} ms capture, {self.prepare / n:.2f} ms prepare, {self.infer / n:.2f} ms infer "
                f"per frame (mean of {self.frames}); {dropped} stale frames dropped")


@dataclass
class CameraStats:
    frames: int = 0
    seconds: float = 0.0
    recent: deque = field(default_factory=lambda: deque(maxlen=_FPS_WINDOW))
    times: StageTimes = field(default_factory=StageTimes)

    @property
    def fps(self) -> float:
        """Frames per second over the last few frames (all of capture, preprocessing and inference)."""
        if len(self.recent) < 2:
            return 0.0
        span = self.recent[-1] - self.recent[0]
        return (len(self.recent) - 1) / span if span > 0 else 0.0


@dataclass
class FrameResult:
    """One classified frame: the answer (`predictions` empty when there is no item) and its timings."""

    number: int
    frame: np.ndarray
    color_order: str
    pixels: np.ndarray | None  # the model's 28x28 view; None when the frame has no item
    predictions: list[Prediction]
    uncertain: bool
    fps: float
    prepare_ms: float
    infer_ms: float

    @property
    def no_item(self) -> bool:
        return not self.predictions

    @property
    def label(self) -> str:
        """What to show: the class, "uncertain" (below --min-score) or "no item"."""
        if self.no_item:
            return NO_ITEM
        return UNCERTAIN if self.uncertain else self.predictions[0].label


def parse_frame_size(text: str) -> tuple[int, int]:
    """'640x480' -> (640, 480); UsageError for anything else."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--frame-size must be WIDTHxHEIGHT, e.g. 640x480 (got {text!r})") from None
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise UsageError(f"--frame-size {text}: width and height must be 16 to 8192 pixels")
    return width, height


# --------------------------------------------------------------------------- sources


def open_source(spec: str | int | None = AUTO, open_timeout: float = DEFAULT_OPEN_TIMEOUT_S, *,
                frame_size: tuple[int, int] | None = None, loop: bool = False) -> FrameSource:
    """Open `spec`: auto, picamera2, a camera index (0), a device (/dev/video0), a file or a URL.

    The capture thread opens it; this waits for the first frame, at most `open_timeout` seconds
    (each later frame gets as long). `frame_size` (width, height) is asked of the camera, and
    frames that still come in another size (a video file) are resized to it. `loop`: a video
    file plays like a camera (`edgecnn serve`): at its own frame rate, the newest frame taken,
    from the start again at its end. Raises CameraError (exit 2) for a source
    that cannot be opened or gives no decodable frame in time.
    """
    if not open_timeout > 0:
        raise CameraError(f"--open-timeout must be more than 0 seconds (got {open_timeout})")
    spec = AUTO if spec is None else str(spec).strip()
    if spec == AUTO:
        spec = PICAMERA2 if _picamera2_has_camera() else "0"
    if spec == PICAMERA2:
        return _Capture("picamera2", "RGB", lambda: _open_picamera2(frame_size), open_timeout, True,
                        frame_size).start()
    return _open_opencv(spec, open_timeout, frame_size, loop)


def _picamera2_has_camera() -> bool:
    """Whether picamera2 imports and sees a camera module (auto's first choice).

    Installed but broken (a numpy ABI mismatch, typically) is said as a warning, since auto then
    falls back to OpenCV's camera 0 and the user would otherwise never learn why.
    """
    if not imports.find(PICAMERA2):
        return False
    status, module = imports.try_import(PICAMERA2)
    if module is None:
        fix = f"; fix: {status.fix}" if status.fix else ""
        logger.warning(f"picamera2 is installed but fails to import: {status.detail}{fix}; trying OpenCV camera 0")
        return False
    try:
        return bool(module.Picamera2.global_camera_info())
    except Exception:
        return False


def _open_picamera2(frame_size: tuple[int, int] | None) -> _Device:
    Picamera2 = _require(PICAMERA2, "sudo apt install python3-picamera2, and make the venv with python3 -m venv "
                                    "--system-site-packages (it is not on pip); run edgecnn doctor").Picamera2
    try:
        camera = Picamera2()
        config = camera.create_video_configuration(main={"size": frame_size or PICAMERA2_SIZE, "format": "BGR888"})
        camera.configure(config)
        camera.start()
    except Exception as exc:
        raise CameraError(f"picamera2: cannot open the camera module ({one_line(exc)}); "
                          "check the ribbon cable and run: rpicam-hello --list-cameras") from exc

    def release() -> None:
        camera.stop()
        camera.close()

    return _Device(lambda: camera.capture_array("main"), release)


def _import_cv2() -> Any:
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    return _require("cv2", "pip install 'edgecnn[camera]' (or sudo apt install python3-opencv); "
                           "for the Pi camera module use --source picamera2")


def _require(module: str, install_hint: str) -> Any:
    """imports.require as a CameraError: "<module> is not installed: <hint>" or "... installed but fails to import"."""
    try:
        return imports.require(module, install_hint)
    except (imports.ModuleMissing, imports.ModuleBroken) as exc:
        raise CameraError(str(exc)) from exc


def _open_opencv(spec: str, timeout: float, frame_size: tuple[int, int] | None, loop: bool) -> FrameSource:
    """Open SPEC with OpenCV in the capture thread; its first frame must come within TIMEOUT seconds.

    FFmpeg gets the timeout for opening and for each read (a silent network peer). Opening
    runs in the capture thread too: a FIFO without a writer blocks in open(2), where neither
    FFmpeg's timeout nor Ctrl-C reaches; this thread waits a little longer than FFmpeg
    would, so Ctrl-C and the timeout always work.
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
    is_file = not is_url and not spec.isdigit() and Path(spec).is_file()
    ms = max(1, int(timeout * 1000))
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    if frame_size and not is_file:
        params += [cv2.CAP_PROP_FRAME_WIDTH, frame_size[0], cv2.CAP_PROP_FRAME_HEIGHT, frame_size[1]]

    def open_device() -> _Device:
        started = time.monotonic()
        capture = cv2.VideoCapture(target, cv2.CAP_ANY, params)
        ok, first = capture.read() if capture.isOpened() else (False, None)
        problem = ""
        if not ok and time.monotonic() - started >= timeout:  # FFmpeg gave up waiting
            problem = _timed_out(timeout, "opening it")
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
            ok, frame = capture.read()
            if not ok and time.monotonic() - started >= timeout:
                raise CameraError(f"{kind}: {_timed_out(timeout, 'waiting for the next frame')}")
            return frame if ok and _is_image(frame) else None

        def rewind() -> bool:
            return bool(capture.set(cv2.CAP_PROP_POS_FRAMES, 0))

        if loop and is_file:
            return _Device(read, capture.release, rewind, float(capture.get(cv2.CAP_PROP_FPS) or 0.0))
        return _Device(read, capture.release)

    from ..tfenv import quiet_stderr  # OpenCV/FFmpeg print warnings on fd 2; our error line says it all

    with quiet_stderr():  # restored by this (main) thread, whatever the capture thread is doing
        return _Capture(kind, "BGR", open_device, timeout, loop or not is_file, frame_size).start()


class _Capture:
    """The capture thread of one source: opens it, then reads frames until closed or the source ends.

    Live (`latest_only`): each new frame replaces one the classifier has not taken yet (it is
    counted as dropped). Not live (a file): the thread waits until the classifier took the last
    frame. The consumer waits at most `timeout` seconds for a frame; a read that overruns is
    abandoned (its thread may stay blocked in FFmpeg), so the device is released by the capture
    thread itself, when (if) that read returns, never under it.
    """

    def __init__(self, kind: str, color_order: str, opener: Callable[[], _Device], timeout: float,
                 latest_only: bool, frame_size: tuple[int, int] | None) -> None:
        self.kind, self.color_order, self.timeout = kind, color_order, timeout
        self._opener, self._latest_only, self._size = opener, latest_only, frame_size
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._ended = False
        self._error: BaseException | None = None
        self._closed = False
        self._opened = False
        self._dropped = 0
        self._read_s = 0.0
        self._reads = 0
        self._thread = threading.Thread(target=self._run, name=f"edgecnn-capture {kind}", daemon=True)

    def start(self) -> FrameSource:
        """Start the thread and wait for the first frame; CameraError if it fails or is late."""
        self._thread.start()
        source = FrameSource(self.kind, self.color_order, self.read, self.close, self._latest_only,
                             self.capture_ms, lambda: self._dropped)
        try:
            with self._cond:
                self._wait(lambda: self._frame is not None, "opening it")
        except BaseException:
            self.close()
            raise
        return source

    def _run(self) -> None:
        try:
            device = self._opener()
        except BaseException as exc:
            self._finish(error=exc)
            return
        period = 1.0 / device.pace_fps if device.pace_fps > 0 else 0.0
        due = time.perf_counter()
        try:
            while not self._closed:
                if period:
                    due += period
                    time.sleep(max(0.0, due - time.perf_counter()))
                started = time.perf_counter()
                frame = device.read()
                if frame is None and device.rewind is not None and device.rewind():
                    frame = device.read()
                if frame is None:
                    break
                if self._size and frame.shape[1::-1] != self._size:
                    frame = _resize(frame, self._size)
                self._read_s += time.perf_counter() - started
                self._reads += 1
                with self._cond:
                    self._opened = True
                    while not self._latest_only and self._frame is not None and not self._closed:
                        self._cond.wait()
                    if self._frame is not None:
                        self._dropped += 1
                    self._frame = frame
                    self._cond.notify_all()
            self._finish()
        except BaseException as exc:
            self._finish(error=exc)
        finally:
            device.release()

    def _finish(self, error: BaseException | None = None) -> None:
        with self._cond:
            self._ended, self._error = True, error
            self._cond.notify_all()

    def _wait(self, ready: Callable[[], bool], doing: str) -> None:
        """Under the condition: wait until `ready()`, the end or an error; Ctrl-C interrupts the wait.

        Longer than FFmpeg's own timeout, so that where FFmpeg can give up it does, and no
        thread is left inside it when the process exits.
        """
        deadline = time.monotonic() + self.timeout * 1.5 + 1.0
        while not ready() and not self._ended and not self._closed:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CameraError(f"{self.kind}: {_timed_out(self.timeout, doing)}")
            self._cond.wait(left)
        if self._error is not None and self._frame is None:
            error = self._error
            if isinstance(error, CameraError):
                raise CameraError(str(error)) from None
            raise CameraError(f"{self.kind}: cannot be read ({one_line(error)})") from None

    def read(self) -> np.ndarray | None:
        """The newest frame not yet taken (waiting for one), or None at the end of the source or once closed."""
        with self._cond:
            self._wait(lambda: self._frame is not None, "opening it" if not self._opened else
                       "waiting for the next frame")
            frame, self._frame = self._frame, None
            self._cond.notify_all()
            return frame

    def capture_ms(self) -> float:
        return 1000.0 * self._read_s / self._reads if self._reads else 0.0

    def close(self) -> None:
        """Stop the thread; the camera is released when its current read returns (waited for, briefly)."""
        with self._cond:
            self._closed = True
            self._frame = None
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(min(self.timeout, 2.0))


def _timed_out(timeout: float, doing: str) -> str:
    return (f"no answer within {timeout:g} s {doing} (a FIFO with no writer, a silent network peer, "
            "or an unplugged camera?); see --open-timeout")


def _resize(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BOX))


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
        raise CameraError(f"{path}: cannot read ({exc.strerror or exc})") from exc
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


def classify_frames(clf: Classifier, source: FrameSource, *, top_k: int = 1, min_score: float = 0.0,
                    max_frames: int | None = None, stats: CameraStats | None = None) -> Iterator[FrameResult]:
    """Classify the newest frame of `source`, again and again, until it ends or max_frames.

    A frame with no item (errors.NoItem) is an answer (`no_item`), not a failure. Does not
    close the source. Raises CameraError when the source stops answering.
    """
    stats = stats if stats is not None else CameraStats()
    if not stats.recent:
        stats.recent.append(time.perf_counter())  # so the first frame has an FPS too
    while max_frames is None or stats.frames < max_frames:
        frame = source.read()
        if frame is None:
            return
        t0 = time.perf_counter()
        try:
            pixels: np.ndarray | None = clf.prepare(frame, color_order=source.color_order)
        except NoItem:
            pixels = None
        t1 = time.perf_counter()
        predictions = clf.classify_prepared(pixels[None], top_k)[0] if pixels is not None else []
        t2 = time.perf_counter()
        stats.frames += 1
        stats.recent.append(t2)
        stats.times.add((t1 - t0) * 1000, (t2 - t1) * 1000)
        uncertain = is_uncertain(predictions, min_score)
        yield FrameResult(stats.frames, frame, source.color_order, pixels, predictions, uncertain, stats.fps,
                          (t1 - t0) * 1000, (t2 - t1) * 1000)


def format_frame(result: FrameResult, as_json: bool) -> str:
    """One output line for a frame: text, or a JSON object (answer_fields plus frame and fps)."""
    if as_json:
        return json.dumps({"frame": result.number, **answer_fields(result.predictions, result.uncertain,
                                                                   fps=round(result.fps, 2))})
    if result.no_item:
        return f"frame {result.number}: {NO_ITEM}  {result.fps:.1f} FPS"
    best = result.predictions[0]
    shown = f"{UNCERTAIN} (best {printable(best.label)} {best.score:.3f})" if result.uncertain else \
        f"{printable(best.label)} ({best.score:.3f})"
    others = "".join(f", {printable(p.label)} ({p.score:.3f})" for p in result.predictions[1:])
    return f"frame {result.number}: {shown}{others}  {result.fps:.1f} FPS"


class LinePolicy:
    """Which frames get a line: every Nth (`every`), or only those whose label changed (`on_change`)."""

    def __init__(self, every: int = 1, on_change: bool = False) -> None:
        if every < 1:
            raise UsageError(f"--every must be at least 1 (got {every})")
        self.every, self.on_change = every, on_change
        self._last: str | None = None

    def wants(self, result: FrameResult) -> bool:
        if self.on_change:
            changed = result.label != self._last
            self._last = result.label
            return changed
        return (result.number - 1) % self.every == 0


def run_camera(clf: Classifier, source: FrameSource, *, window: bool = False, max_frames: int | None = None,
               top_k: int = 1, as_json: bool = False, out: IO[str] | None = None, min_score: float = 0.0,
               lines: LinePolicy | None = None, save: str | os.PathLike[str] | None = None,
               stats: CameraStats | None = None) -> CameraStats:
    """Classify frames until the source ends, max_frames, or q/Esc in the window; print the chosen lines.

    `save`: an annotated video (the window's overlay) written to that path, complete and renamed
    into place when the run ends, Ctrl-C included. The source is closed at the end. Ctrl-C
    (KeyboardInterrupt) is re-raised after that clean-up, so the command exits 130; pass
    `stats` to read the figures afterwards either way.
    """
    out = out or sys.stdout
    lines = lines or LinePolicy()
    stats = stats if stats is not None else CameraStats()
    show = _Window() if window else None
    recorder = _Recorder(save) if save else None
    started = time.perf_counter()
    try:
        for result in classify_frames(clf, source, top_k=top_k, min_score=min_score, max_frames=max_frames,
                                      stats=stats):
            if lines.wants(result):
                print(format_frame(result, as_json), file=out, flush=True)
            if recorder is not None:
                recorder.write(annotate(result), result.fps)
            if show is not None and not show.update(result):
                break
    finally:
        stats.seconds = time.perf_counter() - started
        source.close()
        if show is not None:
            show.close()
        if recorder is not None:
            recorder.close(stats.frames / stats.seconds if stats.seconds > 0 else 0.0)
    return stats


def speed_line(stats: CameraStats, source: FrameSource) -> str:
    """The per-stage timing line printed at the end of `edgecnn camera`."""
    return stats.times.line(source.capture_ms(), source.dropped())


def annotate(result: FrameResult) -> np.ndarray:
    """A BGR copy of the frame with the label, score, FPS and the model's 28x28 view (enlarged, top right)."""
    cv2 = _import_cv2()
    frame = result.frame
    image = frame if result.color_order == "BGR" else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    image = np.array(image[..., :3]) if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    side = max(28, min(image.shape[:2]) // 4)
    if result.pixels is not None:
        inset = cv2.resize(result.pixels, (side, side), interpolation=cv2.INTER_NEAREST)
        image[:side, -side:] = inset[..., None]
    score = f" {result.predictions[0].score:.2f}" if result.predictions else ""
    text = f"{result.label}{score}  {result.fps:.1f} FPS"
    cv2.putText(image, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(image, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 255, 0), 2, cv2.LINE_AA)
    return image


class _Recorder:
    """--save: an mp4 (mp4v) of annotated frames, written beside DEST and renamed to it on close.

    The first frames are held back until the loop's frame rate is known, so the video plays
    at the speed the frames were classified (a live source drops frames the loop had no time for).
    """

    HOLD = 10  # frames held back to measure the rate

    def __init__(self, dest: str | os.PathLike[str]) -> None:
        self.cv2 = _import_cv2()
        self.dest = Path(dest)
        if not self.dest.parent.is_dir():
            raise WriteError(f"--save {self.dest}: folder {self.dest.parent} does not exist")
        self.tmp = self.dest.with_name(f".{self.dest.stem}.tmp{self.dest.suffix or '.mp4'}")
        self.writer: Any = None
        self.held: list[np.ndarray] = []
        self.frames = 0

    def write(self, image: np.ndarray, fps: float) -> None:
        self.frames += 1
        if self.writer is not None:
            self.writer.write(image)
            return
        self.held.append(image)
        if len(self.held) >= self.HOLD:
            self._open(fps)

    def _open(self, fps: float) -> None:
        height, width = self.held[0].shape[:2]
        rate = min(max(fps, 1.0), 120.0) if fps > 0 else 15.0
        self.writer = self.cv2.VideoWriter(str(self.tmp), self.cv2.VideoWriter_fourcc(*"mp4v"), rate, (width, height))
        if not self.writer.isOpened():
            raise WriteError(f"--save {self.dest}: OpenCV cannot write an mp4 video there")
        for image in self.held:
            self.writer.write(image)
        self.held = []

    def close(self, fps: float) -> None:
        if self.held:
            self._open(fps)
        if self.writer is None:
            return
        self.writer.release()
        os.replace(self.tmp, self.dest)


def display_available() -> tuple[bool, str]:
    """(True, "") when a window can be shown, else (False, why not)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False, ("no display (DISPLAY/WAYLAND_DISPLAY unset); the lines below are the live output "
                       "(--json for JSON lines), e.g. over ssh on a headless Pi; or edgecnn serve for a browser view")
    if not imports.find("cv2"):
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
    """An OpenCV window showing `annotate`'s picture."""

    def __init__(self) -> None:
        self.cv2 = _import_cv2()

    def update(self, result: FrameResult) -> bool:
        self.cv2.imshow(WINDOW, annotate(result))
        key = self.cv2.waitKey(1) & 0xFF
        return key not in (ord("q"), 27)

    def close(self) -> None:
        try:
            self.cv2.destroyAllWindows()
        except Exception:
            pass
