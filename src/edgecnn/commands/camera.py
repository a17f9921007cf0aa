"""`edgecnn camera`: classify live camera frames (or a video file or stream) with FPS."""

from __future__ import annotations

import argparse
import sys

from ..errors import ExitStatus
from .classify import add_model_args
from .common import add_subcommand

EXAMPLES = """  edgecnn camera --model artifacts/model_int8.tflite                 # Pi camera module, else webcam 0
  edgecnn camera --model model_int8.tflite --source picamera2 --headless --on-change
  edgecnn camera --model model_int8.tflite --source /dev/video0 --frame-size 320x240 --every 10
  edgecnn camera --model model.onnx --source clip.avi --max-frames 100 --json
  edgecnn camera --model model_int8.tflite --source clip.avi --save annotated.mp4 --min-score 0.6
  edgecnn camera --model model_int8.tflite --source rtsp://192.168.1.20:8554/cam

sources: auto (picamera2 when it finds a camera module, else OpenCV camera 0), picamera2,
a camera index, /dev/videoN, a video file, or a stream URL. Capture runs on its own thread:
from a live source the newest frame is classified and older ones are dropped (counted in
the closing "Speed:" line: mean ms per frame to capture, prepare and infer); a video file
is classified frame by frame. Stop with q/Esc in the window or Ctrl-C (exit 130). No
camera, a source that cannot be opened or gives no decodable frame within --open-timeout
(a FIFO without a writer, a silent stream, a text file): one error line, exit 2.
For a browser view on a headless Pi: edgecnn serve.
"""


def add_source_args(p: argparse.ArgumentParser, more_sources: str = "") -> None:
    """--source, --open-timeout, --frame-size, --min-score, --top-k: shared with `edgecnn serve`."""
    from ..runtime.camera import DEFAULT_OPEN_TIMEOUT_S

    p.add_argument("--source", default="auto", help="auto, picamera2, 0, /dev/videoN, FILE or URL" + more_sources)
    p.add_argument("--open-timeout", type=float, default=DEFAULT_OPEN_TIMEOUT_S, metavar="S",
                   help="seconds to wait for the first frame, and for each next one, before giving up")
    p.add_argument("--frame-size", metavar="WxH", default=None,
                   help="capture size asked of the camera, e.g. 640x480 (frames of another size are resized to it)")
    p.add_argument("--min-score", type=float, default=0.0, metavar="S",
                   help="a best score under S is reported as 'uncertain' (the best guess still shown), e.g. 0.6")
    p.add_argument("--top-k", type=int, default=1, help="classes per answer, best first")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_subcommand(sub, "camera", "classify frames from a camera, video file or stream, with FPS", EXAMPLES)
    add_model_args(p)
    add_source_args(p)
    p.add_argument("--headless", action="store_true", help="never open a window, even with a display")
    p.add_argument("--max-frames", type=int, default=None, help="stop after N frames (default: at the end of the video, on q/Esc or Ctrl-C)")
    lines = p.add_mutually_exclusive_group()
    lines.add_argument("--every", type=int, default=1, metavar="N", help="print a line for every Nth frame only")
    lines.add_argument("--on-change", action="store_true", help="print a line only when the label changes")
    p.add_argument("--save", metavar="OUT.mp4", default=None,
                   help="also write the annotated frames (label, score, FPS, the model's 28x28 view) to this video")
    p.add_argument("--json", action="store_true", help="JSON lines instead of text")
    p.set_defaults(func=run)


def check_source_args(args: argparse.Namespace) -> tuple[int, int] | None:
    """UsageError for a bad --top-k / --min-score / --frame-size; the frame size as (width, height)."""
    from ..errors import UsageError
    from ..runtime.camera import parse_frame_size
    from ..runtime.report import check_min_score

    if args.top_k < 1:
        raise UsageError(f"--top-k must be at least 1 (got {args.top_k})")
    check_min_score(args.min_score)
    return parse_frame_size(args.frame_size) if args.frame_size else None


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..runtime import Classifier
    from ..runtime.camera import CameraStats, LinePolicy, display_available, open_source, run_camera, speed_line

    if args.max_frames is not None and args.max_frames < 1:
        raise UsageError(f"--max-frames must be at least 1 (got {args.max_frames})")
    frame_size = check_source_args(args)
    lines = LinePolicy(args.every, args.on_change)
    clf = Classifier(args.model, num_threads=args.threads, backend=args.backend, invert=args.invert,
                     views=args.views)
    source = open_source(args.source, args.open_timeout, frame_size=frame_size)
    window = False
    if not args.headless:
        window, why = display_available()
        if not window:
            print(f"edgecnn: running headless: {why}", file=sys.stderr)
    stats = CameraStats()
    try:
        run_camera(clf, source, window=window, max_frames=args.max_frames, top_k=args.top_k, as_json=args.json,
                   min_score=args.min_score, lines=lines, save=args.save, stats=stats)
    finally:  # Ctrl-C too: the summary, then exit 130
        fps = stats.frames / stats.seconds if stats.seconds > 0 else 0.0
        print(f"{stats.frames} frames from {source.name} in {stats.seconds:.2f} s ({fps:.1f} FPS); "
              f"{clf.path.name} via {clf.backend.name} {clf.backend.version}", file=sys.stderr)
        print(speed_line(stats, source), file=sys.stderr)
        if args.save and stats.frames:
            print(f"annotated video: {args.save}", file=sys.stderr)
    return ExitStatus.SUCCESS
