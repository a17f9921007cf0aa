"""The Classifier's input path: one general path, one fast path, `invert` honoured on both.

See the module docstring of edgecnn.runtime.classifier for the rules tested here.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edgecnn.errors import UsageError
from edgecnn.runtime import Classifier

from .conftest import save_png

#: int8 (XOR fast path), uint8 I/O (identity when not inverted, XOR when inverted), float32 (lookup).
KINDS = ("int8", "uint8", "float32")


@pytest.fixture(params=KINDS)
def model(request, models, uint8_model):
    return {"int8": models / "model_int8.tflite", "uint8": uint8_model,
            "float32": models / "model_float32.tflite"}[request.param]


def _every_path(clf: Classifier, image: np.ndarray, folder) -> dict[str, object]:
    """The same light-on-dark picture through every way in: name -> top-3 of the first picture."""
    path = save_png(folder / "item.png", image)
    pair = np.stack([image, image[::-1]])
    return {
        "fast (28, 28) uint8": clf.classify(image),
        "fast (28, 28, 1) uint8": clf.classify(image[..., None]),
        "fast (1, 28, 28, 1) uint8": clf.classify(image[None, ..., None]),
        "float 0-1": clf.classify(image.astype(np.float32) / 255),
        "path": clf.classify(path),
        "Pillow image": clf.classify(Image.fromarray(image)),
        "batch array": clf.classify_batch(pair)[0],
        "batch list": clf.classify_batch([path, image[::-1]])[0],
        "prepare + classify_prepared": clf.classify_prepared(np.stack([clf.prepare(image)]))[0],
        "probabilities": int(np.argmax(clf.probabilities(pair)[0])),
    }


@pytest.mark.parametrize("forced", [True, False])
def test_invert_set_after_construction_is_honoured_everywhere(model, forced, test_images, tmp_path):
    image = test_images[0][11]
    expected = _every_path(Classifier(model, invert=forced), image, tmp_path)
    clf = Classifier(model)  # invert=None at first: the fast path's tables are built for it
    clf.invert = forced
    assert clf.invert is forced
    assert _every_path(clf, image, tmp_path) == expected
    clf.invert = None  # and back
    assert _every_path(clf, image, tmp_path) == _every_path(Classifier(model), image, tmp_path)


def test_inverting_changes_the_answer_on_the_fast_path(int8_model, test_images):
    """The invert tests above compare like with like; this shows inverting is not a no-op there."""
    image = test_images[0][11]
    clf = Classifier(int8_model)
    plain = clf.classify(image, top_k=10)
    clf.invert = True
    assert clf.classify(image, top_k=10) == Classifier(int8_model).classify(255 - image, top_k=10) != plain


@pytest.mark.parametrize("value", ["yes", 1, 0.0])
def test_a_bad_invert_is_refused_and_changes_nothing(int8_model, value):
    clf = Classifier(int8_model, invert=True)
    with pytest.raises(UsageError, match="invert must be None, True or False"):
        clf.invert = value
    assert clf.invert is True


@pytest.mark.parametrize("invert", [None, True, False])
def test_a_light_on_dark_picture_is_the_same_as_array_and_file(model, invert, test_images, tmp_path):
    """The docs: a Fashion-MNIST-style picture gives the same answer as a ready array and as a file."""
    clf = Classifier(model, invert=invert)
    for n in (0, 7, 19):
        image = test_images[0][n]
        path = save_png(tmp_path / f"{n}.png", image)
        assert np.array_equal(clf.prepare(path), clf.prepare(image))
        assert clf.classify(path, top_k=10) == clf.classify(image, top_k=10)


def test_a_dark_on_light_array_is_taken_as_given(int8_model, test_images, tmp_path):
    """The docs: as a file it is inverted automatically, as a ready array only with invert=True."""
    dark_on_light = 255 - test_images[0][7]
    path = save_png(tmp_path / "dark.png", dark_on_light)
    auto, forced = Classifier(int8_model), Classifier(int8_model, invert=True)
    assert np.array_equal(auto.prepare(path), 255 - dark_on_light)
    assert np.array_equal(auto.prepare(dark_on_light), dark_on_light)
    assert auto.classify(path, top_k=10) == forced.classify(dark_on_light, top_k=10)


def test_float_arrays_0_1_and_0_255_agree_with_uint8(model, test_images):
    clf = Classifier(model)
    images = test_images[0][:20]
    uint8 = clf.probabilities(images)
    for floats in (images.astype(np.float32) / 255, images.astype(np.float64), images.astype(np.float32)):
        assert np.array_equal(clf.probabilities(floats), uint8)
        for image, got in zip(floats[:5], images[:5]):
            assert np.array_equal(clf.prepare(image), got)
            assert clf.classify(image, top_k=10) == clf.classify(got, top_k=10)


@pytest.mark.parametrize("invert", [None, True])
def test_fast_path_gives_the_general_paths_answer(model, invert, test_images):
    """classify of a uint8 ready array == quantize(prepare(...)) run by classify_prepared, score for score.

    The input tensors are equal; what may differ is the interpreter's arithmetic for one image
    against a batch. Integer models give equal scores; a float model in tflite-runtime 2.14
    (32-bit Pi OS, bookworm's fallback) differs in the last float bits between batch sizes,
    so there the best classes must be equal and the scores within 1e-5 (1.25e-6 seen).
    """
    clf = Classifier(model, invert=invert)
    images = test_images[0][:30]
    general = clf.classify_prepared(np.stack([clf.prepare(image) for image in images]), top_k=10)
    for answers in ([clf.classify(image, top_k=10) for image in images], clf.classify_batch(images, top_k=10)):
        if clf.backend.input.dtype.kind == "f" and clf.backend.name != "litert":
            assert [a[0].index for a in answers] == [g[0].index for g in general]
            for a, g in zip(answers, general):  # by class: near-equal small scores may swap places
                scores = {p.index: p.score for p in g}
                assert max(abs(p.score - scores[p.index]) for p in a) < 1e-5
        else:
            assert answers == general


def test_class_names_are_read_only(int8_model, test_images):
    """The answers' labels are fixed at load (the answer table holds them): no way to change them halfway."""
    clf = Classifier(int8_model)
    image = test_images[0][3]
    before = clf.classify(image, top_k=10)
    names = clf.class_names
    names[before[0].index] = "changed"
    with pytest.raises(AttributeError):
        clf.class_names = names
    assert clf.classify(image, top_k=10) == before and clf.class_names[before[0].index] == before[0].label
    assert [p.label for p in before] == [clf.class_names[p.index] for p in before]
