"""Photo-like pictures of Fashion-MNIST items: what a phone or a Pi camera shows.

A Fashion-MNIST tile is a light item on black, 28x28. A user photographs a real
item: dark on a light, unevenly lit, maybe coloured or textured surface, somewhere
in a 4:3 frame, a little rotated or tilted, with sensor noise, blur and JPEG. This
module turns a tile into such a picture, deterministically from a seed, and says
where the item ended up (its bounding box), so that the preprocessing can be
measured (benchmarks/photos.py) and tested (the box must be found again), and so
that training can see what the camera will show (train/data.py).

Physically: the tile's pixel values are the item's coverage (alpha). The picture is
illumination x (surface x shadow x (1 - alpha) + ink x alpha), then blur, noise and
JPEG. Every distortion is one entry of DISTORTIONS; "plain" is the base every
variant shares (frame size and orientation, item size and position, a light
surface, faint noise) and "all" applies every distortion at once.

Only numpy and Pillow are imported: it runs wherever the runtime runs.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

#: Each distortion class, applied on top of "plain"; "all" combines them.
DISTORTIONS = ("plain", "gradient-shadow", "texture", "rotation", "perspective", "noise", "blur", "jpeg", "all")

#: Frame sizes (width, height) of the landscape orientation; portrait swaps them.
FRAME_SIZES = ((320, 240), (640, 480), (800, 600), (1024, 768), (1280, 960))
#: The item's longer side as a fraction of the frame's shorter side.
ITEM_FRACTION = (0.3, 0.9)
#: Largest rotation, degrees, either way.
MAX_ROTATION_DEG = 10.0
#: Largest perspective corner displacement, as a fraction of the item's side.
MAX_TILT = 0.08
#: Sensor noise standard deviation, 0-255 levels, with the "noise" distortion (else 1).
NOISE_SIGMA = (3.0, 8.0)
#: Gaussian blur radius in pixels of a 640-wide frame (scaled with the frame).
BLUR_RADIUS = (0.8, 2.5)
#: JPEG quality range.
JPEG_QUALITY = (60, 90)
#: A pixel of the item counts for its bounding box when its coverage exceeds this.
BOX_ALPHA = 0.2


@dataclass(frozen=True)
class Photo:
    """A generated picture (uint8 H x W x 3 RGB) and the item's box (top, left, bottom, right), exclusive."""

    pixels: np.ndarray
    box: tuple[int, int, int, int]
    distortion: str


def photo(tile: np.ndarray, seed: int | np.random.Generator, distortion: str = "all",
          max_side: int = FRAME_SIZES[-1][0]) -> Photo:
    """The tile (uint8 28x28, light item on black) as a photo-like RGB picture.

    `seed` makes it deterministic: the same tile, seed and distortion give the same
    pixels. `max_side` limits the frame's longer side (training pools use small frames:
    a 320x240 picture is made ten times faster than a 1280x960 one). Raises ValueError
    for an unknown distortion, a tile without an item, or max_side below every frame size.
    """
    if distortion not in DISTORTIONS:
        raise ValueError(f"unknown distortion '{distortion}': use {', '.join(DISTORTIONS)}")
    frames = [f for f in FRAME_SIZES if f[0] <= max_side]
    if not frames:
        raise ValueError(f"max_side {max_side} is below the smallest frame, {FRAME_SIZES[0]}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    has = (lambda name: distortion in (name, "all"))
    width, height = frames[int(rng.integers(len(frames)))]
    if rng.random() < 0.5:
        width, height = height, width
    alpha, box = _placed_alpha(tile, (height, width), rng, rotate=has("rotation"), tilt=has("perspective"))
    surface = _surface(height, width, rng, textured=has("texture"))
    light = _illumination(height, width, rng) if has("gradient-shadow") else np.ones((height, width), np.float32)
    if has("gradient-shadow"):
        surface = surface * _shadow(alpha, box, rng)[..., None]
    ink = _ink(rng)
    a = alpha[..., None]
    picture = light[..., None] * (surface * (1 - a) + ink * a)
    if has("blur"):
        radius = float(rng.uniform(*BLUR_RADIUS)) * max(width, height) / 640
        picture = np.asarray(_to_rgb(picture).filter(ImageFilter.GaussianBlur(radius)), np.float32)
    sigma = float(rng.uniform(*NOISE_SIGMA)) if has("noise") else 1.0
    picture += sigma * rng.standard_normal(picture.shape, np.float32)
    pixels = np.asarray(_to_rgb(picture))
    if has("jpeg"):
        pixels = _jpeg(pixels, int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)))
    return Photo(pixels, box, distortion)


