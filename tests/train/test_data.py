"""The training pipeline's augmentation: what it changes, what it keeps, and that it is seeded."""

from __future__ import annotations

import numpy as np
import pytest

from edgecnn.errors import UsageError
from edgecnn.train.data import batches
from edgecnn.train.recipes import MAX_SHIFT_PX, augment_for


def items(n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Asymmetric bright blocks inside the central 20x20, so a shift of 2 px never cuts them."""
    rng = np.random.default_rng(0)
    x = np.zeros((n, 28, 28, 1), np.float32)
    for i in range(n):
        r, c = rng.integers(6, 14, 2)
        x[i, r:r + 6, c:c + 3] = 1.0
        x[i, r, c + 3:c + 8] = 0.5
    return x, np.arange(n) % 10


def first_epoch(augment: str, seed: int = 0) -> np.ndarray:
    x, y = items()
    return np.concatenate([b[0].numpy() for b in batches(x, y, batch_size=64, num_classes=10, seed=seed,
                                                          augment=augment)])


def bounding_box(img: np.ndarray) -> tuple[int, int]:
    rows, cols = np.nonzero(img[..., 0])
    return int(rows.min()), int(cols.min())


def test_shift_moves_items_by_at_most_two_pixels_and_keeps_them_whole() -> None:
    x, _ = items()
    out = first_epoch("shift")
    np.testing.assert_allclose(out.sum(axis=(1, 2, 3)), x.sum(axis=(1, 2, 3)))  # nothing cut off, nothing added
    moves = np.array([np.subtract(bounding_box(o), bounding_box(i)) for o, i in zip(out, x)])
    assert np.abs(moves).max() <= MAX_SHIFT_PX
    assert len({tuple(m) for m in moves}) > 10  # many different offsets, not one global shift


def test_flip_shift_mirrors_about_half() -> None:
    x, _ = items()
    out = first_epoch("flip-shift")
    # a mirrored item has its 0.5 arm on the left of the block: compare column of the arm to the block's
    arm_left = [np.nonzero(o[..., 0] == 0.5)[1].mean() < np.nonzero(o[..., 0] == 1.0)[1].mean() for o in out]
    assert 0.35 < np.mean(arm_left) < 0.65


def test_none_is_the_identity_and_labels_are_one_hot() -> None:
    x, y = items()
    data = list(batches(x, y, batch_size=64, num_classes=10, seed=0))
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in data]), x)
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in data]).argmax(axis=1), y)


def test_seeded_same_every_build_different_every_epoch() -> None:
    np.testing.assert_array_equal(first_epoch("flip-shift", seed=5), first_epoch("flip-shift", seed=5))
    assert not np.array_equal(first_epoch("flip-shift", seed=5), first_epoch("flip-shift", seed=6))
    x, y = items()
    pipeline = batches(x, y, batch_size=256, num_classes=10, seed=5, augment="shift")
    epoch1, epoch2 = (next(iter(pipeline))[0].numpy() for _ in range(2))
    assert not np.array_equal(epoch1, epoch2)


def test_auto_flips_fashion_mnist_only() -> None:
    assert augment_for("auto", "fashion-mnist") == "flip-shift"
    assert augment_for("auto", "folder:/home/me/arrows") == "none"  # text or arrows must not be mirrored
    assert augment_for("auto", "synthetic") == "none"
    assert augment_for("shift", "folder:/x") == "shift"
    with pytest.raises(UsageError, match="--augment must be one of"):
        augment_for("rotate", "fashion-mnist")


def test_photo_versions_replace_pooled_images_about_half_the_time() -> None:
    """Only pooled images are swapped, each epoch anew, about PHOTO_PROBABILITY of them; labels stay."""
    from edgecnn.train.data import PHOTO_PROBABILITY

    x, y = items(512)
    photos = 1.0 - x  # distinguishable from the original everywhere
    pooled = np.arange(len(y)) % 2 == 0
    pipeline = batches(x, y, batch_size=512, num_classes=10, seed=1, photos=(photos, pooled))
    epochs = []
    for images, labels in (next(iter(pipeline)) for _ in range(2)):
        images = images.numpy()
        np.testing.assert_array_equal(labels.numpy().argmax(axis=1), y)
        swapped = np.array([np.array_equal(a, b) for a, b in zip(images, photos)])
        kept = np.array([np.array_equal(a, b) for a, b in zip(images, x)])
        assert np.all(swapped ^ kept)  # every image is one or the other
        assert not swapped[~pooled].any()
        assert abs(swapped[pooled].mean() - PHOTO_PROBABILITY) < 0.1
        epochs.append(swapped)
    assert not np.array_equal(epochs[0], epochs[1])  # a new draw every epoch
