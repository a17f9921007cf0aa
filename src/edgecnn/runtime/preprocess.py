"""Turn any picture of an item into the model's input: a light item on black, 28x28.

This is the only preprocessing code in edgecnn. Training on a user's image folders,
photo training (train --photos), the runtime Classifier, the CLI and the embedded Pi
script all call `prepare`, so a picture is seen the same way at training and at
inference time.

Fashion-MNIST shows a light item centred on a pure black background, filling the
frame along its longer side. A phone photo is the opposite (a dark item on a light,
unevenly lit, maybe textured surface, off-centre, a little turned), so `prepare`:

1. reads the file (EXIF orientation applied, decompression-bomb limit enforced);
2. converts to 8-bit grayscale (RGB, BGR camera frames, alpha, 16-bit, float; NaN/inf
   is an error); a camera's RGB frame is converted only where it is read;
3. `find_item`, on a grid of about 64 cells along the shorter side: polarity from the
   border (or as forced), a quadratic background surface fitted to the border (it
   follows lighting gradients and vignettes), cells that stand out of it by more than
   5x the noise and 12% of the item's contrast, the largest connected part with the
   parts near it, holes filled; nothing standing out raises NoItem ("no item");
4. `item_pixels`, on the item's box only: background surface subtracted, everything
   outside the item's mask black, the noise floor to 0 and the peak to 255, turned
   upright when that shrinks its box (within 12 degrees), cropped tight;
5. pads to a square keeping the aspect ratio, resizes with area (box) filtering, and
   sharpens (an unsharp mask, as Fashion-MNIST's own pipeline did).

Only numpy and Pillow are imported here: this module runs on a Raspberry Pi.
"""

from __future__ import annotations

import functools
import io
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from ..errors import ImageError, NoItem, UsageError, one_line
from .files import file_kind, os_problem

ImageSource = Union[str, os.PathLike, Image.Image, np.ndarray]

#: Largest picture accepted, in pixels (about 64 MP: more than any Pi camera gives).
MAX_IMAGE_PIXELS = 64_000_000

#: Background pixels brighter than this (0-255) mean "dark item on light background".
POLARITY_THRESHOLD = 127

#: A pixel belongs to the item when brighter than this fraction of the brightest one (crop_to_item).
FOREGROUND_FRACTION = 0.2

#: find_item works on a grid with about this many cells along the picture's shorter side.
ANALYSIS_SIDE = 64
#: The outer ring of the grid, as a fraction of its shorter side, is taken as background.
RING_FRACTION = 0.06
#: The background surface is fitted to at most about this many ring cells (memory stays small).
MAX_FIT_CELLS = 2000
#: An item differs from its background by at least this many levels (0-255) somewhere.
MIN_CONTRAST = 24
#: ... and by more than this many times the background's noise (robust sigma).
NOISE_FACTOR = 5.0
#: Grid cells above this fraction of the item's peak contrast are item (soft shadows stay below).
ITEM_PEAK_FRACTION = 0.12
#: An item covers at least this many grid cells (about 0.1% of the picture): fewer are specks.
MIN_ITEM_CELLS = 12
#: Parts at least this fraction of the largest one's area, within this fraction of its size
#: from its box, belong to the same item (straps of a sandal, the two legs of trousers).
NEAR_MIN_AREA, NEAR_FRACTION = 0.05, 0.15
#: item_pixels reads the item's box at about this many pixels along its longer side.
DETAIL_SIDE = 112
#: Levels below this many times the background noise (at most FLOOR_FRACTION of the item's
#: peak) become Fashion-MNIST's black background.
FLOOR_NOISE, FLOOR_FRACTION = 3.0, 0.1
#: Items turned by up to MAX_SKEW_DEG are turned upright (searched in SKEW_STEP_DEG steps) when
#: that makes their box at least DESKEW_MIN_GAIN smaller.
MAX_SKEW_DEG, SKEW_STEP_DEG, DESKEW_MIN_GAIN = 12.0, 1.0, 0.03
#: The crop's edges: the outermost pixels above BOX_NOISE x the pixel noise and BOX_FRACTION of the peak.
BOX_NOISE, BOX_FRACTION = 4.0, 0.06
#: The final unsharp mask (`sharpened`).
SHARPEN_RADIUS, SHARPEN_PERCENT = 0.7, 100

_GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as Pillow's "L"


def open_image(path: str | os.PathLike[str], gray: bool = False) -> Image.Image:
    """Open an image file fully, or raise ImageError naming the file and the problem.

    Only a regular file is opened (a FIFO or a device would block or never end), and
    the pixel count is checked from the header before anything is decoded. Pillow's
    global MAX_IMAGE_PIXELS is left alone so that threads never see each other's limit.

    `gray`: a colour JPEG is decoded straight to grayscale by libjpeg (its luma, full
    size: about 20% faster than RGB then "L", and within 3 levels of it on a handful of
    pixels). Not at a reduced DCT scale: cropping a 1/2-scale decode changed 18% of the
    predictions on the photo-like benchmark images; and 12 MP photo variants (500, seed 1)
    decoded at 1/4 (1008x756) were prepared only 1.34x faster (libjpeg's entropy decoding
    is most of the time) while agreeing with their tile's class 0.6 points less often.
    """
    p = Path(path)
    try:
        info = os.stat(p)
    except OSError as exc:
        raise ImageError(f"{p}: {os_problem(exc, p)}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise ImageError(f"{p}: is a folder, not an image")
    if not stat.S_ISREG(info.st_mode):
        raise ImageError(f"{p}: is {file_kind(info.st_mode)}, not an image file")
    if info.st_size == 0:
        raise ImageError(f"{p}: empty file (0 bytes)")
    return _decode(p, f"{p}: ", gray)


def open_image_bytes(data: bytes, gray: bool = False, what: str = "upload") -> Image.Image:
    """`open_image` for a picture held in memory (an HTTP upload): the same limits and words.

    The messages carry no file name (the caller names the request); an empty `data` is
    "empty <what> (0 bytes)". Raises ImageError.
    """
    if not data:
        raise ImageError(f"empty {what} (0 bytes)")
    return _decode(io.BytesIO(data), "", gray)


def _decode(source: Path | io.BytesIO, prefix: str, gray: bool) -> Image.Image:
    """Decode fully with the pixel limit checked from the header first, then apply EXIF orientation.

    `prefix` starts every message ("PATH: " for a file). Raises ImageError; the decoder's own
    exception is kept as the cause (shown by --traceback). One catch_warnings around both
    steps: entering one costs as much as the EXIF step (a 28x28 PNG's whole read is ~50 us).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Corrupt EXIF data", "Tag data larger than file"
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        img = _load(source, prefix, gray)
        try:
            return _exif_upright(img)
        except Exception:  # a broken EXIF block should not lose an otherwise good picture
            return img


def _load(source: Path | io.BytesIO, prefix: str, gray: bool) -> Image.Image:
    """`_decode`'s first step, under its warning filters: the header, the pixel limit, the pixels."""
    try:
        img = Image.open(source)
        width, height = img.size
        if width * height > MAX_IMAGE_PIXELS:
            img.close()
            raise Image.DecompressionBombError("too many pixels")
        if gray and img.format == "JPEG" and img.mode == "RGB":
            img.draft("L", None)
        img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{prefix}image too large (limit {MAX_IMAGE_PIXELS:,} pixels)") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{prefix}not an image file Pillow can read") from exc
    except PermissionError as exc:
        raise ImageError(f"{prefix}permission denied") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{prefix}corrupt or truncated image ({one_line(exc)})") from exc
    return img


