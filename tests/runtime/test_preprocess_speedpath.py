"""The fast forms of find_item's steps give exactly what their plain definitions give.

The speed work on preprocess.py (issue 16) replaced np.median / np.quantile by single
partitions, the Python union-find over runs by a vectorised one, four running maxima by
two running counts, the skew search's outline by its row ends, and skips EXIF parsing
for PNG/JPEG files with nothing to parse. Its second part read the usual item's mask,
row ends and area off the runs, the skew off the mask's own row ends away from the
grid's border, the peaks off the global argmax, and fused the last Pillow steps; the
smoothing, surface, fit, levels and pixel-centre arithmetic were reordered into fewer
temporaries with the same operations in the same order. prepare's answers must not change at all
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
        assert preprocess._median(values.copy(), in_place=True) == np.median(values)
        assert preprocess._robust_sigma(values.copy()) == 1.4826 * float(np.median(np.abs(values - np.median(values))))
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


# ---------------------------------------------------------------- find_item's arithmetic (issue 16, part 2)


def plain_row_ends(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, first, last = [], [], []
    for r in range(mask.shape[0]):
        cols = np.flatnonzero(mask[r])
        if len(cols):
            rows.append(r)
            first.append(cols[0])
            last.append(cols[-1])
    return np.array(rows, int), np.array(first, int), np.array(last, int)


def test_item_mask_is_the_filled_component_with_its_row_ends_and_area():
    for mask in masks(600, 7):
        expected = plain_filled(plain_item_component(mask))
        got, ends, area = preprocess._item_mask(mask.copy())
        assert np.array_equal(got, expected)
        for a, b in zip(ends, plain_row_ends(expected)):
            assert np.array_equal(a, b)
        assert area == np.count_nonzero(expected)
        assert preprocess._skew(got, ends) == plain_skew(expected)


def test_single_run_rows_take_the_runs_path():
    mask = np.zeros((12, 15), bool)
    mask[2:9, 3:11] = True
    mask[9, 5:7] = True
    got, ends, area = preprocess._item_mask(mask)
    assert got is mask and area == 58
    assert np.array_equal(ends[0], np.arange(2, 10)) and np.array_equal(ends[2], [10] * 7 + [6])


def grids(count: int, seed: int) -> list[np.ndarray]:
    """float32 grids of levels 0-255 (a picture's) and of arbitrary floats, odd and even sizes."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        h, w = (int(v) for v in rng.integers(1, 90, 2))
        grid = rng.integers(0, 256, (h, w)).astype(np.float32)
        out.append(grid if i % 2 else (grid * rng.uniform(-3, 3) + rng.normal(0, 50, (h, w))).astype(np.float32))
    return out


def test_smooth3_is_the_padded_box_mean():
    for grid in grids(300, 8):
        p = np.pad(grid, 1, mode="edge")
        rows = p[:-2] + p[1:-1] + p[2:]
        expected = (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]) / 9.0
        assert np.array_equal(preprocess._smooth3(grid), expected)


def test_evaluate_is_the_formula():
    rng = np.random.default_rng(9)
    for _ in range(300):
        h, w = (int(v) for v in rng.integers(1, 120, 2))
        c = rng.normal(0, 100, 6).astype(np.float32)
        u = rng.uniform(0, 1, (1, w)).astype(np.float32)
        v = rng.uniform(0, 1, (h, 1)).astype(np.float32)
        expected = (c[0] + c[1] * u + c[3] * u * u) + (c[2] * v + c[5] * v * v) + c[4] * (u * v)
        assert np.array_equal(preprocess._evaluate(c, u, v), expected)
        assert np.array_equal(preprocess._evaluate(c, u, v, u * v), expected)


def test_fit_surface_is_numpys():
    rng = np.random.default_rng(10)
    for _ in range(200):
        n = int(rng.integers(6, 2500))
        design = np.stack([np.ones(n), *rng.uniform(0, 1, (2, n))], axis=1)
        design = np.concatenate([design, design[:, 1:2] ** 2, design[:, 1:2] * design[:, 2:3], design[:, 2:3] ** 2], 1)
        z = rng.normal(128, 40, n).astype(np.float32)
        gram = design.T @ design + 1e-9 * np.eye(6)
        coef = np.linalg.solve(gram, design.T @ z)
        err = np.abs(design @ coef - z)
        keep = np.flatnonzero(err <= np.quantile(err, 0.8))
        kept = design[keep]
        expected = np.linalg.solve(kept.T @ kept + 1e-9 * np.eye(6), kept.T @ z[keep]).astype(np.float32)
        assert np.array_equal(preprocess._fit_surface(z, design, gram), expected)


