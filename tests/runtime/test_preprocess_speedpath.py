"""The fast forms of find_item's steps give exactly what their plain definitions give.

The speed work on preprocess.py (issue 16) replaced np.median / np.quantile by single
partitions, the Python union-find over runs by a vectorised one, four running maxima by
two running counts, the skew search's outline by its row ends, and skips EXIF parsing
for PNG/JPEG files with nothing to parse. prepare's answers must not change at all
(benchmarks/prepare_equivalence.py checks the whole pipeline on 4,400 pictures); here
each step is checked against the straightforward code it replaced, on random input
with the awkward cases (ties, odd and even sizes, touching parts, empty masks).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter, ImageOps, PngImagePlugin

from edgecnn.runtime import preprocess
from edgecnn.runtime.preprocess import (
    DESKEW_MIN_GAIN,
    MAX_SKEW_DEG,
    NEAR_FRACTION,
    NEAR_MIN_AREA,
    SKEW_STEP_DEG,
    open_image,
)


# ---------------------------------------------------------------- the plain definitions


def plain_components(mask: np.ndarray) -> np.ndarray:
    """8-connected labels by flood fill, numbered in row-major order of each part's first cell."""
    h, w = mask.shape
    labels = np.zeros((h, w), np.int32)
    count = 0
    for r0 in range(h):
        for c0 in range(w):
            if mask[r0, c0] and not labels[r0, c0]:
                count += 1
                labels[r0, c0] = count
                stack = [(r0, c0)]
                while stack:
                    r, c = stack.pop()
                    for dr in (-1, 0, 1):
                        for dc in (-1, 0, 1):
                            y, x = r + dr, c + dc
                            if 0 <= y < h and 0 <= x < w and mask[y, x] and not labels[y, x]:
                                labels[y, x] = count
                                stack.append((y, x))
    return labels


def plain_item_component(mask: np.ndarray) -> np.ndarray:
    """The largest part (the first of equal ones) and the parts near its box."""
    labels = plain_components(mask)
    if labels.max() == 0:
        return mask
    areas = np.bincount(labels.ravel())
    areas[0] = 0
    main = int(areas.argmax())
    rows, cols = np.nonzero(labels == main)
    reach = NEAR_FRACTION * max(np.ptp(rows) + 1, np.ptp(cols) + 1)
    keep = [main]
    for label in np.flatnonzero(areas >= NEAR_MIN_AREA * areas[main]):
        r, c = np.nonzero(labels == label)
        if label != main and (r.min() <= rows.max() + reach and r.max() >= rows.min() - reach
                              and c.min() <= cols.max() + reach and c.max() >= cols.min() - reach):
            keep.append(int(label))
    return np.isin(labels, keep)


def plain_filled(mask: np.ndarray) -> np.ndarray:
    def between(axis: int) -> np.ndarray:
        forward = np.maximum.accumulate(mask, axis=axis)
        backward = np.flip(np.maximum.accumulate(np.flip(mask, axis=axis), axis=axis), axis=axis)
        return forward & backward

    return mask | (between(0) & between(1))


def plain_skew(mask: np.ndarray) -> float:
    rows, cols = np.nonzero(mask ^ preprocess._eroded(mask))
    if len(rows) < 8:
        return 0.0
    angles = np.deg2rad(np.arange(-MAX_SKEW_DEG, MAX_SKEW_DEG + 0.01, SKEW_STEP_DEG))
    cos, sin = np.cos(angles)[:, None], np.sin(angles)[:, None]
    x = cols[None, :] * cos - rows[None, :] * sin
    y = cols[None, :] * sin + rows[None, :] * cos
    areas = (np.ptp(x, axis=1) + 1) * (np.ptp(y, axis=1) + 1)
    best = int(areas.argmin())
    upright = int(np.argmin(np.abs(angles)))
    if areas[upright] <= areas[best] * (1 + DESKEW_MIN_GAIN):
        return 0.0
    return -float(np.rad2deg(angles[best]))


