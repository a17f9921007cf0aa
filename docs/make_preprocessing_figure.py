"""Draw docs/preprocessing.png: what `edgecnn.runtime.preprocess.prepare` does to a photo.

    .venv/bin/python docs/make_preprocessing_figure.py [--model artifacts/model_int8.tflite]

The "photo" is generated (a synthetic sneaker drawn dark, off-centre, on uneven light
paper, 1600x1200 RGB, saved as JPEG and read back) so the figure can be rebuilt
anywhere. Each panel is the output of the runtime's own functions, in prepare's order,
and the last panel is checked to equal prepare()'s result, so the picture cannot drift
from the code. With --model the caption also gives the class the model answers.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from edgecnn.datasets.synthetic import render_item
from edgecnn.runtime.preprocess import crop_to_item, needs_inversion, pad_to_square, prepare, resize_area, to_gray

PANEL = 224
OUT = Path(__file__).resolve().parent / "preprocessing.png"


def fake_photo(seed: int = 4, cls: int = 7) -> Image.Image:
    """A dark item off-centre on light, unevenly lit paper, as a phone would give (JPEG round trip)."""
    rng = np.random.default_rng(seed)
    item = render_item(cls, rng)
    height, width = 1200, 1600
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    paper = (228 + 18 * xx / width - 14 * yy / height)[..., None] * np.array([1.0, 0.98, 0.93], np.float32)
    paper = paper + rng.normal(0, 3, (height, width, 3)).astype(np.float32)
    side, top, left = 560, 420, 860
    big = np.asarray(Image.fromarray(item).resize((side, side), Image.Resampling.BICUBIC), np.float32)[..., None] / 255
    ink = np.array([55, 42, 38], np.float32)
    paper[top:top + side, left:left + side] = paper[top:top + side, left:left + side] * (1 - big) + ink * big
    buffer = io.BytesIO()
    Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8), "RGB").save(buffer, "JPEG", quality=88)
    return Image.open(io.BytesIO(buffer.getvalue()))


def steps(photo: Image.Image) -> list[tuple[str, Image.Image]]:
    gray = to_gray(photo)
    inverted = 255 - gray if needs_inversion(gray) else gray
    cropped = crop_to_item(inverted)
    squared = pad_to_square(cropped)
    final = resize_area(squared, (28, 28))
    assert np.array_equal(final, prepare(photo, (28, 28))), "the figure no longer matches prepare()"
    return [
        (f"photo {photo.width}x{photo.height} RGB", photo),
        ("grayscale", Image.fromarray(gray)),
        ("inverted (light border)", Image.fromarray(inverted)),
        (f"background off, cropped {cropped.shape[1]}x{cropped.shape[0]}", Image.fromarray(cropped)),
        ("padded to a square", Image.fromarray(squared)),
        ("28x28, area resize", Image.fromarray(final).resize((PANEL, PANEL), Image.Resampling.NEAREST)),
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
    parser.add_argument("--model", help="also classify the photo with this model")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    photo = fake_photo()
    footer = "edgecnn.runtime.preprocess.prepare: generated photo of a synthetic sneaker; the last panel is the model input"
    if args.model:
        from edgecnn.runtime import Classifier

        best = Classifier(args.model).classify(photo, top_k=1)[0]
        footer += f"; {Path(args.model).name} says {best.label} ({best.score:.2f})"
    compose(steps(photo), footer).save(args.out, optimize=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
