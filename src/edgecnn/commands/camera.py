"""`edgecnn camera`: classify live camera frames (or a video file or stream) with FPS."""

from __future__ import annotations

import argparse
import sys

from .classify import add_model_args
from .common import add_subcommand

EXAMPLES = """  edgecnn camera --model artifacts/model_int8.tflite                 # Pi camera module, else webcam 0
  edgecnn camera --model model_int8.tflite --source picamera2 --headless
  edgecnn camera --model model_int8.tflite --source /dev/video0
  edgecnn camera --model model.onnx --source clip.avi --max-frames 100 --json
  edgecnn camera --model model_int8.tflite --source rtsp://192.168.1.20:8554/cam

sources: auto (picamera2 when it finds a camera module, else OpenCV camera 0), picamera2,
a camera index, /dev/videoN, a video file, or a stream URL. Stop with q/Esc in the
window or Ctrl-C (exit 130). No camera, a source that cannot be opened or gives no decodable
frame within --open-timeout (a FIFO without a writer, a silent stream, a text file): one
error line, exit 2.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_subcommand(sub, "camera", "classify frames from a camera, video file or stream, with FPS", EXAMPLES)
    add_model_args(p)
    p.add_argument("--source", default="auto", help="auto, picamera2, 0, /dev/videoN, FILE or URL")
    from ..runtime.camera import DEFAULT_OPEN_TIMEOUT_S

    p.add_argument("--open-timeout", type=float, default=DEFAULT_OPEN_TIMEOUT_S, metavar="S",
                   help="seconds to wait for the first frame, and for each next one, before giving up")
    p.add_argument("--headless", action="store_true", help="never open a window, even with a display")
    p.add_argument("--max-frames", type=int, default=None, help="stop after N frames (default: at the end of the video, on q/Esc or Ctrl-C)")
    p.add_argument("--top-k", type=int, default=1, help="classes to print per frame")
    p.add_argument("--json", action="store_true", help="JSON lines instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..runtime import Classifier
    from ..runtime.camera import display_available, open_source, run_camera

    if args.max_frames is not None and args.max_frames < 1:
        raise UsageError(f"--max-frames must be at least 1 (got {args.max_frames})")
    if args.top_k < 1:
        raise UsageError(f"--top-k must be at least 1 (got {args.top_k})")
    clf = Classifier(args.model, num_threads=args.threads, backend=args.backend, invert=args.invert)
    source = open_source(args.source, args.open_timeout)
    window = False
    if not args.headless:
        window, why = display_available()
        if not window:
            print(f"edgecnn: running headless: {why}", file=sys.stderr)
    stats = run_camera(clf, source, window=window, max_frames=args.max_frames, top_k=args.top_k, as_json=args.json)
    fps = stats.frames / stats.seconds if stats.seconds > 0 else 0.0
    print(f"{stats.frames} frames from {source.name} in {stats.seconds:.2f} s ({fps:.1f} FPS); "
          f"{clf.path.name} via {clf.backend.name} {clf.backend.version}", file=sys.stderr)
    return 0
