"""`edgecnn classify`: one line per image (a label, no item or uncertain), then a summary; exit 1 if any image failed."""

from __future__ import annotations

import argparse
import sys

from ..errors import ExitStatus
from .common import add_subcommand

EXAMPLES = """  edgecnn classify --model artifacts/model_int8.tflite photo.jpg
  edgecnn classify --model artifacts/model.onnx --top-k 3 photos/ 'shots/**/*.png'
  edgecnn classify --model model_int8.tflite --json --threads 4 photos/ > answers.jsonl
  edgecnn classify --model model_int8.tflite --no-invert scan.png   # already light on dark
  edgecnn classify --model model_int8.tflite --workers 1 photos/     # all in this one process
  edgecnn classify --model model_int8.tflite --min-score 0.6 shots/  # 'uncertain' below 0.6

output: PATH: LABEL (SCORE) per image on stdout (--json: JSON lines); a picture with no item
in it (blank, uniform) gets 'PATH: no item' (JSON "no_item": true), one whose best score is
under --min-score 'PATH: uncertain (best LABEL SCORE)' (JSON "uncertain": true): answers,
not failures. Unreadable files get 'PATH: error: PROBLEM' on stderr and exit status 1 (so
does a sub-folder that cannot be read); the summary, with the counts, goes to stderr.
Control characters in names and labels are escaped (\\n, \\x1b). A bad model file
(missing, not a regular file, over 256 MiB, corrupt): one line on stderr and exit status 2.
"""


def add_model_args(p: argparse.ArgumentParser) -> None:
    """--model, --threads, --backend, --invert, --views: shared with `edgecnn camera` and `edgecnn serve`."""
    from ..runtime.views import CHOICES

    p.add_argument("--model", required=True, default=argparse.SUPPRESS,
                   help="a .tflite or .onnx model (labels from its metadata, manifest.json or labels.txt beside it)")
    p.add_argument("--threads", type=int, default=None, help="interpreter threads (default: the interpreter's own choice)")
    p.add_argument("--backend", default="auto",
                   help="auto, litert, tflite_runtime, tensorflow (for .tflite) or onnxruntime (for .onnx)")
    p.add_argument("--invert", action=argparse.BooleanOptionalAction, default=None,
                   help="force polarity: --invert for a dark item on a light background, --no-invert for a "
                        "light item on dark (default: decided per picture from its border)")
    p.add_argument("--views", choices=CHOICES, default="auto",
                   help="test-time views: each answer is the mean over the picture's mirror image and/or "
                        "one-pixel shifts, one more model run per view (default auto: the views the model "
                        "was trained for, from its metadata; flip-shift for edgecnn's Fashion-MNIST models, "
                        "10 runs; none: one run)")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_subcommand(sub, "classify", "classify image files, folders (recursively) or globs with a model", EXAMPLES)
    add_model_args(p)
    p.add_argument("--top-k", type=int, default=1, help="classes to show per image, best first")
    p.add_argument("--json", action="store_true", help="JSON lines instead of text")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes that decode, prepare and classify images, each with its own interpreter "
                        "(default: the cores this process may use; 1: all in this process). Output and its "
                        "order are the same for any N; benchmarks/classify_throughput.py measures the speed-up")
    p.add_argument("--min-score", type=float, default=0.0, metavar="S",
                   help="a best score under S (0..1) is printed as 'uncertain (best LABEL SCORE)' instead of "
                        "the label (default 0: never)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files, folders or glob patterns")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..runtime import Classifier
    from ..runtime.files import expand_paths
    from ..runtime.report import check_min_score, print_results

    if args.top_k < 1:
        raise UsageError(f"--top-k must be at least 1 (got {args.top_k})")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be at least 1 (got {args.threads})")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {args.workers})")
    check_min_score(args.min_score)
    clf = Classifier(args.model, num_threads=args.threads, backend=args.backend, invert=args.invert,
                     views=args.views)
    summary = print_results(clf, expand_paths(args.paths), args.top_k, args.json, sys.stdout, sys.stderr,
                            args.workers, min_score=args.min_score)
    print(summary.line(clf), file=sys.stderr)
    return ExitStatus.SOME_FAILED if summary.failed else ExitStatus.SUCCESS
