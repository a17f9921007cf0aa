"""`edgecnn classify`: one line per image, then a summary; exit 1 if any image failed."""

from __future__ import annotations

import argparse
import sys

from .common import add_subcommand

EXAMPLES = """  edgecnn classify --model artifacts/model_int8.tflite photo.jpg
  edgecnn classify --model artifacts/model.onnx --top-k 3 photos/ 'shots/**/*.png'
  edgecnn classify --model model_int8.tflite --json --threads 4 photos/ > answers.jsonl
  edgecnn classify --model model_int8.tflite --no-invert scan.png   # already light on dark
  edgecnn classify --model model_int8.tflite --workers 2 photos/     # decode in 2 worker processes

output: PATH: LABEL (SCORE) per image on stdout (--json: JSON lines); unreadable files
get 'PATH: error: PROBLEM' on stderr and exit status 1 (so does a sub-folder that cannot be
read); the summary goes to stderr. Control characters in names and labels are escaped
(\\n, \\x1b). A bad model file (missing, not a regular file, over 256 MiB, corrupt): one
line on stderr and exit status 2.
"""


def add_model_args(p: argparse.ArgumentParser) -> None:
    """--model, --threads, --backend, --invert: shared with `edgecnn camera`."""
    p.add_argument("--model", required=True, default=argparse.SUPPRESS,
                   help="a .tflite or .onnx model (labels from its metadata, manifest.json or labels.txt beside it)")
    p.add_argument("--threads", type=int, default=None, help="interpreter threads (default: the interpreter's own choice)")
    p.add_argument("--backend", default="auto",
                   help="auto, litert, tflite_runtime, tensorflow (for .tflite) or onnxruntime (for .onnx)")
    p.add_argument("--invert", action=argparse.BooleanOptionalAction, default=None,
                   help="force polarity: --invert for a dark item on a light background, --no-invert for a "
                        "light item on dark (default: decided per picture from its border)")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_subcommand(sub, "classify", "classify image files, folders (recursively) or globs with a model", EXAMPLES)
    add_model_args(p)
    p.add_argument("--top-k", type=int, default=1, help="classes to show per image, best first")
    p.add_argument("--json", action="store_true", help="JSON lines instead of text")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes that decode and prepare images while the model runs; 1 (the default): "
                        "read and classify in this process only. Output and its order are the same for any N. "
                        "Measured on a 2-core x86 machine, 2 workers were slower than 1 for 1,000 images "
                        "(worker start-up) and faster for 2,000: benchmarks/classify_throughput.py measures yours")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files, folders or glob patterns")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..runtime import Classifier
    from ..runtime.files import expand_paths
    from ..runtime.report import print_results

    if args.top_k < 1:
        raise UsageError(f"--top-k must be at least 1 (got {args.top_k})")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be at least 1 (got {args.threads})")
    workers = args.workers
    if workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {args.workers})")
    clf = Classifier(args.model, num_threads=args.threads, backend=args.backend, invert=args.invert)
    summary = print_results(clf, expand_paths(args.paths), args.top_k, args.json, sys.stdout, sys.stderr,
                            workers)
    print(summary.line(clf), file=sys.stderr)
    return 1 if summary.failed else 0
