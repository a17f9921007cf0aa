"""Helpers of the serve tests (no tests here): `edgecnn serve` as a real process, and a real browser.

- start_server: `python -m edgecnn serve` on a free loopback port, once it prints its URL;
- Browser: a headless Chromium driven over the DevTools protocol on a pipe
  (--remote-debugging-pipe), stdlib only. No Selenium, no Playwright (it downloads its own
  browsers): Debian's `chromium` from apt, JSON messages ended by a NUL byte on file
  descriptors 3 (to the browser) and 4 (from it).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Server:
    proc: subprocess.Popen
    url: str  # http://127.0.0.1:PORT/ (no token)
    token: str | None = None
    stderr: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                token: str | None = "default") -> tuple[int, bytes, dict[str, str]]:
        """One request on a new connection: (status, body, headers); the server's token unless told otherwise."""
        headers = dict(headers or {})
        token = self.token if token == "default" else token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers,
                         encode_chunked=headers.get("Transfer-Encoding") == "chunked")
            response = conn.getresponse()
            return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
        finally:
            conn.close()

    def json(self, method: str, path: str, body: bytes | None = None, **kwargs: Any) -> tuple[int, Any]:
        status, data, _ = self.request(method, path, body, **kwargs)
        return status, json.loads(data)

    def rss_kb(self) -> int:
        text = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1))

    def stop(self, signum: int | None = None) -> int:
        """SIGINT (Ctrl-C) by default; the exit code."""
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signum or signal.SIGINT)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def start_server(model: str | Path, *args: str, token: str | None = None, timeout: float = 60) -> Server:
    """`python -m edgecnn serve --model MODEL --port 0 ARGS`, once it prints the URL it serves."""
    command = [sys.executable, "-m", "edgecnn", "serve", "--model", str(model), "--port", "0", *args]
    if token:
        command += ["--token", token]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    server = Server(proc, "", token)
    found = threading.Event()

    def drain() -> None:  # keeps reading stderr so the pipe never fills
        for line in proc.stderr:
            server.stderr.append(line.rstrip("\n"))
            match = re.search(r"serving on (http://\S+/)", line)
            if match and not found.is_set():
                server.url = match.group(1)
                found.set()
        found.set()

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not found.wait(0.1):
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("edgecnn serve did not start: " + "\n".join(server.stderr))
    if not server.url:
        proc.wait(5)
        raise RuntimeError(f"edgecnn serve exited {proc.returncode}: " + "\n".join(server.stderr))
    return server


def mjpeg_frames(server: Server, count: int, timeout: float = 30) -> list[bytes]:
    """The first `count` JPEGs of /stream.mjpg, each as its bytes."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    path = "/stream.mjpg" + (f"?token={server.token}" if server.token else "")
    conn.request("GET", path)
    response = conn.getresponse()
    assert response.status == 200, response.status
    boundary = response.getheader("Content-Type").split("boundary=")[1].encode()
    frames = []
    try:
        while len(frames) < count:
            line = response.fp.readline()
            if not line:
                break
            if line.strip() != b"--" + boundary:
                continue
            headers = {}
            while (line := response.fp.readline().strip()):
                key, _, value = line.decode().partition(":")
                headers[key.lower()] = value.strip()
            frames.append(response.fp.read(int(headers["content-length"])))
    finally:
        conn.close()
    return frames


INSTALL = "sudo bash scripts/install_chromium.sh   (Debian/Ubuntu: apt-get install chromium)"


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless browser and one page; `evaluate` runs JavaScript in it, `screenshot` saves a PNG."""

    def __init__(self, binary: str, profile: Path, width: int = 1280, height: int = 860) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--hide-scrollbars", f"--window-size={width},{height}", f"--user-data-dir={profile}",
                 "--remote-debugging-pipe", "about:blank"]
        # bash puts the two pipe ends on fds 3 and 4, where --remote-debugging-pipe expects them
        command = ["bash", "-c", f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}', binary, *flags]
        self.proc = subprocess.Popen(command, pass_fds=(to_browser_r, from_browser_w), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._buffer = b""
        self._lock = threading.Lock()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        """One command; its result (events in between are skipped). RuntimeError for a protocol error."""
        with self._lock:
            self._next_id += 1
            message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
            if session:
                message["sessionId"] = session
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
            while True:
                reply = self._read()
                if reply.get("id") == self._next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply["result"]

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("the browser closed its DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def goto(self, url: str) -> None:
        self.send("Page.navigate", {"url": url}, self.session)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, self.session)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def choose_file(self, selector: str, path: Path) -> None:
        """What picking `path` in the file input `selector` does (DOM.setFileInputFiles fires its change event)."""
        root = self.send("DOM.getDocument", {}, self.session)["root"]["nodeId"]
        node = self.send("DOM.querySelector", {"nodeId": root, "selector": selector}, self.session)["nodeId"]
        self.send("DOM.setFileInputFiles", {"files": [str(path)], "nodeId": node}, self.session)

    def screenshot(self, path: Path) -> Path:
        import base64

        data = self.send("Page.captureScreenshot", {"format": "png"}, self.session)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


def post_load(server: Server, data: bytes, clients: int, per_client: int, stop: threading.Event | None = None
              ) -> tuple[list[tuple[int, float]], float]:
    """POST /classify `data` from `clients` threads, each on one kept-alive connection, `per_client` times
    (or until `stop` is set): every request's (status, seconds), and the seconds it all took."""
    from concurrent.futures import ThreadPoolExecutor

    headers = {"Authorization": f"Bearer {server.token}"} if server.token else {}

    def client(_: int) -> list[tuple[int, float]]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        out = []
        try:
            for _ in range(per_client):
                if stop is not None and stop.is_set():
                    break
                started = time.perf_counter()
                conn.request("POST", "/classify", body=data, headers=headers)
                response = conn.getresponse()
                body = response.read()
                if response.status == 200 and not json.loads(body).get("label"):
                    raise AssertionError(f"a 200 answer without a label: {body[:200]!r}")
                out.append((response.status, time.perf_counter() - started))
        finally:
            conn.close()
        return out

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = [r for rs in pool.map(client, range(clients)) for r in rs]
    return results, time.perf_counter() - started
