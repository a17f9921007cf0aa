"""preprocess.open_image_bytes (serve's uploads) follows open_image's rules: limits, words, EXIF orientation."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from edgecnn.errors import ImageError
from edgecnn.runtime.preprocess import open_image, open_image_bytes

from .conftest import huge_png_header


def exif_rotated_jpeg() -> bytes:
    """A 60x40 JPEG whose EXIF says "rotate 90 degrees" (orientation 6), as phones write them."""
    img = Image.fromarray(np.tile(np.linspace(0, 255, 60, dtype=np.uint8), (40, 1)))
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def test_bytes_and_file_give_the_same_upright_pixels(tmp_path):
    data = exif_rotated_jpeg()
    (tmp_path / "phone.jpg").write_bytes(data)
    from_file, from_bytes = open_image(tmp_path / "phone.jpg", gray=True), open_image_bytes(data, gray=True)
    assert from_file.size == from_bytes.size == (40, 60)  # turned upright in both
    assert np.array_equal(np.asarray(from_file), np.asarray(from_bytes))


@pytest.mark.parametrize("make, words", [
    (lambda tmp: b"", "empty upload (0 bytes)"),
    (lambda tmp: b"not a picture\n" * 10, "not an image file Pillow can read"),
    (lambda tmp: huge_png_header(tmp / "bomb.png").read_bytes(), "image too large"),
])
def test_bad_bytes_are_one_line_without_a_file_name(tmp_path, make, words):
    with pytest.raises(ImageError) as info:
        open_image_bytes(make(tmp_path))
    assert str(info.value).startswith(words.split(" (")[0]) and "\n" not in str(info.value)


def test_exif_orientation_with_a_pillow_that_has_no_in_place(tmp_path, monkeypatch):
    """Debian bookworm's Pillow 9.4 has exif_transpose without `in_place` (added in 10.0): still upright.

    Its signature is stood in for by a wrapper that refuses the keyword, as 9.4 does; the
    real Pillow 9.4 runs this in `make pi-check`'s bookworm roots.
    """
    from PIL import ImageOps

    real = ImageOps.exif_transpose

    def pillow_9_4(image, **kwargs):
        if kwargs:
            raise TypeError("exif_transpose() got an unexpected keyword argument 'in_place'")
        return real(image)

    monkeypatch.setattr(ImageOps, "exif_transpose", pillow_9_4)
    (tmp_path / "phone.jpg").write_bytes(exif_rotated_jpeg())
    assert open_image(tmp_path / "phone.jpg").size == (40, 60)
