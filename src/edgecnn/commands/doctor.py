"""`edgecnn doctor`: check this machine (a Raspberry Pi above all) before anything fails."""

from __future__ import annotations

import argparse
import json

from ..errors import ExitStatus
from .common import add_subcommand

EXAMPLES = """  edgecnn doctor
  edgecnn doctor --model model_int8.tflite     # also load the model as classify would
  edgecnn doctor --json

Reports OS and architecture (32-bit ARM has no ai-edge-litert wheels), Python, then
imports each interpreter and camera module for real, each in its own child process: an
import that fails is a FAIL with its reason ("installed but fails to import", a numpy
mismatch with both numpys and the fix), told apart from "not installed". Then cores and
threads, each problem with its fix. Exit status 1 when something is broken (FAIL), else 0.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_subcommand(sub, "doctor", "check OS, architecture, Python, interpreters and cameras, with fixes", EXAMPLES)
    p.add_argument("--model", help="also try loading this .tflite/.onnx model")
    p.add_argument("--json", action="store_true", help="a JSON list of checks instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..runtime.doctor import FAIL, as_dicts, format_checks, run_checks

    checks = run_checks(args.model)
    print(json.dumps(as_dicts(checks), indent=2) if args.json else format_checks(checks))
    return ExitStatus.SOME_FAILED if any(c.status == FAIL for c in checks) else ExitStatus.SUCCESS