def item_box(alpha: np.ndarray, threshold: float = BOX_ALPHA) -> tuple[int, int, int, int]:
    """(top, left, bottom, right), exclusive, of the pixels whose coverage exceeds `threshold`."""
    rows = np.flatnonzero((alpha > threshold).any(axis=1))
    cols = np.flatnonzero((alpha > threshold).any(axis=0))
    if not len(rows):
        raise ValueError("the tile has no item (no pixel above the coverage threshold)")
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _placed_alpha(tile: np.ndarray, frame: tuple[int, int], rng: np.random.Generator, *, rotate: bool,
                  tilt: bool) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The item's coverage in the frame (float32 0-1) and its box: scaled, off-centre, rotated, tilted."""
    height, width = frame
    coverage = np.asarray(tile, np.float32) / 255.0
    top, left, bottom, right = item_box(coverage, 0.0)
    item = coverage[top:bottom, left:right]
    long_side = float(rng.uniform(*ITEM_FRACTION)) * min(height, width)
    scale = long_side / max(item.shape)
    size = (max(1, round(item.shape[1] * scale)), max(1, round(item.shape[0] * scale)))
    big = Image.fromarray(item, "F").resize(size, Image.Resampling.BICUBIC)
    pad = int(0.2 * max(size)) + 2  # room for rotation and tilt
    patch = Image.new("F", (size[0] + 2 * pad, size[1] + 2 * pad), 0.0)
    patch.paste(big, (pad, pad))
    if rotate:
        angle = float(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG))
        patch = patch.rotate(angle, Image.Resampling.BICUBIC)
    if tilt:
        patch = _tilted(patch, (pad, pad, pad + size[0], pad + size[1]), rng)
    local = np.clip(np.asarray(patch, np.float32), 0.0, 1.0)
    t, l, b, r = item_box(local, 0.0)
    local = local[t:b, l:r]
    margin = max(2, round(0.02 * min(height, width)))
    if local.shape[0] > height - 2 * margin or local.shape[1] > width - 2 * margin:  # a tilt can grow it: shrink
        factor = min((height - 2 * margin) / local.shape[0], (width - 2 * margin) / local.shape[1])
        shape = (max(1, int(local.shape[1] * factor)), max(1, int(local.shape[0] * factor)))
        local = np.asarray(Image.fromarray(local, "F").resize(shape, Image.Resampling.BILINEAR))
    y = int(rng.integers(margin, height - margin - local.shape[0] + 1))
    x = int(rng.integers(margin, width - margin - local.shape[1] + 1))
    alpha = np.zeros((height, width), np.float32)
    alpha[y:y + local.shape[0], x:x + local.shape[1]] = local
    return alpha, item_box(alpha)


def _tilted(patch: Image.Image, quad: tuple[int, int, int, int], rng: np.random.Generator) -> Image.Image:
    """A perspective tilt: the item's corners each moved by up to MAX_TILT of its side."""
    x0, y0, x1, y1 = quad
    side = max(x1 - x0, y1 - y0)
    source = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float64)
    target = source + rng.uniform(-MAX_TILT, MAX_TILT, (4, 2)) * side
    return patch.transform(patch.size, Image.Transform.PERSPECTIVE, perspective_coefficients(target, source),
                           Image.Resampling.BICUBIC)


