"""`edgecnn convert`."""

from __future__ import annotations

import argparse
import json

from ..errors import ExitStatus
from ..formats import FORMAT_NAMES, FORMATS
from .common import add_dataset_args, add_list_argument, add_subcommand

EXAMPLES = """  edgecnn convert artifacts/model.keras                 # int8 TFLite (the Pi format)
  edgecnn convert artifacts/model.keras --all            # every format
  edgecnn convert artifacts/model.keras --int8 --onnx --out deploy
  edgecnn convert artifacts/model.keras --format int8,onnx-int8   # the same as --int8 --onnx-int8
  edgecnn convert artifacts/model.keras --int8 --uint8-io --calibration-samples 1000
  edgecnn convert my_model/model.keras --dataset folder:~/photos --json

exit status: 0 all verified, 2 bad input (nothing written), 3 an artifact failed
verification (artifacts and manifest.json written, the failure marked in it)
"""



def register(sub: argparse._SubParsersAction) -> None:
    p = add_subcommand(sub, "convert", "convert model.keras to int8/float TFLite and ONNX, verified on the test split",
                       EXAMPLES)
    p.add_argument("model", metavar="MODEL.keras", help="the Keras model written by `edgecnn train`")
    for fmt in FORMATS:
        p.add_argument(fmt.flag, dest="formats", action="append_const", const=fmt.name,
                       default=argparse.SUPPRESS, help=fmt.help)
    add_list_argument(p, "--format", choices=list(FORMAT_NAMES), metavar="FORMAT",
                      help=f"formats by name, as the flags above ({', '.join(FORMAT_NAMES)})")
    p.add_argument("--all", action="store_true", help="every format above")
    p.add_argument("--uint8-io", action="store_true", help="int8 model takes and returns uint8 instead of int8")
    p.add_argument("--calibration-samples", type=int, default=500, metavar="N",
                   help="class-balanced training images that set the int8 ranges")
    add_dataset_args(p, recorded=True)
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (13-18)")
    p.add_argument("--max-int8-drop", type=float, default=1.0, metavar="PP",
                   help="largest accuracy drop (percentage points) an int8 artifact may show before exit 3")
    p.add_argument("--out", help="output folder (default: the model's folder)")
    p.add_argument("--json", action="store_true", help="print manifest.json to stdout (progress goes to stderr)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..convert import ALL_FORMATS, DEFAULT_FORMATS, ConvertConfig, convert
    from ..errors import VerificationError

    chosen = [*(getattr(args, "formats", None) or []), *(args.format or [])]  # duplicates are dropped by convert
    formats = list(ALL_FORMATS) if args.all else (chosen or list(DEFAULT_FORMATS))
    config = ConvertConfig(
        model_path=args.model, formats=formats, out=args.out, calibration_samples=args.calibration_samples,
        dataset=args.dataset, data_dir=args.data_dir, seed=args.seed, limit=args.limit,
        uint8_io=args.uint8_io, opset=args.opset, max_int8_drop=args.max_int8_drop,
    )
    try:
        result = convert(config)  # progress through edgecnn.log: stdout, or stderr with --json
    except VerificationError as exc:
        if args.json and exc.result is not None:
            print(json.dumps(exc.result.manifest, indent=2))
        raise
    if args.json:
        print(json.dumps(result.manifest, indent=2))
    return ExitStatus.SUCCESS
