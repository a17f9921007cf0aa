import gzip

import numpy as np
import pytest

from edgecnn.datasets.idx import encode_idx, parse_idx, read_idx, write_idx
from edgecnn.errors import DatasetError


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_round_trip_raw_and_gzip(tmp_path, name):
    images = np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    path = write_idx(tmp_path / name, images)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    np.testing.assert_array_equal(read_idx(path), images)


def test_labels_round_trip(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "l", labels)), labels)


def test_truncated_file_names_file_and_sizes(tmp_path):
    data = encode_idx(np.zeros((5, 28, 28), np.uint8))
    path = tmp_path / "cut-idx3-ubyte"
    path.write_bytes(data[:-100])
    with pytest.raises(DatasetError, match=r"cut-idx3-ubyte: truncated: header says 5x28x28"):
        read_idx(path)


def test_truncated_gzip_is_reported(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(encode_idx(np.zeros((50, 28, 28), np.uint8)))[:60])
    with pytest.raises(DatasetError, match=r"x.gz: corrupt or truncated gzip"):
        read_idx(path)


def test_wrong_magic_number(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(DatasetError, match="wrong magic number"):
        read_idx(path)


def test_non_uint8_type_rejected():
    with pytest.raises(DatasetError, match="not unsigned byte"):
        parse_idx(b"\x00\x00\x0d\x01\x00\x00\x00\x01" + bytes(4), "f")


def test_trailing_bytes_rejected():
    with pytest.raises(DatasetError, match="trailing bytes"):
        parse_idx(encode_idx(np.zeros(3, np.uint8)) + b"\x00", "t")


def test_dimensions_multiplying_past_64_bits_are_a_clean_error():
    header = b"\x00\x00\x08\x04" + b"\xff\xff\xff\xff" * 4  # (2^32-1)^4 bytes: wraps in int64
    with pytest.raises(DatasetError, match="truncated: header says 4294967295x"):
        parse_idx(header + bytes(16), "huge")
