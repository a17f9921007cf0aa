"""Hostile image files for `edgecnn classify FOLDER`, with good ones among them.

`hostile_folder` writes a fixed set; `mutated_images` adds seeded bit flips and
truncations of real PNG, JPEG, GIF, TIFF, BMP and WEBP files. Each file's expectation:
"good" (must be classified), "bad" (must be an error line) or "any" (either, but
nothing else: a traceback, a hang or a crash is never acceptable).
"""

from __future__ import annotations

import io
import os
import random
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def _item(size: tuple[int, int] = (64, 48), dark_on_light: bool = True, seed: int = 0) -> np.ndarray:
    """A photo-like picture: a dark blob on a light background (or the reverse)."""
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    img = np.full((h, w), 230, np.uint8)
    y0, x0 = h // 4 + rng.integers(0, 3), w // 4 + rng.integers(0, 3)
    img[y0:y0 + h // 2, x0:x0 + w // 2] = 40
    return img if dark_on_light else 255 - img


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def declared_png(width: int, height: int, bit_depth: int = 8, color: int = 0) -> bytes:
    """A tiny PNG whose header claims width x height (a decompression bomb's shape)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color, 0, 0, 0)
    idat = zlib.compress(b"\x00" * min(width + 1, 1 << 20))
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _save(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _jpeg_with_size(width: int, height: int) -> bytes:
    data = bytearray(_save(Image.fromarray(_item()), "JPEG"))
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def hostile_folder(folder: Path) -> dict[str, str]:
    """Write the fixed hostile set (and 6 good pictures) into `folder`; name -> expectation."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[bytes, str]] = {}
    gray = Image.fromarray(_item())
    rgb = Image.fromarray(np.stack([_item(seed=1)] * 3, -1))
    png, jpeg = _save(gray, "PNG"), _save(rgb, "JPEG")
    for i in range(3):
        files[f"good{i}.png"] = (_save(Image.fromarray(_item(seed=10 + i)), "PNG"), "good")
        files[f"good{i}.jpg"] = (_save(Image.fromarray(_item(seed=20 + i, dark_on_light=False)).convert("RGB"),
                                       "JPEG"), "good")
    # truncated files
    for cut in (8, 16, 33, len(png) // 2, len(png) - 12):
        files[f"trunc{cut}.png"] = (png[:cut], "any")
    for cut in (2, 20, len(jpeg) // 2, len(jpeg) - 2):
        files[f"trunc{cut}.jpg"] = (jpeg[:cut], "any")
    # huge declared dimensions and strips
    files["bomb-20000x20000.png"] = (declared_png(20_000, 20_000), "bad")
    files["bomb-65535x65535.jpg"] = (_jpeg_with_size(65535, 65535), "bad")
    files["bomb-2gx1.png"] = (declared_png(2 ** 31 - 1, 1), "bad")
    files["bomb-16bit-rgba.png"] = (declared_png(10_000, 10_000, 16, 6), "bad")
    files["strip-1x30000-blank.png"] = (declared_png(1, 30_000), "any")
    files["strip-30000x1-blank.png"] = (declared_png(30_000, 1), "any")
    strip = np.zeros((1, 60_000), np.uint8)
    strip[0, 20_000:40_000] = 255
    files["strip-60000x1-item.png"] = (_save(Image.fromarray(strip), "PNG"), "any")
    files["strip-2x8000.png"] = (_save(Image.fromarray(np.tile(_item((2, 8000)), 1)), "PNG"), "any")
    files["one-pixel.png"] = (_save(Image.new("L", (1, 1), 7), "PNG"), "any")
    files["blank-white.png"] = (_save(Image.new("L", (50, 50), 255), "PNG"), "any")
    # modes
    sixteen = (_item().astype(np.uint16) * 257)
    files["gray16.png"] = (_save(Image.fromarray(sixteen), "PNG"), "good")
    files["gray16-max.png"] = (_save(Image.fromarray(np.full((40, 40), 65535, np.uint16)), "PNG"), "any")
    files["palette.png"] = (_save(rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=8), "PNG"), "good")
    pal_t = gray.convert("P")
    pal_t.info["transparency"] = 0
    files["palette-transparent.png"] = (_save(pal_t, "PNG", transparency=0), "any")
    files["mode1.png"] = (_save(gray.convert("1"), "PNG"), "good")
    files["cmyk.jpg"] = (_save(rgb.convert("CMYK"), "JPEG"), "good")
    files["cmyk.tif"] = (_save(rgb.convert("CMYK"), "TIFF"), "good")
    files["la.png"] = (_save(gray.convert("LA"), "PNG"), "good")
    files["rgba-transparent.png"] = (_save(Image.new("RGBA", (30, 30), (0, 0, 0, 0)), "PNG"), "any")
    nan = _item().astype(np.float32) / 255
    nan[3:9, 3:9] = np.nan
    files["nan.tif"] = (_save(Image.fromarray(nan), "TIFF"), "bad")
    files["all-nan.tif"] = (_save(Image.fromarray(np.full((20, 20), np.nan, np.float32)), "TIFF"), "bad")
    inf = nan.copy()
    inf[0, 0], inf[1, 1] = np.inf, -np.inf
    files["inf.tif"] = (_save(Image.fromarray(inf), "TIFF"), "bad")
    files["float-huge.tif"] = (_save(Image.fromarray(np.full((20, 20), 3e38, np.float32)), "TIFF"), "any")
    files["int32.tif"] = (_save(Image.fromarray(_item().astype(np.int32) * 100_000 - 5), "TIFF"), "any")
    multi = io.BytesIO()
    gray.save(multi, "TIFF", save_all=True, append_images=[gray] * 50)
    files["multipage.tif"] = (multi.getvalue(), "any")
    frames = [Image.fromarray(_item(seed=s)) for s in range(30)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    files["animated.gif"] = (gif.getvalue(), "good")
    files["maxval65535.pgm"] = (b"P5\n20 20\n65535\n" + sixteen[:20, :20].astype(">u2").tobytes(), "good")
    files["pgm-truncated.pgm"] = (b"P5\n2000 2000\n255\n" + b"\x00" * 100, "any")
    files["bmp-huge.bmp"] = (b"BM" + struct.pack("<IHHI", 70, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, 100_000,
                                                                                      100_000, 1, 24, 0, 0, 0, 0, 0, 0),
                             "bad")
    exif = Image.Exif()
    exif[0x0112] = 9  # an orientation that does not exist
    files["exif-orientation-9.jpg"] = (_save(rgb, "JPEG", exif=exif.tobytes()), "good")
    files["icc-huge.png"] = (_save(gray, "PNG", icc_profile=os.urandom(0) + b"\x00" * 500_000), "any")
    # not pictures
    files["zero.png"] = (b"", "bad")
    files["text.jpg"] = (b"this is not a picture\n" * 20, "bad")
    files["random.png"] = (random.Random(1).randbytes(4000), "bad")
    files["png-sig-only.png"] = (b"\x89PNG\r\n\x1a\n", "bad")
    files["webp-garbage.webp"] = (b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 20, "bad")
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    expect = {name: kind for name, (_, kind) in files.items()}
    # things that are not regular files
    os.mkfifo(folder / "fifo.png")
    expect["fifo.png"] = "bad"
    os.symlink("loop-b.png", folder / "loop-a.png")
    os.symlink("loop-a.png", folder / "loop-b.png")
    expect["loop-a.png"] = expect["loop-b.png"] = "bad"
    os.symlink("does-not-exist.png", folder / "broken.png")
    expect["broken.png"] = "bad"
    os.symlink("/dev/zero", folder / "dev-zero.png")
    expect["dev-zero.png"] = "bad"
    # names that could forge output: a good picture under each
    for raw in (b"bad-utf8-\xff\xfe.png", b"new\nline.png", b"ansi-\x1b[2J.png", b"tab\tname.png"):
        with open(os.path.join(os.fsencode(folder), raw), "wb") as fh:
            fh.write(files["good0.png"][0])
        expect[os.fsdecode(raw)] = "good"
    return expect


def mutated_images(folder: Path, count: int, seed: int) -> dict[str, str]:
    """`count` seeded corruptions of real files of each format Pillow reads; all "any"."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    gray = Image.fromarray(_item(seed=seed))
    rgb = gray.convert("RGB")
    bases = {"png": _save(gray, "PNG"), "jpg": _save(rgb, "JPEG"), "gif": _save(gray, "GIF"),
             "tif": _save(gray, "TIFF"), "bmp": _save(rgb, "BMP"), "pgm": _save(gray, "PPM"),
             "webp": _save(rgb, "WEBP"), "p16.png": _save(Image.fromarray(np.asarray(gray).astype(np.uint16) * 257),
                                                         "PNG")}
    expect = {}
    names = sorted(bases)
    for n in range(count):
        ext = names[n % len(names)]
        raw = bytearray(bases[ext])
        kind = rng.choice(("flip", "flip", "write", "truncate", "header"))
        if kind == "flip":
            for _ in range(rng.choice((1, 2, 8))):
                raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        elif kind == "write":
            pos = rng.randrange(len(raw))
            raw[pos:pos + 4] = rng.choice((b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00"))
        elif kind == "truncate":
            del raw[rng.randrange(len(raw)):]
        else:  # in the first 64 bytes: sizes, depths, colour types
            for _ in range(rng.choice((1, 2, 4))):
                raw[rng.randrange(min(64, len(raw)))] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        name = f"m{n:04d}-{kind}.{ext}"
        (folder / name).write_bytes(bytes(raw))
        expect[name] = "any"
    return expect
