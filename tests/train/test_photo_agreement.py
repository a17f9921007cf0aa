"""Photo-like pictures of real Fashion-MNIST test items get their tile's class (slow).

The full figure is benchmarks/photos.py's (1,000 images, the 60-epoch int8 model). This
test trains a short model on 6,000 real tiles (3 epochs, no photo training: the agreement
is then the preprocessing's alone) and asserts the agreement on 90 real test items (10
per distortion class) at a floor measured here. Without the real files (outside CI, where
they are required) it uses the synthetic set, with its own measured floor.
"""

from __future__ import annotations

import numpy as np
import pytest

from ..real_data import real_fashion_dir

pytestmark = pytest.mark.slow

LIMIT, EPOCHS, COUNT = 6_000, 3, 90
#: Measured here (seed 0): real 93.3% (84 of 90), synthetic 94.4% (85 of 90) with this 3-epoch model. A
#: preprocessing that loses the item, crops the shadow or the surface, or keeps the polarity of the photo
#: lands far below (an upside-down crop planted in prepare gave 48.9% on the real sample).
AGREEMENT_FLOOR = {"fashion-mnist": 0.85, "synthetic": 0.85}


def sample_dataset() -> tuple[str, str | None]:
    """("fashion-mnist", its folder), or ("synthetic", None) where real_fashion_dir() would skip."""
    try:
        return "fashion-mnist", str(real_fashion_dir())
    except pytest.skip.Exception:
        return "synthetic", None


def test_photo_agreement_on_a_small_sample(tmp_path) -> None:
    import keras

    from edgecnn.datasets import load_dataset
    from edgecnn.datasets.photos import DISTORTIONS, variant
    from edgecnn.runtime.preprocess import prepare
    from edgecnn.train.trainer import TrainConfig, train

    name, folder = sample_dataset()
    result = train(TrainConfig(dataset=name, data_dir=folder, epochs=EPOCHS, limit=LIMIT, photos=0.0,
                               out=str(tmp_path / "m")), log=lambda m: None)
    model = keras.models.load_model(result.model_path)
    data = load_dataset(name, folder, log=lambda m: None)
    tiles = data.x_test[:COUNT]
    photos = np.stack([prepare(variant(tile, i, seed=0, max_side=640).pixels) for i, tile in enumerate(tiles)])
    assert {variant(tiles[i], i, 0, 320).distortion for i in range(len(DISTORTIONS))} == set(DISTORTIONS)

    def classes(pixels: np.ndarray) -> np.ndarray:
        return model.predict((pixels.astype(np.float32) / 255.0)[..., None], verbose=0).argmax(axis=1)

    agreement = float(np.mean(classes(photos) == classes(tiles)))
    print(f"agreement {agreement:.3f} on {COUNT} {name} test items")
    assert agreement >= AGREEMENT_FLOOR[name]