def masks(count: int, seed: int) -> list[np.ndarray]:
    """Random masks: specks, blobs (blurred noise), a rotated bar, edge cases."""
    rng = np.random.default_rng(seed)
    out = [np.zeros((5, 7), bool), np.ones((4, 9), bool), np.ones((1, 1), bool), np.eye(6, dtype=bool),
           np.eye(6, dtype=bool)[::-1]]
    for i in range(count):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        if i % 3 == 0:
            noise = Image.fromarray((rng.random((h, w)) * 255).astype(np.uint8)).filter(ImageFilter.BoxBlur(1))
            out.append(np.asarray(noise) > rng.integers(110, 150))
        elif i % 3 == 1:
            out.append(rng.random((h, w)) < rng.uniform(0.05, 0.9))
        else:
            bar = Image.new("L", (40, 40))
            bar.paste(255, (12, 4, 24, 36))
            out.append(np.asarray(bar.rotate(float(rng.uniform(-14, 14)), Image.Resampling.BILINEAR)) > 127)
    return out


# ---------------------------------------------------------------- the checks


def test_item_component_is_the_flood_fill_answer():
    for mask in masks(600, 1):
        assert np.array_equal(preprocess._item_component(mask), plain_item_component(mask))


def test_equal_parts_resolve_to_the_first_in_row_major_order():
    mask = np.zeros((9, 20), bool)
    mask[6:8, 1:4] = True  # starts lower but further left ...
    mask[1:3, 14:17] = True  # ... this one starts first in row-major order: it is the main part
    kept = preprocess._item_component(mask)
    assert kept[1, 14] and not kept[6, 1]


def test_filled_is_the_running_maximum_answer():
    for mask in masks(600, 2):
        assert np.array_equal(preprocess._filled(mask), plain_filled(mask))


def test_skew_is_the_whole_outline_answer():
    angles = []
    for mask in masks(600, 3):
        angles.append(preprocess._skew(mask))
        assert angles[-1] == plain_skew(mask)
    assert any(angles)  # the rotated bars are turned upright: the search was exercised


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_median_and_quantile_are_numpys(dtype):
    rng = np.random.default_rng(4)
    for i in range(400):
        values = rng.normal(0, rng.uniform(0.1, 40), int(rng.integers(1, 3000))).astype(dtype)
        if i % 3 == 0:
            values = np.round(values)  # many ties
        assert preprocess._median(values) == np.median(values)
        assert preprocess._robust_sigma(values) == 1.4826 * float(np.median(np.abs(values - np.median(values))))
        assert preprocess._quantile(values.astype(np.float64), 0.8) == np.quantile(values.astype(np.float64), 0.8)


def _sideways(tmp_path, name: str, **save) -> tuple[Image.Image, str]:
    rng = np.random.default_rng(6)
    upright = Image.fromarray(rng.integers(0, 256, (30, 50), dtype=np.uint8))
    path = tmp_path / name
    upright.rotate(90, expand=True).save(path, **save)
    return upright, str(path)


def test_orientation_is_applied_from_png_exif_png_xmp_and_jpeg_exif(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    xmp = PngImagePlugin.PngInfo()
    xmp.add_itxt("XML:com.adobe.xmp", '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>'
                 '<rdf:Description tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')
    for name, save in (("exif.png", {"exif": exif}), ("xmp.png", {"pnginfo": xmp}), ("exif.jpg", {"exif": exif})):
        upright, path = _sideways(tmp_path, name, **save)
        expected = ImageOps.exif_transpose(Image.open(path))
        got = open_image(path)
        assert got.size == upright.size == expected.size, name
        assert np.array_equal(np.asarray(got), np.asarray(expected)), name


def test_png_and_jpeg_without_orientation_are_left_as_stored(tmp_path):
    for name in ("plain.png", "plain.jpg"):
        _, path = _sideways(tmp_path, name)
        assert np.array_equal(np.asarray(open_image(path)), np.asarray(Image.open(path)))
