"""A generated stand-in for Fashion-MNIST, for offline demos and tests.

Ten silhouettes named after Fashion-MNIST's classes, drawn with random proportions,
position, rotation, brightness, texture and noise, then framed by the runtime's own
preprocessing. Tops (T-shirt, pullover, coat, shirt) differ only in details, as in the
real data set, so the task is learnable but not trivial. Deterministic from the seed.
Results on it are always reported as synthetic: they say nothing about real photos.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .. import FASHION_MNIST_CLASSES
from ..runtime.preprocess import crop_to_item, fit_in_square
from .base import Dataset

CANVAS = 84  # drawn at 3x the model size, then area-downsampled: smooth edges
DEFAULT_TRAIN, DEFAULT_TEST = 60_000, 10_000
_TRAIN_SEED_OFFSET, _TEST_SEED_OFFSET = 0, 1_000_003


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _top(draw: ImageDraw.ImageDraw, rng: np.random.Generator, fill: int, sleeve: float, length: float) -> float:
    """Torso with sleeves; returns the torso half-width. sleeve 0.3 = short, 0.9 = long."""
    half = _u(rng, 0.2, 0.3)
    top, bottom = 0.08, min(1.0, length)
    draw.polygon([(0.5 - half, top), (0.5 + half, top), (0.5 + half, bottom), (0.5 - half, bottom)], fill=fill)
    reach = _u(rng, 0.02, 0.12)
    for side in (-1, 1):
        x0 = 0.5 + side * half
        xo = 0.5 + side * (half + 0.13 + reach)
        draw.polygon([(x0, top), (xo, top + sleeve), (xo - side * 0.12, top + sleeve + 0.04), (x0, top + 0.25)], fill=fill)
    return half


#: Chance that a top's telling detail (neck, opening, collar, buttons) is visible; below 1 so
#: that, as in Fashion-MNIST, some shirts really do look like pullovers.
DETAIL_VISIBLE = 0.75


def _draw_item(cls: int, draw: ImageDraw.ImageDraw, rng: np.random.Generator, fill: int) -> None:
    dark = int(fill * _u(rng, 0.0, 0.35)) if rng.random() < DETAIL_VISIBLE else fill
    if cls == 0:  # T-shirt/top: short sleeves, round neck
        _top(draw, rng, fill, _u(rng, 0.2, 0.35), _u(rng, 0.85, 1.0))
        draw.ellipse([(0.42, 0.02), (0.58, 0.14)], fill=0)
    elif cls == 2:  # Pullover: long sleeves, plain
        _top(draw, rng, fill, _u(rng, 0.7, 0.85), _u(rng, 0.85, 0.95))
        draw.ellipse([(0.43, 0.03), (0.57, 0.12)], fill=dark)
    elif cls == 4:  # Coat: long sleeves, long body, opening down the front
        _top(draw, rng, fill, _u(rng, 0.7, 0.9), _u(rng, 0.92, 1.0))
        draw.line([(0.5, 0.1), (0.5, 1.0)], fill=dark, width=0.03)
    elif cls == 6:  # Shirt: long sleeves, collar, button placket
        _top(draw, rng, fill, _u(rng, 0.65, 0.9), _u(rng, 0.85, 1.0))
        draw.polygon([(0.42, 0.08), (0.58, 0.08), (0.5, 0.22)], fill=dark)
        for y in np.linspace(0.3, 0.9, 4):
            draw.ellipse([(0.48, y - 0.015), (0.52, y + 0.015)], fill=dark)
    elif cls == 1:  # Trouser: two legs
        gap = _u(rng, 0.01, 0.05)
        w = _u(rng, 0.13, 0.2)
        draw.rectangle([(0.5 - w - 0.05, 0.0), (0.5 + w + 0.05, 0.1)], fill=fill)
        draw.polygon([(0.5 - w - 0.05, 0.0), (0.5 - gap, 0.1), (0.5 - gap, 1.0), (0.5 - w - 0.05 - _u(rng, 0, 0.05), 1.0)], fill=fill)
        draw.polygon([(0.5 + w + 0.05, 0.0), (0.5 + gap, 0.1), (0.5 + gap, 1.0), (0.5 + w + 0.05 + _u(rng, 0, 0.05), 1.0)], fill=fill)
    elif cls == 3:  # Dress: narrow top, flared skirt
        waist = _u(rng, 0.3, 0.45)
        hem = _u(rng, 0.05, 0.25)
        draw.polygon([(0.38, 0.02), (0.62, 0.02), (0.6, waist), (1 - hem, 1.0), (hem, 1.0), (0.4, waist)], fill=fill)
    elif cls == 5:  # Sandal: sole and thin straps with gaps
        y = _u(rng, 0.62, 0.72)
        draw.rectangle([(0.0, y), (1.0, y + 0.07)], fill=fill)
        for x in np.linspace(_u(rng, 0.1, 0.2), _u(rng, 0.7, 0.85), int(rng.integers(3, 5))):
            draw.line([(x, y), (x + _u(rng, 0.05, 0.15), y - _u(rng, 0.2, 0.35))], fill=fill, width=0.035)
        draw.line([(0.05, y - 0.3), (0.95, y - 0.25)], fill=fill, width=0.03)
    elif cls == 7:  # Sneaker: low solid shoe, toe to the left
        h = _u(rng, 0.25, 0.4)
        draw.polygon([(0.0, 0.75), (1.0, 0.75), (1.0, 0.75 - h), (0.6, 0.75 - h - 0.05), (0.35, 0.75 - h * 0.6), (0.05, 0.62)], fill=fill)
        draw.line([(0.4, 0.7 - h * 0.6), (0.65, 0.72 - h)], fill=dark, width=0.03)
    elif cls == 8:  # Bag: box with a handle
        top = _u(rng, 0.25, 0.45)
        draw.rectangle([(0.05, top), (0.95, 1.0)], fill=fill)
        hw = _u(rng, 0.15, 0.3)
        draw.arc([(0.5 - hw, top - 0.25), (0.5 + hw, top + 0.2)], 180, 360, fill=fill, width=0.05)
    elif cls == 9:  # Ankle boot: shaft and foot, toe to the left
        shaft = _u(rng, 0.5, 0.68)
        draw.polygon([(shaft - 0.3, 0.05), (shaft + 0.05, 0.05), (0.98, 0.95), (0.0, 0.95), (0.0, 0.7), (shaft - 0.3, 0.5)], fill=fill)
        draw.rectangle([(0.0, 0.9), (1.0, 1.0)], fill=fill)


class _ScaledDraw:
    """ImageDraw with coordinates in a unit box mapped to a jittered item frame."""

    def __init__(self, img: Image.Image, x0: float, y0: float, sx: float, sy: float):
        self._d = ImageDraw.Draw(img)
        self._t = (x0, y0, sx, sy)

    def _pt(self, p: tuple[float, float]) -> tuple[float, float]:
        x0, y0, sx, sy = self._t
        return (x0 + float(p[0]) * sx, y0 + float(p[1]) * sy)

    def _w(self, width: float) -> int:
        return max(1, int(round(width * self._t[2])))

    def polygon(self, pts, fill):
        self._d.polygon([self._pt(p) for p in pts], fill=fill)

    def rectangle(self, box, fill):
        self._d.rectangle([self._pt(box[0]), self._pt(box[1])], fill=fill)

    def ellipse(self, box, fill):
        self._d.ellipse([self._pt(box[0]), self._pt(box[1])], fill=fill)

    def line(self, pts, fill, width):
        self._d.line([self._pt(p) for p in pts], fill=fill, width=self._w(width))

    def arc(self, box, start, end, fill, width):
        self._d.arc([self._pt(box[0]), self._pt(box[1])], start, end, fill=fill, width=self._w(width))


def render_item(cls: int, rng: np.random.Generator, canvas: int = CANVAS) -> np.ndarray:
    """One item, light on black, drawn on a canvas x canvas uint8 array (not yet framed)."""
    img = Image.new("L", (canvas, canvas), 0)
    sx, sy = canvas * _u(rng, 0.55, 0.8), canvas * _u(rng, 0.55, 0.8)
    x0 = (canvas - sx) / 2 + canvas * _u(rng, -0.08, 0.08)
    y0 = (canvas - sy) / 2 + canvas * _u(rng, -0.08, 0.08)
    fill = int(rng.integers(150, 256))
    _draw_item(cls, _ScaledDraw(img, x0, y0, sx, sy), rng, fill)
    img = img.rotate(_u(rng, -10, 10), resample=Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.float32)
    texture = 1.0 + 0.25 * rng.standard_normal((canvas // 6, canvas // 6)).astype(np.float32)
    arr *= np.kron(texture, np.ones((6, 6), np.float32))[:canvas, :canvas] if canvas % 6 == 0 else 1.0
    return np.clip(arr, 0, 255).astype(np.uint8)


def frame(item: np.ndarray, size: tuple[int, int] = (28, 28)) -> np.ndarray:
    """Frame a light-on-black rendering as Fashion-MNIST does (and as `prepare` does)."""
    return fit_in_square(crop_to_item(item), size)


def synthetic_images(n: int, seed: int, size: tuple[int, int] = (28, 28)) -> tuple[np.ndarray, np.ndarray]:
    """n images with balanced labels in a seeded random order: (uint8 n x H x W, int64 n)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(FASHION_MNIST_CLASSES)).astype(np.int64)
    images = np.empty((n, *size), dtype=np.uint8)
    for i, cls in enumerate(labels):
        img = frame(render_item(int(cls), rng), size).astype(np.float32)
        img += rng.normal(0.0, 10.0, size).astype(np.float32)
        images[i] = np.clip(img, 0, 255).astype(np.uint8)
    return images, labels


def load_synthetic(seed: int = 0, train_size: int = DEFAULT_TRAIN, test_size: int = DEFAULT_TEST) -> Dataset:
    x_train, y_train = synthetic_images(train_size, seed + _TRAIN_SEED_OFFSET)
    x_test, y_test = synthetic_images(test_size, seed + _TEST_SEED_OFFSET)
    return Dataset(
        "synthetic", f"generated by edgecnn (seed {seed})", list(FASHION_MNIST_CLASSES),
        x_train, y_train, x_test, y_test, synthetic=True,
    )
