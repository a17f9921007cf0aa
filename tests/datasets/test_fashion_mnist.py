"""The Fashion-MNIST loader on the real files from Debian's `dataset-fashion-mnist`.

Those files are the only ones whose payload digests match, so these tests need them:
they fail in CI (CI=true), where .ci/run installs the package, and skip elsewhere
with the one command that enables them.
"""

from __future__ import annotations

import gzip
import logging
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from edgecnn.cli import main
from edgecnn.datasets import load_dataset
from edgecnn.datasets.fashion_mnist import FILE_NAMES, load_fashion_mnist, locate_files
from edgecnn.datasets.idx import encode_idx, read_idx_bytes
from edgecnn.datasets.recorded import choose_dataset
from edgecnn.errors import DatasetError

from ..real_data import real_fashion_dir


def quiet(msg: str) -> None:
    pass


@pytest.fixture(scope="module")
def real_dir() -> Path:
    return real_fashion_dir()


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No folder but the ones a test names: empty Keras cache and system folder, no EDGECNN_DATA."""
    monkeypatch.delenv("EDGECNN_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("EDGECNN_SYSTEM_DATA", str(tmp_path / "system"))
    monkeypatch.setenv("EDGECNN_OFFLINE", "1")
    return tmp_path


def copy_files(src: Path, dest: Path, names=FILE_NAMES, unpack: bool = False, recompress: bool = False) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        if unpack:
            (dest / name[:-3]).write_bytes(gzip.decompress((src / name).read_bytes()))
        elif recompress:  # other gzip bytes, same payload: what upstream's .gz is to Debian's
            (dest / name).write_bytes(gzip.compress(gzip.decompress((src / name).read_bytes()), compresslevel=1))
        else:
            shutil.copy(src / name, dest / name)
    return dest


def test_debians_copy_loads_whole_and_balanced(real_dir: Path) -> None:
    ds = load_fashion_mnist(real_dir, log=quiet)
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert np.bincount(ds.y_train).tolist() == [6000] * 10 and np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.source == str(real_dir) and not ds.synthetic
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"


@pytest.mark.parametrize("form", ["unpack", "recompress"])
def test_unpacked_and_recompressed_copies_are_accepted(real_dir: Path, tmp_path: Path, form: str) -> None:
    folder = copy_files(real_dir, tmp_path / form, unpack=form == "unpack", recompress=form == "recompress")
    reference = load_fashion_mnist(real_dir, log=quiet)
    ds = load_fashion_mnist(folder, log=quiet)
    np.testing.assert_array_equal(ds.x_test, reference.x_test)
    np.testing.assert_array_equal(ds.y_train, reference.y_train)


def test_one_changed_payload_byte_exits_2_naming_the_file(real_dir: Path, isolated: Path, capsys) -> None:
    folder = copy_files(real_dir, isolated / "data", unpack=True)
    target = folder / "t10k-images-idx3-ubyte"
    data = bytearray(target.read_bytes())
    data[5000] ^= 1
    target.write_bytes(bytes(data))
    code = main(["train", "--data-dir", str(folder), "--epochs", "1", "--out", str(isolated / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert str(target) in err and "MD5" in err
    assert not (isolated / "out" / "model.keras").exists()


def test_search_order_and_one_folder_for_all_four(caplog, real_dir: Path, isolated: Path, monkeypatch) -> None:
    system = copy_files(real_dir, isolated / "system")
    assert set(locate_files(None, quiet).values()) == {system / n for n in FILE_NAMES}
    cache = copy_files(real_dir, isolated / "keras" / "datasets" / "fashion-mnist", unpack=True)
    assert {p.parent for p in locate_files(None, quiet).values()} == {cache}
    env = copy_files(real_dir, isolated / "env")
    monkeypatch.setenv("EDGECNN_DATA", str(env))
    assert {p.parent for p in locate_files(None, quiet).values()} == {env}
    # a --data-dir with three of the four files is skipped whole, with a warning; never mixed
    partial = copy_files(real_dir, isolated / "partial", names=FILE_NAMES[:3])
    with caplog.at_level(logging.WARNING, logger="edgecnn"):
        assert {p.parent for p in locate_files(partial).values()} == {env}
    assert any(str(partial) in r.getMessage() and "3 of the 4" in r.getMessage() for r in caplog.records)


def test_offline_error_names_apt_package_and_folders(isolated: Path, capsys) -> None:
    code = main(["train", "--data-dir", str(isolated / "nowhere"), "--out", str(isolated / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "apt-get install dataset-fashion-mnist" in err and str(isolated / "nowhere") in err
    assert "synthetic" not in err


def test_convert_and_evaluate_reuse_the_recorded_folder(real_dir: Path, tmp_path: Path, isolated: Path) -> None:
    """train.json's folder wins over the search order, so a model is checked against its own data."""
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "train.json").write_text('{"dataset": {"name": "fashion-mnist", "source": "%s"}, "seed": 4}' % real_dir)
    choice = choose_dataset(None, None, None, None, model_dir / "model.keras")
    assert (choice.spec, choice.data_dir, choice.seed) == ("fashion-mnist", str(real_dir), 4)
    assert load_dataset(choice.spec, choice.data_dir, limit=60, log=quiet).source == str(real_dir)


def bomb(path: Path, declared: int, extra_zeros: int) -> Path:
    """An IDX label file whose gzip stream holds `extra_zeros` more bytes than its header declares."""
    header = encode_idx(np.zeros(0, np.uint8))[:4] + declared.to_bytes(4, "big")
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(header)
        chunk = bytes(1 << 20)
        for _ in range(extra_zeros >> 20):
            fh.write(chunk)
    return path


@pytest.mark.parametrize("name", ["t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte", "anything.bin"])
def test_gzip_bomb_is_read_only_to_its_declared_size(tmp_path: Path, name: str) -> None:
    path = bomb(tmp_path / name, declared=10_000, extra_zeros=200 << 20)  # 200 MB of zeros, 200 KB on disk
    tracemalloc.start()
    try:
        data = read_idx_bytes(path, max_bytes=10_008)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(data) == 10_008 + 1  # declared size plus the one byte that shows a surplus
    assert peak < 5 << 20


def test_header_declaring_more_than_allowed_is_refused(tmp_path: Path) -> None:
    path = bomb(tmp_path / "t10k-labels-idx1-ubyte.gz", declared=4_000_000_000, extra_zeros=1 << 20)
    with pytest.raises(DatasetError, match=r"t10k-labels-idx1-ubyte.gz: header declares 4,000,000,008 bytes"):
        read_idx_bytes(path, max_bytes=10_008)