def perspective_coefficients(output: np.ndarray, source: np.ndarray) -> tuple[float, ...]:
    """Pillow's 8 PERSPECTIVE coefficients mapping each output point to its source point."""
    rows = []
    for (x, y), (u, v) in zip(output, source):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    return tuple(np.linalg.solve(np.array(rows), source.reshape(-1)).tolist())


def _surface(height: int, width: int, rng: np.random.Generator, *, textured: bool) -> np.ndarray:
    """The surface the item lies on (H x W x 3 float): light paper, or a coloured, textured one."""
    if not textured:
        level = rng.uniform(185, 245)
        tint = rng.uniform(0.93, 1.0, 3)
        return np.broadcast_to((level * tint).astype(np.float32), (height, width, 3))
    colour = rng.uniform(110, 245, 3)
    while colour @ np.array([0.299, 0.587, 0.114]) < 140:  # a mid-tone, not dark: the item stays darker
        colour = rng.uniform(110, 245, 3)
    coarse = rng.normal(0, 1, (6, 8)).astype(np.float32)  # blotches (wood, cloth, table)
    blotch = np.asarray(Image.fromarray(coarse, "F").resize((width, height), Image.Resampling.BICUBIC))
    cells = max(2, int(rng.integers(2, 6)) * max(height, width) // 640)  # grain: fabric or paper
    grain = rng.normal(0, 1, (height // cells + 1, width // cells + 1)).astype(np.float32)
    grain = np.repeat(np.repeat(grain, cells, axis=0), cells, axis=1)[:height, :width]
    texture = float(rng.uniform(3, 8)) * blotch + float(rng.uniform(2, 6)) * grain
    return colour.astype(np.float32) * (1 + texture[..., None] / 255.0) + texture[..., None] * 0.3


def _illumination(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Uneven light: a linear gradient in a random direction plus a vignette, around 1.0."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * (xx / width - 0.5) + np.sin(angle) * (yy / height - 0.5))
    radius = ((xx / width - 0.5) ** 2 + (yy / height - 0.5) ** 2)
    return 1.0 + float(rng.uniform(0.1, 0.3)) * ramp - float(rng.uniform(0.0, 0.3)) * radius


def _shadow(alpha: np.ndarray, box: tuple[int, int, int, int], rng: np.random.Generator) -> np.ndarray:
    """1 - k x (the item's silhouette, moved and blurred): the soft shadow it casts on the surface."""
    top, left, bottom, right = box
    side = max(bottom - top, right - left)
    dy, dx = (int(v) for v in rng.uniform(-0.06, 0.06, 2) * side)
    moved = Image.fromarray(np.rint(np.roll(alpha, (dy, dx), axis=(0, 1)) * 255).astype(np.uint8), "L")
    soft = np.asarray(moved.filter(ImageFilter.GaussianBlur(0.04 * side)), np.float32) / 255.0
    return 1.0 - float(rng.uniform(0.05, 0.12)) * soft


def _ink(rng: np.random.Generator) -> np.ndarray:
    """The item's colour: dark, a little saturated (navy, brown, black, dark green ...)."""
    base = rng.uniform(15, 70)
    return (base * rng.uniform(0.6, 1.5, 3)).astype(np.float32)


def _to_rgb(picture: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.rint(picture), 0, 255).astype(np.uint8), "RGB")


def _jpeg(pixels: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "JPEG", quality=quality)
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        return np.asarray(decoded.convert("RGB"))


def variant(tile: np.ndarray, index: int, seed: int = 0, max_side: int = FRAME_SIZES[-1][0]) -> Photo:
    """The `index`-th photo-like variant of a set: its distortion cycles through DISTORTIONS.

    One seed per (seed, index) pair, so any variant can be rebuilt alone and a set's
    variants do not depend on how many were made before.
    """
    return photo(tile, np.random.default_rng((seed, index)), DISTORTIONS[index % len(DISTORTIONS)], max_side)
