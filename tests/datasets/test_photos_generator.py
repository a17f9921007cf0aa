"""The photo-like generator: deterministic from its seed, and each distortion within its stated ranges."""

from __future__ import annotations

import numpy as np
import pytest

from edgecnn.datasets.photos import DISTORTIONS, FRAME_SIZES, ITEM_FRACTION, item_box, photo, variant


def tile(seed: int = 0) -> np.ndarray:
    """A light, asymmetric item on black, as a Fashion-MNIST tile is."""
    t = np.zeros((28, 28), np.uint8)
    t[3:25, 8:20] = 180
    t[3:8, 4:24] = 230
    t[20:25, 15:19] = np.random.default_rng(seed).integers(40, 255, (5, 4))
    return t


@pytest.mark.parametrize("distortion", DISTORTIONS)
def test_same_seed_same_picture_other_seed_other_picture(distortion):
    a, b = photo(tile(), 7, distortion, max_side=640), photo(tile(), 7, distortion, max_side=640)
    assert np.array_equal(a.pixels, b.pixels) and a.box == b.box
    assert not np.array_equal(a.pixels, photo(tile(), 8, distortion, max_side=640).pixels)


def test_variants_cycle_the_distortions_and_stand_alone():
    made = [variant(tile(), i, seed=3, max_side=320) for i in range(len(DISTORTIONS) + 2)]
    assert [m.distortion for m in made] == [*DISTORTIONS, *DISTORTIONS[:2]]
    assert np.array_equal(variant(tile(), 4, seed=3, max_side=320).pixels, made[4].pixels)  # no hidden state


def test_frames_item_size_and_position_are_in_range():
    sizes = set()
    for i in range(40):
        p = photo(tile(i), i, "plain", max_side=640)
        h, w = p.pixels.shape[:2]
        assert p.pixels.dtype == np.uint8 and p.pixels.shape[2] == 3
        sizes.add((w, h))
        top, left, bottom, right = p.box
        assert 0 < top < bottom < h and 0 < left < right < w  # inside the frame, off its edges
        long_side = max(bottom - top, right - left) / min(h, w)
        assert ITEM_FRACTION[0] - 0.03 <= long_side <= ITEM_FRACTION[1] + 0.01
    assert sizes == {(320, 240), (240, 320), (640, 480), (480, 640)}  # both orientations, max_side respected


def test_dark_item_on_light_surface():
    p = photo(tile(), 1, "all", max_side=640)
    gray = p.pixels.astype(np.float32).mean(axis=2)
    top, left, bottom, right = p.box
    inside = gray[top:bottom, left:right]
    assert np.median(gray[:5]) > 120 and inside.min() < np.median(gray[:5]) - 60


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown distortion"):
        photo(tile(), 0, "fog")
    with pytest.raises(ValueError, match="below the smallest frame"):
        photo(tile(), 0, "plain", max_side=100)
    with pytest.raises(ValueError, match="no item"):
        item_box(np.zeros((28, 28), np.float32))
    assert FRAME_SIZES[0] == (320, 240)
