#!/usr/bin/env python3
"""Classify pictures (or camera frames) on a Raspberry Pi with edgecnn's int8 model.

Copy this file to the Pi next to model_int8.tflite and edgecnn's wheel (`make wheel`
writes it to dist/), then:

    python3 -m venv --system-site-packages ~/edgecnn-venv   # system site: picamera2 comes from apt
    ~/edgecnn-venv/bin/pip install "./edgecnn-0.1.0-py3-none-any.whl[pi]"  # numpy, Pillow, ai-edge-litert; no TensorFlow
    ~/edgecnn-venv/bin/python pi_classify.py --model model_int8.tflite shirt.jpg photos/
    ~/edgecnn-venv/bin/python pi_classify.py --model model_int8.tflite --camera

Output, one line per image: `PATH: LABEL (SCORE)` (or JSON lines with --json), `PATH: no item`
for a picture with nothing in it, `PATH: uncertain (best LABEL SCORE)` under --min-score; an
unreadable image gets `PATH: error: PROBLEM` on stderr and the exit status is 1. Folders are
read and classified by one worker process per core (--workers).
All the work is edgecnn.runtime's - the same code as `edgecnn classify` - so this
script only parses arguments: preprocessing and quantization cannot drift apart
between the desktop and the device. It runs with ai-edge-litert or tflite-runtime.
"""

from __future__ import annotations

import argparse
import sys

try:
    from edgecnn.errors import EdgecnnError, ExitStatus
    from edgecnn.runtime import Classifier
    from edgecnn.runtime.files import expand_paths
    from edgecnn.runtime.report import print_results
    from edgecnn.runtime.views import CHOICES as VIEW_CHOICES
except ImportError as exc:  # the one thing to install
    sys.exit(f"pi_classify: {exc}; install edgecnn's wheel (make wheel builds it) with its [pi] extra: pip install './edgecnn-VERSION-py3-none-any.whl[pi]'")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Classify images or camera frames with an edgecnn model.")
    p.add_argument("--model", default="model_int8.tflite", help="the .tflite (or .onnx) model")
    p.add_argument("--camera", action="store_true", help="classify camera frames instead of files")
    p.add_argument("--source", default="auto", help="with --camera: auto, picamera2, 0, /dev/videoN, FILE or URL")
    p.add_argument("--max-frames", type=int, default=None, help="with --camera: stop after N frames")
    p.add_argument("--top-k", type=int, default=1, help="classes per image, best first")
    p.add_argument("--threads", type=int, default=None, help="interpreter threads")
    p.add_argument("--invert", action=argparse.BooleanOptionalAction, default=None,
                   help="force polarity (default: decided from each picture's border)")
    p.add_argument("--views", choices=VIEW_CHOICES, default="auto",
                   help="test-time views averaged per answer (default auto: the model's own; none: one run)")
    p.add_argument("--json", action="store_true", help="JSON lines instead of text")
    p.add_argument("--min-score", type=float, default=0.0, help="best score under this (0..1): 'uncertain'")
    p.add_argument("--workers", type=int, default=None, help="processes reading and classifying images (default: the cores)")
    p.add_argument("images", nargs="*", metavar="IMAGE", help="image files, folders or glob patterns")
    args = p.parse_args(argv)
    if not args.camera and not args.images:
        p.error("give IMAGE paths, or --camera")
    if args.top_k < 1:
        p.error("--top-k must be at least 1")
    if not 0.0 <= args.min_score <= 1.0 or (args.workers is not None and args.workers < 1):
        p.error("--min-score must be in 0..1 and --workers at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        clf = Classifier(args.model, num_threads=args.threads, invert=args.invert, views=args.views)
        if args.camera:
            from edgecnn.runtime.camera import open_source, run_camera

            stats = run_camera(clf, open_source(args.source), max_frames=args.max_frames, top_k=args.top_k,
                               as_json=args.json, min_score=args.min_score)
            print(f"{stats.frames} frames in {stats.seconds:.2f} s", file=sys.stderr)
            return ExitStatus.SUCCESS
        summary = print_results(clf, expand_paths(args.images), args.top_k, args.json, sys.stdout, sys.stderr,
                                args.workers, min_score=args.min_score)
        print(summary.line(clf), file=sys.stderr)
        return ExitStatus.SOME_FAILED if summary.failed else ExitStatus.SUCCESS
    except EdgecnnError as exc:
        print(f"pi_classify: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
