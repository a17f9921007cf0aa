"""The fast forms of the preprocessing steps give the pixels of their plain definitions.

preprocess.py computes the border median from a histogram, crops without building the
lifted image (crop_to_item, which the synthetic set uses), sums the padded box pass from
a running sum and decodes a colour JPEG straight to grayscale: each is checked here
against the straightforward formula it replaces. prepare itself finds the item with
find_item since issue 12 (tests/runtime/test_preprocess_photos.py); here only its
automatic polarity is pinned to the forced one.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edgecnn.runtime.preprocess import (
    FOREGROUND_FRACTION,
    border_level,
    crop_to_item,
    fit_in_square,
    open_image,
    pad_to_square,
    prepare,
    resize_area,
)


def _images(count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        h, w = (int(v) for v in rng.integers(1, 90, 2))
        gray = rng.integers(0, 256, (h, w)).astype(np.uint8)
        if i % 3 == 0:
            gray = (gray // 60 * 60).astype(np.uint8)  # many ties
        if i % 7 == 0:
            gray[:] = rng.integers(0, 256)  # flat: a blank picture
        out.append(gray)
    return out


def _ring(gray: np.ndarray) -> np.ndarray:
    ring = max(1, round(min(gray.shape) * 0.04))
    return np.concatenate([gray[:ring].ravel(), gray[-ring:].ravel(), gray[:, :ring].ravel(), gray[:, -ring:].ravel()])


def _crop_reference(gray: np.ndarray) -> np.ndarray:
    lifted = np.clip(gray.astype(np.int16) - int(round(float(np.median(_ring(gray))))), 0, 255).astype(np.uint8)
    peak = int(lifted.max())
    if peak == 0:
        return lifted
    keep = lifted > peak * FOREGROUND_FRACTION
    rows, cols = np.flatnonzero(keep.any(axis=1)), np.flatnonzero(keep.any(axis=0))
    item = lifted[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return np.clip(item.astype(np.float32) * (255.0 / peak), 0, 255).astype(np.uint8)


def test_border_level_is_the_median_of_the_ring():
    for gray in _images(400, 1):
        assert border_level(gray) == float(np.median(_ring(gray))), gray.shape


def test_crop_to_item_matches_its_definition():
    for gray in _images(400, 2):
        got, expected = crop_to_item(gray), _crop_reference(gray)
        assert got.dtype == np.uint8 and got.shape == expected.shape and np.array_equal(got, expected), gray.shape
        assert np.array_equal(crop_to_item(gray, border_level(gray)), expected)


def test_automatic_polarity_equals_the_decided_polarity_forced():
    """invert=None must give the pixels of the polarity it decides (from the border) forced,
    dark items on light borders and light items on dark ones alike."""
    rng = np.random.default_rng(3)
    for i in range(60):
        h, w = (int(v) for v in rng.integers(40, 160, 2))
        light = bool(i % 2)
        gray = np.clip(rng.normal(220 if light else 30, 3, (h, w)), 0, 255).astype(np.uint8)
        gray[h // 4 : h // 2 + 5, w // 3 : w // 2 + 5] = rng.integers(0, 60) if light else rng.integers(190, 256)
        assert np.array_equal(prepare(gray), prepare(gray, invert=light)), (i, gray.shape)


@pytest.mark.parametrize("shape", [(3, 40), (40, 3), (7, 29), (29, 7), (1, 300), (300, 1), (20, 41), (41, 20),
                                   (25, 30), (30, 25), (56, 57)])
def test_fit_in_square_is_pillow_on_the_padded_square(shape):
    gray = np.random.default_rng(sum(shape)).integers(0, 256, shape).astype(np.uint8)
    for size in [(28, 28), (16, 16), (5, 5), (64, 64)]:
        assert np.array_equal(fit_in_square(gray, size), resize_area(pad_to_square(gray), size)), size


def test_colour_jpeg_is_decoded_to_grayscale(tmp_path):
    rng = np.random.default_rng(5)
    rgb = np.clip(rng.normal(128, 60, (60, 80, 3)), 0, 255).astype(np.uint8)
    path = tmp_path / "colour.jpg"
    Image.fromarray(rgb).save(path, quality=90)
    img = open_image(path, gray=True)
    assert img.mode == "L" and img.size == (80, 60)
    with Image.open(path) as full:
        reference = np.asarray(full.convert("L"), np.int16)
    assert np.abs(np.asarray(img, np.int16) - reference).max() <= 3  # libjpeg's luma vs Pillow's RGB -> L
    assert open_image(path).mode == "RGB"  # only when asked
    png = tmp_path / "colour.png"
    Image.fromarray(rgb).save(png)
    assert open_image(png, gray=True).mode == "RGB"  # other formats untouched


def test_crop_keeps_pixels_just_above_the_threshold():
    """peak 100 over a background of 10: 31 (lifted 21 > 20) is item, 30 (lifted 20) is not."""
    gray = np.full((40, 50), 10, np.uint8)
    gray[15:25, 20:30] = 110
    gray[5, 22] = 31  # just above: the crop reaches row 5
    gray[35, 24] = 30  # at the threshold: row 35 stays out
    gray[18, 45] = 31  # just above: the crop reaches column 45
    got = crop_to_item(gray)
    assert got.shape == (25 - 5, 46 - 20)
    assert np.array_equal(got, _crop_reference(gray))
