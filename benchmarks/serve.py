"""`edgecnn serve` against the same work in one process, measured in one run on this machine.

    .venv/bin/python benchmarks/serve.py --model artifacts/real/model_int8.tflite

Inputs (written to a temporary folder): a 28x28 PNG (a Fashion-MNIST test image when the
dataset is installed, else a synthetic item), a 640x480 JPEG of that item, dark on a light
background, and a 640x480 MJPG video of such items whose header says 1000 fps: the server
plays a file at its own rate, and 1000 fps keeps that pacing from capping the loop.

- /classify: `edgecnn serve --source none` in its own process; clients POST the raw file
  on kept-alive loopback connections: 1 client (latency), then 8 concurrent clients
  (throughput). Against: Classifier.classify(path) on the same file in a loop in this
  process (decode, prepare, infer: the same stages). The ratio is server req/s over
  in-process calls/s.
- camera loop FPS on the video: classify_frames over the file in this process (every frame,
  as `edgecnn camera --source FILE` reads it), against `edgecnn serve --source FILE` (the
  file played like a camera, newest frame taken) with one browser-like MJPEG viewer,
  then with the viewer and 8 clients POSTing the PNG to /classify. Server FPS is the
  frame counter of /health over the measured seconds.

Each in-process and /classify figure is the best of --repeat runs (the machine is shared).
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/runtime/test_serve_support: the server process and MJPEG reader the tests use

from tests.runtime.test_serve_support import Server, mjpeg_frames, post_load, start_server  # noqa: E402

FASHION = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")


def items(n: int) -> tuple[list[np.ndarray], str]:
    """n 28x28 light-on-black items: Fashion-MNIST test images, else synthetic ones (said in the output)."""
    if FASHION.exists():
        with gzip.open(FASHION) as fh:
            return list(np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:n]), "Fashion-MNIST test"
    from edgecnn.datasets.synthetic import synthetic_images

    return list(synthetic_images(n, 0)[0]), "synthetic"


def photo(item: np.ndarray) -> Image.Image:
    """640x480 RGB: the item enlarged to 400x400, dark on a light grey background."""
    canvas = Image.new("L", (640, 480), 225)
    canvas.paste(Image.fromarray(255 - item).resize((400, 400), Image.Resampling.BICUBIC), (120, 40))
    return canvas.convert("RGB")


def write_inputs(folder: Path) -> tuple[Path, Path, Path, str]:
    import cv2

    pictures, origin = items(30)
    png, jpeg, video = folder / "item.png", folder / "item.jpg", folder / "items.avi"
    Image.fromarray(pictures[0]).save(png)
    photo(pictures[0]).save(jpeg, quality=90)
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 1000, (640, 480))
    for item in pictures:
        bgr = cv2.cvtColor(np.asarray(photo(item)), cv2.COLOR_RGB2BGR)
        for _ in range(10):
            writer.write(bgr)
    writer.release()
    return png, jpeg, video, origin


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def in_process(clf, path: Path, n: int) -> tuple[float, float]:
    """(calls/s, p99 ms) of Classifier.classify(path) in a loop."""
    times = []
    started = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        clf.classify(path, top_k=3)
        times.append(time.perf_counter() - t0)
    return n / (time.perf_counter() - started), percentile(times, 0.99) * 1000


def hammer(server: Server, data: bytes, clients: int, per_client: int, stop: threading.Event | None = None
           ) -> tuple[float, float, float, int]:
    """(req/s, p50 ms, p99 ms, non-200 count) of POST /classify from `clients` kept-alive connections."""
    results, seconds = post_load(server, data, clients, per_client, stop)
    latencies = [t * 1000 for _, t in results]
    return (len(results) / seconds, statistics.median(latencies), percentile(latencies, 0.99),
            sum(1 for s, _ in results if s != 200))


def served_fps(server: Server, seconds: float) -> float:
    """Frames the server's live loop classified per second, from /health's counter."""
    first = server.json("GET", "/health")[1]["camera"]["frames"]
    started = time.perf_counter()
    time.sleep(seconds)
    last = server.json("GET", "/health")[1]["camera"]["frames"]
    return (last - first) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "artifacts/real/model_int8.tflite"))
    parser.add_argument("--requests", type=int, default=400, help="requests per /classify measurement")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per server FPS measurement")
    args = parser.parse_args(argv)

    from edgecnn.bench.machine import cpu_model
    from edgecnn.runtime import Classifier
    from edgecnn.runtime.camera import CameraStats, classify_frames, open_source, speed_line

    clf = Classifier(args.model)
    print(f"machine: {cpu_model()}, {len(os.sched_getaffinity(0))} cores usable, shared (load average "
          f"{os.getloadavg()[0]:.1f} at the start); model {args.model} via {clf.backend.name} {clf.backend.version}")
    with tempfile.TemporaryDirectory() as tmp:
        png, jpeg, video, origin = write_inputs(Path(tmp))
        print(f"inputs: {origin} item as a 28x28 PNG ({png.stat().st_size} B) and a 640x480 JPEG "
              f"({jpeg.stat().st_size} B); video 640x480 MJPG, 300 frames (header: 1000 fps)\n")
        server = start_server(args.model, "--source", "none")
        try:
            print("/classify                        req/s    p50 ms   p99 ms   vs in-process")
            for path in (png, jpeg):
                data = path.read_bytes()
                local = max((in_process(clf, path, args.requests) for _ in range(args.repeat)), key=lambda r: r[0])
                print(f"  {path.suffix[1:]:4} in-process classify(path)  {local[0]:7.0f}            "
                      f"{local[1]:7.2f}")
                for clients in (1, 8):
                    rate, p50, p99, bad = max((hammer(server, data, clients, args.requests // clients)
                                               for _ in range(args.repeat)), key=lambda r: r[0])
                    assert bad == 0, f"{bad} requests were not answered 200"
                    print(f"  {path.suffix[1:]:4} server, {clients} client{'s' if clients > 1 else ' '}         "
                          f"{rate:7.0f}  {p50:7.2f}  {p99:7.2f}   {rate / local[0]:.2f}x")
        finally:
            server.stop()

        best = 0.0
        for _ in range(args.repeat):
            stats = CameraStats()
            source = open_source(str(video), 10)
            started = time.perf_counter()
            try:
                for _ in classify_frames(clf, source, stats=stats):
                    pass
            finally:
                source.close()
            if stats.frames / (time.perf_counter() - started) > best:
                best, speed = stats.frames / (time.perf_counter() - started), speed_line(stats, source)
        print("\ncamera loop on the 640x480 video, FPS")
        print(f"  in-process classify_frames (edgecnn camera), every frame   {best:6.1f}  ({speed})")
        server = start_server(args.model, "--source", str(video))
        try:
            viewer_stop = threading.Event()

            def viewer() -> None:
                while not viewer_stop.is_set():
                    mjpeg_frames(server, 30)

            threading.Thread(target=viewer, daemon=True).start()
            time.sleep(2)
            with_viewer = served_fps(server, args.seconds)
            print(f"  edgecnn serve, 1 MJPEG viewer                             {with_viewer:6.1f}")
            stop = threading.Event()
            load = threading.Thread(target=hammer, args=(server, png.read_bytes(), 8, 10**9, stop), daemon=True)
            load.start()
            time.sleep(1)
            with_load = served_fps(server, args.seconds)
            stop.set()
            load.join()
            print(f"  edgecnn serve, 1 viewer + 8 clients POSTing the PNG         {with_load:6.1f}")
            viewer_stop.set()
        finally:
            server.stop()
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