#: Where Pillow's getexif finds an orientation for a PNG or a JPEG (EXIF, a PNG's text copy of it, XMP).
_ORIENTATION_KEYS = ("exif", "Raw profile type exif", "XML:com.adobe.xmp", "xmp")


def _exif_upright(img: Image.Image) -> Image.Image:
    """`img` turned as its EXIF orientation says: in place where Pillow can (10.0+: no copy of an
    unrotated image), else a transposed copy (Debian bookworm's Pillow 9.4 has no `in_place`).

    A loaded PNG or JPEG with none of _ORIENTATION_KEYS in its info has no orientation to
    apply: returned as it is, without getexif's parsing (about 3 us, 5% of a 28x28 PNG's read).
    """
    if img.format in ("PNG", "JPEG") and not any(key in img.info for key in _ORIENTATION_KEYS):
        return img
    try:
        ImageOps.exif_transpose(img, in_place=True)
        return img
    except TypeError:
        return ImageOps.exif_transpose(img) or img


def pil_to_gray(img: Image.Image) -> np.ndarray:
    """Any Pillow mode to an 8-bit grayscale array; transparency becomes white."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img).astype(np.float64)
        if mode == "F" and not np.isfinite(arr).all():
            raise ImageError("float image with NaN or infinite pixels")
        peak = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        if mode == "F" and arr.max(initial=0) <= 1.0:
            peak = 1.0
        return np.clip(np.rint(arr * (255.0 / peak)), 0, 255).astype(np.uint8)
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return np.asarray(img if mode == "L" else img.convert("L"), dtype=np.uint8)


def array_to_gray(arr: np.ndarray, color_order: str = "RGB") -> np.ndarray:
    """A numpy image (HxW, HxWx1, HxWx3 RGB/BGR, HxWx4) to 8-bit grayscale."""
    a = np.asarray(arr)
    if a.dtype.kind not in "buif":
        raise ImageError(f"array of dtype {a.dtype}: expected numbers (uint8, uint16, other integers or floats)")
    if a.dtype.kind == "b":
        a = a.astype(np.uint8) * np.uint8(255)
    elif a.dtype.kind == "f":
        check_finite(a)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3 and a.shape[2] == 4:
        alpha = a[:, :, 3:4].astype(np.float32) / (65535.0 if a.dtype == np.uint16 else 255.0 if a.dtype == np.uint8 else 1.0)
        a = a[:, :, :3] * alpha + (1.0 - alpha) * _white(a.dtype)
    if a.ndim == 3 and a.shape[2] == 3:
        weights = _GRAY_WEIGHTS if check_color_order(color_order) == "RGB" else _GRAY_WEIGHTS[::-1]
        a = a.astype(np.float32) @ weights
    if a.ndim != 2 or a.size == 0:
        raise ImageError(f"array of shape {np.shape(arr)}: expected HxW, HxWx1, HxWx3 or HxWx4")
    return _to_uint8(a, np.asarray(arr).dtype)


def check_finite(a: np.ndarray) -> None:
    """ImageError for a float array with NaN or infinity: casting those to pixels gives garbage."""
    if not np.isfinite(a).all():
        raise ImageError(f"array of shape {a.shape}: has NaN or infinite values")


def check_color_order(color_order: object) -> str:
    """"RGB" or "BGR" (any case), else UsageError: a typo must not silently swap red and blue."""
    key = color_order.upper() if isinstance(color_order, str) else None
    if key not in ("RGB", "BGR"):
        raise UsageError(f"color_order must be 'RGB' or 'BGR' (got {color_order!r})")
    return key


def _white(dtype: np.dtype) -> float:
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    return 1.0


def _to_uint8(a: np.ndarray, source_dtype: np.dtype) -> np.ndarray:
    if a.dtype == np.uint8:
        return a
    if source_dtype == np.uint16:
        scale = 255.0 / 65535.0
    elif np.issubdtype(source_dtype, np.floating) and float(np.max(a)) <= 1.0:
        scale = 255.0
    else:
        scale = 1.0
    return np.clip(np.rint(a * scale), 0, 255).astype(np.uint8)


def to_gray(source: ImageSource, color_order: str = "RGB") -> np.ndarray:
    """Read a path, Pillow image or array as 8-bit grayscale, the common starting point."""
    if isinstance(source, (str, os.PathLike)):
        img = open_image(source, gray=True)  # its errors name the file already
        try:
            return pil_to_gray(img)
        except ImageError as exc:  # e.g. a float TIFF with NaN pixels: say which file
            raise ImageError(f"{source}: {exc}") from exc
    if isinstance(source, Image.Image):
        return pil_to_gray(ImageOps.exif_transpose(source) or source)
    if isinstance(source, np.ndarray):
        return array_to_gray(source, color_order)
    raise ImageError(f"cannot read an image from a {type(source).__name__}")


def border_level(gray: np.ndarray) -> float:
    """Median brightness of the outer ring, the best guess of the background.

    Exactly np.median of the ring's pixels (corners counted twice). For uint8 the ring
    is sorted in place with kind="stable" (a radix sort for 8-bit levels: 1.6 us for
    find_item's ~1,100 ring cells, where a 256-bin histogram, its running sum and two
    searchsorted calls took 4.5 us).
    """
    h, w = gray.shape
    ring = max(1, round(min(h, w) * 0.04))
    border = np.concatenate(
        [gray[:ring].ravel(), gray[-ring:].ravel(), gray[:, :ring].ravel(), gray[:, -ring:].ravel()]
    )
    if border.dtype != np.uint8:
        return float(np.median(border))
    border.sort(kind="stable")  # a copy already (concatenate)
    half = border.size // 2
    if border.size % 2:
        return float(border[half])
    return (int(border[half - 1]) + int(border[half])) / 2


def needs_inversion(gray: np.ndarray) -> bool:
    """True for a dark item on a light background (the opposite of Fashion-MNIST)."""
    return border_level(gray) > POLARITY_THRESHOLD


def crop_to_item(gray: np.ndarray, background: float | None = None) -> np.ndarray:
    """Remove the background level and crop to the bounding box of the item.

    `background`: `border_level(gray)` when the caller has it already. For uint8 the
    lifted pixels max(gray - level, 0) are never built: the bounding box comes from
    row and column maxima of `gray`, and lifting and stretching are one 256-entry
    table applied to the cropped item only.
    """
    if background is None:
        background = border_level(gray)
    level = int(round(background))
    if gray.dtype != np.uint8:  # the general form of the same steps
        lifted = np.clip(gray.astype(np.int16) - level, 0, 255).astype(np.uint8)
        return crop_to_item(lifted, 0.0)
    peak = max(int(gray.max(initial=0)) - level, 0)
    if peak == 0:
        return np.zeros(gray.shape, np.uint8)  # blank picture: nothing to crop to
    above = level + int(peak * FOREGROUND_FRACTION)  # lifted > peak * f  <=>  gray > level + floor(peak * f)
    rows = np.flatnonzero(gray.max(axis=1) > above)
    cols = np.flatnonzero(gray.max(axis=0) > above)
    item = gray[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    lifted = np.maximum(np.arange(256, dtype=np.int16) - level, 0).astype(np.uint8)
    table = np.clip(lifted.astype(np.float32) * (255.0 / peak), 0, 255).astype(np.uint8)
    return table[item]


def pad_to_square(gray: np.ndarray) -> np.ndarray:
    """Centre the item on a black square, keeping its aspect ratio."""
    h, w = gray.shape
    side = max(h, w)
    out = np.zeros((side, side), dtype=np.uint8)
    top, left = (side - h) // 2, (side - w) // 2
    out[top : top + h, left : left + w] = gray
    return out


def fit_in_square(gray: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`resize_area(pad_to_square(gray), size)`, pixel for pixel, without building the square.

    Why: the square of a 1x30000 strip is 30000x30000 (900 MB). Pillow's box filter
    runs horizontally, then vertically; the side that needs no padding goes through
    Pillow, the padded one through `_box_pass_padded`, which reads only the item's own
    pixels. Memory stays proportional to the item's pixels plus its longer side times
    the output size.
    """
    h, w = gray.shape
    height, width = size
    if h == w:
        return resize_area(gray, size)
    if max(h, w) <= 2 * min(h, w):  # the square is at most twice the item: build it, Pillow does the rest
        return resize_area(pad_to_square(gray), size)
    if w > h:  # rows are padded: Pillow's horizontal pass, then the padded vertical one
        rows = resize_area(gray, (h, width))
        return _box_pass_padded(rows, w, (w - h) // 2, height, axis=0)
    cols = _box_pass_padded(gray, h, (h - w) // 2, width, axis=1)  # columns padded: horizontal pass first
    return resize_area(cols, size)


def _box_pass_padded(data: np.ndarray, side: int, offset: int, out_len: int, axis: int) -> np.ndarray:
    """One pass of Pillow's BOX resize along `axis` over `data` placed at `offset` in zeros `side` long.

    Same coefficients and fixed-point rounding as Pillow (Resample.c: box support 0.5 x
    scale, weights normalized, 22 fractional bits), so the result equals Pillow's on the
    padded array; only the padding itself is never allocated.
    """
    starts, stops, weights = _box_bounds(data.shape[axis], side, offset, out_len)
    # each output is the sum over [start, stop) of the item's pixels: differences of a running sum
    running = np.zeros((data.shape[0] + 1, data.shape[1]) if axis == 0 else (data.shape[0], data.shape[1] + 1),
                       np.int64)
    np.cumsum(data, axis=axis, dtype=np.int64, out=running[1:] if axis == 0 else running[:, 1:])
    if axis == 0:
        total = running[stops] - running[starts]
        return np.minimum(((1 << 21) + weights[:, None] * total) >> 22, 255).astype(np.uint8)
    total = running[:, stops] - running[:, starts]
    return np.minimum(((1 << 21) + weights[None, :] * total) >> 22, 255).astype(np.uint8)


def _box_bounds(n: int, side: int, offset: int, out_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output pixel of `_box_pass_padded`: first and past-last item pixel, and weight (0 when all padding)."""
    scale = side / out_len
    filterscale = max(scale, 1.0)
    support, ss = 0.5 * filterscale, 1.0 / filterscale
    starts = np.zeros(out_len, np.intp)
    stops = np.zeros(out_len, np.intp)
    weights = np.zeros(out_len, np.int64)
    for i in range(out_len):
        center = (i + 0.5) * scale
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), side)
        # the box filter keeps x in (-0.5, 0.5]; only the end pixels can fall outside by rounding
        while lo < hi and not -0.5 < (lo - center + 0.5) * ss <= 0.5:
            lo += 1
        while hi > lo and not -0.5 < (hi - 1 - center + 0.5) * ss <= 0.5:
            hi -= 1
        start, stop = max(lo - offset, 0), min(hi - offset, n)
        if hi <= lo or stop <= start:
            continue  # all padding: stays 0
        starts[i], stops[i] = start, stop
        weights[i] = int(0.5 + (1.0 / (hi - lo)) * (1 << 22))
    return starts, stops, weights


def resize_area(gray: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to (height, width) averaging each source area, which keeps thin lines."""
    height, width = size
    if gray.shape == (height, width):
        return gray
    return np.asarray(Image.fromarray(gray).resize((width, height), Image.Resampling.BOX))


def prepare(
    source: ImageSource,
    size: tuple[int, int] = (28, 28),
    invert: bool | None = None,
    color_order: str = "RGB",
) -> np.ndarray:
    """Any image to the model's pixels: uint8 (height, width), light item on black.

    `invert=None` decides polarity from the border; True/False force it. A picture
    already at the model size is only inverted if needed, never cropped, so
    Fashion-MNIST-style 28x28 images pass through unchanged. A larger one goes through
    `find_item` (background surface, foreground mask, largest item) and `item_pixels`.

    Raises NoItem for a picture with no item in it (blank, uniform, pure noise, a lit
    surface alone), ImageError for NaN/inf pixels or an unreadable file; both name the
    file when `source` is a path.
    """
    picture = _Picture(source, check_color_order(color_order))
    if not isinstance(source, (str, os.PathLike)):
        return _prepared(picture, size, invert)
    try:
        return _prepared(picture, size, invert)
    except NoItem as exc:  # a file's answer names the file, as its read errors do
        raise NoItem(f"{source}: {exc}") from exc


def _prepared(picture: "_Picture", size: tuple[int, int], invert: bool | None) -> np.ndarray:
    height, width = size
    if picture.shape == (height, width):
        gray = picture.gray()
        if invert is None:
            invert = needs_inversion(gray)
        if int(gray.max()) - int(gray.min()) < MIN_CONTRAST:
            raise NoItem(f"no item: a {width}x{height} picture with no contrast (all pixels within {MIN_CONTRAST} levels)")
        return np.ascontiguousarray(255 - gray if invert else gray)
    item = find_item(picture, invert)
    return sharpened(fit_in_square(item_pixels(picture, item)[0], size))


def sharpened(pixels: np.ndarray) -> np.ndarray:
    """Unsharp mask (radius SHARPEN_RADIUS, SHARPEN_PERCENT %): Fashion-MNIST's own last step.

    Its tiles were made by trimming, resizing and sharpening product photos; a box
    resize of a photo is softer than a tile, and sharpening it the same way raised the
    photo benchmark's agreement by about 2 points (benchmarks/photos.py).
    """
    return _pixels(_image(pixels).filter(_SHARPEN))


_SHARPEN = ImageFilter.UnsharpMask(SHARPEN_RADIUS, SHARPEN_PERCENT, 0)


def _image(pixels: np.ndarray) -> Image.Image:
    """An 8-bit grayscale array as a Pillow image: Image.fromarray's, 1 us cheaper for a C-contiguous one."""
    if pixels.flags.c_contiguous and pixels.dtype == np.uint8 and pixels.ndim == 2:
        return Image.frombuffer("L", pixels.shape[::-1], pixels, "raw", "L", 0, 1)
    return Image.fromarray(pixels)


def _pixels(image: Image.Image) -> np.ndarray:
    """An "L" image's pixels, read-only, as np.asarray gives them (from the same bytes, 1 us cheaper)."""
    return np.frombuffer(image.tobytes(), np.uint8).reshape(image.size[1], image.size[0])


class _Picture:
    """The picture being prepared: 8-bit grayscale, converted only where it is read.

    A camera's RGB frame (uint8 HxWx3) is kept as it is: the search for the item reads
    a sparse grid of it and the final pixels read the item's box, so the whole frame is
    never converted to grayscale (that alone cost as much as all of prepare before).
    """

    def __init__(self, source: ImageSource, color_order: str) -> None:
        self.color_order = color_order
        a = source if isinstance(source, np.ndarray) else None
        if a is not None and a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3 and a.shape[0] and a.shape[1]:
            self.rgb: np.ndarray | None = a
            self._gray: np.ndarray | None = None
            self.shape = a.shape[:2]
        else:
            self.rgb = None
            self._gray = to_gray(source, color_order)
            self.shape = self._gray.shape

    def gray(self, rows: slice = slice(None), cols: slice = slice(None)) -> np.ndarray:
        """8-bit grayscale of the picture's [rows, cols] (numpy slices, steps allowed)."""
        if self._gray is not None:
            return self._gray[rows, cols]
        return array_to_gray(self.rgb[rows, cols], self.color_order)

    def grid(self, step: int, origin: tuple[int, int], invert: bool | None) -> tuple[np.ndarray, bool]:
        """Float32 grayscale of every `step`-th pixel from `origin`: find_item's view of the picture,
        inverted (255 - level) when `invert` is true or, when None, when its border is light; and
        whether it was inverted.

        A grayscale picture's polarity is read from the 8-bit cells themselves: the same levels
        as the float grid's, without a float-to-uint8 copy (3 us).
        """
        rows, cols = slice(origin[0], None, step), slice(origin[1], None, step)
        if self._gray is not None:
            cells = self._gray[rows, cols].copy()  # contiguous first: the ring and the float copy read it 1 us faster
            invert = needs_inversion(cells) if invert is None else invert
            grid = cells.astype(np.float32)
        else:
            weights = _GRAY_WEIGHTS if self.color_order == "RGB" else _GRAY_WEIGHTS[::-1]
            grid = self.rgb[rows, cols].astype(np.float32) @ weights
            invert = needs_inversion(grid.astype(np.uint8)) if invert is None else invert
        if invert:
            np.subtract(255.0, grid, out=grid)
        return grid, bool(invert)

    def gray_reduced(self, box: tuple[int, int, int, int], factor: int) -> np.ndarray:
        """8-bit grayscale of the box, each `factor` x `factor` block averaged (Pillow's reduce).

        An RGB frame is reduced before the grayscale conversion: both are linear, and the
        conversion then reads factor^2 times fewer pixels.
        """
        top, left, bottom, right = box
        if factor == 1:
            return self.gray(slice(top, bottom), slice(left, right))
        source = self._gray if self._gray is not None else self.rgb
        region = Image.fromarray(np.ascontiguousarray(source[top:bottom, left:right]))
        reduced = np.asarray(region.reduce(factor))
        return reduced if self._gray is not None else array_to_gray(reduced, self.color_order)


#: Each row with set cells: the row, its first and its last set column (int arrays, rows ascending).
RowEnds = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Item:
    """Where the item is and how it differs from its background: what `find_item` found.

    box: (top, left, bottom, right) in the picture's pixels, exclusive, at grid precision.
    step: the analysis grid's spacing in pixels. mask: the item on the grid (bool).
    surface: the background's quadratic coefficients over (1, u, v, u*u, u*v, v*v), u and v
    the column and row in 0..1 of the picture, in the polarity used (item light).
    invert: whether the picture was inverted. threshold, peak: levels above the surface
    that make a pixel part of the item, and the item's highest level. noise: the
    background's robust standard deviation on the (smoothed) grid; pixel_noise: the same
    of single pixels. angle: degrees counter-clockwise that make the item upright (`_skew`).
    """

    box: tuple[int, int, int, int]
    step: int
    grid_origin: tuple[int, int]
    mask: np.ndarray
    surface: np.ndarray
    invert: bool
    threshold: float
    peak: float
    noise: float
    pixel_noise: float
    angle: float = 0.0


def find_item(picture: "_Picture | ImageSource", invert: bool | None = None) -> Item:
    """Find the item in a picture: the one place that decides what is item and what is background.

    On a grid of about ANALYSIS_SIDE pixels along the shorter side: decide polarity
    from the border (unless forced), fit a quadratic surface to the border (it follows
    a lighting gradient and a vignette), take the pixels that stand out of it by more
    than the noise and than a fraction of the item's contrast, and keep the largest
    connected part with the parts close to it (a sandal's straps).

    Raises NoItem when nothing stands out: blank, uniform, pure noise, a surface alone.
    """
    if not isinstance(picture, _Picture):
        picture = _Picture(picture, "RGB")
    h, w = picture.shape
    step = max(1, min(h, w) // ANALYSIS_SIDE)
    origin = (step // 2, step // 2)
    grid, invert = picture.grid(step, origin, invert)
    ring, u, v, uv, cells, design, gram = _layout(grid.shape, step, origin, (h, w))
    smooth = _smooth3(grid)
    surface = _fit_surface(smooth.take(cells), design, gram)
    level = _evaluate(surface, u, v, uv)
    pixel_noise = _robust_sigma(grid.take(ring) - level.take(ring))  # flat indices: a boolean mask cost 2x
    residual = np.subtract(smooth, level, out=smooth)
    noise = _robust_sigma(residual.take(ring))
    top_cell = int(residual.argmax())
    peak = float(residual.flat[top_cell])
    if peak < max(MIN_CONTRAST, NOISE_FACTOR * noise):
        raise NoItem(f"no item: nothing stands out of the background (contrast {peak:.0f} levels, "
                     f"noise {noise:.1f})")
    threshold = max(NOISE_FACTOR * noise, MIN_CONTRAST / 2, ITEM_PEAK_FRACTION * peak)
    mask, ends, area = _item_mask(residual > threshold)
    if area < MIN_ITEM_CELLS:
        raise NoItem(f"no item: only specks stand out of the background ({area} cells)")
    rows, first, last = ends
    top = max(0, origin[0] + (int(rows[0]) - 1) * step)
    left = max(0, origin[1] + (int(first.min()) - 1) * step)
    bottom = min(h, origin[0] + (int(rows[-1]) + 2) * step)
    right = min(w, origin[1] + (int(last.max()) + 2) * step)
    return Item((top, left, bottom, right), step, origin, mask, surface, bool(invert), threshold,
                _peak_within(residual, mask, top_cell), noise, pixel_noise, _skew(mask, ends))


def _peak_within(values: np.ndarray, where: np.ndarray, top: int) -> float:
    """float(values[where].max()), given `top`, the flat index of values' largest value (finite values).

    That one is the answer when `where` holds it, the usual case: no boolean selection
    then (3 to 8 us on find_item's grid and item_pixels' box). Else -inf when `where` is empty.
    """
    if where.flat[top]:
        return float(values.flat[top])
    return float(np.where(where, values, -np.inf).max())  # values[where].max() took 1.5x as long


def item_pixels(picture: "_Picture | ImageSource", item: Item) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The item's own pixels, light on black, background removed, tightly cropped, contrast stretched.

    Reads only the item's box, at a resolution about DETAIL_SIDE pixels along its longer
    side (box-averaged, as the final resize does). The background surface is subtracted,
    pixels outside the item's mask (shadow, texture, other things) are set to black,
    levels below FLOOR_FRACTION of the item's peak go to 0 and the peak to 255, as
    Fashion-MNIST's black background and full-range items; the crop is the bounding
    box of what remains. Returns the pixels and that box in the picture's coordinates
    (top, left, bottom, right), exclusive.
    """
    if not isinstance(picture, _Picture):
        picture = _Picture(picture, "RGB")
    top, left, bottom, right = item.box
    factor = max(1, max(bottom - top, right - left) // DETAIL_SIDE)
    values = picture.gray_reduced((top, left, bottom, right), factor).astype(np.float32)
    if item.invert:
        np.subtract(255.0, values, out=values)
    h, w = picture.shape
    ys, xs = _centres(top, values.shape[0], factor), _centres(left, values.shape[1], factor)
    values -= _evaluate(item.surface, (xs / max(w - 1, 1))[None, :], (ys / max(h - 1, 1))[:, None])
    # the dilated mask at each pixel's nearest grid cell (take's mode="clip" clips to the grid)
    near = _dilate(item.mask).take(_grid_index(xs, item, 1), axis=1, mode="clip").take(
        _grid_index(ys, item, 0), axis=0, mode="clip")
    peak = _peak_within(values, near, int(values.argmax()))
    if peak == -np.inf:  # nothing near the mask
        peak = item.peak
    noise = item.pixel_noise / factor  # a box average of factor x factor pixels
    floor = min(max(FLOOR_NOISE * noise, 3.0), FLOOR_FRACTION * peak)
    edge = near & (values > max(BOX_NOISE * noise, BOX_FRACTION * peak))
    bounds = _image(edge.view(np.uint8)).getbbox()  # (left, top, right, bottom): 3 us, any + flatnonzero 7
    if bounds is None:
        raise NoItem("no item: nothing stands out of the background")
    x0, y0, x1, y1 = bounds
    box = (top + y0 * factor, left + x0 * factor, min(h, top + y1 * factor), min(w, left + x1 * factor))
    if not item.angle:  # only the crop's levels are needed
        return _levels(values[y0:y1, x0:x1], near[y0:y1, x0:x1], floor, peak), box
    # upright first, then the tight crop of the upright item
    pixels = np.asarray(Image.fromarray(_levels(values, near, floor, peak)).rotate(
        item.angle, Image.Resampling.BILINEAR, expand=True))
    edge = np.asarray(Image.fromarray(edge.astype(np.uint8) * 255).rotate(item.angle, Image.Resampling.BILINEAR,
                                                                            expand=True)) > 127
    rows, cols = np.flatnonzero(edge.any(axis=1)), np.flatnonzero(edge.any(axis=0))
    return pixels[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], box


def _levels(values: np.ndarray, near: np.ndarray, floor: float, peak: float) -> np.ndarray:
    """`item_pixels`' 8-bit levels: `floor` to 0, `peak` to 255, black away from the mask (`near` false).

    Works in place on `values` (each full-size temporary cost about as much as its step).
    """
    values -= floor
    values *= 255.0 / max(peak - floor, 1.0)
    pixels = np.clip(np.rint(values, out=values), 0, 255, out=values).astype(np.uint8)
    pixels *= near.view(np.uint8)  # uint8 by uint8: 0.5 us less than by bool
    return pixels


def _centres(start: int, n: int, factor: int) -> np.ndarray:
    """start + (i + 0.5) * factor - 0.5 for i < n (float32): where `item_pixels`' reduced pixels' centres lie.

    The same float32 operations in the same order, with * 1 skipped (exact).
    """
    halves = np.arange(n, dtype=np.float32) + 0.5
    centres = np.add(start, halves if factor == 1 else halves * factor)
    centres -= 0.5
    return centres


def _grid_index(centres: np.ndarray, item: Item, axis: int) -> np.ndarray:
    """The grid cell (along `axis`) nearest each pixel centre; outside the grid where the box is (take clips)."""
    cells = centres - item.grid_origin[axis]
    cells /= item.step
    return np.rint(cells, out=cells).astype(np.intp)


def locate(source: ImageSource, invert: bool | None = None, color_order: str = "RGB") -> tuple[int, int, int, int]:
    """The item's box (top, left, bottom, right), exclusive, in the picture's pixels: what `prepare` crops.

    For drawing the box on a preview, and for tests. Raises NoItem / ImageError as `prepare`.
    """
    picture = _Picture(source, check_color_order(color_order))
    return item_pixels(picture, find_item(picture, invert))[1]




def _skew(mask: np.ndarray, ends: RowEnds | None = None) -> float:
    """The rotation (degrees, counter-clockwise, within MAX_SKEW_DEG) that makes the item's box smallest.

    Fashion-MNIST's items are upright, and an upright garment, bag or shoe has its
    smallest bounding box when upright; a photo's item is often turned a few degrees.
    0 unless the box shrinks by more than DESKEW_MIN_GAIN: a round or square item has
    no preferred angle and is left alone. `ends`: `_row_ends(mask)` when the caller has them.

    The box is the outline's (mask ^ _eroded(mask)); off the grid's border the outline
    has the mask's own extremes at every angle, so the erosion is skipped there: an
    extreme cell inside the mask has all 8 neighbours set, and stepping right, left, down
    or up (x = c cos - r sin and y = c sin + r cos, cos > 0, are monotonic in c and in r,
    also as rounded) stays in the mask with an extreme at least as far until a cell with
    an unset neighbour: an outline cell. Then the outline has fewer than 8 cells exactly
    when the mask has (8 distinct outline cells end the 8 rays from any interior cell).
    Only at the border, where _eroded counts the outside as set, is the outline needed.
    """
    h, w = mask.shape
    if ends is None:
        ends = _row_ends(mask)
    rows, first, last = ends
    if len(rows) and rows[0] > 0 and rows[-1] < h - 1 and first.min() > 0 and last.max() < w - 1:
        return 0.0 if np.count_nonzero(mask) < 8 else _skew_of_ends(ends)  # 8 us less than the outline
    outline = mask ^ _eroded(mask)
    if np.count_nonzero(outline) < 8:
        return 0.0
    return _skew_of_ends(_row_ends(outline))


def _skew_of_ends(ends: RowEnds) -> float:
    """`_skew`'s search over the cells given by their rows' ends (`_row_ends`).

    Within a row, x and y are monotonic in the column (also as rounded), so every angle's
    extremes lie at a row's ends. x and y of all angles are one (50, n) array,
    c (cos; sin) - r (sin; -cos): y = c sin + r cos exactly, as negation is exact (separate
    x and y arrays and np.ptp calls took 20 us, this 14).
    """
    rows, first, last = ends
    r = np.concatenate((rows, rows))
    c = np.concatenate((first, last))
    xy = c * _SKEW_A
    xy -= r * _SKEW_B
    extent = xy.max(axis=1)
    extent -= xy.min(axis=1)
    extent += 1
    areas = extent[:_SKEW_COUNT] * extent[_SKEW_COUNT:]
    best = int(areas.argmin())
    if areas[_SKEW_UPRIGHT] <= areas[best] * (1 + DESKEW_MIN_GAIN):
        return 0.0
    return float(_SKEW_TURNS[best])


#: The angles `_skew` tries (radians), how many, the index of 0, and the turn (degrees) each one asks for.
_SKEW_ANGLES = np.deg2rad(np.arange(-MAX_SKEW_DEG, MAX_SKEW_DEG + 0.01, SKEW_STEP_DEG))
_SKEW_COUNT = len(_SKEW_ANGLES)
_SKEW_UPRIGHT = int(np.argmin(np.abs(_SKEW_ANGLES)))
_SKEW_TURNS = -np.rad2deg(_SKEW_ANGLES)
#: `_skew_of_ends`' coefficients as columns: x = c cos - r sin above y = c sin - r (-cos).
_SKEW_A = np.concatenate((np.cos(_SKEW_ANGLES), np.sin(_SKEW_ANGLES)))[:, None]
_SKEW_B = np.concatenate((np.sin(_SKEW_ANGLES), -np.cos(_SKEW_ANGLES)))[:, None]


def _row_ends(mask: np.ndarray) -> RowEnds:
    """(rows, first, last): the first and the last set cell of each row that has one."""
    rows = mask.any(axis=1).nonzero()[0]
    cells = mask[rows]
    first = cells.argmax(axis=1)
    last = mask.shape[1] - 1 - cells[:, ::-1].argmax(axis=1)
    return rows, first, last


def _eroded(mask: np.ndarray) -> np.ndarray:
    return ~_dilate(~mask)


def _smooth3(grid: np.ndarray) -> np.ndarray:
    """3x3 box mean (edges replicated): noise down by 3x before thresholding.

    The same additions in the same order, the frame written into an empty array and the
    sums in place (0.5 us of 11 less: most of the cost is the calls).
    """
    h, w = grid.shape
    p = np.empty((h + 2, w + 2), grid.dtype)  # every cell written below: the frame rows, then columns
    p[1:-1, 1:-1] = grid
    p[0], p[-1] = p[1], p[-2]
    p[:, 0], p[:, -1] = p[:, 1], p[:, -2]
    rows = np.add(p[:-2], p[1:-1])
    rows += p[2:]
    out = np.add(rows[:, :-2], rows[:, 1:-1])
    out += rows[:, 2:]
    out /= 9.0
    return out


def _padded(a: np.ndarray) -> np.ndarray:
    """`a` inside a one-cell frame of zeros (np.pad costs more than the whole smoothing here)."""
    p = np.zeros((a.shape[0] + 2, a.shape[1] + 2), a.dtype)
    p[1:-1, 1:-1] = a
    return p


def _robust_sigma(values: np.ndarray) -> float:
    """Standard deviation from the median absolute deviation: the item and its shadow do not inflate it.

    `values` (a 1-D temporary of the caller's) is worked on in place: reordered, then
    overwritten by the absolute deviations (the same values as np.abs(values - median)).
    """
    values -= _median(values, in_place=True)
    return 1.4826 * float(_median(np.abs(values, out=values), in_place=True))


def _median(values: np.ndarray, in_place: bool = False) -> np.floating:
    """np.median of a finite 1-D float array, the same value, at a fraction of the cost.

    np.median partitions for the middle one or two values (and for the last, to look for
    NaN, which a picture's levels never are here) and averages them in the array's dtype:
    (a + b) / 2. Here one partition puts the upper middle value in place and the lower one
    is the largest value before it: a partition for two positions took 7x as long as for
    one on these levels (numpy 2.4), and np.median's Python layers as long again.
    `in_place`: partition `values` itself (reordering it) rather than a copy.
    """
    half = values.size // 2
    if in_place:
        values.partition(half)
        part = values
    else:
        part = np.partition(values, half)
    if values.size % 2:
        return part[half]
    return (part[:half].max() + part[half]) / 2


def _ring_mask(shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    ring = max(1, round(min(h, w) * RING_FRACTION))
    mask = np.ones(shape, bool)
    mask[ring:h - ring, ring:w - ring] = False
    return mask


def _grid_coordinates(shape: tuple[int, int], step: int, origin: tuple[int, int],
                      full: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Column and row of each grid cell as (1, W) and (H, 1) arrays in 0..1 of the picture."""
    h, w = full
    u = (origin[1] + np.arange(shape[1], dtype=np.float32) * step) / max(w - 1, 1)
    v = (origin[0] + np.arange(shape[0], dtype=np.float32) * step) / max(h - 1, 1)
    return u[None, :], v[:, None]


def _evaluate(c: np.ndarray, u: np.ndarray, v: np.ndarray, uv: np.ndarray | None = None) -> np.ndarray:
    """The quadratic surface c . (1, u, v, u*u, u*v, v*v) on the grid spanned by u (1, W) and v (H, 1).

    As (c0 + c1 u + c3 u u) + (c2 v + c5 v v) + c4 (u v), in that order, with the full-size
    sums in place. `uv`: u * v when the caller has it (`_layout` keeps find_item's: the
    broadcast product cost 3.5 us, as much as 3 passes over a full-size array).
    """
    c0, c1, c2, c3, c4, c5 = c
    if uv is None:
        cross = np.multiply(u, v)
        cross *= c4  # c4 * (u v): multiplication commutes exactly
    else:
        cross = uv * c4
    out = np.add(c0 + c1 * u + c3 * u * u, c2 * v + c5 * v * v)
    out += cross
    return out


@functools.lru_cache(maxsize=8)
def _layout(shape: tuple[int, int], step: int, origin: tuple[int, int],
            full: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """The grid's border ring (flat indices), coordinates u (1, W), v (H, 1) and u * v, the ring cells the
    surface is fitted to (at most about MAX_FIT_CELLS, flat indices), the fit's design matrix over them
    and its Gram matrix (`_gram`).

    The same for every frame of a camera, so kept (read-only) for the last few sizes.
    """
    ring = np.flatnonzero(_ring_mask(shape))
    u, v = _grid_coordinates(shape, step, origin, full)
    cells = ring[:: max(1, len(ring) // MAX_FIT_CELLS)]  # a long thin strip: every cell is ring
    uu, vv = np.broadcast_arrays(u, v)
    uu, vv = uu.ravel()[cells].astype(np.float64), vv.ravel()[cells].astype(np.float64)
    design = np.stack([np.ones_like(uu), uu, vv, uu * uu, uu * vv, vv * vv], axis=1)
    gram = _gram(design)
    uv = u * v
    for a in (ring, u, v, uv, cells, design, gram):
        a.flags.writeable = False
    return ring, u, v, uv, cells, design, gram


def _fit_surface(z: np.ndarray, design: np.ndarray, gram: np.ndarray) -> np.ndarray:
    """Least-squares quadratic surface through the border cells' levels `z`, refitted without the
    worst-fitting 20%. `gram`: `_gram(design)`, which depends on the grid's size only.

    The border is the background but for where the item or its shadow touches it; the
    refit drops those cells (taken by index: a boolean row selection cost 4x as much).
    """
    coef = np.linalg.solve(gram, design.T @ z)
    err = design @ coef
    err -= z
    np.abs(err, out=err)
    keep = (err <= _quantile(err, 0.8)).nonzero()[0]  # np.flatnonzero's wrapping: 0.7 us
    kept = design.take(keep, axis=0)
    return np.linalg.solve(_gram(kept), kept.T @ z.take(keep)).astype(np.float32)


def _quantile(values: np.ndarray, q: float) -> float:
    """np.quantile(values, q) (method "linear") of a finite 1-D float64 array, the same value.

    One partition for the two neighbours of the virtual index (n - 1) q, and numpy's own
    interpolation formula (`_lerp`: from the nearer end, so the rounding matches); the
    wrapping of np.quantile cost three times the partition here.
    """
    position = (values.size - 1) * q
    below = int(position // 1)
    part = np.partition(values, below)  # one position: see _median
    a = float(part[below])
    b = float(part[below + 1:].min()) if below + 1 < values.size else a
    t = position - below
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def _gram(design: np.ndarray) -> np.ndarray:
    """The least-squares fit's normal equations matrix, 6x6, solved by np.linalg.solve: np.linalg.lstsq's
    SVD took 37 ms here (LAPACK threads on a shared CPU)."""
    return design.T @ design + (_RIDGE if design.shape[1] == 6 else 1e-9 * np.eye(design.shape[1]))


_RIDGE = 1e-9 * np.eye(6)  # _gram's, for the quadratic surface's 6 coefficients


def _dilate(mask: np.ndarray) -> np.ndarray:
    """One cell of growth in the 8 directions."""
    p = _padded(mask)
    rows = p[:-2] | p[1:-1] | p[2:]
    return rows[:, :-2] | rows[:, 1:-1] | rows[:, 2:]


def _item_mask(candidates: np.ndarray) -> tuple[np.ndarray, RowEnds, int]:
    """`_filled(_item_component(candidates))`, its `_row_ends` and its number of cells.

    The usual item is one part whose rows are one run each: then the mask is `candidates`
    itself (a row of one run has no hole to fill), and its row ends and cell count are
    read off the runs (labelling, filling and scanning the mask's rows took about 50 us more
    per photo-like JPEG, in sequence).
    """
    starts, stops, width = _runs(candidates)
    kept = _kept_runs(starts, stops, width)
    if kept is None:
        rows = starts // width
        if not (rows[1:] == rows[:-1]).any():  # no row holds two runs
            row_start = rows * width
            return candidates, (rows, starts - row_start, stops - row_start - 1), int((stops - starts).sum())
        mask = candidates
    else:
        mask = _painted(candidates.shape, starts[kept], stops[kept], width)
    mask = _filled(mask)
    return mask, _row_ends(mask), int(np.count_nonzero(mask))


def _item_component(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected part of `mask`, with the parts whose boxes lie near its box.

    Labelled by runs (`_runs`, `_run_parts`), so the cost follows the number of runs, not
    of cells, in a few numpy calls. A part is named by its first run in row-major order,
    so equal areas resolve to the part that starts first.
    """
    runs = _runs(mask)
    kept = _kept_runs(*runs)
    return mask if kept is None else _painted(mask.shape, runs[0][kept], runs[1][kept], runs[2])


def _kept_runs(starts: np.ndarray, stops: np.ndarray, width: int) -> np.ndarray | None:
    """Which of the runs (`_runs`) `_item_component` keeps, one bool each; None for all of them."""
    if not len(starts) or _one_part(starts, stops, width):  # nothing to drop, the usual case
        return None
    part = _run_parts(starts, stops, width)
    if not part.any():  # one part after all
        return None
    lengths = stops - starts
    areas = np.bincount(part, weights=lengths, minlength=len(starts)).astype(np.int64)
    main = int(areas.argmax())
    rows, first, last = starts // width, starts % width, stops % width - 1
    box = _part_box(part == main, rows, first, last)
    reach = NEAR_FRACTION * max(box[1] - box[0] + 1, box[3] - box[2] + 1)
    keep = np.zeros(len(starts), bool)
    keep[main] = True
    for label in np.flatnonzero(areas >= NEAR_MIN_AREA * areas[main]):
        if label == main:
            continue
        top, bottom, left, right = _part_box(part == label, rows, first, last)
        if (top <= box[1] + reach and bottom >= box[0] - reach
                and left <= box[3] + reach and right >= box[2] - reach):
            keep[label] = True
    kept = keep[part]
    return None if kept.all() else kept


def _part_box(runs: np.ndarray, rows: np.ndarray, first: np.ndarray, last: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), inclusive, of the cells of the selected runs."""
    return (int(rows[runs].min()), int(rows[runs].max()), int(first[runs].min()), int(last[runs].max()))


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Each row's runs of set cells as flat (start, stop) indices into the mask with one blank column
    appended (row r, column c is r * width + c), in row-major order, and that width.

    The blank column separates the rows, so two comparisons of the flat array with itself
    shifted by one find every run's start and stop.
    """
    h, w = mask.shape
    flat = np.zeros(h * (w + 1) + 1, bool)
    flat[1:].reshape(h, w + 1)[:, :w] = mask
    before, after = flat[:-1], flat[1:]  # a run starts where after > before, stops where after < before
    return (after > before).nonzero()[0], (after < before).nonzero()[0], w + 1


def _run_parts(starts: np.ndarray, stops: np.ndarray, width: int) -> np.ndarray:
    """For each run, the index of the first run of its 8-connected part.

    Runs of consecutive rows touch when they overlap with one cell to spare (diagonal
    neighbours); for a run, the runs of the row above that touch it are a contiguous
    range, found by two searchsorted calls. The parts are the connected components of
    that graph: a union-find done for all pairs at once (each part's first run hooked
    to the smallest first run it touches, then every run's pointer followed to its
    part's first run) until no pair joins two parts; it ends in one or two rounds here.
    """
    above = starts - width  # the same columns, one row up
    lo = np.searchsorted(stops, above, side="left")  # first run above ending at or after this one's start
    hi = np.searchsorted(starts, stops - width, side="right")  # past the last starting at or before its stop
    counts = np.maximum(hi - lo, 0)
    mine = np.repeat(np.arange(len(starts)), counts)
    theirs = np.arange(len(mine)) - np.repeat(np.cumsum(counts) - counts - lo, counts)
    parent = np.arange(len(starts))
    while len(mine):
        a, b = parent[mine], parent[theirs]
        joins = a != b
        if not joins.any():
            break
        np.minimum.at(parent, np.maximum(a, b)[joins], np.minimum(a, b)[joins])
        while True:  # every run straight to its part's first run
            grand = parent[parent]
            if (grand == parent).all():
                break
            parent = grand
    return parent


def _one_part(starts: np.ndarray, stops: np.ndarray, width: int) -> bool:
    """Whether the runs are all one 8-connected part: when every run but the first touches a run
    of the row above (as in `_run_parts`); by induction in row-major order all join the first.

    Sufficient, not necessary (the second arm of an upside-down U has no run above its
    top): a usual item passes in 4 numpy calls, where `_run_parts` takes 15 or more.
    """
    lo = np.searchsorted(stops, starts - width, side="left")
    hi = np.searchsorted(starts, stops - width, side="right")
    return np.count_nonzero(hi > lo) == len(starts) - 1


def _painted(shape: tuple[int, int], starts: np.ndarray, stops: np.ndarray, width: int) -> np.ndarray:
    """The mask of `shape` with exactly the given runs (from `_runs`) set."""
    h, w = shape
    steps = np.zeros(h * width, np.int8)
    steps[starts] = 1
    steps[stops] = -1
    return np.cumsum(steps, dtype=np.int8).reshape(h, width)[:, :w].astype(bool)


def _filled(mask: np.ndarray) -> np.ndarray:
    """`mask` with the cells enclosed along both their row and their column added.

    Fills holes (a dark shirt's dim body between a bright collar and hem) but not an open
    gap (between trouser legs: nothing below). A cell is enclosed along a column when set
    cells lie at or before it (running count > 0) and at or after it (the count before it
    is less than the column's total): two cumulative sums, no labelling.
    """
    def between(axis: int) -> np.ndarray:
        count = np.cumsum(mask, axis=axis, dtype=np.int32)
        total = count[-1:] if axis == 0 else count[:, -1:]
        return (count > 0) & (count - mask < total)

    return mask | (between(0) & between(1))
