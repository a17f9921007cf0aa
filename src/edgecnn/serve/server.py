"""Run `edgecnn serve`: bind, print the URL, serve with uvicorn until Ctrl-C, release the camera."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from typing import IO, Any

from ..errors import UsageError, one_line
from .live import LiveView


def is_loopback(host: str) -> bool:
    """True for localhost and 127.0.0.0/8 or ::1: only this machine can connect."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None, no_auth: bool) -> str | None:
    """UsageError for a non-loopback address without --token or --no-auth; the warning to print for --no-auth."""
    if is_loopback(host):
        return None
    if token:
        return None
    if not no_auth:
        raise UsageError(f"--host {host} lets other machines connect: give --token T (or $EDGECNN_TOKEN), "
                         "or --no-auth to serve without one")
    return (f"edgecnn: warning: serving on {host} WITHOUT a token (--no-auth): anyone who can reach this "
            "port sees the camera and can use the model")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; UsageError (one line) for a port in use or an address not on this machine."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family, backlog=128)
        # Accepted connections inherit it. asyncio sets it only on sockets made with proto=IPPROTO_TCP, which
        # create_server's are not; without it a kept-alive client waits 40 ms per answer (Nagle + delayed ACK).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port} ({os.strerror(exc.errno) if exc.errno else one_line(exc)})") from exc


def url_of(sock: socket.socket, token: str | None) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def run_server(app: Any, live: LiveView | None, sock: socket.socket, token: str | None,
               out: IO[str] | None = None) -> None:
    """Serve `app` on the bound `sock` until SIGINT/SIGTERM; the live loop, the camera and the socket are closed on every way out.

    uvicorn catches the signal, finishes open requests (streams are ended: they watch
    `live.stopping`), then raises the signal again, so the CLI exits 130 (143 for SIGTERM).
    """
    import uvicorn

    out = out or sys.stderr

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            if live is not None:
                live.close(wait=0)  # ends the MJPEG streams, so shutdown does not wait on them
            super().handle_exit(sig, frame)

    try:
        config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2,
                                lifespan="off")
        print(f"edgecnn: serving on {url_of(sock, token)}  (Ctrl-C to stop)", file=out, flush=True)
        Server(config).run(sockets=[sock])
    finally:
        if live is not None:
            live.close()
        sock.close()
