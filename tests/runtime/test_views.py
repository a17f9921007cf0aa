"""Test-time views: the copies a picture is classified as, and the Classifier's mean over them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgecnn.errors import UsageError
from edgecnn.runtime import Classifier
from edgecnn.runtime import views


def test_expand_makes_each_view_with_black_moved_in() -> None:
    x = np.arange(2 * 4 * 5, dtype=np.int8).reshape(2, 4, 5)
    out = views.expand(x, "flip-shift", background=-128)
    assert out.shape == (20, 4, 5) and out.dtype == np.int8
    per_picture = out.reshape(2, 10, 4, 5)
    for k, (dy, dx, mirrored) in enumerate(views.VIEW_SETS["flip-shift"]):
        for n in range(2):
            source = x[n, :, ::-1] if mirrored else x[n]
            expected = np.full((4, 5), -128, np.int8)
            for r in range(4):
                for c in range(5):
                    if 0 <= r - dy < 4 and 0 <= c - dx < 5:
                        expected[r, c] = source[r - dy, c - dx]
            assert np.array_equal(per_picture[n, k], expected), (n, dy, dx, mirrored)
    assert views.expand(x, "none", background=0) is x


def test_combine_is_each_pictures_mean() -> None:
    scores = np.arange(2 * 5 * 3, dtype=np.float32).reshape(10, 3)
    np.testing.assert_allclose(views.combine(scores, "shift"), [scores[:5].mean(0), scores[5:].mean(0)])


def test_auto_takes_the_models_recorded_views_and_names_are_checked() -> None:
    assert views.resolve("auto", {"views": "flip-shift"}) == "flip-shift"
    assert views.resolve("auto", {}) == views.resolve("auto", None) == "none"
    assert views.resolve("shift", {"views": "flip-shift"}) == "shift"
    with pytest.raises(UsageError, match="views must be one of auto, none, flip, shift, flip-shift"):
        views.check("mirror")


@pytest.mark.parametrize("name", ["flip", "shift", "flip-shift"])
def test_classifier_answers_the_mean_of_its_views(models: Path, name: str) -> None:
    plain = Classifier(models / "model_int8.tflite", views="none")
    viewed = Classifier(models / "model_int8.tflite", views=name)
    assert plain.views == "none" and viewed.views == name and f"views {name}" in viewed.describe()
    rng = np.random.default_rng(1)
    pixels = np.zeros((6, 28, 28), np.uint8)
    pixels[:, 6:22, 8:20] = rng.integers(60, 256, (6, 16, 12))
    copies = np.stack([views.expand(plain.quantize(p)[None], name, plain.quantize(np.zeros(1, np.uint8))[0])
                       for p in pixels])  # input values of each view
    expected = np.stack([plain._probabilities_of(c).mean(axis=0) for c in copies])
    np.testing.assert_allclose(viewed.probabilities(pixels), expected, atol=1e-6)
    top = viewed.classify(pixels[0], top_k=2)  # the single-picture path averages the same views
    assert top[0].index == int(expected[0].argmax()) and abs(top[0].score - expected[0].max()) < 1e-6
    assert [p[0].index for p in viewed.classify_prepared(pixels, top_k=1)] == list(expected.argmax(1))


def test_models_without_recorded_views_get_none(models: Path) -> None:
    assert Classifier(models / "model_int8.tflite").views == "none"
    with pytest.raises(UsageError, match="views must be one of"):
        Classifier(models / "model_int8.tflite", views="all")


def test_the_summary_line_names_the_views(models: Path, tmp_path: Path) -> None:
    import io

    from PIL import Image

    from edgecnn.runtime.files import expand_paths
    from edgecnn.runtime.report import print_results

    pixels = np.zeros((28, 28), np.uint8)
    pixels[6:22, 8:20] = 200
    Image.fromarray(pixels).save(tmp_path / "item.png")
    for name, shown in (("flip", ", views flip"), ("none", "")):
        clf = Classifier(models / "model_int8.tflite", views=name)
        out = io.StringIO()
        line = print_results(clf, expand_paths([tmp_path]), 1, False, out, out, 1).line(clf)
        assert line.endswith(f"via {clf.backend.name} {clf.backend.version}{shown}"), line