@pytest.mark.parametrize("invert", [None, True, False])
def test_grid_is_the_float_grid_inverted_by_its_border(invert):
    rng = np.random.default_rng(11)
    for i in range(200):
        h, w = (int(v) for v in rng.integers(2, 200, 2))
        gray = rng.integers(0, 256, (h, w), dtype=np.uint8)
        if i % 2:
            gray = (gray // 4 + rng.integers(0, 200)).astype(np.uint8)  # borders on both sides of 127
        step, origin = int(rng.integers(1, 5)), (int(rng.integers(0, 2)), int(rng.integers(0, 2)))
        for source in (gray, rng.integers(0, 256, (h, w, 3), dtype=np.uint8)):  # grayscale and an RGB frame
            cells = source[origin[0]::step, origin[1]::step].astype(np.float32)
            plain = cells if source.ndim == 2 else cells @ preprocess._GRAY_WEIGHTS
            expected_invert = preprocess.needs_inversion(plain.astype(np.uint8)) if invert is None else invert
            grid, inverted = preprocess._Picture(source, "RGB").grid(step, origin, invert)
            assert inverted == expected_invert
            assert np.array_equal(grid, 255.0 - plain if expected_invert else plain)


def test_skew_at_the_border_and_of_eight_cells_is_the_outlines():
    bar = Image.new("L", (40, 40))
    bar.paste(255, (12, 4, 24, 36))
    cut = (np.asarray(bar.rotate(-12, Image.Resampling.BILINEAR)) > 127)[6:, 15:]  # cut by the grid's edge
    assert preprocess._skew(cut) == plain_skew(cut) == 12.000000000000002  # the mask's own ends say 0
    line = np.zeros((6, 12), bool)
    line[[1, 1, 2, 2, 2, 3, 3, 4], [1, 2, 3, 4, 5, 6, 7, 8]] = True  # 8 cells: the outline is all of them
    assert preprocess._skew(line) == plain_skew(line) != 0.0


# ---------------------------------------------------------------- item_pixels and the last steps


def plain_item_pixels(picture, item) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """item_pixels as it was written before the speed work (561db1b)."""
    top, left, bottom, right = item.box
    factor = max(1, max(bottom - top, right - left) // preprocess.DETAIL_SIDE)
    values = picture.gray_reduced((top, left, bottom, right), factor).astype(np.float32)
    if item.invert:
        values = 255.0 - values
    h, w = picture.shape
    ys = top + (np.arange(values.shape[0], dtype=np.float32) + 0.5) * factor - 0.5
    xs = left + (np.arange(values.shape[1], dtype=np.float32) + 0.5) * factor - 0.5
    c, u, v = item.surface, (xs / max(w - 1, 1))[None, :], (ys / max(h - 1, 1))[:, None]
    values -= (c[0] + c[1] * u + c[3] * u * u) + (c[2] * v + c[5] * v * v) + c[4] * (u * v)
    grid_rows = np.clip(np.rint((ys - item.grid_origin[0]) / item.step).astype(np.intp), 0, item.mask.shape[0] - 1)
    grid_cols = np.clip(np.rint((xs - item.grid_origin[1]) / item.step).astype(np.intp), 0, item.mask.shape[1] - 1)
    dilated = np.pad(item.mask, 1)
    dilated = np.max([dilated[r:r + item.mask.shape[0], c:c + item.mask.shape[1]] for r in range(3) for c in range(3)],
                     axis=0)
    near = dilated[np.ix_(grid_rows, grid_cols)]
    peak = float(values[near].max()) if near.any() else item.peak
    noise = item.pixel_noise / factor
    floor = min(max(preprocess.FLOOR_NOISE * noise, 3.0), preprocess.FLOOR_FRACTION * peak)
    scaled = (values - floor) * np.float32(255.0 / max(peak - floor, 1.0))
    pixels = np.clip(np.rint(scaled), 0, 255).astype(np.uint8) * near
    edge = near & (values > max(preprocess.BOX_NOISE * noise, preprocess.BOX_FRACTION * peak))
    rows, cols = np.flatnonzero(edge.any(axis=1)), np.flatnonzero(edge.any(axis=0))
    box = (top + int(rows[0]) * factor, left + int(cols[0]) * factor,
           min(h, top + (int(rows[-1]) + 1) * factor), min(w, left + (int(cols[-1]) + 1) * factor))
    if item.angle:
        pixels = np.asarray(Image.fromarray(pixels.astype(np.uint8)).rotate(item.angle, Image.Resampling.BILINEAR,
                                                                             expand=True))
        edge = np.asarray(Image.fromarray(edge.astype(np.uint8) * 255).rotate(item.angle, Image.Resampling.BILINEAR,
                                                                                expand=True)) > 127
        rows, cols = np.flatnonzero(edge.any(axis=1)), np.flatnonzero(edge.any(axis=0))
    return pixels[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1], box


def photos(count: int, seed: int) -> list[np.ndarray]:
    """Photo-like pictures: a lit, noisy surface with a turned item, grayscale or RGB, small to large."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        h, w = (int(v) for v in rng.integers(60, 700, 2))
        yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
        surface = 190 + 40 * xx - 30 * yy * yy + rng.normal(0, rng.uniform(1, 6), (h, w))
        item = Image.new("L", (w, h))
        box = (int(w * rng.uniform(0.15, 0.4)), int(h * rng.uniform(0.1, 0.4)),
               int(w * rng.uniform(0.6, 0.9)), int(h * rng.uniform(0.6, 0.95)))
        item.paste(255, box)
        item = np.asarray(item.rotate(float(rng.uniform(-15, 15)), Image.Resampling.BILINEAR)) / 255.0
        level = rng.uniform(20, 110) if i % 4 else rng.uniform(165, 180)  # every 4th: faint
        gray = np.clip(surface * (1 - item) + (level + rng.normal(0, 4, (h, w))) * item, 0, 255).astype(np.uint8)
        if i % 2:
            gray = 255 - gray  # a light item on a dark surface
        out.append(gray if i % 3 else np.repeat(gray[:, :, None], 3, axis=2))
    return out


def test_item_pixels_is_the_plain_code():
    angles = []
    for source in photos(60, 12):
        picture = preprocess._Picture(source, "RGB")
        try:
            item = preprocess.find_item(picture)
        except preprocess.NoItem:
            continue
        angles.append(item.angle)
        got, box = preprocess.item_pixels(picture, item)
        expected, expected_box = plain_item_pixels(picture, item)
        assert box == expected_box and np.array_equal(got, expected)
    assert len(angles) > 40 and sum(a != 0 for a in angles) > 5  # both the upright and the turning path


def test_centres_and_grid_index_are_the_formulas():
    mask = np.zeros((40, 55), bool)
    for start, n, factor, step, origin in [(0, 10, 1, 1, 0), (17, 300, 3, 4, 2), (5, 4100, 1, 3, 1), (250, 7, 2, 6, 3)]:
        expected = start + (np.arange(n, dtype=np.float32) + 0.5) * factor - 0.5
        centres = preprocess._centres(start, n, factor)
        assert centres.dtype == np.float32 and np.array_equal(centres, expected)
        item = preprocess.Item((0, 0, 1, 1), step, (origin, origin), mask, np.zeros(6, np.float32), False,
                               1.0, 1.0, 1.0, 1.0)
        for axis in (0, 1):
            index = preprocess._grid_index(centres, item, axis)
            plain = np.clip(np.rint((expected - origin) / step).astype(np.intp), 0, mask.shape[axis] - 1)
            assert np.array_equal(mask.take(index, axis=axis, mode="clip"), mask.take(plain, axis=axis))
            assert np.array_equal(np.clip(index, 0, mask.shape[axis] - 1), plain)


@pytest.mark.parametrize("shape", [(28, 28), (30, 30), (89, 61), (61, 89), (40, 80), (81, 40), (200, 30), (5, 90),
                                   (1, 1), (14, 28)])
def test_fit_then_sharpened_is_the_plain_pillow_path(shape):
    """prepare's last two steps (sharpened goes through `_image`/`_pixels`) against Pillow's plain calls."""
    rng = np.random.default_rng(13)
    pixels = rng.integers(0, 256, shape, dtype=np.uint8)
    for size in [(28, 28), (20, 30), (30, 30)]:
        plain = np.asarray(Image.fromarray(preprocess.resize_area(preprocess.pad_to_square(pixels), size)).filter(
            ImageFilter.UnsharpMask(preprocess.SHARPEN_RADIUS, preprocess.SHARPEN_PERCENT, 0)))
        for view in (pixels, np.asfortranarray(pixels), pixels[:, ::-1][:, ::-1]):
            got = preprocess.sharpened(preprocess.fit_in_square(view, size))
            assert np.array_equal(got, plain), size
            assert got.shape == size and got.dtype == np.uint8 and not got.flags.writeable


def test_levels_is_the_formula():
    rng = np.random.default_rng(14)
    for i in range(300):
        shape = tuple(int(v) for v in rng.integers(1, 60, 2))
        values = rng.normal(rng.uniform(-20, 80), rng.uniform(0.1, 60), shape).astype(np.float32)
        near = rng.random(shape) < rng.uniform(0, 1)
        peak = float(values.max()) if i % 3 else float(rng.uniform(0, 3))  # peak - floor below 1 too
        floor = float(rng.uniform(0, 8))
        scaled = (values - floor) * np.float32(255.0 / max(peak - floor, 1.0))
        expected = np.clip(np.rint(scaled), 0, 255).astype(np.uint8) * near
        assert np.array_equal(preprocess._levels(values.copy(), near, floor, peak), expected)


def test_item_pixels_with_nothing_near_the_mask_is_no_item():
    picture = preprocess._Picture(np.full((60, 80), 200, np.uint8), "RGB")
    item = preprocess.Item((10, 10, 40, 50), 1, (0, 0), np.zeros((60, 80), bool), np.zeros(6, np.float32), True,
                           12.0, 50.0, 1.0, 1.0)
    with pytest.raises(preprocess.NoItem):
        preprocess.item_pixels(picture, item)


def test_peak_within_is_the_selected_maximum():
    rng = np.random.default_rng(15)
    for i in range(300):
        shape = tuple(int(v) for v in rng.integers(1, 40, 2))
        values = rng.normal(0, 30, shape).astype(np.float32)
        if i % 4 == 0:
            values = np.round(values / 10)  # ties for the top
        where = rng.random(shape) < (0 if i % 7 == 0 else rng.uniform(0.05, 1))
        top = int(values.argmax())
        expected = float(values[where].max()) if where.any() else -np.inf
        assert preprocess._peak_within(values, where, top) == expected
