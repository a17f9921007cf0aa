"""prepare on photo-like pictures: the item's box is found under every distortion, and an
empty picture is "no item", never a class.

The pictures come from edgecnn.datasets.photos (a dark item somewhere in a 4:3 frame,
lit unevenly, on a coloured or textured surface, rotated, tilted, noisy, blurred, JPEG),
which knows where it put the item; `locate` is the box prepare crops to.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgecnn.datasets.photos import DISTORTIONS, photo
from edgecnn.datasets.synthetic import render_item
from edgecnn.errors import ImageError, NoItem
from edgecnn.runtime.preprocess import locate, prepare

#: Each edge of the found box lies within this fraction of the item's longer side of the true one
#: (the true box counts pixels with coverage above 20%; blur and JPEG move edges by a pixel or two).
BOX_TOLERANCE = 0.05
PER_DISTORTION = 6
#: Pictures per distortion whose box may miss: none, but for "all" at once, where a dark blotch of a
#: textured surface touching the item can join it (seen: 1 of 6; a known limit of the quadratic surface).
ALLOWED_MISSES = {"all": 1}


def items() -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    return [render_item(cls, rng) for cls in range(10)]


@pytest.mark.parametrize("distortion", DISTORTIONS)
def test_item_box_is_recovered(distortion):
    misses = []
    for n, item in enumerate(items()[:PER_DISTORTION]):
        p = photo(item, (n, DISTORTIONS.index(distortion)), distortion, max_side=640)
        found = np.array(locate(p.pixels))
        true = np.array(p.box)
        side = max(true[2] - true[0], true[3] - true[1])
        if np.abs(found - true).max() > BOX_TOLERANCE * side:
            misses.append((n, found.tolist(), true.tolist()))
    assert len(misses) <= ALLOWED_MISSES.get(distortion, 0), misses


def test_prepared_item_fills_the_frame_like_a_tile():
    """Fashion-MNIST's items touch two opposite edges of the 28x28 tile and sit centred."""
    for n, item in enumerate(items()):
        pixels = prepare(photo(item, n, "all", max_side=640).pixels)
        rows, cols = np.nonzero(pixels > 30)
        assert max(np.ptp(rows), np.ptp(cols)) >= 25, n
        assert abs((rows.min() + rows.max()) / 2 - 13.5) <= 2 and abs((cols.min() + cols.max()) / 2 - 13.5) <= 2, n


def _lit(rng: np.random.Generator, shape: tuple[int, int] = (480, 640)) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    light = 205 + 30 * xx / shape[1] - 25 * yy / shape[0] - 40 * ((xx / shape[1] - 0.5) ** 2 + (yy / shape[0] - 0.5) ** 2)
    return np.clip(light[..., None] * np.array([1.0, 0.97, 0.9]) + rng.normal(0, 3, (*shape, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", ["blank white", "all black", "uniform grey", "uniform grey 28x28", "pure noise",
                                  "pure noise gray 16-bit", "lit surface only", "lit surface, JPEG-like blur"])
def test_no_item(name):
    rng = np.random.default_rng(4)
    picture = {
        "blank white": np.full((480, 640, 3), 255, np.uint8),
        "all black": np.zeros((480, 640, 3), np.uint8),
        "uniform grey": np.full((600, 800), 128, np.uint8),
        "uniform grey 28x28": np.full((28, 28), 128, np.uint8),
        "pure noise": rng.integers(0, 256, (480, 640, 3)).astype(np.uint8),
        "pure noise gray 16-bit": rng.integers(0, 65536, (300, 400)).astype(np.uint16),
        "lit surface only": _lit(rng),
        "lit surface, JPEG-like blur": _lit(rng, (960, 1280))[::2, ::2],
    }[name]
    with pytest.raises(NoItem, match="no item"):
        prepare(picture)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_pixels_are_an_error_not_no_item(bad):
    picture = np.full((120, 160), 0.8, np.float32)
    picture[40:80, 60:100] = 0.1
    picture[50, 70] = bad
    with pytest.raises(ImageError, match="NaN or infinite") as caught:
        prepare(picture)
    assert not isinstance(caught.value, NoItem)


def test_faint_but_real_item_is_not_no_item():
    """A light-grey item on white (contrast 40 levels) with sensor noise is an item."""
    rng = np.random.default_rng(2)
    picture = np.clip(235 + rng.normal(0, 3, (480, 640)), 0, 255)
    picture[150:350, 250:380] -= 40
    box = locate(picture.astype(np.uint8))
    assert abs(box[0] - 150) <= 4 and abs(box[2] - 350) <= 4 and abs(box[1] - 250) <= 4 and abs(box[3] - 380) <= 4


def test_specks_and_a_distant_crumb_stay_out_of_the_box():
    """Only the largest item (and parts near it) is kept: dust and a crumb elsewhere do not widen the crop."""
    rng = np.random.default_rng(9)
    picture = np.clip(rng.normal(225, 2, (480, 640)), 0, 255)
    picture[120:380, 300:420] = 40  # the item
    for r, c in rng.integers(10, 470, (15, 2)):
        if not (100 < r < 400 and 280 < c < 440):
            picture[r : r + 2, c : c + 2] = 60  # dust, two pixels across
    picture[400:420, 40:70] = 50  # a crumb, far from the item
    box = locate(picture.astype(np.uint8))
    assert np.abs(np.array(box) - (120, 300, 380, 420)).max() <= 3, box


def test_no_item_in_a_file_names_the_file(tmp_path):
    from PIL import Image

    path = tmp_path / "empty_table.jpg"
    Image.fromarray(_lit(np.random.default_rng(1))).save(path, quality=85)
    with pytest.raises(NoItem, match=f"^{path}: no item"):
        prepare(path)
