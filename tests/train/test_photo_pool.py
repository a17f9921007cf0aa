"""Photo training's pool: which images get a photo version, and that it is prepare's output."""

from __future__ import annotations

import numpy as np
import pytest

from edgecnn.datasets.photos import variant
from edgecnn.datasets.synthetic import frame, render_item
from edgecnn.runtime.preprocess import prepare
from edgecnn.train.data import POOL_MAX_SIDE, photo_pool


def tiles(n: int = 40) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = np.stack([frame(render_item(i % 10, rng)) for i in range(n)])
    return (x.astype(np.float32) / 255.0)[..., None]


def test_pool_share_content_and_seed() -> None:
    x = tiles()
    assert photo_pool(x, 0.0, seed=0, log=lambda m: None) is None
    photos, pooled = photo_pool(x, 0.25, seed=3, log=lambda m: None)
    assert pooled.sum() == 10 and photos.shape == x.shape and photos.dtype == np.float32
    assert not photos[~pooled].any()
    chosen = np.flatnonzero(pooled)
    first = np.rint(x[chosen[0], ..., 0] * 255).astype(np.uint8)
    expected = prepare(variant(first, 0, 3, POOL_MAX_SIDE).pixels) / 255.0
    np.testing.assert_allclose(photos[chosen[0], ..., 0], expected, atol=1e-6)
    again, pooled_again = photo_pool(x, 0.25, seed=3, log=lambda m: None)
    assert np.array_equal(pooled, pooled_again) and np.array_equal(photos, again)
    _, other = photo_pool(x, 0.25, seed=4, log=lambda m: None)
    assert not np.array_equal(pooled, other)


def test_photos_on_by_default_for_fashion_mnist_only() -> None:
    from edgecnn.errors import UsageError
    from edgecnn.train.recipes import DEFAULT_PHOTO_SHARE, get_recipe, photos_for
    from edgecnn.train.trainer import TrainConfig

    assert photos_for(None, "fashion-mnist") == DEFAULT_PHOTO_SHARE == 1.0
    assert photos_for(None, "synthetic") == 0.0 and photos_for(None, "folder:/home/me/shots") == 0.0
    assert photos_for(0.0, "fashion-mnist") == 0.0 and photos_for(0.5, "synthetic") == 0.5
    assert get_recipe("seed").photos == 0.0  # the first recipe stays as it was
    assert TrainConfig(photos=0.1).plan().photos == 0.1 and TrainConfig().plan().photos is None
    for bad in (-0.1, 1.5):
        with pytest.raises(UsageError, match="--photos must be a share between 0 and 1"):
            TrainConfig(photos=bad).validate()


def test_pool_is_the_same_with_any_number_of_worker_processes(monkeypatch) -> None:
    import edgecnn.train.data as data

    monkeypatch.setattr(data, "POOL_CHUNK", 7)  # several chunks, dealt to different workers
    x = tiles(30)
    one = photo_pool(x, 0.8, seed=5, log=lambda m: None, workers=1)
    lines: list[str] = []
    two = photo_pool(x, 0.8, seed=5, log=lines.append, workers=2)
    assert one[1].sum() == 24
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])
    assert "2 process(es)" in lines[0]
    chosen = np.flatnonzero(one[1])  # every variant numbered by its place in the whole pool, not in its chunk
    last = np.rint(x[chosen[-1], ..., 0] * 255).astype(np.uint8)
    expected = prepare(variant(last, len(chosen) - 1, 5, POOL_MAX_SIDE).pixels) / 255.0
    np.testing.assert_allclose(two[0][chosen[-1], ..., 0], expected, atol=1e-6)
