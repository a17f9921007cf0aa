"""Draw docs/preprocessing.png: what `edgecnn.runtime.preprocess.prepare` does to a photo.

    .venv/bin/python docs/make_preprocessing_figure.py [--model artifacts/real/model_int8.tflite]

The "photo" comes from the project's photo-like generator (edgecnn.datasets.photos,
distortion "all": lit unevenly with a soft shadow, a textured coloured surface, the item
turned and tilted, noise, blur, JPEG) applied to a real Fashion-MNIST test tile when the
files are installed (else a synthetic item, and the caption says so). Each panel is the
output of the runtime's own functions, in prepare's order, and the last panel is checked
to equal prepare()'s result, so the picture cannot drift from the code. With --model the
caption also gives the class the model answers for the tile and for the photo.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from edgecnn.datasets.photos import photo
from edgecnn.runtime.preprocess import _Picture, find_item, fit_in_square, item_pixels, prepare, sharpened

PANEL = 224
OUT = Path(__file__).resolve().parent / "preprocessing.png"
#: Which test tile and which generator seed: a coat on a textured surface, turned and tilted.
TILE_INDEX, SEED = 19, 5


def source_tile() -> tuple[np.ndarray, str]:
    """A real Fashion-MNIST test tile, or a synthetic item when the files are absent (named so)."""
    from edgecnn.datasets.fashion_mnist import DEBIAN_DIR, FILE_NAMES

    if all((DEBIAN_DIR / name).is_file() for name in FILE_NAMES):
        from edgecnn.datasets.fashion_mnist import load_fashion_mnist

        data = load_fashion_mnist(str(DEBIAN_DIR), lambda message: None)
        return data.x_test[TILE_INDEX], f"real Fashion-MNIST test image {TILE_INDEX}"
    from edgecnn.datasets.synthetic import frame, render_item

    return frame(render_item(4, np.random.default_rng(SEED))), "SYNTHETIC item (real Fashion-MNIST not installed)"


def steps(tile: np.ndarray, picture: np.ndarray) -> list[tuple[str, Image.Image]]:
    found = find_item(_Picture(picture, "RGB"))
    mask = Image.fromarray(found.mask.astype(np.uint8) * 255).resize((picture.shape[1], picture.shape[0]))
    overlay = Image.blend(Image.fromarray(picture), Image.merge("RGB", (mask, mask, mask)), 0.45)
    ImageDraw.Draw(overlay).rectangle(found.box[1::-1] + tuple(v - 1 for v in found.box[:1:-1]), outline=(255, 0, 0),
                                      width=3)
    crop, _ = item_pixels(_Picture(picture, "RGB"), found)
    final = sharpened(fit_in_square(crop, (28, 28)))
    assert np.array_equal(final, prepare(picture, (28, 28))), "the figure no longer matches prepare()"
    h, w = picture.shape[:2]
    return [
        ("the tile (28x28)", Image.fromarray(tile).resize((PANEL, PANEL), Image.Resampling.NEAREST)),
        (f"as a photo {w}x{h} RGB", Image.fromarray(picture)),
        (f"item found on a {found.mask.shape[1]}x{found.mask.shape[0]} grid", overlay),
        (f"upright {found.angle:+.0f} deg, background off", Image.fromarray(crop)),
        ("28x28 model input", Image.fromarray(final).resize((PANEL, PANEL), Image.Resampling.NEAREST)),
    ]


def fit(image: Image.Image) -> Image.Image:
    """The image scaled into a PANEL x PANEL gray tile, aspect kept."""
    image = image.convert("RGB")
    image.thumbnail((PANEL, PANEL), Image.Resampling.LANCZOS)
    tile = Image.new("RGB", (PANEL, PANEL), (128, 128, 128))
    tile.paste(image, ((PANEL - image.width) // 2, (PANEL - image.height) // 2))
    return tile


def compose(panels: list[tuple[str, Image.Image]], footer: str) -> Image.Image:
    gap, caption = 12, 22
    width = len(panels) * (PANEL + gap) + gap
    sheet = Image.new("RGB", (width, PANEL + 2 * caption + 3 * gap), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (title, image) in enumerate(panels):
        x = gap + i * (PANEL + gap)
        sheet.paste(fit(image), (x, gap))
        draw.text((x, PANEL + gap + 4), title, fill="black")
        if i:
            draw.text((x - gap + 1, gap + PANEL // 2 - 6), ">", fill="black")
    draw.text((gap, PANEL + gap + caption + 6), footer, fill=(60, 60, 60))
    return sheet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="also classify the tile and the photo with this model")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    tile, origin = source_tile()
    picture = photo(tile, SEED, "all", max_side=640).pixels
    footer = f"edgecnn.runtime.preprocess.prepare on a photo-like picture of {origin}"
    if args.model:
        from edgecnn.runtime import Classifier

        clf = Classifier(args.model)
        on_tile, on_photo = clf.classify(tile, top_k=1)[0], clf.classify(picture, top_k=1)[0]
        footer += (f"; {Path(args.model).name}: tile {on_tile.label} ({on_tile.score:.2f}), "
                   f"photo {on_photo.label} ({on_photo.score:.2f})")
    compose(steps(tile, picture), footer).save(args.out, optimize=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
