"""Command-line paths: files, folders (recursive), globs; nothing named is silently dropped."""

from __future__ import annotations

from edgecnn.runtime.files import expand_paths


def test_expand_files_folders_and_globs(tmp_path):
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / "a" / ".hidden").mkdir()
    for name in ("a/1.png", "a/deep/2.JPG", "a/notes.txt", "a/.secret.png", "a/.hidden/3.png", "b.jpeg", "c.bmp"):
        (tmp_path / name).write_bytes(b"x")
    items = expand_paths([tmp_path / "a", str(tmp_path / "*.jpeg"), tmp_path / "a" / "notes.txt",
                          tmp_path / "a" / "1.png", tmp_path / "missing.png", str(tmp_path / "*.gif")])
    got = [(item.path.replace(str(tmp_path) + "/", ""), item.error) for item in items]
    assert got == [
        ("a/1.png", None), ("a/deep/2.JPG", None),  # folder: images only, sorted, no hidden ones
        ("b.jpeg", None),  # glob
        ("a/notes.txt", None),  # named explicitly: taken whatever its suffix
        ("missing.png", "no such file"),
        ("*.gif", "no files match this pattern"),
    ]  # a/1.png named twice, listed once


def test_recursive_glob_and_empty_folder(tmp_path):
    (tmp_path / "x" / "y").mkdir(parents=True)
    (tmp_path / "x" / "y" / "p.png").write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    items = expand_paths([str(tmp_path / "**" / "*.png"), tmp_path / "empty"])
    assert [i.path for i in items] == [str(tmp_path / "x" / "y" / "p.png"), str(tmp_path / "empty")]
    assert items[1].error == "folder has no image files"
