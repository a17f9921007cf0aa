"""classify's two answers that are not a class: "no item" and "uncertain" (--min-score), in both paths.

The no-item tests that go through preprocess need its detection (errors.NoItem raised by
`prepare` for a blank picture); they say so and skip where it is not there. The plumbing
(a NoItem raised while preparing becomes a "no item" answer, not a failure) is tested
with the real classifier and a prepare step that raises it.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edgecnn.cli import main
from edgecnn.errors import NoItem, UsageError
from edgecnn.runtime import Classifier, preprocess
from edgecnn.runtime.files import Item
from edgecnn.runtime.report import (CHUNK, Summary, finish_chunk, format_json, format_text, score_chunk,
                                    print_results)

from .conftest import save_png

REPO = Path(__file__).resolve().parents[2]
UNCERTAIN = re.compile(r"^(?P<path>.+): uncertain \(best (?P<label>.+) (?P<score>[01]\.\d{3})\)$")


def _detects_no_item() -> bool:
    try:
        preprocess.prepare(np.full((240, 320), 200, np.uint8))
    except NoItem:
        return True
    return False


needs_detection = pytest.mark.skipif(not _detects_no_item(),
                                     reason="preprocess.prepare does not raise NoItem for a blank picture yet")


@pytest.fixture()
def folder(tmp_path, test_images) -> Path:
    """More than two chunks of good images (so --workers 2 really uses workers), two blank pictures, one bad file."""
    root = tmp_path / "shots"
    root.mkdir()
    for i in range(2 * CHUNK + 8):
        save_png(root / f"img_{i:03d}.png", test_images[0][i])
    Image.new("L", (320, 240), 210).save(root / "img_020_blank.png")
    Image.new("RGB", (28, 28), (0, 0, 0)).save(root / "img_050_black.png")
    (root / "img_060_bad.jpg").write_bytes(b"not a picture")
    return root


def test_no_item_raised_while_preparing_is_an_answer_not_a_failure(int8_model, test_images, tmp_path):
    clf = Classifier(int8_model)
    good = save_png(tmp_path / "good.png", test_images[0][0])
    items = [Item(str(good)), Item(str(tmp_path / "empty.png")), Item("gone.png", "no such file")]

    def prepare(path: str) -> np.ndarray:
        if path.endswith("empty.png"):
            raise NoItem(f"{path}: no item: nothing stands out of the background")
        return clf.prepare(path)

    done, scores = score_chunk(clf, items, prepare)
    results = finish_chunk(clf, items, done, scores, 2)
    assert [r.no_item for r in results] == [False, True, False]
    assert results[0].predictions == clf.classify(test_images[0][0], top_k=2)
    assert format_text(results[1]) == f"{tmp_path / 'empty.png'}: no item"
    assert json.loads(format_json(results[1])) == {"path": str(tmp_path / "empty.png"), "label": None,
                                                   "index": None, "score": None, "top_k": [],
                                                   "no_item": True, "uncertain": False}
    summary = Summary()
    for result in results:
        summary.count(result, 0.0)
    assert (summary.images, summary.no_item, summary.failed) == (3, 1, 1)
    assert re.match(r"classified 1 of 3 images in [\d.]+ s \([\d.]+ images/s\), 1 no item, 1 failed;",
                    summary.line(clf))


@needs_detection
@pytest.mark.parametrize("workers", ["1", "2"])
def test_blank_pictures_print_no_item_and_exit_0(int8_model, folder, capsys, workers):
    (folder / "img_060_bad.jpg").unlink()
    assert main(["classify", "--model", str(int8_model), "--workers", workers, str(folder)]) == 0
    out, err = capsys.readouterr()
    assert f"{folder / 'img_020_blank.png'}: no item" in out.splitlines()
    assert f"{folder / 'img_050_black.png'}: no item" in out.splitlines()
    assert sum(line.endswith(": no item") for line in out.splitlines()) == 2
    assert re.search(rf"classified {2 * CHUNK + 8} of {2 * CHUNK + 10} images in .*, 2 no item;", err), err
    assert main(["classify", "--model", str(int8_model), "--json", "--workers", workers, str(folder)]) == 0
    records = {r["path"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    blank = records[str(folder / "img_020_blank.png")]
    assert blank["no_item"] is True and blank["label"] is None and "error" not in blank


@pytest.mark.parametrize("workers", ["1", "2"])
def test_min_score_prints_uncertain_with_the_best_guess(int8_model, folder, capsys, workers):
    """--min-score 1: every score is under it, so every answer is uncertain, with the label and score of a plain run."""
    args = ["classify", "--model", str(int8_model), "--workers", workers, str(folder)]
    assert main([*args, "--json"]) == 1
    plain = {r["path"]: r for r in map(json.loads, capsys.readouterr().out.splitlines()) if "error" not in r}
    assert main([*args, "--min-score", "1"]) == 1
    out, err = capsys.readouterr()
    classified = [r for r in plain.values() if not r["no_item"]]
    assert len(out.splitlines()) == len(plain) and classified
    for line in out.splitlines():
        if line.endswith(": no item"):
            continue
        match = UNCERTAIN.match(line)
        assert match, line
        record = plain[match["path"]]
        assert match["label"] == record["label"] and float(match["score"]) == pytest.approx(record["score"], abs=5e-4)
    assert f", {len(classified)} uncertain" in err.splitlines()[-1]
    assert main([*args, "--json", "--min-score", "1"]) == 1
    for record in map(json.loads, capsys.readouterr().out.splitlines()):
        if "error" in record or record["no_item"]:
            continue
        assert record["uncertain"] is True
        assert {**record, "uncertain": False} == plain[record["path"]]


def test_min_score_below_the_best_changes_nothing(int8_model, folder, capsys):
    args = ["classify", "--model", str(int8_model), "--workers", "1", str(folder)]
    main(args)
    plain = capsys.readouterr().out
    main([*args, "--min-score", "0"])
    assert capsys.readouterr().out == plain and "uncertain" not in plain


@pytest.mark.parametrize("value", ["-0.1", "1.5", "nan"])
def test_min_score_outside_0_1_is_a_usage_error(int8_model, folder, capsys, value):
    assert main(["classify", "--model", str(int8_model), "--min-score", value, str(folder)]) == 2
    assert "--min-score must be between 0 and 1" in capsys.readouterr().err
    with pytest.raises(UsageError, match="--min-score must be between 0 and 1"):
        print_results(Classifier(int8_model), [], 1, False, io.StringIO(), io.StringIO(), min_score=float(value))


def test_pi_classify_min_score_and_no_item_as_the_cli(int8_model, folder):
    """examples/pi_classify.py prints the same uncertain / no item lines as `edgecnn classify`."""
    common = ["--model", str(int8_model), "--min-score", "0.999", str(folder)]
    script = subprocess.run([sys.executable, str(REPO / "examples" / "pi_classify.py"), *common],
                            capture_output=True, text=True, timeout=120)
    cli = subprocess.run([sys.executable, "-m", "edgecnn", "classify", *common],
                         capture_output=True, text=True, timeout=120)
    assert script.returncode == cli.returncode == 1, script.stderr
    assert script.stdout == cli.stdout
    assert sum(bool(UNCERTAIN.match(line)) for line in script.stdout.splitlines()) >= 2 * CHUNK
    assert f"{folder / 'img_060_bad.jpg'}: error: " in script.stderr
