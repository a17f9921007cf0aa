"""`edgecnn serve`: the live camera view in a browser and an HTTP API, for a headless Pi.

- live.py: the camera loop on its own thread (runtime.camera.classify_frames), the newest
  answer and frame for every client;
- app.py: the Starlette app (page, MJPEG stream, /state, /classify, /health, /model), the
  token check and the upload cap;
- server.py: binds the socket, runs uvicorn, releases the camera on the way out;
- page.html: the page itself, no build step and no external assets (a Pi may be offline).

Needs the [serve] extra (Starlette, uvicorn, python-multipart: pure-Python wheels).
"""
