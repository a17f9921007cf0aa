"""What a user copies to the Pi: pi_classify.py, the int8 model, sample pictures and a sample video.

The model is the one given (--model / PI_MODEL) or a small one trained here on the
synthetic set (cached by source). The pictures are synthetic items (seeded): 28x28 PNGs as
Fashion-MNIST stores them and larger RGB JPEG "photos". The video is those photos as frames
in a lossless FFV1 AVI, so the Pi's apt OpenCV and the desktop's OpenCV decode the very
same pixels and their labels can be compared frame by frame.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from .rootfs import safe_rmtree
from .shell import REPO, Fail, run, say

SAMPLE_SEED = 20240601
TRAIN_ARGS = ["--dataset", "synthetic", "--limit", "3000", "--epochs", "2"]
CONVERT_ARGS = ["--int8"]
VIDEO = "sample.avi"
FRAMES_PER_PHOTO = 2
ON_DEVICE = Path(__file__).resolve().with_name("on_device.py")


def source_digest() -> str:
    """Of everything that shapes the default model: edgecnn's sources and the training arguments."""
    import hashlib

    h = hashlib.sha256(shlex.join(TRAIN_ARGS + CONVERT_ARGS).encode())
    for path in sorted((REPO / "src" / "edgecnn").rglob("*.py")):
        h.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def get_model(given: str | None, work: Path, log: Path) -> Path:
    """The int8 model to check: the one given, else a small synthetic one (trained once per source state)."""
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise Fail(f"PI_MODEL/--model {path}: no such file", 2)
        if path.suffix != ".tflite":
            raise Fail(f"PI_MODEL/--model {path}: not a .tflite model (the Pi runs edgecnn's int8 TFLite)", 2)
        say(f"model: {path} (given)")
        return path
    cached = work / f"model-{source_digest()}"
    model = cached / "model_int8.tflite"
    if model.is_file():
        say(f"model: {model} (cached: trained on the synthetic set for this source state)")
        return model
    for old in work.glob("model-*"):
        safe_rmtree(old)
    partial = work / "model.partial"
    safe_rmtree(partial)
    edgecnn = str(Path(sys.executable).with_name("edgecnn"))
    say(f"model: edgecnn train {shlex.join(TRAIN_ARGS)}, then edgecnn convert {shlex.join(CONVERT_ARGS)} on the host")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", EDGECNN_OFFLINE="1")
    run([edgecnn, "train", *TRAIN_ARGS, "--out", str(partial)], log=log, env=env)
    proc = run([edgecnn, "convert", str(partial / "model.keras"), *CONVERT_ARGS, "--out", str(partial)], log=log,
               env=env, check=False)
    if proc.returncode not in (0, 3) or not (partial / "model_int8.tflite").is_file():
        raise Fail(f"edgecnn convert failed (exit {proc.returncode}); see {log}")
    partial.rename(cached)
    return model


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def write_images(dest: Path) -> list[tuple[str, str]]:
    """Twenty sample pictures under dest/images: (relative path, true class) pairs.

    Ten 28x28 PNGs (light item on black, as Fashion-MNIST) and ten 200x150 RGB JPEG
    "photos" (dark item on a light uneven background, off-centre): polarity, crop, resize
    and JPEG decoding all run on the Pi.
    """
    import numpy as np
    from PIL import Image

    from edgecnn import FASHION_MNIST_CLASSES as NAMES
    from edgecnn.datasets.synthetic import render_item, synthetic_images

    (dest / "images").mkdir(parents=True)
    out: list[tuple[str, str]] = []
    x, y = synthetic_images(40, SAMPLE_SEED)
    for cls, name in enumerate(NAMES):
        rel = f"images/{cls:02d}-{slug(name)}.png"
        Image.fromarray(x[int(np.flatnonzero(y == cls)[0])], "L").save(dest / rel)
        out.append((rel, name))
    rng = np.random.default_rng(SAMPLE_SEED + 1)
    for cls, name in enumerate(NAMES):
        item = render_item(cls, rng, canvas=96)
        h, w = 150, 200
        yy, xx = np.mgrid[0:h, 0:w]
        gray = 215 + 25 * (xx / w) - 15 * (yy / h) + rng.normal(0, 4, (h, w))
        top, left = int(rng.integers(10, h - 96 - 10)), int(rng.integers(10, w - 96 - 10))
        alpha = item.astype(np.float64) / 255.0
        patch = gray[top:top + 96, left:left + 96]
        gray[top:top + 96, left:left + 96] = patch * (1 - alpha) + (40 + 30 * (1 - alpha)) * alpha
        rgb = np.stack([gray, gray * 0.97, gray * 0.92], axis=-1)
        rel = f"images/photo-{cls:02d}-{slug(name)}.jpg"
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB").save(dest / rel, quality=90)
        out.append((rel, name))
    return out


def write_video(dest: Path, photos: list[Path]) -> int:
    """dest/VIDEO: each photo as FRAMES_PER_PHOTO frames, lossless (FFV1). Returns the frame count."""
    import cv2
    import numpy as np
    from PIL import Image

    frames = [np.asarray(Image.open(p).convert("RGB"))[:, :, ::-1] for p in photos]
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(dest / VIDEO), cv2.VideoWriter_fourcc(*"FFV1"), 10, (w, h))
    if not writer.isOpened():
        raise Fail("the host's OpenCV cannot write an FFV1 video (pip install 'edgecnn[camera]' in .venv)", 2)
    count = 0
    for frame in frames:
        for _ in range(FRAMES_PER_PHOTO):
            writer.write(np.ascontiguousarray(frame))
            count += 1
    writer.release()
    return count


def stage_files(work: Path, model: Path) -> dict:
    """pi_classify.py, model_int8.tflite, images/, the video and on_device.py, gathered in one folder."""
    stage = work / "stage"
    safe_rmtree(stage)
    stage.mkdir(parents=True)
    script = REPO / "examples" / "pi_classify.py"
    if not script.is_file():
        raise Fail(f"{script} is missing: pi-check runs the script users copy to their Pi")
    shutil.copyfile(script, stage / "pi_classify.py")
    shutil.copyfile(model, stage / "model_int8.tflite")
    shutil.copyfile(ON_DEVICE, stage / "on_device.py")
    images = write_images(stage)
    frames = write_video(stage, [stage / p for p, _ in images if p.endswith(".jpg")])
    say(f"staged pi_classify.py, model_int8.tflite ({model.stat().st_size // 1024} KB), {len(images)} sample images "
        f"and {VIDEO} ({frames} frames, FFV1): synthetic items")
    return {"dir": stage, "images": images, "model": model, "video": VIDEO, "frames": frames}
