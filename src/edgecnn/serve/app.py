"""The HTTP side of `edgecnn serve`: a Starlette app over one Classifier (and a LiveView, when a camera is on).

Routes (every one needs the token when one is set: `Authorization: Bearer T`, or `?token=T`
for what a browser loads by URL):

    GET  /            the page (page.html)
    GET  /stream.mjpg the live frames, multipart/x-mixed-replace JPEGs (MJPEG)
    GET  /state       the live answer: label, score, FPS, ms per stage, the 28x28 inset
    POST /classify    an image (multipart file field, or the raw body) -> JSON answer
    GET  /health      {"status": "ok", ...}
    GET  /model       format, interpreter, input, labels, test-time views, edgecnn version, sha256

Errors are JSON {"error": one line}: 400 not an image (the reason), 401 no or wrong token,
413 upload over the cap. CPU work runs in Starlette's thread pool; the Classifier's lock
keeps the interpreter to one call at a time, the live loop's included.
"""

from __future__ import annotations

import hmac
import time
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .. import __version__, formats
from ..errors import ImageError, NoItem, one_line
from ..fsutil import sha256_file
from ..runtime import preprocess
from ..runtime.classifier import Classifier
from ..runtime.report import answer_fields, is_uncertain
from .live import LiveView

DEFAULT_MAX_UPLOAD = 8 * 1024 * 1024  # bytes: a phone photo is 2-6 MB
PAGE = Path(__file__).with_name("page.html")
BOUNDARY = "edgecnnframe"


class TooLarge(Exception):
    """An upload over the cap (413)."""


def classify_upload(clf: Classifier, data: bytes, top_k: int, min_score: float) -> dict[str, Any]:
    """The /classify answer for uploaded bytes, with ms per stage; ImageError for a bad picture."""
    t0 = time.perf_counter()
    img = preprocess.open_image_bytes(data, gray=True)  # as classify decodes a file
    t1 = time.perf_counter()
    try:
        pixels = clf.prepare(img)
    except NoItem:
        pixels = None
    except ImageError:
        raise
    except Exception as exc:  # a decoder or preprocessing bug on one odd picture: 400, the server goes on
        raise ImageError(f"cannot process this image ({one_line(exc, typed=True)})") from exc
    t2 = time.perf_counter()
    predictions = clf.classify_prepared(pixels[None], top_k)[0] if pixels is not None else []
    t3 = time.perf_counter()
    uncertain = is_uncertain(predictions, min_score)
    ms = {"decode": round((t1 - t0) * 1000, 3), "prepare": round((t2 - t1) * 1000, 3),
          "infer": round((t3 - t2) * 1000, 3)}
    return {**answer_fields(predictions, uncertain), "ms": ms}


def model_document(clf: Classifier) -> dict[str, Any]:
    """GET /model: what is loaded, so a client can tell which model answers."""
    spec = clf.backend.input
    return {"file": clf.path.name, "format": formats.model_kind(clf.path),
            "interpreter": {"name": clf.backend.name, "version": clf.backend.version},
            "input": {"height": clf.height, "width": clf.width, "shape": list(spec.shape), "dtype": spec.dtype.name,
                      "scale": spec.scale, "zero_point": spec.zero_point},
            "labels": clf.class_names, "labels_source": clf.info.labels_source, "views": clf.views,
            "edgecnn": __version__, "sha256": sha256_file(clf.path)}


async def read_body(request: Request, cap: int) -> bytes:
    """The request body, refused (TooLarge) as soon as it passes `cap` bytes, whatever Content-Length says."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > cap:
        raise TooLarge
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > cap:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def upload_bytes(request: Request, cap: int) -> bytes:
    """The image of a POST: the first file field of a multipart form, else the raw body."""
    body = await read_body(request, cap)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return body

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    try:
        form = await MultiPartParser(request.headers, chunks(), max_files=1, max_fields=16, max_part_size=cap).parse()
    except MultiPartException as exc:
        raise ImageError(f"malformed multipart form ({exc.message})") from exc
    try:
        for _, value in form.multi_items():
            if isinstance(value, UploadFile):
                return await value.read()
        raise ImageError("multipart form without a file field (send the picture as a file, or as the raw body)")
    finally:
        await form.close()


class TokenCheck:
    """ASGI middleware: 401 unless the request carries the token (header `Authorization: Bearer T` or `?token=T`)."""

    def __init__(self, app: Callable[..., Awaitable[None]], token: str) -> None:
        self.app, self.token = app, token.encode()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or self._allowed(Request(scope)):
            await self.app(scope, receive, send)
            return
        response = JSONResponse({"error": "missing or wrong token: send 'Authorization: Bearer TOKEN' or ?token=TOKEN"},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)

    def _allowed(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        given = header[7:] if header.lower().startswith("bearer ") else request.query_params.get("token", "")
        return hmac.compare_digest(given.encode(), self.token)


def create_app(clf: Classifier, live: LiveView | None = None, *, token: str | None = None,
               max_upload: int = DEFAULT_MAX_UPLOAD, top_k: int = 3, min_score: float = 0.0) -> Any:
    """The ASGI app; with `token`, every route answers 401 without it."""
    model = model_document(clf)
    page = PAGE.read_text(encoding="utf-8")
    def no_camera() -> Response:
        return JSONResponse({"error": "no camera: started with --source none"}, status_code=404)

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    async def classify(request: Request) -> Response:
        try:
            data = await upload_bytes(request, max_upload)
            answer = await run_in_threadpool(classify_upload, clf, data, top_k, min_score)
        except TooLarge:
            return JSONResponse({"error": f"upload larger than {max_upload:,} bytes (--max-upload)"}, status_code=413)
        except ImageError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(answer)

    async def health(request: Request) -> Response:
        camera = None if live is None else {"source": live.source.name, "running": live.running, "error": live.error,
                                            "frames": getattr(live.latest(), "number", 0)}
        return JSONResponse({"status": "ok", "model": model["file"], "camera": camera})

    async def model_info(request: Request) -> Response:
        return JSONResponse(model)

    async def state(request: Request) -> Response:
        if live is None:
            return no_camera()
        return JSONResponse(await run_in_threadpool(live.state), headers={"Cache-Control": "no-store"})

    async def stream(request: Request) -> Response:
        if live is None:
            return no_camera()

        async def frames() -> AsyncIterator[bytes]:
            number = 0
            while not live.stopping:
                result = await run_in_threadpool(live.wait_newer, number, 1.0)
                if result is None:
                    continue
                number = result.number
                jpeg = await run_in_threadpool(live.jpeg, result)
                yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n").encode() \
                    + jpeg + b"\r\n"

        return StreamingResponse(frames(), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                                 headers={"Cache-Control": "no-store"})

    app: Any = Starlette(routes=[
        Route("/", index), Route("/classify", classify, methods=["POST"]), Route("/health", health),
        Route("/model", model_info), Route("/state", state), Route("/stream.mjpg", stream),
    ])
    return TokenCheck(app, token) if token else app
