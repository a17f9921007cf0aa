"""`edgecnn serve`: the live camera view in a browser, and an HTTP API, for a headless Pi."""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import ExitStatus
from .camera import add_source_args, check_source_args
from .classify import add_model_args
from .common import add_subcommand

EXAMPLES = """  edgecnn serve --model artifacts/model_int8.tflite                  # camera auto, http://127.0.0.1:8080/
  edgecnn serve --model model_int8.tflite --host 0.0.0.0 --token s3cret  # the Pi on the LAN, with a token
  edgecnn serve --model model_int8.tflite --source clip.avi --port 9000  # a video file, looped
  edgecnn serve --model model_int8.tflite --source none                  # the API only, no camera
  curl -s -H 'Authorization: Bearer s3cret' --data-binary @shoe.jpg http://pi.local:8080/classify

It prints the URL to open (with ?token=T when there is one). GET / is the page: the live
stream, its label, score and FPS, the model's 28x28 view, and a picker (or drag and drop)
that classifies a picture. POST /classify takes a picture (a multipart file field or the
raw body) and answers JSON {label, index, score, top_k, no_item, uncertain, ms: {decode,
prepare, infer}}; GET /health, GET /model. Errors are JSON {error}: 400 not an image, 401
no or wrong token, 413 over --max-upload. Listens on 127.0.0.1 unless --host says otherwise;
any other address needs --token (or $EDGECNN_TOKEN) or --no-auth. Ctrl-C stops it
(exit 130) and releases the camera. Needs: pip install 'edgecnn[serve]'.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_subcommand(sub, "serve", "live camera view in a browser, and an HTTP API to classify pictures", EXAMPLES)
    add_model_args(p)
    add_source_args(p, "; a FILE is looped at its own frame rate; none: the API only, no camera")
    p.set_defaults(top_k=3)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface; needs --token)")
    p.add_argument("--port", type=int, default=8080, help="TCP port (0: any free one, printed)")
    p.add_argument("--token", default=os.environ.get("EDGECNN_TOKEN") or None,
                   help="required from every client: 'Authorization: Bearer T' or ?token=T (default: $EDGECNN_TOKEN)")
    p.add_argument("--no-auth", action="store_true", help="serve a non-loopback --host without a token (warned about)")
    p.add_argument("--max-upload", type=int, default=None, metavar="BYTES",
                   help="largest picture /classify accepts (default: 8 MB); larger ones get 413")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..runtime import Classifier

    frame_size = check_source_args(args)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0 to 65535 (got {args.port})")
    if args.max_upload is not None and args.max_upload < 1:
        raise UsageError(f"--max-upload must be at least 1 byte (got {args.max_upload})")
    try:
        from ..serve.app import DEFAULT_MAX_UPLOAD, create_app
        from ..serve.server import bind, check_exposure, run_server
    except ImportError as exc:
        raise UsageError(f"edgecnn serve needs its extra ({exc.name} is missing): pip install 'edgecnn[serve]'") from exc
    warning = check_exposure(args.host, args.token, args.no_auth)
    clf = Classifier(args.model, num_threads=args.threads, backend=args.backend, invert=args.invert,
                     views=args.views)
    live = None
    if args.source != "none":
        from ..runtime.camera import open_source
        from ..serve.live import LiveView

        source = open_source(args.source, args.open_timeout, frame_size=frame_size, loop=True)
        live = LiveView(clf, source, top_k=args.top_k, min_score=args.min_score).start()
    try:
        sock = bind(args.host, args.port)
        if warning:
            print(warning, file=sys.stderr)
        app = create_app(clf, live, token=args.token, max_upload=args.max_upload or DEFAULT_MAX_UPLOAD,
                         top_k=args.top_k, min_score=args.min_score)
    except BaseException:
        if live is not None:
            live.close()
        raise
    print(f"edgecnn: {clf.describe()}; camera: {live.source.name if live else 'none (--source none)'}",
          file=sys.stderr)
    run_server(app, live, sock, args.token)
    return ExitStatus.SUCCESS
