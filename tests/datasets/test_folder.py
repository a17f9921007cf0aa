"""folder:DIR on images the test writes: PNG, JPEG, RGBA, 16-bit, and files that are not images."""

import logging

import numpy as np
import pytest
from PIL import Image

from edgecnn.datasets import load_dataset
from edgecnn.errors import DatasetError


def item(dark_on_light: bool, size=(60, 40)) -> np.ndarray:
    img = np.zeros(size[::-1], np.uint8)
    img[10:30, 15:45] = 220
    return 255 - img if dark_on_light else img


@pytest.fixture
def image_folder(tmp_path):
    root = tmp_path / "photos"
    (root / "bags").mkdir(parents=True)
    (root / "shoes").mkdir()
    Image.fromarray(item(False)).save(root / "bags" / "a.png")
    Image.fromarray(item(True)).convert("RGB").save(root / "bags" / "b.jpg", quality=90)
    rgba = Image.fromarray(item(True)).convert("RGBA")
    rgba.putalpha(255)
    rgba.save(root / "bags" / "c.png")
    Image.fromarray(item(False).astype(np.uint16) * 257).save(root / "shoes" / "d16.png")
    Image.fromarray(item(False)).save(root / "shoes" / "e.bmp")
    Image.fromarray(item(True)).save(root / "shoes" / "f.tif")
    (root / "shoes" / "notes.txt").write_text("not an image")
    (root / "shoes" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    return root


def test_reads_every_format_and_counts_skipped(image_folder, caplog):
    with caplog.at_level(logging.INFO, logger="edgecnn"):
        ds = load_dataset(f"folder:{image_folder}", seed=0)
    messages = [r.getMessage() for r in caplog.records]
    assert ds.class_names == ["bags", "shoes"]
    assert len(ds.y_train) + len(ds.y_test) == 6
    assert ds.x_train.shape[1:] == (28, 28) and ds.x_train.dtype == np.uint8
    assert any("skipped 2 unreadable file(s)" in m for m in messages)
    # every picture, whatever its polarity or depth, comes out light-on-dark and framed
    for img in np.concatenate([ds.x_train, ds.x_test]):
        assert img.max() > 200 and img[0].mean() < 30


def test_empty_folder(tmp_path):
    with pytest.raises(DatasetError, match="no class sub-folders"):
        load_dataset(f"folder:{tmp_path}")


def test_single_class(tmp_path):
    (tmp_path / "only").mkdir()
    Image.fromarray(item(False)).save(tmp_path / "only" / "a.png")
    with pytest.raises(DatasetError, match="only one class"):
        load_dataset(f"folder:{tmp_path}")


def test_class_without_readable_images(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    Image.fromarray(item(False)).save(tmp_path / "a" / "x.png")
    (tmp_path / "b" / "junk.png").write_bytes(b"junk")
    with pytest.raises(DatasetError, match="class 'b' has no readable images"):
        load_dataset(f"folder:{tmp_path}", log=lambda m: None)


def test_unknown_dataset_name():
    with pytest.raises(DatasetError, match="unknown dataset 'cifar'"):
        load_dataset("cifar")


def test_tilde_after_folder_prefix_means_home(image_folder, monkeypatch):
    """The shell leaves "folder:~/photos" alone; edgecnn expands it as classify does for paths."""
    monkeypatch.setenv("HOME", str(image_folder.parent))
    ds = load_dataset("folder:~/photos", seed=0, log=lambda m: None)
    assert ds.class_names == ["bags", "shoes"]
