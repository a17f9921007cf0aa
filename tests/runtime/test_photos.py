"""A photo of an item and a Fashion-MNIST-style image of it are classified alike.

Fashion-MNIST is a light item centred on black; a phone photo is a dark item, off-centre,
on a light and uneven background, in colour, large, possibly rotated by EXIF. The
runtime's preprocessing must turn the second into the first.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from edgecnn import FASHION_MNIST_CLASSES
from edgecnn.datasets.synthetic import frame, render_item
from edgecnn.runtime import Classifier
from edgecnn.runtime.preprocess import prepare

from .conftest import save_png

ITEM_COLOURS = [(60, 40, 30), (20, 30, 70), (40, 40, 40), (70, 20, 20), (30, 60, 30)]


def photo_of(item: np.ndarray, colour: tuple[int, int, int], rng: np.random.Generator) -> Image.Image:
    """The light-on-black rendering as a 1600x1200 RGB photo: a dark item off-centre on light paper."""
    height, width = 1200, 1600
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    paper = 225 + 20 * (xx / width) - 10 * (yy / height)  # uneven lighting
    paper = paper[..., None] + rng.normal(0, 3, (height, width, 3)).astype(np.float32)
    side = 520
    big = np.asarray(Image.fromarray(item).resize((side, side), Image.Resampling.BICUBIC), np.float32) / 255.0
    top, left = 180, 900  # well off-centre
    region = paper[top:top + side, left:left + side]
    ink = np.array(colour, np.float32)
    paper[top:top + side, left:left + side] = region * (1 - big[..., None]) + ink * big[..., None]
    return Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8), "RGB")


def test_dark_item_photo_and_light_on_dark_png_get_the_same_class(int8_model, tmp_path):
    clf = Classifier(int8_model)
    rng = np.random.default_rng(42)
    compared = 0
    for cls in range(len(FASHION_MNIST_CLASSES)):
        item = render_item(cls, rng)
        png = save_png(tmp_path / f"item{cls}.png", frame(item))
        small = clf.classify(png, top_k=1)[0]
        if small.score < 0.9:
            continue  # only confident answers can be expected to survive a JPEG round trip
        jpeg = tmp_path / f"photo{cls}.jpg"
        photo_of(item, ITEM_COLOURS[cls % len(ITEM_COLOURS)], rng).save(jpeg, quality=88)
        big = clf.classify(jpeg, top_k=1)[0]
        assert big.index == small.index, f"class {cls}: PNG {small}, photo {big}"
        compared += 1
    assert compared >= 5, "too few confident items to compare"


def test_photo_is_inverted_cropped_and_centred(tmp_path):
    """What the model sees of the photo: light item on black, filling the frame, centred."""
    rng = np.random.default_rng(1)
    item = render_item(7, rng)
    pixels = prepare(photo_of(item, (30, 30, 30), rng), (28, 28))
    assert pixels.shape == (28, 28) and pixels.dtype == np.uint8
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    assert np.median(border) < 30 and pixels.max() > 200
    rows, cols = np.nonzero(pixels > 60)
    assert rows.max() - rows.min() >= 20 or cols.max() - cols.min() >= 20  # fills the frame
    assert abs((cols.min() + cols.max()) / 2 - 13.5) <= 3 and abs((rows.min() + rows.max()) / 2 - 13.5) <= 3


@pytest.mark.parametrize("flag, inverted", [([], (True, False)), (["--invert"], (True, True)),
                                           (["--no-invert"], (False, False))])
def test_cli_invert_flags(int8_model, tmp_path, capsys, flag, inverted):
    """Automatic polarity inverts a dark item on light but not a light item on dark; --invert
    inverts both, --no-invert neither.

    Each answer must be the library's with the polarity forced that way, and (checked first, so
    the comparison can tell them apart) the two polarities must give each picture different answers."""
    from edgecnn.cli import main

    rng = np.random.default_rng(3)
    item = frame(render_item(1, rng))
    pictures = [save_png(tmp_path / "dark_on_light.png", 255 - item), save_png(tmp_path / "light_on_dark.png", item)]
    expected = []
    for picture, invert in zip(pictures, inverted):
        answers = {}
        for forced in (True, False):
            best = Classifier(int8_model, invert=forced).classify(picture, top_k=10)
            answers[forced] = [(p.index, round(p.score, 6)) for p in best]
        assert answers[True] != answers[False], picture
        expected.append(answers[invert])
    rc = main(["classify", "--model", str(int8_model), "--json", "--top-k", "10", *flag, *map(str, pictures)])
    assert rc == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["path"] for r in records] == list(map(str, pictures))
    assert [[(p["index"], p["score"]) for p in r["top_k"]] for r in records] == expected


def test_exif_orientation_is_applied(int8_model, tmp_path):
    rng = np.random.default_rng(5)
    upright = Image.fromarray(255 - frame(render_item(9, rng), (120, 120)))
    stored = upright.rotate(90, expand=True)  # a camera stores pixels sideways ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... and says "rotate 90 degrees clockwise to display"
    path = tmp_path / "sideways.png"
    stored.save(path, exif=exif)
    assert np.array_equal(prepare(path), prepare(upright))
    assert not np.array_equal(prepare(path), prepare(stored))
